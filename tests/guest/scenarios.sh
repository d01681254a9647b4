#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The scenario suite: bpfilter's user mode driver under the UMD series'
# manual checks, automated (rootfs/tests/README.md says what each proves).
#
#   scenarios.sh             run the scenarios named in SCENARIOS (comma
#                            list; empty: all), print TAP: the UMD ones in
#                            one guest, pidfd in a second one alongside
#   scenarios.sh --list      the scenario names, one a line
#   scenarios.sh --pidfd-report PROGRAM TAP RC
#                            the verdict on one recorded pidfd selftest
#                            run (TODO rules: pidfd_needs), exit 1 if it
#                            failed
#
# Environment: COUNT (cycles of every cycle scenario), FLAVOUR, APPEND,
# GUEST_TIMEOUT, UMDLAB_BREAK (sabotage switches, to prove a check can
# fail; see the README), TT (1: boot with time-travel), SPLAT_ALLOWLIST
# (scripts/splat-scan's), and the Makefile's RUN_ENV.
#
# Its parts, in tests/guest/scenarios/: guest-cmd.sh (what each guest
# runs), boots.sh (the guests side by side, the stall watcher, what they
# left behind), results.sh (their TAP, one result per scenario) and
# pidfd-verdict.sh (the pidfd selftests' TODO rules).  The kernel-log
# scan is scripts/splat-scan.
#
# The guest writes its results into the instance's control directory
# (/run/umdlab in the guest, RUNDIR/UMID on the host), not to the console:
# the console carries the kernel log at full loglevel, which is scanned
# for splats.
set -u

here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
SCENARIOS_ALL="builtin launch restart unload concurrency pidfd"
C_SCENARIOS="builtin launch restart unload concurrency"
# The one list of them, shared with rootfs/tests/build.mk.
PIDFD_TESTS=$(sed -e 's/#.*//' "$here/../../rootfs/tests/pidfd-tests.list" | xargs)
for part in pidfd-verdict guest-cmd boots results; do
	. "$here/scenarios/$part.sh"
done

# ---- command line -------------------------------------------------------------

case "${1:-}" in
--list)
	printf '%s\n' $SCENARIOS_ALL
	exit 0 ;;
--pidfd-report)
	# The verdict on one recorded pidfd selftest run (BLD's .config):
	# scenarios.sh --pidfd-report PROGRAM TAP RC.
	[ $# -eq 4 ] || { echo "umdlab: usage: scenarios.sh --pidfd-report PROGRAM TAP RC" >&2; exit 2; }
	pidfd_report 1 "$2" "$3" "$4"
	exit $? ;;
"") ;;
*)
	echo "umdlab: usage: scenarios.sh [--list | --pidfd-report PROGRAM TAP RC]" >&2
	exit 2 ;;
esac

sel=
for s in ${SCENARIOS//,/ }; do
	case " $SCENARIOS_ALL " in
	*" $s "*) sel="$sel $s" ;;
	*) echo "umdlab: unknown scenario '$s'; scenarios: $SCENARIOS_ALL" >&2; exit 2 ;;
	esac
done
[ -n "$sel" ] || sel=$SCENARIOS_ALL
# In suite order, each once.
sel=$(for s in $SCENARIOS_ALL; do case " $sel " in *" $s "*) echo "$s" ;; esac; done)
c_sel=$(for s in $sel; do case " $C_SCENARIOS " in *" $s "*) echo "$s" ;; esac; done | paste -sd,)
want_pidfd=$(grep -qx pidfd <<<"$sel" && echo 1)

. "$TOP/tests/lib.sh"

# Without bpfilter (BASE=6.12, lib.sh's NO_BPFILTER) the UMD scenarios,
# all about bpfilter's driver, are skipped and need no guest; the pidfd
# selftests run.  tests/guest/sample.sh covers the UMD API on any base.
[ -n "$NO_BPFILTER" ] && c_sel=

plan $(($(wc -w <<<"$sel") + 2))

# ---- what it runs -----------------------------------------------------------------

# Nothing selected can run on this kernel (bpfilter's scenarios on a
# tree without bpfilter): no guest boots, so there is no log to scan and
# nothing to leave behind.
if [ -z "$c_sel" ] && [ -z "$want_pidfd" ]; then
	report_umd
	skip kernel-log-clean "no guest booted: every selected scenario was skipped"
	skip host-clean "no guest booted: every selected scenario was skipped"
	done_testing
	exit
fi

m0=$(shmfiles)
umids= logs=() guest_err=
forget_old_instances
run_units
report_umd
report_pidfd

# The kernel log of every boot: no splat beyond the allowlist.
kernel_log_verdict "$guest_err" "" "${logs[@]}"

# The host: nothing of the boots left behind.
left=$(boots_left_behind)
if [ -z "$left" ]; then
	pass host-clean
else
	fail host-clean "the scenario boots must leave nothing on the host:$left"
fi
done_testing
