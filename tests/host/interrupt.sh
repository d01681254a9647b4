#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Ctrl-C and kill, on the real kernel.  Each run is a session of its own
# (setsid), so "every process of the run" is its session, whatever the
# command lines say:
#
#   - a SIGINT to the process group (what Ctrl-C sends), once the guest
#     is up, ends make test (JOBS=1 and JOBS=2), make check, make run-uml
#     and make bench, and leaves no process of the session, no instance
#     directory (pid file, mconsole socket) and no /dev/shm file;
#   - a SIGKILL or SIGTERM to make alone ends its instance, and with it
#     the rest of the run, within 5 s (the supervisor watches make).
#
# The runs are long on purpose (COUNT=2000, sleep 30): one the signal did
# not stop is still running when it is looked at.  Their logs go to a
# directory of their own (UMDLAB_TEST_DIR, UMDLAB_BENCH_DIR), never over
# those of the make test that runs this group.
. "$TOP/tests/lib.sh"

plan 12

tmp=$(mktemp -d "${TMPDIR:-/tmp}/umdlab-interrupt.XXXXXX")
sessions=
# Whatever a failed case left running is ours: end it (a SIGTERM first,
# for the supervisors to clean up, then by pid), also when this group is
# interrupted: the runs' sessions are not in reach of the terminal.
end_session() { # end_session SID
	local left
	[ -n "$(session_pids "$1")" ] || return 0
	kill -TERM -- "-$1" 2>/dev/null
	for _ in $(seq 30); do
		left=$(session_pids "$1")
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086 # a list of pids
	kill -KILL $left 2>/dev/null
}
cleanup() {
	local s
	for s in $sessions; do end_session "$s"; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# start NAME MAKE-ARGS...: make in a session of its own, with SIGINT at
# its default as in a terminal (a background command of a script starts
# with it ignored).  Sets SID, make's pid and its session and process
# group.  A recursive make must not see this make test's MAKEFLAGS.
start() {
	local name=$1 s
	shift
	setsid env --default-signal=INT,QUIT -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
		UMDLAB_TEST_DIR="$tmp/$name-test" UMDLAB_BENCH_DIR="$tmp/$name-bench" \
		make -s -C "$TOP" "$@" > "$tmp/$name.out" 2>&1 < /dev/null &
	SID=$!
	sessions="$sessions $SID"
	for _ in $(seq 20); do
		s=$(awk '{ sub(/.*\) /, ""); print $4 }' "/proc/$SID/stat" 2>/dev/null)
		[ "$s" = "$SID" ] && return 0
		sleep 0.05
	done
	return 1
}

# guest_up SID: wait until a UML kernel of session SID has its mconsole
# socket (up to 120 s: make may first wait for another build).  Sets UMID.
guest_up() {
	local p u
	UMID=
	for _ in $(seq 600); do
		for p in $(pgrep -s "$1" -f ' umid=' 2>/dev/null); do
			u=$(tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | sed -n 's/^umid=//p' | head -1)
			[ -n "$u" ] && [ -S "$UMLDIR/$u/mconsole" ] && { UMID=$u; return 0; }
		done
		alive "$1" || return 1
		sleep 0.2
	done
	return 1
}

# ended SID SECS: wait up to SECS for make to end; sets RC (its status).
ended() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		alive "$1" || break
		sleep 0.1
	done
	alive "$1" && return 1
	wait "$1"
	RC=$?
	return 0
}

# leftovers SID UMID SHM0: what the run left after make ended: processes
# of its session (after up to 5 s for them to finish), the instance's
# directory, new /dev/shm files nobody uses.  Empty when clean.
leftovers() {
	local left='' procs orphans
	for _ in $(seq 50); do
		[ -z "$(session_pids "$1")" ] && break
		sleep 0.1
	done
	procs=$(session_leftovers "$1")
	[ -n "$procs" ] && left="$left processes of its session: $(paste -sd';' <<<"$procs");"
	[ -n "$2" ] && [ -e "$UMLDIR/$2" ] && left="$left $UMLDIR/$2 (pid file, mconsole socket) still exists;"
	orphans=$(orphan_shm "$3")
	[ -n "$orphans" ] && left="$left /dev/shm files nobody uses: $orphans;"
	echo "$left"
}

