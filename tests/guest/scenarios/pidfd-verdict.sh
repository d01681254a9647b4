#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Sourced by tests/guest/scenarios.sh: the verdict on the kernel's pidfd
# selftests, with the TODO rules for what the configuration lacks.
#
# What tools/testing/selftests/pidfd/config asks for and the kernel
# lacks.  A test case that needs a missing option (by its source: the
# namespaces it or its fixture unshares or clones) fails for the
# configuration's sake, not the kernel code's: its failure is reported as
# TODO, naming the option, and becomes strict once the kernel has it.
# Every other case of the same program stays strict.
#
# pidfd_needs PROGRAM CASE: the options CASE (as its TAP line names it;
# empty: a case a bail-out left unrun, or any case of a program that is
# not split by case) needs.
pidfd_needs() {
	case $1 in
	pidfd_test) echo CONFIG_PID_NS ;;		# unshare(CLONE_NEWPID)
	pidfd_fdinfo_test) echo CONFIG_PID_NS ;;	# clone(CLONE_NEWPID)
	# The current_nsset fixture's children clone CLONE_NEWUSER and
	# CLONE_NEWPID and unshare CLONE_NEWTIME, which UML cannot have
	# (TIME_NS depends on GENERIC_VDSO_TIME_NS, which arch/um does not
	# select): every current_nsset case fails in its setup.
	# global.setns_einval (setns on a memfd) needs none of them.
	pidfd_setns_test)
		case $2 in
		current_nsset.*) echo CONFIG_USER_NS CONFIG_PID_NS CONFIG_TIME_NS ;;
		esac ;;
	esac
}
cfg_missing() {
	local o
	for o in "$@"; do
		grep -qx "$o=y" "${BLD:-/nonexistent}/.config" 2>/dev/null || echo "$o"
	done | paste -sd' '
}

# pidfd_report N PROGRAM TAP RC: PROGRAM's TAP (file TAP) nested as
# subtest N, with its result line; RC is its exit status (empty: none).
# A failing case whose needed options (pidfd_needs) the kernel lacks
# carries "# TODO needs ..."; the program's result is TODO only when
# every failing case is.  Returns 1 when the program failed.
pidfd_report() {
	local n=$1 t=$2 tap=$3 rc=$4 line case need strict=0 todo=0 todo_needs= planned ran k
	echo "        # Subtest: $t"
	if [ "$rc" = 0 ] || [ "$rc" = 4 ] || [ "$rc" = 124 ] || [ "$rc" = 143 ] || [ -z "$rc" ]; then
		sed 's/^/        /' "$tap" 2>/dev/null
	else
		# Its TAP as printed; a failing case that needs a missing
		# option carries the TODO, and so does a "Bail out!" when the
		# program as a whole needs one (else ktap would count it).
		while IFS= read -r line; do
			case $line in
			"not ok "[0-9]*)
				# One with a directive of its own is ktap's to judge.
				[[ "$line" == *" # "* ]] && { printf '        %s\n' "$line"; continue; }
				case=$(sed -E 's/^not ok [0-9]+ ?//' <<<"$line")
				need=$(cfg_missing $(pidfd_needs "$t" "$case"))
				if [ -n "$need" ]; then
					line="$line # TODO needs $need"
					todo=$((todo + 1)) todo_needs="$todo_needs $need"
				else
					strict=$((strict + 1))
				fi ;;
			"Bail out! "*)
				need=$(cfg_missing $(pidfd_needs "$t" ""))
				if [ -n "$need" ]; then
					line="# ${line} (TODO: needs $need)"
					todo_needs="$todo_needs $need"
				else
					strict=$((strict + 1))
				fi ;;
			esac
			printf '        %s\n' "$line"
		done < <(cat "$tap" 2>/dev/null)
		# The planned cases the program never reported (a bail-out, a
		# crash): TODO only when any case of the program would be.
		planned=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$tap" 2>/dev/null | head -1)
		ran=$(grep -cE '^(not )?ok [0-9]+' "$tap" 2>/dev/null)
		need=$(cfg_missing $(pidfd_needs "$t" ""))
		for ((k = ${ran:-0} + 1; k <= ${planned:-0}; k++)); do
			if [ -n "$need" ]; then
				echo "        not ok $k not run: the program ended early # TODO needs $need"
				todo=$((todo + 1)) todo_needs="$todo_needs $need"
			else
				echo "        not ok $k not run: the program ended early"
				strict=$((strict + 1))
			fi
		done
	fi
	case $rc in
	0) echo "    ok $n $t" ;;
	4) echo "    ok $n $t # SKIP the selftest skipped itself (exit 4, KSFT_SKIP)" ;;
	124|143) echo "    # $t: timed out after 120 s"; echo "    not ok $n $t"; return 1 ;;
	"") echo "    # $t: no exit status: it never ran or the guest ended${pidfd_err:+ ($pidfd_err)}"
	    echo "    not ok $n $t"; return 1 ;;
	*)
		echo "    # $t: exit status $rc"
		todo_needs=$(tr ' ' '\n' <<<"$todo_needs" | awk 'NF && !seen[$0]++' | paste -sd' ')
		if [ "$strict" = 0 ] && [ "$todo" -gt 0 ]; then
			echo "    not ok $n $t # TODO needs $todo_needs, which this kernel's config lacks$(grep -q CONFIG_TIME_NS <<<"$todo_needs" && echo " (UML cannot have CONFIG_TIME_NS)")"
		else
			[ "$todo" -gt 0 ] && echo "    # $t: $todo failing cases need $todo_needs (TODO), $strict do not"
			[ "$todo" = 0 ] && [ "$strict" = 0 ] && echo "    # $t: no failing case in its TAP"
			echo "    not ok $n $t"
			return 1
		fi ;;
	esac
	return 0
}

