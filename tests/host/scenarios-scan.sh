#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The scenario suite's host side without a guest: the kernel-log splat
# scan on recorded logs (tests/host/scenarios-scan/), the allowlist's
# precision, the pidfd selftests' TODO rules on a recorded run, scenario
# selection and --list against the guest program.
. "$TOP/tests/lib.sh"

plan 23

scen=$TOP/tests/guest/scenarios.sh
data=$TOP/tests/host/scenarios-scan

# scan ALLOWLIST LOG...: sets OUT and RC.
scan() {
	local allow=$1
	shift
	OUT=$(SPLAT_ALLOWLIST=$allow bash "$scen" --scan "$@" 2>&1) && RC=0 || RC=$?
}

scan "$data/allow-test.txt" "$data/clean.log"
expect_eq scan-clean 0 "$RC" "a log without splats (bpfilter's own 'read fail' errors are not splats) must pass: $OUT"

scan "$data/allow-test.txt" "$data/warn-restart.log"
expect_eq scan-warning-fails 1 "$RC" "a WARNING during a scenario must fail the scan"
check scan-warning-attributed "the report must name the scenario running when the splat came: $OUT" \
	out_matches '^NEW SPLAT during scenario restart at .*warn-restart.log:7: WARNING: CPU: 0 PID: 31 at kernel/usermode_driver.c:172'
check scan-warning-quoted "the report must quote the splat's block (its call trace)" \
	out_matches 'bpfilter_mbox_request\+0x70/0x110'

scan "$data/allow-test.txt" "$data/kasan-hung.log"
expect_eq scan-kasan-hung-fails 1 "$RC" "KASAN and hung-task reports must fail the scan"
check scan-kasan "a KASAN report must be reported, during its scenario" \
	out_matches '^NEW SPLAT during scenario unload .*BUG: KASAN: use-after-free in bpfilter_umh_cleanup'
check scan-hung-task "a hung task must be reported, during its scenario" \
	out_matches '^NEW SPLAT during scenario concurrency .*INFO: task rmmod:55 blocked for more than 5 seconds'
n=$(grep -c '^NEW SPLAT' <<<"$OUT")
expect_eq scan-call-trace-in-block 2 "$n" "a Call Trace inside a splat's block is part of it, not a splat of its own"

scan "$data/allow-test.txt" "$data/rcu-boot.log"
expect_eq scan-allowed-at-boot 0 "$RC" "an allowlisted boot-time splat must pass: $OUT"
check scan-allowed-listed "an allowed splat must still be listed, with its reason" \
	out_matches '^allowed: WARNING: suspicious RCU usage .*lib/maple_tree.c: test entry'

scan "$data/allow-test.txt" "$data/rcu-late.log"
expect_eq scan-boot-entry-not-later 1 "$RC" "a 'boot' allowlist entry must not cover the same splat after init started"

# Same header, another file: the entry names lib/maple_tree.c only.
scan "$data/allow-test.txt" <(sed 's|lib/maple_tree.c|kernel/usermode_driver.c|' "$data/rcu-boot.log")
expect_eq scan-entry-file-precise 1 "$RC" "an allowlist entry must match only its own source file"

scan "$data/allow-test.txt" "$data/warn-restart.log" "$data/warn-restart.dmesg"
n=$(grep -c '^NEW SPLAT' <<<"$OUT")
expect_eq scan-dedup 1 "$n" "the same splat in the console log and in dmesg must be reported once"

# The real allowlist parses, and lets nothing through on a WARNING.
scan "$TOP/tests/allowlist/splats.txt" "$data/warn-restart.log"
expect_eq scan-real-allowlist 1 "$RC" "tests/allowlist/splats.txt must parse and not allow a UMD WARNING: $OUT"