# sigint NAME WHAT MAKE-ARGS...: start, SIGINT to the group once the
# guest is up, then: make must end (non-zero), nothing may be left.
sigint() {
	local name=$1 what=$2 m0 left
	shift 2
	m0=$(shmfiles)
	if ! start "$name" "$@"; then
		fail "$name-ends" "setsid make must lead a session of its own (make $*)"
		skip "$name-leaves-nothing" "no session"
		return
	fi
	if ! guest_up "$SID"; then
		fail "$name-ends" "the run's guest never came up (make $*)" "$(tail -n 15 "$tmp/$name.out")"
		skip "$name-leaves-nothing" "no guest"
		end_session "$SID"
		return
	fi
	kill -INT -- "-$SID"
	if ended "$SID" 20; then
		if [ "$RC" -ne 0 ]; then
			pass "$name-ends"
		else
			fail "$name-ends" "Ctrl-C (SIGINT to the process group) must interrupt $what: make exited 0" \
				"$(tail -n 15 "$tmp/$name.out")"
		fi
	else
		fail "$name-ends" "Ctrl-C (SIGINT to the process group) must end $what within 20 s (make $*)" \
			"$(tail -n 15 "$tmp/$name.out")"
	fi
	clean "$name-leaves-nothing" "$m0" "Ctrl-C of $what must leave nothing of the run on the host (checked by session):"
	end_session "$SID"
}

# clean TEST SHM-BEFORE INVARIANT: TEST passes when the run of session
# $SID (instance $UMID) left nothing; else it fails with INVARIANT and
# what was left.
clean() {
	local left
	left=$(leftovers "$SID" "$UMID" "$2")
	if [ -z "$left" ]; then
		pass "$1"
	else
		fail "$1" "$3$left"
	fi
}

# killmake NAME SIG: make run-uml, SIG to make alone once the guest is up:
# the supervisor, watching make, must end the instance and the rest of
# the run within 5 s.
killmake() {
	local name=$1 sig=$2 m0 left
	m0=$(shmfiles)
	if ! start "$name" run-uml UMID="t$$-k$sig" CMD='sleep 30' || ! guest_up "$SID"; then
		fail "$name" "make run-uml's guest never came up" "$(tail -n 15 "$tmp/$name.out")"
		end_session "$SID"
		return
	fi
	kill -"$sig" "$SID"
	ended "$SID" 20
	clean "$name" "$m0" "SIG$sig to make alone must end its instance and the rest of the run within 5 s (README: a kill of make ends it):"
	end_session "$SID"
}

# IF_STALE=1 (as make run-uml and make check have it): Kbuild runs only
# when the tree is newer than the build; the build is not what is tested.
sigint run-uml-sigint "make run-uml" run-uml UMID="t$$-intr" CMD='sleep 30'
# The long guest run to interrupt is the restart scenario (COUNT=2000):
# bpfilter's.  Without bpfilter (BASE=6.12) these three are skipped; what
# they try (make test's and make check's scripts) is the same on any base.
if bpfilter_or_skip test-sigint-ends test-sigint-leaves-nothing \
		test-jobs2-sigint-ends test-jobs2-sigint-leaves-nothing \
		check-sigint-ends check-sigint-leaves-nothing; then
	sigint test-sigint "make test" test T=restart COUNT=2000 JOBS=1 IF_STALE=1
	sigint test-jobs2-sigint "make test JOBS=2" test T=restart COUNT=2000 JOBS=2 IF_STALE=1
	sigint check-sigint "make check" check T=restart COUNT=2000 JOBS=1
fi
# make bench installs gnuplot-nox first: only where it is there already.
if command -v gnuplot >/dev/null; then
	sigint bench-sigint "make bench" bench BENCH=memory IF_STALE=1
else
	skip bench-sigint-ends "no gnuplot (make bench would install gnuplot-nox)"
	skip bench-sigint-leaves-nothing "no gnuplot (make bench would install gnuplot-nox)"
fi
killmake sigkill-make-ends-instance KILL
killmake sigterm-make-ends-instance TERM
done_testing
