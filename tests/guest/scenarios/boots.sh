#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Sourced by tests/guest/scenarios.sh: the guests, booted side by side
# (JOBS), each watched for a stall, and what they left on the host.

# Instance directories are RUNDIR/scnPID-N, not lib.sh's t*: tests/run
# removes every t[0-9]*-* when it starts, which would take the results of
# a suite still running in another `make test` with them.  Ours are kept
# for reading failures until a later run of this group finds their
# process gone.
forget_old_instances() {
	local d p
	for d in "$RUNDIR"/scn[0-9]*-*; do
		[ -d "$d" ] || continue
		p=${d##*/scn}
		kill -0 "${p%%-*}" 2>/dev/null || rm -rf "$d"
	done
}

# boot_start NAME APPEND CMD: boot one guest in the background (as
# lib.sh's guest_run does in the foreground); boot_finish NAME waits for
# it, sets CTL (its control directory, where it leaves its results) and
# BOOT_ERR, and adds to logs, umids and guest_err.  The two guests are
# independent and UML runs on one host CPU, so with JOBS=2 on a 2-core
# host they run side by side.
BOOT_N=0
boot_start() {
	local umid
	BOOT_N=$((BOOT_N + 1))
	umid=scn$$-$BOOT_N
	printf -v "umid_$1" %s "$umid"
	# A background subshell of a script starts with SIGINT and SIGQUIT
	# ignored, and so would the supervisor: a Ctrl-C would leave the
	# instance running.  They get their defaults back.
	(
		trap - INT QUIT
		start=$(date +%s.%N)
		UMID=$umid NET=none APPEND=$2 CMD=$3 TIMEOUT=$GUEST_TIMEOUT \
			"$TOP/scripts/run-uml" >/dev/null 2>&1 {POOL_FD}>&-
		rc=$?
		mkdir -p "$RUNDIR/$umid"
		echo "$rc $(echo "$(date +%s.%N) - $start" | bc)" > "$RUNDIR/$umid/boot-status"
		pool_done "$1"
	) &
	printf -v "bootpid_$1" %s "$!"
	pool_add "$1" "$!"
	# Shortly before the supervisor's deadline, a guest still running is
	# stuck in a way its own timeouts did not catch (the whole kernel
	# wedged): save the UML kernel's backtrace (gdb on the host process)
	# for the report.
	# Its output goes nowhere and its sleep dies with it: nothing may
	# hold this group's stdout (a pipe to tee) open after the group.
	# It ends with its group on any signal (a Ctrl-C is a SIGINT, which
	# its sleep and timeout, started in the background or in a process
	# group of their own, would not get), and takes them with it.
	(
		kids=
		trap 'kill $kids 2>/dev/null; exit 0' INT TERM HUP QUIT
		sleep $((GUEST_TIMEOUT > 90 ? GUEST_TIMEOUT - 45 : GUEST_TIMEOUT / 2)) &
		kids=$!
		wait $kids
		pid=$(cat "$UMLDIR/$umid/pid" 2>/dev/null) || exit 0
		kill -0 "$pid" 2>/dev/null || exit 0
		timeout 40 gdb -q -batch -nx -p "$pid" -ex "bt 40" "$LINUX" \
			> "$RUNDIR/$umid/stall-backtrace.txt" 2>&1 &
		kids=$!
		wait $kids
	) >/dev/null 2>&1 </dev/null {POOL_FD}>&- &
	printf -v "watchpid_$1" %s "$!"
}

boot_finish() {
	local name=$1 umid pid watch elapsed err=
	umid=umid_$name pid=bootpid_$name watch=watchpid_$name
	umid=${!umid} pid=${!pid} watch=${!watch}
	wait "$pid"
	kill "$watch" 2>/dev/null
	wait "$watch" 2>/dev/null
	read -r RC elapsed < "$RUNDIR/$umid/boot-status" || RC=125
	[ "$RC" = 124 ] || rm -f "$RUNDIR/$umid/stall-backtrace.txt"
	CTL=$RUNDIR/$umid
	LOG=$CTL/console.log
	umids="$umids $umid"
	logs+=("$LOG")
	[ -s "$CTL/dmesg.txt" ] && logs+=("$CTL/dmesg.txt")
	echo "# $name boot: ${elapsed%???????}s wall, status $RC, console log $LOG"
	case $RC in
	0) ;;
	124) err="the $name guest timed out (status 124): a hang its own timeouts did not catch"
	     if [ -s "$CTL/stall-backtrace.txt" ]; then
		     err="$err; the stuck kernel's backtrace (gdb, $CTL/stall-backtrace.txt): $(grep -E '^#[0-9]+ ' "$CTL/stall-backtrace.txt" | sed -E 's/^#[0-9]+ +(0x[0-9a-f]+ in )?//; s/ \(.*//' | head -15 | paste -sd'<')"
	     fi ;;
	125) err="the $name guest never reported a status (125)" ;;
	126) err="KERNEL PANIC in the $name guest (126)" ;;
	130) err="the $name guest was interrupted (130)" ;;
	*) err="the $name guest command ended with status $RC" ;;
	esac
	[ -n "$err" ] && guest_err="${guest_err:+$guest_err; }$err"
	BOOT_ERR=$err
}