# A real recording: the clean debug kernel's two RCU reports from
# lib/maple_tree.c at the first userspace fork, at the same timestamp.
real=$TOP/tests/allowlist/splats.txt
scan "$real" "$data/debug-maple.log"
expect_eq scan-real-maple-allowed 0 "$RC" "the clean debug kernel's maple-tree RCU reports must pass: $OUT"
n=$(grep -c '^allowed:' <<<"$OUT")
expect_eq scan-same-timestamp 2 "$n" "two different splats with the same timestamp are two splats"
# The same reports during a scenario, or from another caller, are new.
scan "$real" <(sed -n '1p' "$data/debug-maple.log"; echo "[    0.450000] umdlab-scenario: begin restart"; sed -n '2,$p' "$data/debug-maple.log")
expect_eq scan-setup-entry-not-in-scenario 1 "$RC" "a 'setup' entry must not cover a splat that came during a scenario"
scan "$real" <(sed 's/force_flush_all/umd_cleanup_helper/' "$data/debug-maple.log")
expect_eq scan-via-precise 1 "$RC" "an entry's via function must be in the splat's call trace"

# --list names exactly the guest program's scenarios, plus pidfd.
c_list=$(sed -n '/^static const struct scenario scenarios\[\] = {/,/^};/s/^[[:space:]]*{ "\([a-z]*\)".*/\1/p' \
	"$TOP/rootfs/tests/umd_scenarios.c" | paste -sd' ')
expect_eq list-matches-program "$c_list pidfd" "$(bash "$scen" --list | paste -sd' ')" \
	"scenarios.sh --list must match umd_scenarios.c's scenarios[] (plus pidfd)"

# The pidfd selftests' TODO rules on a recorded pidfd_setns_test run of a
# kernel without CONFIG_TIME_NS: only the cases whose fixture needs a
# time namespace may be TODO; global.setns_einval stays strict.
cfg=$(mktemp -d)
trap 'rm -rf "$cfg"' EXIT
printf 'CONFIG_PID_NS=y\nCONFIG_USER_NS=y\n' > "$cfg/.config"
# pidfd_verdict TAP: sets OUT and RC.
pidfd_verdict() {
	OUT=$(BLD=$cfg bash "$scen" --pidfd-report pidfd_setns_test "$1" 1 2>&1) && RC=0 || RC=$?
}
pidfd_verdict "$data/pidfd-setns-no-timens.tap"
if [ $RC -eq 0 ] && [ "$(grep -c '^        not ok [0-9]* current_nsset\..* # TODO needs CONFIG_TIME_NS$' <<<"$OUT")" = 6 ] &&
   out_has_line "    not ok 1 pidfd_setns_test # TODO needs CONFIG_TIME_NS, which this kernel's config lacks (UML cannot have CONFIG_TIME_NS)"; then
	pass pidfd-todo-time-ns-cases
else
	fail pidfd-todo-time-ns-cases "without CONFIG_TIME_NS the 6 current_nsset cases (their fixture unshares CLONE_NEWTIME) are TODO, and so is the program when only they fail" "rc=$RC" "$OUT"
fi
sed 's/^ok 7 global\.setns_einval$/not ok 7 global.setns_einval/' "$data/pidfd-setns-no-timens.tap" > "$cfg/einval.tap"
pidfd_verdict "$cfg/einval.tap"
if [ $RC -eq 1 ] && out_has_line "        not ok 7 global.setns_einval" && out_has_line "    not ok 1 pidfd_setns_test"; then
	pass pidfd-strict-other-cases
else
	fail pidfd-strict-other-cases "a failing case that needs no time namespace (global.setns_einval) must fail pidfd_setns_test, TIME_NS or not" "rc=$RC" "$OUT"
fi
echo CONFIG_TIME_NS=y >> "$cfg/.config"
pidfd_verdict "$data/pidfd-setns-no-timens.tap"
if [ $RC -eq 1 ] && out_lacks 'TODO' && out_has_line "    not ok 1 pidfd_setns_test"; then
	pass pidfd-strict-with-time-ns
else
	fail pidfd-strict-with-time-ns "with CONFIG_TIME_NS in the kernel, every failing case is strict" "rc=$RC" "$OUT"
fi

out=$(SCENARIOS=restart,nosuch bash "$scen" 2>&1) && rc=0 || rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "unknown scenario 'nosuch'" <<<"$out"; then
	pass unknown-scenario
else
	fail unknown-scenario "an unknown scenario name must be one line and exit status 2" "rc=$rc: $out"
fi
done_testing
