#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/kernel-tree: the patch round trip and the rules that keep a
# developer's work.  Runs on a small synthetic "kernel" tarball shaped like
# Debian's (top directory, Makefile with kernelversion, the Debian block in
# .gitignore), so every rule is exercised in a second without extracting
# the real tree.
. "$TOP/tests/lib.sh"
KT=$TOP/scripts/kernel-tree
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
series_list() { sed -e "s/#.*//" -e "/^[[:space:]]*$/d" "$1/series"; }
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@localhost GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@localhost

plan 20

# The synthetic base.
mkdir -p "$tmp/linux-source-9.9/kernel"
cat > "$tmp/linux-source-9.9/Makefile" <<'MK'
VERSION = 9
PATCHLEVEL = 9
SUBLEVEL = 0
kernelversion:
	@echo 9.9.0
MK
printf 'int umd;\n' > "$tmp/linux-source-9.9/kernel/usermode_driver.c"
printf '*.o\n\n#\n# Debian packaging: ignore everything at the top level, since it isn'"'"'t\n# included in our repository\n#\n/*\n!/debian/\n' > "$tmp/linux-source-9.9/.gitignore"
tar -C "$tmp" -cJf "$tmp/base.tar.xz" linux-source-9.9
P=$tmp/patches T=$tmp/tree
mkdir -p "$P"
: > "$P/series"

"$KT" prepare "$tmp/base.tar.xz" "$P" "$T" >/dev/null 2>&1
check prepare-base "an empty series gives the base commit, tagged umdlab-base" \
	test "$(git -C "$T" rev-parse HEAD)" = "$(git -C "$T" rev-parse umdlab-base 2>/dev/null)"

touch "$T/newfile"
check debian-gitignore-dropped "a new top-level file must show as untracked (Debian's '/*' ignore block must be gone)" \
	sh -c "git -C '$T' status --porcelain | grep -q newfile"
rm "$T/newfile"

# Two commits, exported.
echo 'int umd_fix;' >> "$T/kernel/usermode_driver.c"
git -C "$T" commit -qam "umd: fix one"
echo 'int bpfilter;' > "$T/kernel/bpfilter.c"
git -C "$T" add kernel/bpfilter.c
git -C "$T" commit -qm "bpfilter: add two"
"$KT" export "$P" "$T" >/dev/null 2>&1
n=$(grep -c '\.patch$' "$P/series")
expect_eq export-writes-series 2 "$n" "export must write one patch per commit after the base and list them in series"

tree_before=$(git -C "$T" rev-parse 'HEAD^{tree}')
log_of_dev=$(git -C "$T" log --format='%an <%ae> %ad %s' umdlab-base..HEAD)
head_before=$(git -C "$T" rev-parse HEAD)
"$KT" prepare "$tmp/base.tar.xz" "$P" "$T" >/dev/null 2>&1
expect_eq prepare-in-sync-is-noop "$head_before" "$(git -C "$T" rev-parse HEAD)" \
	"prepare on an exported tree must not touch it"

rm -rf "$T"
"$KT" prepare "$tmp/base.tar.xz" "$P" "$T" >/dev/null 2>&1
expect_eq roundtrip-tree-hash "$tree_before" "$(git -C "$T" rev-parse 'HEAD^{tree}' 2>/dev/null)" \
	"export -> remove tree -> prepare must give the identical git tree"
log_of() { git -C "$1" log --format='%an <%ae> %ad %s' umdlab-base..HEAD 2>/dev/null; }
expect_eq roundtrip-commits "$log_of_dev" "$(log_of "$T")" \
	"the rebuilt commits must keep each patch's author, date and subject"
head_rebuilt=$(git -C "$T" rev-parse HEAD 2>/dev/null)

# Another user, with no git identity at all (empty HOME, no system or
# global config, and git told not to guess one): the tree still builds,
# with the same commit ids.
mkdir -p "$tmp/home"
out=$(env -u GIT_AUTHOR_NAME -u GIT_AUTHOR_EMAIL -u GIT_COMMITTER_NAME -u GIT_COMMITTER_EMAIL -u EMAIL \
	HOME="$tmp/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
	GIT_CONFIG_PARAMETERS="'user.useconfigonly=true'" \
	"$KT" prepare "$tmp/base.tar.xz" "$P" "$tmp/tree2" 2>&1); rc=$?
