#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The KUnit tests of the user mode driver API (suite "usermode_driver",
# samples/umd/umd_api_kunit.c) are a module, umd_kunit.ko, in every
# flavour (uml-config/kunit.config); loading it runs the suite.  This
# boots once, loads it, reads the kernel log from inside the guest and
# prints the suite's KTAP as test 1 (so the summariser shows every case),
# then checks the log: the one WARNING the double-load test provokes on
# purpose, and no other splat.
. "$TOP/tests/lib.sh"

plan 3
if ! grep -qE '^CONFIG_SAMPLE_UMD_KUNIT_TEST=[ym]$' "${BLD:-/nonexistent}/.config" 2>/dev/null; then
	for t in usermode_driver expected-warning-only kernel-log-clean; do
		skip "$t" "CONFIG_SAMPLE_UMD_KUNIT_TEST not in ${BLD:-the build}: build with FRAGMENTS=kunit"
	done
	exit 0
fi

# Built in (FRAGMENTS= on top of a flavour may say =y), the suite has
# run at boot; a module runs it on load.
guest_run 'modprobe umd_kunit 2>/dev/null; dmesg'
log=$(sed -E 's/^\[ *[0-9]+\.[0-9]+\] ?//' <<<"$OUT")

# The suite's lines: from its first indented line to its result line.
ktap=$(awk '
	/^    (KTAP version|# Subtest: usermode_driver)/ && !on { on = 1 }
	on { print }
	on && /^(not )?ok [0-9]+ usermode_driver/ { exit }' <<<"$log")
if grep -qE '^(not )?ok [0-9]+ usermode_driver' <<<"$ktap"; then
	# KUnit numbers the suite 1 of 1, which is our test 1.  Kernel
	# messages in between (the expected WARNING) are left out here and
	# checked below.
	grep -E '^(    |(not )?ok |# )' <<<"$ktap" | sed -E '$ s/^((not )?ok) [0-9]+ /\1 1 /'
	TAP_N=1
	grep -qE '^not ok' <<<"$(tail -n1 <<<"$ktap")" && TAP_FAILED=1
else
	fail usermode_driver "the usermode_driver suite must run when umd_kunit.ko is loaded and report its result" \
		"$(tail -n 20 <<<"$log")"
fi

# Splats: exactly one WARNING from umd_load_blob (the refused double
# load), and nothing else but what the project's allowlist lets pass.
expected=$(grep -E '^WARNING: .* at kernel/usermode_driver\.c:[0-9]+ umd_load_blob' <<<"$log")
if [ "$(grep -c . <<<"$expected")" = 1 ]; then
	pass expected-warning-only
else
	fail expected-warning-only "the double-load test must provoke exactly one WARNING, in umd_load_blob (WARN_ON_ONCE)" \
		"${expected:-no such WARNING}"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "$OUT" > "$tmp/dmesg.log"
{
	cat "$TOP/tests/allowlist/splats.txt"
	echo "setup | kernel/usermode_driver.c | at kernel/usermode_driver\.c:[0-9]+ umd_load_blob | umd_test_double_load | KUnit refuses a double umd_load_blob() on purpose"
} > "$tmp/allow.txt"
scan=$("$TOP/scripts/splat-scan" -a "$tmp/allow.txt" "$tmp/dmesg.log" 2>&1)
if [ $? -eq 0 ]; then
	[ -z "$scan" ] || echo "$scan" | diag
	pass kernel-log-clean
else
	fail kernel-log-clean "no other warning or BUG may appear while the UMD API tests run" "$scan"
fi
done_testing
