#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/splat-scan, the kernel-log scan of the guest groups, on recorded
# logs (tests/host/splat-scan/): what is a splat, which scenario it came
# in, and the allowlist's precision.
. "$TOP/tests/lib.sh"

plan 23

data=$TOP/tests/host/splat-scan

# scan ALLOWLIST LOG...: sets OUT and RC.
scan() {
	OUT=$("$TOP/scripts/splat-scan" -a "$@" 2>&1) && RC=0 || RC=$?
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

# The faults group's injected faults: the kernel's report of each (its
# stand-alone Call Trace) is not a splat; a WARNING right after one is.
scan "$data/allow-test.txt" "$data/fault-only.log"
expect_eq scan-fault-report-not-splat 0 "$RC" "the report of an injected fault (FAULT_INJECTION: forcing a failure, then its stack) must pass: $OUT"
scan "$data/allow-test.txt" "$data/fault-report.log"
check scan-splat-after-fault "a WARNING right after an injected fault's report must fail the scan" \
	out_matches '^NEW SPLAT during scenario bpfilter_load .*WARNING: CPU: 0 PID: 94 at fs/open.c:1426'

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

# A report that names no source file (lockdep's wait-context report at
# UML's halt, FLAVOUR=debug): the real entry says "-" and a via
# function; it must be in the call trace, and an entry with neither a
# file nor a via function is refused.
scan "$real" "$data/halt-wait-context.log"
expect_eq scan-real-halt-wait-context 0 "$RC" "the clean debug kernel's wait-context report from close_devices() at halt must pass: $OUT"
scan "$real" <(sed 's/close_devices/umd_cleanup_helper/g' "$data/halt-wait-context.log")
expect_eq scan-no-file-via-precise 1 "$RC" "a file-less entry must match only a splat whose call trace has its via function"
scan <(echo 'any | - | Invalid wait context | - | nothing to match on') "$data/clean.log"
expect_eq scan-no-file-no-via-refused 2 "$RC" "an allowlist entry with neither a file nor a via function must be refused: $OUT"

done_testing
