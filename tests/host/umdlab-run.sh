#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/umdlab-run.c, the UML supervisor, against fake UML programs.
#
# The programs beside this group (tests/host/umdlab-run/) imitate UML:
# they print a console, report an exit status, panic, hang, leave
# detached processes and an instance directory behind, or put the
# terminal into raw mode.  Each records the pids it creates in
# $FAKE_PIDS, so that every test can check that none of them is left
# running.

# shellcheck disable=SC2016 # $$ and $FAKE_PIDS are for the inner shells
. "$TOP/tests/lib.sh"
set -u

R=$HOSTBIN/umdlab-run
if [ ! -f "$R" ] || [ ! -x "$R" ]; then
	echo "Bail out! $R is not an executable (make host-tools)"
	exit 2
fi
FAKE=$TOP/tests/host/umdlab-run
# The directory's name has umdlab-run in it: kill_ours knows the
# stand-in for make below (a link in it) by that.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/umdlab-run.XXXXXX")
export FAKE_PIDS=$tmp/pids
why=()
all_pids=$tmp/all-pids
: >"$all_pids"

# kill_ours PID...: SIGKILL those that are still processes our tests
# started; a pid that died may have been reused by now.
kill_ours() {
	local p cmd
	for p in "$@"; do
		cmd=$(tr '\0' ' ' 2>/dev/null </proc/"$p"/cmdline) || continue
		case $cmd in
		"sleep 1000"*|*"$FAKE/"*|*umdlab-run*)
			kill -KILL "$p" 2>/dev/null ;;
		esac
	done
}

finish() {
	# Should a test have leaked anything, or been interrupted.
	# shellcheck disable=SC2046 # a list of pids
	kill_ours $(cat "$all_pids" "$FAKE_PIDS" "$tmp"/grace-pids 2>/dev/null)
	rm -rf "$tmp"
}
trap finish EXIT

# bad MESSAGE: a check failed; the next report fails with MESSAGE.
bad() { why+=("$*"); }

