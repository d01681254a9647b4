#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The KUnit tests of the user mode driver API (suite "usermode_driver",
# samples/umd/umd_api_kunit.c) run built in at boot; this boots the
# kernel once with kunit.filter_glob=usermode_driver, reads the kernel
# log from inside the guest and prints the suite's KTAP as test 1 (so the
# summariser shows every case), then checks the log: the one WARNING the
# double-load test provokes on purpose, and no other splat.
#
# Needs a kernel with the kunit fragment (CONFIG_KUNIT=y,
# CONFIG_SAMPLE_UMD_KUNIT_TEST=y); without it every test is skipped.
. "$TOP/tests/lib.sh"

plan 3
if ! grep -qx 'CONFIG_SAMPLE_UMD_KUNIT_TEST=y' "${BLD:-/nonexistent}/.config" 2>/dev/null; then
	for t in usermode_driver expected-warning-only kernel-log-clean; do
		skip "$t" "CONFIG_SAMPLE_UMD_KUNIT_TEST=y not in ${BLD:-the build}: build with FRAGMENTS=kunit"
	done
	exit 0
fi

APPEND="${APPEND:+$APPEND }kunit.filter_glob=usermode_driver" guest_run 'dmesg'
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
	fail usermode_driver "the usermode_driver suite must run at boot and report (is CONFIG_SAMPLE_UMD_KUNIT_TEST=y built in?)" \
		"$(tail -n 20 <<<"$log")"
fi

# Splats: exactly one WARNING, from umd_load_blob (the refused double
# load), and nothing else.
SPLAT='BUG:|WARNING:|Oops|kernel BUG at|Kernel panic|general protection fault|UBSAN:|ODEBUG:|INFO: task .* blocked|list_(add|del) corruption'
warnings=$(grep -E "$SPLAT" <<<"$log")
expected=$(grep -E '^WARNING: .* at kernel/usermode_driver\.c:[0-9]+ umd_load_blob' <<<"$warnings")
if [ "$(grep -c . <<<"$expected")" = 1 ]; then
	pass expected-warning-only
else
	fail expected-warning-only "the double-load test must provoke exactly one WARNING, in umd_load_blob (WARN_ON_ONCE)" \
		"${warnings:-no WARNING at all}"
fi
others=$(grep -vF -- "$expected" <<<"$warnings")
if [ -z "$others" ]; then
	pass kernel-log-clean
else
	fail kernel-log-clean "no other warning or BUG may appear while the UMD API tests run" "$others"
fi
done_testing