expect_eq no-identity-prepare 0 "$rc" "a user without a git identity must get the patched tree (the commits use umdlab's fixed identity): $out"
expect_eq no-identity-same-commits "$head_rebuilt" "$(git -C "$tmp/tree2" rev-parse HEAD 2>/dev/null)" \
	"two users must get the same commit ids from the same series (fixed committer, committer date = author date)"

# A patch file git am cannot read at all: git's own reason, not a conflict.
mkdir -p "$tmp/badp"
echo 'this is not a patch' > "$tmp/badp/0001-garbage.patch"
echo 0001-garbage.patch > "$tmp/badp/series"
out=$("$KT" prepare "$tmp/base.tar.xz" "$tmp/badp" "$tmp/tree3" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q '^umdlab: git am .*0001-garbage.patch failed: ' <<<"$out" && ! grep -q 'does not apply' <<<"$out"; then
	pass git-am-reason-shown
else
	fail git-am-reason-shown "a git am failure that is not a conflict must say git's reason, exit 2" "rc=$rc: $out"
fi

# A dirty tree is never touched when the patch set changes.
echo '# a comment' >> "$P/series"
echo 'uncommitted work' >> "$T/kernel/usermode_driver.c"
out=$("$KT" prepare "$tmp/base.tar.xz" "$P" "$T" 2>&1); rc=$?
expect_eq dirty-refused-rc 2 "$rc" "prepare over uncommitted changes must stop with status 2: $out"
check dirty-kept "the uncommitted edit must survive the refused prepare" \
	grep -q 'uncommitted work' "$T/kernel/usermode_driver.c"
git -C "$T" checkout -q -- kernel/usermode_driver.c

# Unexported commits are never dropped either.
echo 'int three;' >> "$T/kernel/bpfilter.c"
git -C "$T" commit -qam "bpfilter: three"
head=$(git -C "$T" rev-parse HEAD)
out=$("$KT" prepare "$tmp/base.tar.xz" "$P" "$T" 2>&1); rc=$?
if [ $rc -eq 2 ] && [ "$(git -C "$T" rev-parse HEAD)" = "$head" ]; then
	pass unexported-refused
else
	fail unexported-refused "prepare over commits not yet exported must stop (2) and keep HEAD" "rc=$rc: $out"
fi

# Export refuses while the patch directory has changes of its own.
out=$("$KT" export "$P" "$T" 2>&1); rc=$?
expect_eq export-refuses-changed-patchdir 2 "$rc" "export must not overwrite hand edits in the patch directory: $out"

# Clean and exported: a changed patch set rebuilds the tree.
git -C "$T" reset -q --hard HEAD~1
sed -i '/a comment/d' "$P/series"
"$KT" export "$P" "$T" >/dev/null 2>&1
sed -i 's/int bpfilter;/int bpfilter_changed;/' "$P"/0002-*.patch
"$KT" prepare "$tmp/base.tar.xz" "$P" "$T" >/dev/null 2>&1
check rebuild-on-change "a clean, exported tree must be rebuilt from base + the changed series" \
	grep -q bpfilter_changed "$T/kernel/bpfilter.c"

# A patch that does not apply: named, with its file, status 2, tree kept.
head=$(git -C "$T" rev-parse HEAD)
sed -i 's/^ int umd;/ int umd_missing;/' "$P"/0001-*.patch
out=$("$KT" prepare "$tmp/base.tar.xz" "$P" "$T" 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q '^umdlab: .*0001-.*\.patch.*kernel/usermode_driver.c' &&
   [ "$(git -C "$T" rev-parse HEAD)" = "$head" ]; then
	pass bad-patch-named
else
	fail bad-patch-named "a patch that does not apply must be named with its file, exit 2, and leave the tree as it was" "rc=$rc: $out"
fi

# Two bases, one shared patch (kernel-patches/common): each base's series
# names it as ../common/NAME.  Base b differs from base a.
cp -r "$tmp/linux-source-9.9" "$tmp/linux-source-9.9b"
printf 'int other_base;\n' > "$tmp/linux-source-9.9b/kernel/other.c"
tar -C "$tmp" -cJf "$tmp/base-b.tar.xz" --transform 's/^linux-source-9.9b/linux-source-9.9/' linux-source-9.9b
K=$tmp/kp A=$tmp/tree-a B=$tmp/tree-b
mkdir -p "$K/a" "$K/b" "$K/common"
: > "$K/a/series"
"$KT" prepare "$tmp/base.tar.xz" "$K/a" "$A" >/dev/null 2>&1
mkdir -p "$A/samples"
echo 'int shared_sample;' > "$A/samples/shared.c"
git -C "$A" add samples && git -C "$A" commit -qm "samples: Add a shared sample"
echo 'obj-y += shared.o' > "$A/samples/Makefile"
git -C "$A" add samples && git -C "$A" commit -qm "samples: Hook the shared sample in"
"$KT" export "$K/a" "$A" >/dev/null 2>&1
mv "$K/a"/0001-samples-Add-a-shared-sample.patch "$K/common/"
printf '../common/0001-samples-Add-a-shared-sample.patch\n0002-samples-Hook-the-shared-sample-in.patch\n' > "$K/a/series"
printf '../common/0001-samples-Add-a-shared-sample.patch\n' > "$K/b/series"
"$KT" prepare "$tmp/base.tar.xz" "$K/a" "$A" >/dev/null 2>&1
"$KT" prepare "$tmp/base-b.tar.xz" "$K/b" "$B" >/dev/null 2>&1
if grep -qs shared_sample "$A/samples/shared.c" && grep -qs shared_sample "$B/samples/shared.c" &&
   [ -f "$A/samples/Makefile" ] && [ ! -f "$B/samples/Makefile" ]; then
	pass shared-patch-both-bases
else
	fail shared-patch-both-bases "a patch in common/ must apply to every base whose series names it, beside each base's own patches"
fi

# An edit made and exported in base b's tree lands in the one shared copy,
# and base a's clean, exported tree is rebuilt from it.
echo 'int shared_sample_v2;' > "$B/samples/shared.c"
git -C "$B" commit -qa --amend --no-edit
out=$("$KT" export "$K/b" "$B" 2>&1)
if grep -q shared_sample_v2 "$K/common/0001-samples-Add-a-shared-sample.patch" &&
   [ "$(ls "$K/b")" = series ] && [ "$(series_list "$K/b")" = ../common/0001-samples-Add-a-shared-sample.patch ]; then
	pass shared-edit-lands-in-common
else
	fail shared-edit-lands-in-common "export must write a commit to the shared patch of the same subject, not a copy in the base's directory" "$out" "$(ls "$K/b")"
fi
"$KT" prepare "$tmp/base.tar.xz" "$K/a" "$A" >/dev/null 2>&1
check shared-edit-reaches-other-base "base a must be rebuilt with base b's edit of the shared patch" \
	grep -q shared_sample_v2 "$A/samples/shared.c"

# The same commit exports the same bytes from either base's tree.
cp "$K/common/0001-samples-Add-a-shared-sample.patch" "$tmp/shared.before"
"$KT" export "$K/a" "$A" >/dev/null 2>&1
check shared-export-identical "exporting an unchanged shared patch from another base's tree must give the same bytes" \
	cmp -s "$tmp/shared.before" "$K/common/0001-samples-Add-a-shared-sample.patch"

# Dropping the shared commit in one base never deletes the shared patch.
git -C "$B" reset -q --hard umdlab-base
out=$("$KT" export "$K/b" "$B" 2>&1)
if [ -f "$K/common/0001-samples-Add-a-shared-sample.patch" ] && [ -z "$(series_list "$K/b")" ] &&
   grep -q '^umdlab: note: .*no longer in' <<<"$out"; then
	pass shared-kept-when-dropped
else
	fail shared-kept-when-dropped "a shared patch dropped from one base's series must stay in common/ (another base uses it), with a note" "$out"
fi

done_testing
