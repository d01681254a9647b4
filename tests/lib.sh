# SPDX-License-Identifier: GPL-2.0
# Shared by the test groups: TAP output and the boot helper.
#
# A test group prints one TAP stream: plan, then `ok`/`not ok` lines with
# `# ` diagnostics saying which invariant broke.  It exits non-zero when
# any test failed.

TAP_N=0
TAP_FAILED=0

plan() { echo "TAP version 13"; echo "1..$1"; }

diag() { sed 's/^/# /'; }

# pass NAME / fail NAME MESSAGE...
pass() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N $1"; }
fail() {
	local name=$1
	shift
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf '%s\n' "$@" | diag
	echo "not ok $TAP_N $name"
}
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N $1 # SKIP $2"; }

# check NAME MESSAGE COMMAND...: pass when COMMAND succeeds.
check() {
	local name=$1 msg=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$msg"; fi
}

# expect_eq NAME WANT GOT INVARIANT
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "$4" "want: $2" "got:  $3"
	fi
}

# out_has_line LINE / out_matches ERE / out_lacks ERE: about $OUT.
out_has_line() { grep -qxF -- "$1" <<<"$OUT"; }
out_matches() { grep -qE -- "$1" <<<"$OUT"; }
out_lacks() { ! grep -qE -- "$1" <<<"$OUT"; }

done_testing() { [ "$TAP_FAILED" -eq 0 ]; }

# tap_result K FILE: the K-th result line of a guest program's TAP (a
# kselftest harness run); tap_diag K FILE:
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

# A group with one guest that runs one kselftest-harness program (the
# fault sweep, the interleavings): what its run status says, one result
# per harness test, and the two verdicts on the run.
#
# guest_status_err RC: empty for 0, else what the guest's status means.
guest_status_err() {
	case $1 in
	0) ;;
	124) echo "the guest timed out (status 124): a hang its own timeouts did not catch" ;;
	126) echo "KERNEL PANIC in the guest (126)" ;;
	*) echo "the guest command ended with status $1" ;;
	esac
}

# report_tap NAME K TAP GUEST_ERR FAIL_MSG: the K-th result of TAP (its
# program's status beside it, TAP with .rc for .tap) as test NAME, its
# diagnostics first.
report_tap() {
	local name=$1 k=$2 tap=$3 err=$4 line
	line=$(tap_result "$k" "$tap")
	tap_diag "$k" "$tap"
	case $line in
	"ok "*"# SKIP"*) skip "$name" "${line#*# SKIP }" ;;
	"ok "*) pass "$name" ;;
	"not ok "*) fail "$name" "$5" ;;
	*) fail "$name" "$name reported no result: the guest program ended early (status $(cat "${tap%.tap}.rc" 2>/dev/null || echo none))${err:+; $err}" ;;
	esac
}

