#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bad input to make: one clear line, status 2, nothing done.
. "$TOP/tests/lib.sh"

cases=(
	"BASE=7.7|unknown BASE '7.7'"
	"FLAVOUR=fast|unknown FLAVOUR 'fast'"
	"FRAGMENTS=nonexistent|unknown fragment 'nonexistent'"
	"MEM=lots|MEM 'lots' is not a size"
	"NET=tap|NET 'tap' must be slirp or none"
	"UMID=a/b|UMID 'a/b' must be"
	"PIN=yes|PIN 'yes' must be 1"
	"KSRC=/tmp|KSRC '/tmp' is not a kernel tree"
	"COUNT=0|COUNT '0' is not a positive number"
	"JOBS=two|JOBS 'two' is not a positive number"
	"JOBS=0|JOBS '0' is not a positive number"
	"T=nosuch|unknown test or scenario 'nosuch'"
)
plan ${#cases[@]}
for c in "${cases[@]}"; do
	arg=${c%%|*} msg=${c#*|}
	out=$(make -s -C "$TOP" "$arg" run-uml 2>&1 </dev/null); rc=$?
	lines=$(printf '%s\n' "$out" | wc -l)
	if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && printf '%s' "$out" | grep -qF "umdlab: $msg"; then
		pass "bad-$arg"
	else
		fail "bad-$arg" "make $arg must print one line containing \"umdlab: $msg\" and exit 2" "rc=$rc lines=$lines: $out"
	fi
done
done_testing
