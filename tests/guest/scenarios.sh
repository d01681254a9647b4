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
#   scenarios.sh --scan LOG...
#                            the kernel-log scan alone: new splats in LOGs
#                            (console logs or dmesg output), exit 1 if any
#   scenarios.sh --pidfd-report PROGRAM TAP RC
#                            the verdict on one recorded pidfd selftest
#                            run (TODO rules: pidfd_needs), exit 1 if it
#                            failed
#
# Environment: COUNT (cycles of every cycle scenario), FLAVOUR, APPEND,
# GUEST_TIMEOUT, UMDLAB_BREAK (sabotage switches, to prove a check can
# fail; see the README), TT (1: boot with time-travel), SPLAT_ALLOWLIST (default
# tests/allowlist/splats.txt), and the Makefile's RUN_ENV.
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
ALLOWLIST=${SPLAT_ALLOWLIST:-$here/../allowlist/splats.txt}

# ---- the kernel-log scan ------------------------------------------------------
#
# A splat is a line matching HEADERS (after the "[ time]" or "<level>"
# prefix) and the lines after it, up to the next splat, a scenario
# marker, a "=====" or "---[ end trace" line, or 150 lines: its block.
# A splat is allowed when an allowlist entry matches it: the entry's file
# occurs in the block as "FILE:", a line of the block matches the entry's
# message (an ERE), the entry's via function (unless "-") is in the
# block's call trace, and the splat came in the entry's phase: "boot"
# before init started ("Run ... as init process"), "setup" before the
# first scenario began, "any" at any time.
# The "umdlab-scenario: begin NAME" markers the guest program writes say
# which scenario was running.  The same splat found in several logs (the
# console log and the guest's dmesg) is reported once.
HEADERS='BUG:|WARNING:|Oops|kernel BUG at|Kernel panic|general protection fault|Unable to handle kernel|UBSAN:|ODEBUG:|INFO: task .* blocked for more than|rcu: INFO:|INFO: rcu_|list_(add|del) corruption|Bad page state|BUG kmalloc|printk messages dropped|Call Trace:'

