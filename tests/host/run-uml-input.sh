#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/run-uml refuses what UML cannot boot with, in one line and
# status 2, before starting anything.
. "$TOP/tests/lib.sh"

plan 2

# UML maps guest memory with PROT_EXEC from TMPDIR (else /dev/shm).
if [ "$(id -u)" = 0 ]; then
	d=$(mktemp -d)
	trap 'umount "$d" 2>/dev/null; rmdir "$d"' EXIT
	mount -t tmpfs -o noexec,size=1M tmpfs "$d"
	out=$(TMPDIR=$d UMID=t$$-noexec CMD=true "$TOP/scripts/run-uml" 2>&1); rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "^umdlab: .*mounted noexec" <<<"$out"; then
		pass noexec-tmpdir-refused
	else
		fail noexec-tmpdir-refused "a noexec TMPDIR must be refused with one line (umdlab: ...) and status 2" "rc=$rc: $out"
	fi
else
	skip noexec-tmpdir-refused "needs root to mount a noexec tmpfs"
fi

out=$(SHARE=/ UMID=t$$-share CMD=true "$TOP/scripts/run-uml" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "^umdlab: .*must not be the host's /" <<<"$out"; then
	pass share-root-refused
else
	fail share-root-refused "SHARE=/ must be refused (umdlab: ..., status 2): the guest must never get the host's /" "rc=$rc: $out"
fi
done_testing