# kernel_log_verdict GUEST_ERR NOTE LOG...: test kernel-log-clean, the
# console logs through scripts/splat-scan; NOTE ends its message.
kernel_log_verdict() {
	local err=$1 note=$2 scan scan_rc
	shift 2
	scan=$("$TOP/scripts/splat-scan" "$@")
	scan_rc=$?
	if [ $# -eq 0 ] || [ ! -s "$1" ]; then
		fail kernel-log-clean "no console log to scan ($*)"
	elif [ $scan_rc -eq 0 ] && [ -z "$err" ]; then
		[ -n "$scan" ] && printf '%s\n' "$scan" | diag
		pass kernel-log-clean
	else
		fail kernel-log-clean "the kernel log must hold no BUG, WARNING, lockdep or KASAN report, Oops, panic or hung task beyond tests/allowlist/splats.txt$note" \
			${err:+"$err"} "$scan"
	fi
}

# host_clean_verdict SHM_BEFORE: test host-clean after the group's guest
# ($LAST_UMID): no UML process, no umid directory, no new /dev/shm file
# since SHM_BEFORE (shmfiles), nothing of this session left.
host_clean_verdict() {
	local left= orphans
	pgrep -f "umid=$LAST_UMID( |\$)" >/dev/null && left="$left UML processes with umid=$LAST_UMID;"
	[ -e "$UMLDIR/$LAST_UMID" ] && left="$left $UMLDIR/$LAST_UMID still exists;"
	orphans=$(orphan_shm "$1")
	[ -n "$orphans" ] && left="$left /dev/shm files left behind: $orphans;"
	left="$left$(host_leftovers)"
	if [ -z "$left" ]; then
		pass host-clean
	else
		fail host-clean "the guest must leave nothing on the host:$left"
	fi
}

# bpfilter left the kernel in 6.8 (BASE=6.12).  NO_BPFILTER is empty when
# the kernel under test (BLD) has it, else the reason its tests skip;
# bpfilter_or_skip NAME... is true with bpfilter, and without it reports
# NAME... (the tests the caller would run) as skipped.
if grep -qx 'CONFIG_BPFILTER=y' "${BLD:-/nonexistent}/.config" 2>/dev/null; then
	NO_BPFILTER=
else
	NO_BPFILTER="no bpfilter in this kernel (removed upstream in 6.8)"
fi
# config_or_skip CONFIG_X REASON TEST...: 0 when the kernel under test
# has CONFIG_X=y; else every TEST is reported skipped with REASON, and 1.
config_or_skip() {
	local opt=$1 why=$2 t
	shift 2
	grep -qx "$opt=y" "$BLD/.config" 2>/dev/null && return 0
	for t in "$@"; do skip "$t" "$why"; done
	return 1
}

bpfilter_or_skip() {
	local t
	[ -z "$NO_BPFILTER" ] && return 0
	for t in "$@"; do skip "$t" "$NO_BPFILTER"; done
	return 1
}

# shmfiles: /dev/shm's entries.  orphan_shm BEFORE: the entries new since
# BEFORE (an earlier shmfiles) that no process has open or mapped, i.e.
# left behind; one in use belongs to an instance still running (another
# group with JOBS=2, another make).
shmfiles() { ls -A /dev/shm 2>/dev/null | sort; }
orphan_shm() {
	local f
	for f in $(comm -13 <(echo "$1") <(shmfiles)); do
		grep -qsF "/dev/shm/$f" /proc/[0-9]*/maps && continue
		ls -l /proc/[0-9]*/fd 2>/dev/null | grep -qF "/dev/shm/$f" && continue
		echo "$f"
	done | paste -sd' '
}

# guest_run CMD...: boot the test instance, run CMD in it.  Sets OUT (the
# command's output), RC (exit status) and LOG (console log path).  Needs
# the Makefile's RUN_ENV in the environment.
GUEST_N=0
guest_run() {
	GUEST_N=$((GUEST_N + 1))
	local umid=t$$-$GUEST_N
	OUT=$(UMID=$umid CMD="$*" TIMEOUT=${GUEST_TIMEOUT:-120} \
		"$TOP/scripts/run-uml" 2>&1) && RC=0 || RC=$?
	LOG=$RUNDIR/$umid/console.log
	LAST_UMID=$umid
}

# guest_wait_exited VAR: guest shell (for a CMD) that waits, at most
# 10 s, until the process whose pid the guest's $VAR holds has exited:
# gone from /proc or a zombie.  A request sent right after a kill -9
# races it and meets the dying driver (ECONNRESET, as after a crash),
# not the restart under test.
guest_wait_exited() {
	printf 'for _ in $(seq 200); do [ -e /proc/$%s ] && [ "$(cut -d" " -f3 /proc/$%s/stat 2>/dev/null)" != Z ] || break; sleep 0.05; done' "$1" "$1"
}

# ---- what a run leaves behind: processes, by session or process group --------
#
# A background command of a script starts with SIGINT ignored, and a
# process of a run can outlive it, reparented to init, with a command
# line that names nothing of the project: only its session (and process
# group) still say whose it is.  proc_table prints "PID PPID PGID SID
# STATE" for every process; my_sid is this shell's session.
proc_table() {
	local f l p
	for f in /proc/[0-9]*/stat; do
		{ read -r l < "$f"; } 2>/dev/null || continue
		p=${f#/proc/} l=${l##*) }
		# shellcheck disable=SC2086 # the fields of /proc/PID/stat
		set -- $l
		echo "${p%/stat} $2 $3 $4 $1"
	done
}
my_sid() { local l; read -r l < /proc/$BASHPID/stat; l=${l##*) }; set -- $l; echo "$4"; }

# own_session SCRIPT ARGS...: a session that is not a run's to judge --
# 0, its leader outside this pid namespace (a container, a CI runner),
# or init's -- would make every other process on the machine look left
# behind: SCRIPT is run again in a session of its own (tests/run).
own_session() {
	case $(my_sid) in
	0|1) exec setsid -w "$@" ;;
	esac
}

# alive PID: PID runs (exists and is no zombie).  make_ancestor: the
# nearest ancestor named make, or nothing.
alive() {
	local l
	{ read -r l < "/proc/$1/stat"; } 2>/dev/null || return 1
	l=${l##*) }
	[ "${l%% *}" != Z ]
}
make_ancestor() {
	local p=$PPID
	while [ "${p:-0}" -gt 1 ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" != make ]; do
		p=$(awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$p/stat" 2>/dev/null)
	done
	[ "${p:-0}" -gt 1 ] && echo "$p"
}

# background CMD...: CMD in the background, as `CMD &`, but with SIGINT
# and SIGQUIT at their defaults (bash starts a background command with
# both ignored, so a Ctrl-C would not end it); $! is its pid.
background() { ( trap - INT QUIT; exec "$@" ) & }

# ---- a pool of background jobs ----------------------------------------------
#
# bash's `wait -n` does not report a job that ended before it was called
# (bash 5.2: `(sleep .2)& (sleep 1)& sleep .5; wait -n` returns after 1 s),
# and a pool counting on it loses a slot for good at each miss.  Here a job
# says it ended through a pipe; a job killed before it could is found by
# its pid.  The pools of make test's groups, of the scenario group's guests
# and of break-on-purpose's runs.
#   pool_open DIR      the pipe (a FIFO made in DIR, unlinked once open)
#   pool_add NAME PID  job NAME was started in the background as PID
#   pool_done NAME     the job's last command
#   pool_wait          until a job of the pool has ended; POOL_ENDED is its
#                      name.  ${#POOL_PIDS[@]} jobs are running.
# What a job runs needs no pipe: {POOL_FD}>&- on its command closes it.
declare -gA POOL_PIDS=()
pool_open() {
	local fifo=$1/.pool-$BASHPID
	rm -f "$fifo"
	mkfifo "$fifo" && exec {POOL_FD}<>"$fifo" && rm -f "$fifo"
}
pool_add() { POOL_PIDS[$1]=$2; }
pool_done() { echo "$1" >&"$POOL_FD"; }
pool_wait() {
	local name
	while :; do
		if read -r -t 1 -u "$POOL_FD" name; then
			[ -n "${POOL_PIDS[$name]:-}" ] || continue	# found gone before
			unset "POOL_PIDS[$name]"
			POOL_ENDED=$name
			return
		fi
		for name in "${!POOL_PIDS[@]}"; do
			alive "${POOL_PIDS[$name]}" && continue
			unset "POOL_PIDS[$name]"
			POOL_ENDED=$name
			return
		done
	done
}

# host_leftovers: this session's processes that nothing running owns any
# more (session_leftovers), as one line for a host-clean diagnostic.
host_leftovers() {
	local l
	l=$(session_leftovers "$(my_sid)")
	[ -n "$l" ] && echo " processes of this session left behind (by session, whatever their command line): $(paste -sd';' <<<"$l");"
}

# session_leftovers SID: the live processes of that session that are not
# this shell, one of its ancestors, or descended from one of its
# ancestors in that session: a run's processes that no running part of
# it still owns.  For a session this shell is not in (a `setsid make ...`
# it started and waited for) that is every process left in it.  One
# "PID ARGS" line each.
# Only those still there 0.3 s later: a process of a group running
# alongside (JOBS=2) is orphaned for a moment when a signal ends its
# parent first, and gone the next; one seen once was reported with an
# empty command line (it had exited by then).  Something left behind
# stays.
session_leftovers() {
	local first
	first=$(session_leftovers_once "$1")
	[ -n "$first" ] || return 0
	sleep 0.3
	session_leftovers_once "$1" | awk 'NR == FNR {seen[$1] = 1; next} $1 in seen' \
		<(echo "$first") -
}
session_leftovers_once() {
	local self=$BASHPID p
	for p in $(proc_table | awk -v id="$1" -v self="$self" '
		{ pp[$1] = $2; sid[$1] = $4; st[$1] = $5
		  if ($4 == id) member[$1] = 1 }
		END {
			for (p = self; p in pp; p = pp[p]) {
				if (sid[p] == id)
					own[p] = 1
				if (p == 1)
					break
			}
			for (p in member) {
				if (st[p] == "Z")
					continue
				for (q = p; (q in pp) && !(q in own) && q != 1; q = pp[q])
					;
				if (!(q in own))
					print p
			}
		}'); do
		echo "$p $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"
	done
}

# session_pids SID / group_pids PGID: the live processes of session SID
# or process group PGID, one pid a line.
session_pids() { proc_table | awk -v id="$1" '$4 == id && $5 != "Z" { print $1 }'; }
group_pids() { proc_table | awk -v id="$1" '$3 == id && $5 != "Z" { print $1 }'; }