# The last resort deadline of a boot (status 124); the scenarios' own
# timeouts fire long before.  The default suite takes ~25 s on the
# default kernel, ~55 s on the debug one; cycles scale it.
if [ -n "${COUNT:-}" ]; then
	GUEST_TIMEOUT=${GUEST_TIMEOUT:-$((180 + COUNT * 4))}
else
	GUEST_TIMEOUT=${GUEST_TIMEOUT:-480}
fi
# The guests: with JOBS=1 (tests/run) the pidfd guest runs, then one UMD
# guest runs the selected scenarios in turn.  With JOBS=N every UMD
# scenario gets a guest of its own (its ledger and its log are its own
# either way) and up to N guests run at once.
# run_units: boot every unit, JOBS at a time; then unit_ctl[NAME] is its
# control directory and unit_err[NAME] what went wrong with its boot.
declare -A unit_ctl unit_err
run_units() {
	local units=() u jobs=${JOBS:-1}
	if [ -n "$c_sel" ]; then
		if [ "${JOBS:-1}" -gt 1 ]; then
			for s in ${c_sel//,/ }; do units+=("umd_$s:$s"); done
		else
			units+=("umd:$c_sel")
		fi
	fi
	[ -n "$want_pidfd" ] && units+=(pidfd)
	# Longest first, so that no long guest starts last and runs alone
	# (times of one make test T=scenarios, JOBS=2: pidfd 18 s, unload
	# and restart 6.5 s, concurrency 4 s, launch 0.5 s, builtin 0.3 s);
	# the results are reported in suite order whatever the order here.
	mapfile -t units < <(printf '%s\n' "${units[@]}" | awk -F: '
		BEGIN { n = split("pidfd umd_unload umd_restart umd_concurrency umd", r, " ")
			for (i = 1; i <= n; i++) rank[r[i]] = i }
		{ print ($1 in rank ? rank[$1] : n + 1), NR, $0 }' | sort -n -k1,1 -k2,2 | cut -d' ' -f3-)
	# A pool of JOBS guests (lib.sh): the next unit starts as soon as any
	# running one ends, not when the one started JOBS units earlier does.
	mkdir -p "$RUNDIR"
	pool_open "$RUNDIR" || return
	for u in "${units[@]}"; do
		while [ ${#POOL_PIDS[@]} -ge "$jobs" ]; do pool_wait; finish_unit "$POOL_ENDED"; done
		case $u in
		pidfd) boot_start pidfd "$pidfd_append" "$(pidfd_cmd)" ;;
		*) boot_start "${u%%:*}" "$umd_append" "$(umd_cmd "${u#*:}")" ;;
		esac
	done
	while [ ${#POOL_PIDS[@]} -gt 0 ]; do pool_wait; finish_unit "$POOL_ENDED"; done
	exec {POOL_FD}>&-
}
finish_unit() { # finish_unit NAME
	boot_finish "$1"
	unit_ctl[$1]=$CTL unit_err[$1]=$BOOT_ERR
}


# The boots are NET=none (no slirp to leave behind).  Other sessions may
# boot instances meanwhile: only a new /dev/shm file that no process has
# open or mapped can be one of ours left behind.
boots_left_behind() {
	local left= u orphans
	for u in $umids; do
		pgrep -f "umid=$u( |\$)" >/dev/null && left="$left UML processes with umid=$u;"
		[ -e "$UMLDIR/$u" ] && left="$left $UMLDIR/$u still exists;"
	done
	orphans=$(orphan_shm "$m0")
	[ -n "$orphans" ] && left="$left /dev/shm files left behind: $orphans;"
	# Whatever the boots started that no running process of this session
	# owns any more (reparented to init), whatever its command line.
	left="$left$(host_leftovers)"
	echo "$left"
}