scan_logs() {
	[ -r "$ALLOWLIST" ] || { echo "scenarios: no allowlist $ALLOWLIST" >&2; return 2; }
	awk -v headers="$HEADERS" -v allowfile="$ALLOWLIST" '
	function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
	BEGIN {
		n_allow = 0
		while ((getline line < allowfile) > 0) {
			if (line ~ /^[ \t]*(#|$)/)
				continue
			nf = split(line, f, /[ \t]*\|[ \t]*/)
			if (nf < 5 || trim(f[1]) !~ /^(boot|setup|any)$/) {
				print "scenarios: bad allowlist line: " line > "/dev/stderr"
				bad_allow = 1
				continue
			}
			n_allow++
			a_phase[n_allow] = trim(f[1])
			a_file[n_allow] = trim(f[2])
			a_msg[n_allow] = trim(f[3])
			a_via[n_allow] = trim(f[4])
			a_why[n_allow] = trim(f[5])
		}
		nsplat = 0
		new = 0
	}
	FNR == 1 { phase = "boot"; scen = "boot"; cur = 0 }
	{
		msg = $0
		sub(/\r$/, "", msg)
		sub(/^<[0-9]+>/, "", msg)
		ts = ""
		if (match(msg, /^\[ *[0-9]+\.[0-9]+\] ?/)) {
			ts = substr(msg, 1, RLENGTH)
			msg = substr(msg, RLENGTH + 1)
		}
	}
	msg ~ /Run .* as init process/ { phase = "run" }
	msg ~ /umdlab-scenario: begin / {
		phase = "scenarios"
		scen = msg
		sub(/.*umdlab-scenario: begin /, "", scen)
		cur = 0
		next
	}
	msg ~ /umdlab-scenario: end / { scen = "between scenarios"; cur = 0; next }
	msg ~ headers && !(cur && msg ~ /^Call Trace:/) {
		cur = ++nsplat
		s_ts[cur] = ts
		s_head[cur] = msg
		s_where[cur] = FILENAME ":" FNR
		s_phase[cur] = phase
		s_scen[cur] = scen
		s_block[cur] = msg
		s_len[cur] = 1
		next
	}
	cur {
		s_block[cur] = s_block[cur] "\n" msg
		s_len[cur]++
		if (msg ~ /^=+$|---\[ end trace/ || s_len[cur] >= 150)
			cur = 0
	}
	END {
		for (i = 1; i <= nsplat; i++) {
			# The console log and dmesg hold the same splats.
			key = s_ts[i] SUBSEP s_block[i]
			if (s_ts[i] != "" && (key in seen))
				continue
			seen[key] = 1
			why = ""
			for (j = 1; j <= n_allow && why == ""; j++) {
				if (a_phase[j] == "boot" && s_phase[i] != "boot")
					continue
				if (a_phase[j] == "setup" && s_phase[i] == "scenarios")
					continue
				if (index(s_block[i], a_file[j] ":") == 0)
					continue
				if (a_via[j] != "-" && index(s_block[i], " " a_via[j] "+0x") == 0)
					continue
				nl = split(s_block[i], bl, "\n")
				for (k = 1; k <= nl; k++)
					if (bl[k] ~ a_msg[j]) {
						why = a_file[j] ": " a_why[j]
						break
					}
			}
			if (why != "") {
				print "allowed: " s_head[i] " (" s_where[i] "; " why ")"
				continue
			}
			new++
			when = s_scen[i] == "boot" ? (s_phase[i] == "boot" ? "boot" : "setup, before the scenarios") : "scenario " s_scen[i]
			print "NEW SPLAT during " when " at " s_where[i] ": " s_head[i]
			nl = split(s_block[i], bl, "\n")
			for (k = 1; k <= nl && k <= 30; k++)
				print "    " bl[k]
		}
		exit (new ? 1 : (bad_allow ? 2 : 0))
	}' "$@"
}

# ---- the pidfd selftests' verdicts --------------------------------------------
#
# What tools/testing/selftests/pidfd/config asks for and the kernel
# lacks.  A test case that needs a missing option (by its source: the
# namespaces it or its fixture unshares or clones) fails for the
# configuration's sake, not the kernel code's: its failure is reported as
# TODO, naming the option, and becomes strict once the kernel has it.
# Every other case of the same program stays strict.
#
# pidfd_needs PROGRAM CASE: the options CASE (as its TAP line names it;
# empty: a case a bail-out left unrun, or any case of a program that is
# not split by case) needs.
pidfd_needs() {
	case $1 in
	pidfd_test) echo CONFIG_PID_NS ;;		# unshare(CLONE_NEWPID)
	pidfd_fdinfo_test) echo CONFIG_PID_NS ;;	# clone(CLONE_NEWPID)
	# The current_nsset fixture's children clone CLONE_NEWUSER and
	# CLONE_NEWPID and unshare CLONE_NEWTIME, which UML cannot have
	# (TIME_NS depends on GENERIC_VDSO_TIME_NS, which arch/um does not
	# select): every current_nsset case fails in its setup.
	# global.setns_einval (setns on a memfd) needs none of them.
	pidfd_setns_test)
		case $2 in
		current_nsset.*) echo CONFIG_USER_NS CONFIG_PID_NS CONFIG_TIME_NS ;;
		esac ;;
	esac
}
cfg_missing() {
	local o
	for o in "$@"; do
		grep -qx "$o=y" "${BLD:-/nonexistent}/.config" 2>/dev/null || echo "$o"
	done | paste -sd' '
}

