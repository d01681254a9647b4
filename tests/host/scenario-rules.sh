#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The scenario group's rules without a guest: --list against the guest
# program, the pidfd selftests' TODO rules on a recorded run
# (tests/host/scenario-rules/), an unknown scenario name, bpfilter's
# scenarios on a kernel without bpfilter.
. "$TOP/tests/lib.sh"

plan 6

scen=$TOP/tests/guest/scenarios.sh
data=$TOP/tests/host/scenario-rules

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
if [ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "^umdlab: unknown scenario 'nosuch'" <<<"$out"; then
	pass unknown-scenario
else
	fail unknown-scenario "an unknown scenario name must be one line (umdlab: ...) and exit status 2" "rc=$rc: $out"
fi
# On a kernel without bpfilter (BASE=6.12) bpfilter's scenarios skip and
# no guest boots: the group's own checks skip too (they once failed,
# "no console log to scan").
mkdir -p "$cfg/run"
out=$(BLD=$cfg RUNDIR=$cfg/run SCENARIOS=launch,unload bash "$scen" 2>&1) && rc=0 || rc=$?
if [ $rc -eq 0 ] && ! grep -q '^not ok' <<<"$out" &&
   [ "$(grep -c '^ok [0-9]* [a-z-]* # SKIP' <<<"$out")" = 4 ] &&
   grep -q '^ok [0-9]* kernel-log-clean # SKIP no guest booted' <<<"$out"; then
	pass no-bpfilter-nothing-booted
else
	fail no-bpfilter-nothing-booted "bpfilter's scenarios on a kernel without bpfilter: each skipped, and kernel-log-clean and host-clean skipped (no guest booted), status 0" "rc=$rc" "$out"
fi
done_testing
