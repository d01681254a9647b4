#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/kernel-config: fragments are verified after olddefconfig, and the
# configuration is redone only when a fragment, the script or a Kconfig
# file of the tree changed.
# Uses the real kernel tree with a scratch build directory.
. "$TOP/tests/lib.sh"
SRC=${SRC:-$WORK/src/linux-$BASE}
bld=$WORK/test/config-bld
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$bld"' EXIT
rm -rf "$bld"

plan 12

# refused NAME LINE WANT WHY: a fragment holding LINE must fail the
# configuration with status 2 and a message matching WANT.
refused() {
	local out rc
	printf '%s\n' "$2" > "$tmp/$1.config"
	out=$("$TOP/scripts/kernel-config" "$SRC" "$bld" "$TOP/uml-config/base.config" "$tmp/$1.config" 2>&1); rc=$?
	if [ $rc -eq 2 ] && grep -q "^umdlab: .*$3" <<<"$out"; then
		pass "$1"
	else
		fail "$1" "$4 (status 2, umdlab: ...)" "rc=$rc: $out"
	fi
}

refused unknown-option-named CONFIG_UMDLAB_NO_SUCH_OPTION=y \
	'CONFIG_UMDLAB_NO_SUCH_OPTION=y requested, but Kconfig dropped it' \
	"an option Kconfig drops must fail the configuration, naming it"
# An option that exists but whose dependencies cannot hold on UML.
refused unmet-dependency-named CONFIG_PCI=y 'CONFIG_PCI=y requested' \
	"an option whose dependencies fail on UML must be named"

# merge_config.sh makes its temporary files where it runs: never in the
# source tree (a KSRC may be read-only; the tree's mtime is what the
# build's up-to-date check reads).
rm -rf "$bld"
tree_before=$(stat -c %y "$SRC")
sleep 1
"$TOP/scripts/kernel-config" "$SRC" "$bld" "$TOP/uml-config/base.config" >/dev/null 2>&1
check good-config "the base fragment alone must configure cleanly" test -f "$bld/.config"
expect_eq source-tree-untouched "$tree_before" "$(stat -c %y "$SRC")" \
	"configuring must not create (or remove) anything in the source tree: its directory's mtime changed"

# Whether a run configured: its "  CONFIG  " line.  (.config's mtime
# cannot tell: Kconfig does not rewrite a .config whose content is the
# same.)
before=$(stat -c %Y.%y "$bld/.config")
sleep 1
out=$("$TOP/scripts/kernel-config" "$SRC" "$bld" "$TOP/uml-config/base.config" 2>&1)
if ! grep -q '^  CONFIG  ' <<<"$out" && [ "$before" = "$(stat -c %Y.%y "$bld/.config")" ]; then
	pass unchanged-no-reconfig
else
	fail unchanged-no-reconfig "unchanged fragments must not redo the configuration (merge_config.sh and allnoconfig, a second each time)" "$out"
fi

# A .config edited by hand is built as it is, with a note; a later
# configuration keeps it beside the new one (never lost).
sed -i 's/^CONFIG_MAGIC_SYSRQ=y$/# CONFIG_MAGIC_SYSRQ is not set (edited by hand)/' "$bld/.config"
out=$("$TOP/scripts/kernel-config" "$SRC" "$bld" "$TOP/uml-config/base.config" 2>&1)
if grep -q '^  NOTE    .*edited by hand' <<<"$out" && ! grep -q '^  CONFIG  ' <<<"$out" &&
   grep -q '(edited by hand)' "$bld/.config"; then
	pass hand-edit-built-noted
else
	fail hand-edit-built-noted "a .config edited by hand must be kept as it is, with a NOTE line on the build" "$out"
fi
cp "$TOP/uml-config/base.config" "$tmp/base2.config"
echo "# a change" >> "$tmp/base2.config"
out=$("$TOP/scripts/kernel-config" "$SRC" "$bld" "$tmp/base2.config" 2>&1)
kept=$(sed -n 's/^  KEPT    \([^ ]*\) .*/\1/p' <<<"$out")
if [ -n "$kept" ] && grep -q '(edited by hand)' "$kept" 2>/dev/null && grep -q '^  CONFIG  ' <<<"$out"; then
	pass hand-edit-kept-on-reconfig
