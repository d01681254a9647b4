#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Sourced by tests/guest/scenarios.sh: what each guest runs (the command
# line run-uml passes to the guest's init) and its boot parameters.

# Two boots: the UMD scenarios, then the pidfd selftests (independent of
# each other, and each gets the boot parameters that suit it).
# slab_nomerge: exact object counts for the ledger.  loglevel=7 after
# run-uml's "quiet": every kernel message reaches the console log, where
# quiet would hide KERN_WARNING (WARN(), lockdep, KASAN headers).
# kasan_multi_shot: KASAN reports every bad access, not only the first.
# time-travel (TT=1): guest sleeps cost no wall time, but here every
# exec and fork costs much more (measured on this 2-core machine: 30
# restart cycles 8 s wall without, 26 s with time-travel, 74 s with
# time-travel=inf-cpu; the pidfd selftests 38 s with time-travel), so it
# is off by default.
common_append="${APPEND:-} loglevel=7"
grep -qx CONFIG_KASAN=y "${BLD:-/nonexistent}/.config" 2>/dev/null &&
	common_append="$common_append kasan_multi_shot"
[ "${TT:-0}" = 1 ] && common_append="$common_append time-travel"
umd_append="$common_append slab_nomerge"
pidfd_append=$common_append

prologue() {
	echo 'D=/run/umdlab'
	echo 'rm -f $D/umd.tap $D/umd.rc $D/pidfd.* $D/dmesg.txt'
	# A task blocked this long is reported ("INFO: task ... blocked"),
	# and the scan fails the run; under the scenarios' own timeouts.
	echo '[ -w /proc/sys/kernel/hung_task_timeout_secs ] && echo 5 > /proc/sys/kernel/hung_task_timeout_secs'
	case ",${UMDLAB_BREAK:-}," in
	*,splat,*) echo 'echo "<4>WARNING: CPU: 0 PID: 1 at kernel/umh.c:1 umdlab_sabotage+0x0/0x0" > /dev/kmsg' ;;
	esac
}

umd_cmd() { # umd_cmd SCENARIOS
	prologue
	echo "SCENARIOS=$1 COUNT=${COUNT:-} UMDLAB_BREAK=${UMDLAB_BREAK:-} /usr/lib/umdlab/scenarios/umd_scenarios > \$D/umd.tap 2>&1"
	echo 'echo $? > $D/umd.rc'
	echo 'dmesg > $D/dmesg.txt'
}

pidfd_cmd() {
	local t args
	prologue
	# pidfd_test's recycled-pid test forks in a new pid namespace until
	# pid 1000 comes round again: up to pid_max (32768) forks, over two
	# minutes on UML.  pid_max is global; 1024 makes it wrap after ~1700
	# forks and changes nothing else the tests look at.
	echo 'echo 1024 > /proc/sys/kernel/pid_max'
	for t in $PIDFD_TESTS; do
		echo "echo '<5>umdlab-scenario: begin pidfd/$t' > /dev/kmsg"
		args=
		# Upstream's default is 10000 fork/kill/poll rounds, 26 s here.
		[ "$t" = pidfd_poll_test ] && args=$((${COUNT:-100} * 10))
		echo "timeout 120 /usr/lib/umdlab/pidfd/$t $args > \$D/pidfd.$t.tap 2>&1"
		echo "echo \$? > \$D/pidfd.$t.rc"
		echo "echo '<5>umdlab-scenario: end pidfd/$t' > /dev/kmsg"
	done
	echo 'dmesg > $D/dmesg.txt'
}