# report NAME: one test (lib.sh's pass or fail, which prints the
# diagnostics before the result) for the checks made since the last
# report.
report() {
	if [ ${#why[@]} -eq 0 ]; then
		pass "$1"
	else
		fail "$1" "${why[@]}"
	fi
	why=()
	cat "$FAKE_PIDS" >>"$all_pids" 2>/dev/null
	rm -f "$FAKE_PIDS" "$FAKE_PIDS".*
}

# run ARGS...: the supervisor with a watchdog; sets rc, ms, $tmp/out, err.
run() {
	local t0=${EPOCHREALTIME/./}
	timeout --foreground -s KILL 20 "$R" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
}

expect_rc() {
	[ "$rc" = "$1" ] || bad "exit status $rc, expected $1"
}
expect_has() {	# FILE TEXT
	grep -qF -- "$2" "$tmp/$1" ||
		bad "$1 lacks '$2'; it is: $(head -c 600 "$tmp/$1" | tr '\n' '|')"
}
expect_lacks() {
	! grep -qF -- "$2" "$tmp/$1" || bad "$1 has '$2'"
}
expect_time() {	# MIN MAX in ms
	if [ "$ms" -lt "$1" ] || [ "$ms" -gt "$2" ]; then
		bad "took $ms ms, expected $1..$2"
	fi
}
# expect_gone MIN: the fakes recorded at least MIN pids, none of them alive.
expect_gone() {
	local p c=0 pids=()
	[ -f "$FAKE_PIDS" ] && mapfile -t pids <"$FAKE_PIDS"
	for p in "${pids[@]}"; do
		c=$((c + 1))
		if kill -0 "$p" 2>/dev/null; then
			bad "pid $p ($(tr '\0' ' ' 2>/dev/null \
				</proc/"$p"/cmdline)) still running"
			kill_ours "$p"
		fi
	done
	[ "$c" -ge "$1" ] || bad "fakes recorded $c pids, expected >= $1"
}

plan 27

# Slow (10 s), so it runs in the background while the others go on: the
# guest reports, but the power-off hangs.  With SIGINT back (a background
# subshell starts with it ignored): a Ctrl-C must end it too.
(
	trap - INT QUIT
	t0=${EPOCHREALTIME/./}
	FAKE_PIDS=$tmp/grace-pids timeout --foreground -s KILL 20 \
		"$R" -m -- "$FAKE/detach" 5 hang \
		>"$tmp/grace-out" 2>"$tmp/grace-err"
	echo "$? $(( (${EPOCHREALTIME/./} - t0) / 1000 ))" >"$tmp/grace-rc"
) &
grace_job=$!

# Bad input: one line on stderr and 2, nothing run.
for args in "-x -- true" "-t" "-t abc true" "-t -1 true" "-t 1x true" \
		"-l" "-m --" ""; do
	# shellcheck disable=SC2086
	run $args
	expect_rc 2
	[ "$(wc -l <"$tmp/err")" = 1 ] ||
		bad "'$args': stderr is not one line: $(cat "$tmp/err")"
done
report "bad options and a missing PROGRAM exit 2 with one line"

run -- "$tmp/no-such-program" arg
expect_rc 2
expect_has err "umdlab: cannot run $tmp/no-such-program: No such file or directory"
report "a PROGRAM that cannot be run exits 2"

run -- "$FAKE/exit-with" 0 "line one" "line two"
expect_rc 0
expect_has out "line one"
expect_has out "line two"
expect_has out "fake: on stderr"
expect_has out "fake: stdin is /dev/null"
expect_gone 1
report "exit 0: stdout and stderr are copied, stdin is /dev/null"

run -- "$FAKE/exit-with" 7
expect_rc 1
run -- "$FAKE/exit-with" signal
expect_rc 1
expect_gone 2
report "a non-zero exit or a death by signal exits 1"

printf 'earlier run\n' >"$tmp/log"
run -m -l "$tmp/log" -- "$FAKE/detach" 3
expect_rc 3
expect_has out "fake: booting"
expect_has out "fake: on stderr"
expect_lacks out "reboot: Power down"
expect_lacks out "umdlab: exit status"
expect_lacks err "umdlab-run"
expect_gone 3
report "-m: the marker's status is the exit status; neither the marker nor the power-off after it is shown"

expect_has log "earlier run"
expect_has log "fake: booting"
expect_has log "fake: on stderr"
expect_has log "umdlab: exit status 3"
expect_has log "reboot: Power down"
report "-l appends the whole console to the log"

run -- "$FAKE/detach" 3
expect_rc 0
expect_has out "umdlab: exit status 3"
expect_gone 3
report "without -m the marker is ordinary output and detached processes die"

run -m -- "$FAKE/exit-with" 0 "umdlab: exit status 256" \
	"xumdlab: exit status 1" "umdlab: exit status 1 and more" "last words"
expect_rc 125
expect_has out "umdlab: exit status 256"
expect_has out "xumdlab: exit status 1"
expect_has out "umdlab: exit status 1 and more"
expect_has err "umdlab: guest ended without reporting an exit status"
expect_has err "last words"
expect_gone 1
report "-m: no valid marker exits 125 with the last console lines"

run -m -- "$FAKE/exit-with" signal "umdlab: exit status 0"
expect_rc 0
expect_has err "umdlab: the kernel died of signal 15 (Terminated) after the guest reported its exit status, instead of powering off"
run -m -- "$FAKE/detach" 0
expect_rc 0
expect_lacks err "died of signal"
report "-m: a kernel that dies of a signal after the guest reported keeps the guest's status, and says so"

run -m -- "$FAKE/exit-with" 1 $'umdlab: exit status 0\r' "after"
expect_rc 0
expect_lacks out "umdlab: exit status"
expect_lacks out "after"
report "-m: a CRLF marker line counts and is not shown"

run -m -- "$FAKE/exit-with" 1 "one" "" "" "umdlab: exit status 4"
expect_rc 4
# The command printed "one", then an empty line of its own; init's empty
# line before the marker is the second one.
if ! printf 'fake: stdin is /dev/null\nfake: on stderr\none\n\n' | cmp -s - "$tmp/out"; then
	bad "stdout must be the output up to the marker with exactly one empty line (init's own) dropped; it is: $(tr '\n' '|' <"$tmp/out")"
fi
report "-m: the empty line init prints before the marker is dropped, the command's own kept"

run -- "$FAKE/panic"
expect_rc 126
expect_has out "Kernel panic - not syncing: test"
expect_has out "fake: backtrace after the panic"
expect_has err "umdlab: kernel panic"
expect_time 900 4000
expect_gone 1
report "a kernel panic stops the instance after 1 s and exits 126"

run -t 1 -- "$FAKE/hang"
expect_rc 124
expect_has err "umdlab: timeout after 1 s"
expect_has err "fake: booting"
expect_has out "login: "
expect_time 900 4000
expect_gone 2
report "-t 1 kills a hanging instance and exits 124"

# SIGINT and SIGTERM, as from make's Ctrl-C.  With job control on, bash
# does not start background jobs with SIGINT ignored; env resets what
# this test itself may have inherited ignored (a make test started in
# the background of a script): the supervisor keeps an ignored SIGINT
# ignored, as nohup asks.
for sig in INT TERM; do
	set -m
	env --default-signal=INT,TERM "$R" -m -- "$FAKE/hang" >"$tmp/out" 2>"$tmp/err" &
	sup=$!
	set +m
	echo "$sup" >>"$all_pids"
	for _ in $(seq 100); do
		[ "$(wc -l 2>/dev/null <"$FAKE_PIDS")" = 2 ] &&
			grep -q "login: " "$tmp/out" && break
		sleep 0.05
	done
	expect_has out "login: "
	kill -"$sig" "$sup"
	for _ in $(seq 100); do
		kill -0 "$sup" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$sup" 2>/dev/null && bad "SIG$sig: supervisor still running"
	kill_ours "$sup"
	wait "$sup" 2>/dev/null
	rc=$?
	# Killed by the signal, after the cleanup: a shell stops there.
	expect_rc $((128 + $(kill -l "$sig")))
	expect_has err "umdlab: interrupted"
	expect_gone 2
	report "SIG$sig to the supervisor leaves no process, then it ends by SIG$sig"
done

# The make that started the instance goes away alone (SIGKILL, or a
# SIGTERM make passes only to the shell it runs): the instance ends.  A
# shell named make stands in for make; it starts the supervisor and
# waits, as make does.
ln -s "$(command -v bash)" "$tmp/make"
for sig in KILL TERM; do
	rm -f "$tmp/sup-pid"
	"$tmp/make" -c '"$1" -m -- "$2/hang" >"$3/out" 2>"$3/err" & echo $! >"$3/sup-pid"; wait' \
		make "$R" "$FAKE" "$tmp" &
	mk=$!
	for _ in $(seq 100); do
		[ "$(wc -l 2>/dev/null <"$FAKE_PIDS")" = 2 ] && [ -s "$tmp/sup-pid" ] &&
			grep -q "login: " "$tmp/out" && break
		sleep 0.05
	done
	sup=$(cat "$tmp/sup-pid" 2>/dev/null)
	echo "$sup" >>"$all_pids"
	expect_has out "login: "
	t0=${EPOCHREALTIME/./}
	kill -"$sig" "$mk"
	wait "$mk" 2>/dev/null
	for _ in $(seq 100); do
		[ -n "$sup" ] && kill -0 "$sup" 2>/dev/null || break
		sleep 0.05
	done
	ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
	[ -n "$sup" ] && kill -0 "$sup" 2>/dev/null && bad "SIG$sig to make: supervisor still running after 5 s"
	expect_time 0 3000
	kill_ours "$sup"
	expect_has err "umdlab: process $mk, which started this instance, is gone"
	expect_gone 2
	report "SIG$sig to the make that started it ends the instance"
done

# -p PID: PID must be an ancestor; once it is gone, so is the instance.
sleep 30 &
other=$!
run -p "$other" -- "$FAKE/exit-with" 0
expect_rc 130
expect_has err "umdlab: process $other, which started this instance, is gone"
[ -s "$FAKE_PIDS" ] && bad "the program was started"
UMDLAB_MAKE_PID=$other run -- "$FAKE/exit-with" 0
expect_rc 130
[ -s "$FAKE_PIDS" ] && bad "the program was started (UMDLAB_MAKE_PID)"
kill "$other"
wait "$other" 2>/dev/null
report "-p, UMDLAB_MAKE_PID: a process that is not an ancestor is gone: exit 130, nothing started"

bash -c '"$1" -p $$ -m -- "$2/hang" >"$3/out" 2>"$3/err" & sleep 1' \
	owner "$R" "$FAKE" "$tmp"
for _ in $(seq 100); do
	[ "$(wc -l 2>/dev/null <"$FAKE_PIDS")" = 2 ] || break
	# shellcheck disable=SC2046 # a list of pids
	kill -0 $(cat "$FAKE_PIDS") 2>/dev/null || break
	sleep 0.05
done
expect_has err "which started this instance, is gone"
expect_gone 2
report "-p PID: the instance ends when PID does"

# The running instance is this shell.
mkdir -p "$tmp/uml/live"
live=$$
echo "$live" >"$tmp/uml/live/pid"
run -u "$tmp/uml/live" -- "$FAKE/exit-with" 0
expect_rc 2
expect_has err "umdlab: instance live is already running (pid $live)"
expect_lacks out "fake"
[ -f "$tmp/uml/live/pid" ] || bad "the running instance's pid file was removed"
[ -s "$FAKE_PIDS" ] && bad "the program was started"
report "-u: a running instance is refused with 2"

# A dead pid: one of our own, reaped.
sh -c 'exit 0' &
dead=$!
wait "$dead"
mkdir -p "$tmp/uml/stale"
echo "$dead" >"$tmp/uml/stale/pid"
: >"$tmp/uml/stale/mconsole"
run -u "$tmp/uml/stale/" -- "$FAKE/exit-with" 0
expect_rc 0
expect_has out "fake: on stderr"
[ -e "$tmp/uml/stale" ] && bad "the stale instance directory is still there"
report "-u: a stale instance directory is removed"

mkdir -p "$tmp/uml/other"
echo "$dead" >"$tmp/uml/other/pid"
echo keep >"$tmp/uml/other/keep"
run -u "$tmp/uml/other" -- "$FAKE/exit-with" 0
expect_rc 0
[ -f "$tmp/uml/other/keep" ] || bad "a file that is not UML's was removed"
[ -e "$tmp/uml/other/pid" ] && bad "the stale pid file is still there"
report "-u: only pid, mconsole and the directory itself are removed"

run -t 1 -u "$tmp/uml/left" -- "$FAKE/instance" "$tmp/uml/left"
expect_rc 124
expect_has out "fake: instance up"
[ -e "$tmp/uml/left" ] && bad "the killed instance's directory is still there"
expect_gone 1
report "-u: the directory a killed instance leaves behind is removed"

echo "typed by the user" |
	timeout -s KILL 20 "$R" -i -- sh -c 'cat; echo $$ >>"$FAKE_PIDS"' \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 0
expect_has out "typed by the user"
report "-i without a terminal passes stdin through"

# -i on a terminal: script(1) provides a pty.
if command -v script >/dev/null; then
	cat >"$tmp/itest" <<-EOF
		before=\$(stty -g)
		"$R" -i -t 1 -- "$FAKE/raw-tty" >"$tmp/out" 2>"$tmp/err"
		echo \$? >"$tmp/irc"
		after=\$(stty -g)
		[ "\$before" = "\$after" ] || echo "termios not restored" >>"$tmp/ibad"
		perl -MFcntl -e 'exit((fcntl(STDIN, F_GETFL, 0) & O_NONBLOCK) ? 1 : 0)' ||
			echo "stdin left O_NONBLOCK" >>"$tmp/ibad"
		set -- \$(cat /proc/\$\$/stat)
		[ "\$5" = "\$8" ] || echo "the shell is no longer in the foreground" >>"$tmp/ibad"
	EOF
	timeout -s KILL 20 script -qec "bash $tmp/itest" /dev/null \
		</dev/null >/dev/null 2>&1
	rc=$(cat "$tmp/irc" 2>/dev/null)
	expect_rc 124
	expect_has out "fake: foreground"
	expect_has out "fake: raw"
	[ -f "$tmp/ibad" ] && bad "$(cat "$tmp/ibad")"
	expect_gone 1
	report "-i on a terminal: UML is foreground, the terminal is restored"
else
	skip "-i on a terminal" "no script(1)"
fi

# A reader that goes away must not stop the supervisor or the cleanup.
timeout -s KILL 20 "$R" -- sh -c 'echo $$ >>"$FAKE_PIDS"; yes | head -n 100000' |
	head -n 1 >/dev/null
rc=${PIPESTATUS[0]}
expect_rc 0
expect_gone 1
report "a closed stdout does not kill the supervisor"

wait "$grace_job"
read -r rc ms <"$tmp/grace-rc"
expect_rc 5
expect_time 9500 14000
expect_lacks grace-out "umdlab: exit status"
expect_lacks grace-out "reboot: Power down"
expect_lacks grace-err "died of signal"
FAKE_PIDS=$tmp/grace-pids expect_gone 3
cat "$tmp/grace-pids" >>"$all_pids"
report "-m: a guest that hangs after reporting is killed after 10 s"

done_testing