else
	fail hand-edit-kept-on-reconfig "a configuration that replaces a .config edited by hand must keep the edited one beside it, named on a KEPT line" "$out"
fi
rm -f "$bld"/.config.edited-*

# A changed recipe (a copy of the script with a line added) redoes it.
mkdir -p "$tmp/bin"
cp "$TOP/scripts/kernel-config" "$tmp/bin/"
echo "# a change of the recipe" >> "$tmp/bin/kernel-config"
out=$("$tmp/bin/kernel-config" "$SRC" "$bld" "$TOP/uml-config/base.config" 2>&1)
if grep -q '^  CONFIG  ' <<<"$out"; then
	pass recipe-change-reconfig
else
	fail recipe-change-reconfig "a change of scripts/kernel-config must redo the configuration" "$out"
fi

# A Kconfig file of the tree newer than the last configuration (a patch,
# an edit of a dependency) redoes it: Kbuild's syncconfig would take the
# change in silently, past the check of the fragments.  The tree is not
# touched: the configuration's record is made older than its Kconfig.
# Before the first Kbuild every Kconfig file of the tree counts; after
# it, those Kbuild's include/config/auto.conf.cmd lists.
kconfig_case() {
	local name=$1 what=$2 out
	# Configured as the case runs it, so that only the age can differ.
	"$TOP/scripts/kernel-config" "$SRC" "$bld" "$TOP/uml-config/base.config" >/dev/null 2>&1
	touch -d '2000-01-01 00:00' "$bld/.umdlab-config-inputs"
	out=$("$TOP/scripts/kernel-config" "$SRC" "$bld" "$TOP/uml-config/base.config" 2>&1)
	if grep -q '^  CONFIG  ' <<<"$out"; then
		pass "$name"
	else
		fail "$name" "$what must redo the configuration" "$out"
	fi
}
kconfig_case kconfig-change-reconfig-first "a Kconfig file newer than the configuration, before any Kbuild,"
mkdir -p "$bld/include/config"
printf 'deps_config := \\\n\tinit/Kconfig \\\n\tnet/Kconfig\n\n$(deps_config): ;\n' > "$bld/include/config/auto.conf.cmd"
kconfig_case kconfig-change-reconfig "net/Kconfig (listed by Kbuild's auto.conf.cmd) newer than the configuration"
rm -rf "$bld/include"

# The changed fragment asks for an option nothing else turns on (no
# default, no select; unlike, say, CONFIG_BPF, which CONFIG_NET selects)
# and that depends on nothing base.config leaves off (on an allnoconfig
# base, DEBUG_NOTIFIERS would be absent: DEBUG_KERNEL is debuginfo's):
# it is in .config only if the change was applied.
opt=CONFIG_BSD_PROCESS_ACCT
had=$(grep -E "^(# )?$opt[= ]" "$bld/.config")
cp "$TOP/uml-config/base.config" "$tmp/base.config"
echo "$opt=y" >> "$tmp/base.config"
"$TOP/scripts/kernel-config" "$SRC" "$bld" "$tmp/base.config" >/dev/null 2>&1
got=$(grep -E "^(# )?$opt[= ]" "$bld/.config")
if [ "$had" = "# $opt is not set" ] && [ "$got" = "$opt=y" ]; then
	pass changed-reconfig
else
	fail changed-reconfig "a changed fragment must be applied: $opt=y, off with base.config alone, must be in .config after it is added" \
		"with base.config: ${had:-absent}" "with the changed fragment: ${got:-absent}"
fi
# A later fragment overrides an earlier one (merge_config.sh's order).
printf '# CONFIG_MAGIC_SYSRQ is not set\n' > "$tmp/override.config"
out=$("$TOP/scripts/kernel-config" "$SRC" "$bld" "$TOP/uml-config/base.config" "$tmp/override.config" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -qx '# CONFIG_MAGIC_SYSRQ is not set' "$bld/.config"; then
	pass later-fragment-overrides
else
	fail later-fragment-overrides "a later fragment's value must win over base.config's CONFIG_MAGIC_SYSRQ=y, and pass verification" "rc=$rc: $out"
fi
done_testing
