#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Sourced by tests/guest/scenarios.sh: the guests' results as TAP, one
# result per scenario.

# report_umd: one result per UMD scenario of $sel.
report_umd() {
	local k=0 s ctl err n line diag
	for s in $sel; do
		[ "$s" = pidfd ] && continue
		if [ -n "$NO_BPFILTER" ]; then
			skip "$s" "$NO_BPFILTER"
			continue
		fi
		# Its own guest (JOBS>1), or its place in the one UMD guest.
		if [ -n "${unit_ctl[umd_$s]+set}" ]; then
			ctl=${unit_ctl[umd_$s]} err=${unit_err[umd_$s]} n=1
		else
			k=$((k + 1))
			ctl=${unit_ctl[umd]:-} err=${unit_err[umd]:-} n=$k
		fi
		line=$(tap_result $n "$ctl/umd.tap")
		diag=$(tap_diag $n "$ctl/umd.tap")
		[ -n "$diag" ] && printf '%s\n' "$diag"
		case $line in
		"ok "*"# SKIP"*) skip "$s" "${line#*# SKIP }" ;;
		"ok "*) pass "$s" ;;
		"not ok "*) fail "$s" "scenario $s failed (diagnostics above)" ;;
		*) fail "$s" "scenario $s reported no result: the guest program ended early (umd_scenarios status $(cat "$ctl/umd.rc" 2>/dev/null || echo none))${err:+; $err}" ;;
		esac
	done
}

# report_pidfd: the kernel's own selftests, each nested as a subtest.
report_pidfd() {
	local n=0 bad=0 t ksft_cfg lacking pidfd_ctl=${unit_ctl[pidfd]:-}
	pidfd_err=${unit_err[pidfd]:-}
	[ -n "$want_pidfd" ] || return 0
	ksft_cfg=$(sed -n 's/=y$//p' "$SRC/tools/testing/selftests/pidfd/config" 2>/dev/null)
	lacking=$(cfg_missing $ksft_cfg)
	[ -n "$lacking" ] && echo "# pidfd: the kernel lacks $lacking, which tools/testing/selftests/pidfd/config asks for"
	echo "    # Subtest: pidfd"
	echo "    1..$(wc -w <<<"$PIDFD_TESTS")"
	for t in $PIDFD_TESTS; do
		n=$((n + 1))
		pidfd_report $n $t "$pidfd_ctl/pidfd.$t.tap" "$(cat "$pidfd_ctl/pidfd.$t.rc" 2>/dev/null)" || bad=1
	done
	if [ $bad = 0 ]; then pass pidfd; else fail pidfd "a pidfd selftest failed (its TAP above)"; fi
}

