#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Interleavings on demand: every schedule of the UMD lifecycle's
# operation pairs (driver exit, unload, request, load, restart,
# interrupt; bpfilter and the sample driver), forced with the kernel's
# named interleaving points (kernel-patches/6.1/0008,
# include/linux/umd_race.h) and checked like the other scenarios
# (rootfs/tests/umd_race.c says how; README "Interleavings").
#
# One guest, in time-travel=inf-cpu: "let the other task run until it
# blocks" is "until the CPU idles", and no timer fires in between, so a
# schedule takes the same steps every run.  One result per pair, then
# the kernel log and the host.
#
# Environment: RACE (schedules or pairs, comma list: a failure names
# the schedule to give here), RACE_DEPTH (forced switches per schedule: 2, the default, or 1),
# RACE_RUNS (runs per schedule that must agree), UMDLAB_BREAK
# (race-leak: the ledger must catch a file kept open).
. "$TOP/tests/lib.sh"

PAIRS="bpfilter.exit+unload bpfilter.unload+exit bpfilter.exit+request
	bpfilter.request+exit bpfilter.request+unload bpfilter.unload+request
	bpfilter.load+exit sample.exit+unload sample.unload+exit
	sample.exit+request sample.request+exit sample.request+unload
	sample.unload+request sample.load+exit bpfilter.restart+restart
	sample.restart+restart bpfilter.request+interrupt
	sample.request+interrupt"
plan $(($(echo $PAIRS | wc -w) + 2))

config_or_skip CONFIG_UMD_RACE "this kernel has no interleaving points (uml-config/race.config, BASE=6.1)" \
	$PAIRS kernel-log-clean host-clean || exit 0

# The sabotage switch: only the first pair runs, and keeps a file open.
case ",${UMDLAB_BREAK:-}," in
*,race-leak,*) RACE=${RACE:-bpfilter.exit+unload} ;;
esac

m0=$(shmfiles)
# time-travel=inf-cpu: see above.  slab_nomerge: exact counts for the
# ledger; slub_debug on files and pids: a use or put of a freed one is
# reported (as in the fault sweep).
export APPEND="${APPEND:+$APPEND }time-travel=inf-cpu slab_nomerge slub_debug=FZPU,filp,pid loglevel=7 kunit.enable=0"
GUEST_TIMEOUT=${GUEST_TIMEOUT:-600} guest_run "D=/run/umdlab
RACE=${RACE:-} RACE_DEPTH=${RACE_DEPTH:-} RACE_RUNS=${RACE_RUNS:-} UMDLAB_BREAK=${UMDLAB_BREAK:-} \
/usr/lib/umdlab/scenarios/umd_race > \$D/race.tap 2>&1
echo \$? > \$D/race.rc"
ctl=$RUNDIR/$LAST_UMID
guest_err=$(guest_status_err "$RC")
# A panic or a hang ends the guest before the program can say which
# schedule it was in; the kernel log has the one that began last.
if [ -n "$guest_err" ]; then
	last=$(sed -n 's/.*umdlab-scenario: \(begin\|end\) /\1 /p' "$LOG" | tail -1)
	case $last in
	"begin "*) guest_err="$guest_err, in schedule ${last#begin } (replay: make test T=race RACE=${last#begin })" ;;
	esac
fi

k=0
for t in $PAIRS; do
	k=$((k + 1))
	report_tap "$t" $k "$ctl/race.tap" "$guest_err" "a schedule of $t broke an invariant (diagnostics above name it and how to replay it)"
done

kernel_log_verdict "$guest_err" "" "$LOG"
host_clean_verdict "$m0"
done_testing