# pidfd_report N PROGRAM TAP RC: PROGRAM's TAP (file TAP) nested as
# subtest N, with its result line; RC is its exit status (empty: none).
# A failing case whose needed options (pidfd_needs) the kernel lacks
# carries "# TODO needs ..."; the program's result is TODO only when
# every failing case is.  Returns 1 when the program failed.
pidfd_report() {
	local n=$1 t=$2 tap=$3 rc=$4 line case need strict=0 todo=0 todo_needs= planned ran k
	echo "        # Subtest: $t"
	if [ "$rc" = 0 ] || [ "$rc" = 4 ] || [ "$rc" = 124 ] || [ "$rc" = 143 ] || [ -z "$rc" ]; then
		sed 's/^/        /' "$tap" 2>/dev/null
	else
		# Its TAP as printed; a failing case that needs a missing
		# option carries the TODO, and so does a "Bail out!" when the
		# program as a whole needs one (else ktap would count it).
		while IFS= read -r line; do
			case $line in
			"not ok "[0-9]*)
				# One with a directive of its own is ktap's to judge.
				[[ "$line" == *" # "* ]] && { printf '        %s\n' "$line"; continue; }
				case=$(sed -E 's/^not ok [0-9]+ ?//' <<<"$line")
				need=$(cfg_missing $(pidfd_needs "$t" "$case"))
				if [ -n "$need" ]; then
					line="$line # TODO needs $need"
					todo=$((todo + 1)) todo_needs="$todo_needs $need"
				else
					strict=$((strict + 1))
				fi ;;
			"Bail out! "*)
				need=$(cfg_missing $(pidfd_needs "$t" ""))
				if [ -n "$need" ]; then
					line="# ${line} (TODO: needs $need)"
					todo_needs="$todo_needs $need"
				else
					strict=$((strict + 1))
				fi ;;
			esac
			printf '        %s\n' "$line"
		done < <(cat "$tap" 2>/dev/null)
		# The planned cases the program never reported (a bail-out, a
		# crash): TODO only when any case of the program would be.
		planned=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$tap" 2>/dev/null | head -1)
		ran=$(grep -cE '^(not )?ok [0-9]+' "$tap" 2>/dev/null)
		need=$(cfg_missing $(pidfd_needs "$t" ""))
		for ((k = ${ran:-0} + 1; k <= ${planned:-0}; k++)); do
			if [ -n "$need" ]; then
				echo "        not ok $k not run: the program ended early # TODO needs $need"
				todo=$((todo + 1)) todo_needs="$todo_needs $need"
			else
				echo "        not ok $k not run: the program ended early"
				strict=$((strict + 1))
			fi
		done
	fi
	case $rc in
	0) echo "    ok $n $t" ;;
	4) echo "    ok $n $t # SKIP the selftest skipped itself (exit 4, KSFT_SKIP)" ;;
	124|143) echo "    # $t: timed out after 120 s"; echo "    not ok $n $t"; return 1 ;;
	"") echo "    # $t: no exit status: it never ran or the guest ended${pidfd_err:+ ($pidfd_err)}"
	    echo "    not ok $n $t"; return 1 ;;
	*)
		echo "    # $t: exit status $rc"
		todo_needs=$(tr ' ' '\n' <<<"$todo_needs" | awk 'NF && !seen[$0]++' | paste -sd' ')
		if [ "$strict" = 0 ] && [ "$todo" -gt 0 ]; then
			echo "    not ok $n $t # TODO needs $todo_needs, which this kernel's config lacks$(grep -q CONFIG_TIME_NS <<<"$todo_needs" && echo " (UML cannot have CONFIG_TIME_NS)")"
		else
			[ "$todo" -gt 0 ] && echo "    # $t: $todo failing cases need $todo_needs (TODO), $strict do not"
			[ "$todo" = 0 ] && [ "$strict" = 0 ] && echo "    # $t: no failing case in its TAP"
			echo "    not ok $n $t"
			return 1
		fi ;;
	esac
	return 0
}

# ---- command line -------------------------------------------------------------

