#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The fault sweep: every UMD operation (bpfilter's and the sample
# driver's load, restart, unload; bpfilter's implicit load) with its Nth
# allocation failed, N = 1, 2, ... in the caller and in the usermode
# helper's tasks, each attempt checked with the exact ledger
# (rootfs/tests/umd_faults.c says how; README "The fault sweep").
#
# One guest; one result per operation, then the kernel log (no splat
# beyond the allowlist; the injected faults' own reports are not splats)
# and the host (nothing left behind).
#
# Environment: FAULT_OPS (operations, comma list: umd_faults --list),
# FAULT_MAX (the largest N per operation and task), FAULT_DEEP (1: the
# helper tasks of the module loads too), UMDLAB_BREAK
# (fault-leak: the ledger must catch a file kept open).
. "$TOP/tests/lib.sh"

OPS="bpfilter_load bpfilter_request_load bpfilter_restart bpfilter_unload
	sample_load sample_restart sample_unload"
plan $(($(echo $OPS | wc -w) + 2))

if ! grep -qx CONFIG_FAILSLAB=y "$BLD/.config" 2>/dev/null; then
	for t in $OPS kernel-log-clean host-clean; do
		skip "$t" "this kernel has no fault injection (uml-config/faults.config)"
	done
	exit 0
fi

# The sabotage switch breaks one operation's sweep: only that one runs.
case ",${UMDLAB_BREAK:-}," in
*,fault-leak,*) FAULT_OPS=${FAULT_OPS:-bpfilter-request-load} ;;
esac

m0=$(shmfiles)
# slab_nomerge: exact object counts for the ledger; loglevel=7: every
# message reaches the log that is scanned.  slub_debug on the files and
# pids: a put of one already freed (an error path releasing what it never
# got) writes into a poisoned object, which SLUB reports ("Poison
# overwritten") when the object is next allocated, instead of passing
# unseen until the memory happens to be reused.
export APPEND="${APPEND:+$APPEND }slab_nomerge slub_debug=FZPU,filp,pid loglevel=7 kunit.enable=0"
GUEST_TIMEOUT=${GUEST_TIMEOUT:-600} guest_run "D=/run/umdlab
FAULT_OPS=${FAULT_OPS:-} FAULT_MAX=${FAULT_MAX:-} FAULT_DEEP=${FAULT_DEEP:-} UMDLAB_BREAK=${UMDLAB_BREAK:-} \
/usr/lib/umdlab/scenarios/umd_faults > \$D/faults.tap 2>&1
echo \$? > \$D/faults.rc"
ctl=$RUNDIR/$LAST_UMID
guest_err=
case $RC in
0) ;;
124) guest_err="the guest timed out (status 124): a hang the sweep's own timeouts did not catch" ;;
126) guest_err="KERNEL PANIC in the guest (126)" ;;
*) guest_err="the guest command ended with status $RC" ;;
esac

# One result per operation: the k-th TAP result of umd_faults.
k=0
for t in $OPS; do
	k=$((k + 1))
	line=$(tap_result $k "$ctl/faults.tap")
	tap_diag $k "$ctl/faults.tap"
	case $line in
	"ok "*"# SKIP"*) skip "$t" "${line#*# SKIP }" ;;
	"ok "*) pass "$t" ;;
	"not ok "*) fail "$t" "the fault sweep of $t failed (diagnostics above)" ;;
	*) fail "$t" "$t reported no result: umd_faults ended early (status $(cat "$ctl/faults.rc" 2>/dev/null || echo none))${guest_err:+; $guest_err}" ;;
	esac
done

# The console log only: the sweep's fault reports overrun the kernel's
# ring buffer, so a dmesg at the end would start inside one of them.
scan=$("$TOP/scripts/splat-scan" "$LOG")
scan_rc=$?
if [ ! -s "$LOG" ]; then
	fail kernel-log-clean "no console log to scan ($LOG)"
elif [ $scan_rc -eq 0 ] && [ -z "$guest_err" ]; then
	[ -n "$scan" ] && printf '%s\n' "$scan" | diag
	pass kernel-log-clean
else
	fail kernel-log-clean "the kernel log must hold no BUG, WARNING, lockdep or KASAN report, Oops, panic or hung task beyond tests/allowlist/splats.txt (an injected fault's own report is not one)" \
		${guest_err:+"$guest_err"} "$scan"
fi

left=
pgrep -f "umid=$LAST_UMID( |\$)" >/dev/null && left="$left UML processes with umid=$LAST_UMID;"
[ -e "$UMLDIR/$LAST_UMID" ] && left="$left $UMLDIR/$LAST_UMID still exists;"
orphans=$(orphan_shm "$m0")
[ -n "$orphans" ] && left="$left /dev/shm files left behind: $orphans;"
left="$left$(host_leftovers)"
if [ -z "$left" ]; then
	pass host-clean
else
	fail host-clean "the guest must leave nothing on the host:$left"
fi
done_testing
