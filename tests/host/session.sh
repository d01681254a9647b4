#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host-clean checks find a run's leftovers by session (lib.sh).  In a
# container or on a CI runner a run's session can be 0 (its leader lives
# outside the pid namespace) and shared with every other process there:
# each of them would be reported as left behind.  tests/run then takes a
# session of its own (own_session).  Tried in a pid namespace of our own,
# beside a process that is not the run's.
. "$TOP/tests/lib.sh"

plan 3
ns=(unshare --user --map-root-user --pid --fork --mount-proc)
if ! "${ns[@]}" true 2>/dev/null; then
	for t in shared-session-exists own-session-clean own-session-sees-orphan; do
		skip "$t" "no user and pid namespaces here (unshare failed)"
	done
	exit 0
fi

# In the namespace: a stranger (sleep 30) in session 0, then a "run"
# that takes its own session and reports what host_leftovers finds; with
# MODE=orphan the run first leaves an orphan of its own (sleep 31), which
# must be reported (else this test could not fail).
probe='
sleep 30 & stranger=$!
bash -c ". \"\$TOP/tests/lib.sh\"; echo sid=\$(my_sid)"
printf "%s\n" ". \"\$TOP/tests/lib.sh\"" "own_session bash \"\$0\" \"\$@\"" \
	"[ \"\$1\" = orphan ] && { ( sleep 31 & ) ; sleep 0.2; }" "echo own=\$(( \$(my_sid) == \$\$ ))" "echo left=\$(host_leftovers)" > "$PROBE"
bash "$PROBE" "$MODE"
kill $stranger
pkill -x -f "sleep 31"
'
# The probe script in a directory of this test's own: not on a tmpfs over
# /tmp, which would hide a checkout that lives there.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out_of() { MODE=$1 TOP=$TOP PROBE=$tmp/probe.sh "${ns[@]}" bash -c "$probe" 2>&1; }
clean=$(out_of clean)
orphan=$(out_of orphan)
check shared-session-exists "in a pid namespace whose session leader is outside, a process's session reads 0 (the case own_session handles): $clean" \
	grep -qx 'sid=0' <<<"$clean"
check own-session-clean "a run in session 0 must lead a session of its own, and not report the other processes of the shared session as its leftovers: $clean" \
	grep -qzx '.*own=1.left=.' <<<"$clean"
check own-session-sees-orphan "after own_session, an orphan the run left must still be reported: $orphan" \
	grep -q 'left=.*sleep 31' <<<"$orphan"
done_testing