case "${1:-}" in
--list)
	printf '%s\n' $SCENARIOS_ALL
	exit 0 ;;
--scan)
	shift
	scan_logs "$@"
	exit $? ;;
--pidfd-report)
	# The verdict on one recorded pidfd selftest run (BLD's .config):
	# scenarios.sh --pidfd-report PROGRAM TAP RC.
	[ $# -eq 4 ] || { echo "usage: scenarios.sh --pidfd-report PROGRAM TAP RC" >&2; exit 2; }
	pidfd_report 1 "$2" "$3" "$4"
	exit $? ;;
"") ;;
*)
	echo "usage: scenarios.sh [--list | --scan LOG... | --pidfd-report PROGRAM TAP RC]" >&2
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

# ---- the guest runs ---------------------------------------------------------------

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

m0=$(shmfiles)
umids= logs=() guest_err=

# Instance directories are RUNDIR/scnPID-N, not lib.sh's t*: tests/run
# removes every t[0-9]*-* when it starts, which would take the results of
# a suite still running in another `make test` with them.  Ours are kept
# for reading failures until a later run of this group finds their
# process gone.
for d in "$RUNDIR"/scn[0-9]*-*; do
	[ -d "$d" ] || continue
	p=${d##*/scn}
	kill -0 "${p%%-*}" 2>/dev/null || rm -rf "$d"
done

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
			"$TOP/scripts/run-uml" >/dev/null 2>&1
		rc=$?
		mkdir -p "$RUNDIR/$umid"
		echo "$rc $(echo "$(date +%s.%N) - $start" | bc)" > "$RUNDIR/$umid/boot-status"
	) &
	printf -v "bootpid_$1" %s "$!"
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
	) >/dev/null 2>&1 </dev/null &
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
# The guests: with JOBS=1 (tests/run) one UMD guest runs the selected
# scenarios in turn, then the pidfd guest runs.  With JOBS=N every UMD
# scenario gets a guest of its own (its ledger and its log are its own
# either way) and up to N guests run at once.
units=()
if [ -n "$c_sel" ]; then
	if [ "${JOBS:-1}" -gt 1 ]; then
		for s in ${c_sel//,/ }; do units+=("umd_$s:$s"); done
	else
		units+=("umd:$c_sel")
	fi
fi
[ -n "$want_pidfd" ] && units+=(pidfd)
declare -A unit_ctl unit_err
finish_unit() {
	boot_finish "${1%%:*}"
	unit_ctl[${1%%:*}]=$CTL unit_err[${1%%:*}]=$BOOT_ERR
}
jobs=${JOBS:-1}
for ((i = 0; i < ${#units[@]}; i++)); do
	[ $i -ge "$jobs" ] && finish_unit "${units[i - jobs]}"
	u=${units[i]}
	case $u in
	pidfd) boot_start pidfd "$pidfd_append" "$(pidfd_cmd)" ;;
	*) boot_start "${u%%:*}" "$umd_append" "$(umd_cmd "${u#*:}")" ;;
	esac
done
for ((i = ${#units[@]} > jobs ? ${#units[@]} - jobs : 0; i < ${#units[@]}; i++)); do
	finish_unit "${units[i]}"
done
pidfd_ctl=${unit_ctl[pidfd]:-} pidfd_err=${unit_err[pidfd]:-}

# ---- results: the guest program's TAP, one result per scenario ----------------

# tap_result K FILE: the K-th result line of a umd.tap; tap_diag K FILE:
# the diagnostics before it.
tap_result() {
	awk -v k="$1" '/^(not )?ok [0-9]+/ && ++n == k { print; exit }' "$2" 2>/dev/null
}
tap_diag() {
	awk -v k="$1" '
		/^(not )?ok [0-9]+/ { if (++n == k) exit; next }
		n + 1 == k && /^#/ && !/^# (Starting|FAILED|PASSED|Totals)/ { print }
	' "$2" 2>/dev/null
}

k=0
for s in $sel; do
	[ "$s" = pidfd ] && continue
	if [ -n "$NO_BPFILTER" ]; then
		skip "$s" "$NO_BPFILTER"
		continue
	fi
	# Its own guest (JOBS>1), or its place in the one UMD guest.
	if [ -n "${unit_ctl[umd_$s]+set}" ]; then
		ctl=${unit_ctl[umd_$s]} err=${unit_err[umd_$s]} n=1
	else
		k=$((k + 1))
		ctl=${unit_ctl[umd]:-} err=${unit_err[umd]:-} n=$k
	fi
	line=$(tap_result $n "$ctl/umd.tap")
	diag=$(tap_diag $n "$ctl/umd.tap")
	[ -n "$diag" ] && printf '%s\n' "$diag"
	case $line in
	"ok "*"# SKIP"*) skip "$s" "${line#*# SKIP }" ;;
	"ok "*) pass "$s" ;;
	"not ok "*) fail "$s" "scenario $s failed (diagnostics above)" ;;
	*) fail "$s" "scenario $s reported no result: the guest program ended early (umd_scenarios status $(cat "$ctl/umd.rc" 2>/dev/null || echo none))${err:+; $err}" ;;
	esac
done

# ---- pidfd: the kernel's own selftests, each nested as a subtest ---------------

if [ -n "$want_pidfd" ]; then
	n=0 bad=0
	ksft_cfg=$(sed -n 's/=y$//p' "$SRC/tools/testing/selftests/pidfd/config" 2>/dev/null)
	lacking=$(cfg_missing $ksft_cfg)
	[ -n "$lacking" ] && echo "# pidfd: the kernel lacks $lacking, which tools/testing/selftests/pidfd/config asks for"
	echo "    # Subtest: pidfd"
	echo "    1..$(wc -w <<<"$PIDFD_TESTS")"
	for t in $PIDFD_TESTS; do
		n=$((n + 1))
		pidfd_report $n $t "$pidfd_ctl/pidfd.$t.tap" "$(cat "$pidfd_ctl/pidfd.$t.rc" 2>/dev/null)" || bad=1
	done
	if [ $bad = 0 ]; then pass pidfd; else fail pidfd "a pidfd selftest failed (its TAP above)"; fi
fi

# ---- the kernel log -------------------------------------------------------------

scan=$(scan_logs "${logs[@]}")
scan_rc=$?
if [ ${#logs[@]} -eq 0 ] || [ ! -s "${logs[0]}" ]; then
	fail kernel-log-clean "no console log to scan (${logs[*]})"
elif [ $scan_rc -eq 0 ] && [ -z "$guest_err" ]; then
	[ -n "$scan" ] && printf '%s\n' "$scan" | diag
	pass kernel-log-clean
else
	fail kernel-log-clean "the kernel log must hold no BUG, WARNING, lockdep or KASAN report, Oops, panic or hung task beyond tests/allowlist/splats.txt" \
		${guest_err:+"$guest_err"} "$scan"
fi

# ---- the host -------------------------------------------------------------------

# The boots are NET=none (no slirp to leave behind).  Other sessions may
# boot instances meanwhile: only a new /dev/shm file that no process has
# open or mapped can be one of ours left behind.
left=
for u in $umids; do
	pgrep -f "umid=$u( |\$)" >/dev/null && left="$left UML processes with umid=$u;"
	[ -e "$UMLDIR/$u" ] && left="$left $UMLDIR/$u still exists;"
done
orphans=$(orphan_shm "$m0")
[ -n "$orphans" ] && left="$left /dev/shm files left behind: $orphans;"
# Whatever the boots started that no running process of this session
# owns any more (reparented to init), whatever its command line.
left="$left$(host_leftovers)"
if [ -z "$left" ]; then
	pass host-clean
else
	fail host-clean "the scenario boots must leave nothing on the host:$left"
fi
done_testing
