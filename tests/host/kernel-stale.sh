#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-build's shortcut (IF_STALE=1, as make check and make run-uml
# run it): Kbuild is skipped only when the last build is newer than the
# configuration and every file of the source tree.  The scan runs in two
# halves side by side (drivers/ and Documentation/, then the rest): an
# edit in either half, a new file, a removed or renamed file, a changed
# symlink, a newer .config or other Kbuild variables (KCFLAGS, W=1) must
# run Kbuild; a file under .git must not.  And under a `make -s` (make check runs its
# stages so) Kbuild must still print its object lines, which the
# progress line counts.  The tree and the build are stand-ins: their
# Makefile only records that Kbuild ran, and the make flags it got.
. "$TOP/tests/lib.sh"

plan 14

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src bld=$tmp/build
mkdir -p "$src"/{drivers/base,Documentation,kernel,.git/objects} "$bld"
# The stand-in Kbuild succeeds only while $bld/kbuild-ok exists (reset's
# build, which records what it was built with).
printf '%%:\n\t@echo "$(firstword -$(MAKEFLAGS))" > $(O)/kbuild-ran; test -e $(O)/kbuild-ok\n' > "$src/Makefile"
touch "$src"/drivers/base/core.c "$src"/Documentation/index.rst "$src"/kernel/exit.c \
	"$src"/.git/objects/pack "$bld"/.config "$bld"/.umdlab-blobs
printf '#!/bin/sh\n' > "$bld/linux"
chmod +x "$bld/linux"

# reset: everything old, the last build newer than all of it.
reset() {
	rm -f "$bld/kbuild-ran"
	[ -e "$src/kernel/exit.c" ] || { rm -f "$src/kernel/fork.c"; touch "$src/kernel/exit.c"; }
	[ -e "$src/drivers/base/core.c" ] || touch "$src/drivers/base/core.c"
	rm -f "$src/kernel/link.h"
	touch "$bld/kbuild-ok"
	env -u KCFLAGS "$TOP/scripts/kernel-build" "$src" "$bld" "$HOSTBIN/kbuild-progress" >/dev/null 2>&1 ||
		echo "# reset: the stand-in build failed"
	rm -f "$bld/kbuild-ok" "$bld/kbuild-ran"
	find "$src" "$bld" -exec touch -h -d '2020-01-01 00:00' {} +
	touch -d '2021-01-01 00:00' "$bld/.umdlab-built"
}
# build: kernel-build as make check runs it; true when Kbuild ran.
build() {
	IF_STALE=1 "$TOP/scripts/kernel-build" "$src" "$bld" "$HOSTBIN/kbuild-progress" >/dev/null 2>&1
	[ -e "$bld/kbuild-ran" ]
}

reset
if build; then
	fail up-to-date-skips-kbuild "a build newer than .config and every source file must not run Kbuild"
else
	pass up-to-date-skips-kbuild
fi

# case NAME WHAT CMD...: after reset, CMD makes the build stale.
stale_case() {
	local name=$1 what=$2
	shift 2
	reset
	"$@"
	if build; then
		pass "$name"
	else
		fail "$name" "$what must run Kbuild (the mtime scan missed it)"
	fi
}
stale_case drivers-edit-rebuilds "an edit of drivers/base/core.c (the scan's first half)" \
	touch "$src/drivers/base/core.c"
stale_case kernel-edit-rebuilds "an edit of kernel/exit.c (the scan's second half)" \
	touch "$src/kernel/exit.c"
stale_case documentation-edit-rebuilds "an edit under Documentation/" \
	touch "$src/Documentation/index.rst"
stale_case new-file-rebuilds "a new file (kernel/new.c)" \
	touch "$src/kernel/new.c"
stale_case removed-file-rebuilds "a removed file (kernel/exit.c: Kbuild rebuilds what depended on it)" \
	rm "$src/kernel/exit.c"
stale_case removed-driver-file-rebuilds "a removed file in the scan's first half (drivers/base/core.c)" \
	rm "$src/drivers/base/core.c"
stale_case renamed-file-rebuilds "a file renamed with its old mtime (mv kernel/exit.c kernel/fork.c)" \
	mv "$src/kernel/exit.c" "$src/kernel/fork.c"
stale_case symlink-rebuilds "a symlink made or changed (kernel/link.h)" \
	ln -sfn exit.c "$src/kernel/link.h"
stale_case config-rebuilds "a .config newer than the last build" \
	touch "$bld/.config"

# Kbuild's variables and command line: the same files built with
# other flags are another kernel.
stale_case kcflags-rebuilds "KCFLAGS in the environment (make run-uml KCFLAGS=-DDEBUG)" \
	export KCFLAGS=-DUMDLAB_STALE
unset KCFLAGS
reset
printf 'all:\n\t@IF_STALE=1 %s %s %s %s >/dev/null 2>&1; true\n' "$TOP/scripts/kernel-build" \
	"$src" "$bld" "$HOSTBIN/kbuild-progress" > "$tmp/w1.mk"
make -s --no-print-directory -f "$tmp/w1.mk" W=1
if [ -e "$bld/kbuild-ran" ]; then
	pass w1-rebuilds
else
	fail w1-rebuilds "W=1 on make's command line (Kbuild's extra warnings) must run Kbuild"
fi

reset
touch "$src/.git/objects/pack"
if build; then
	fail git-ignored "a change under .git (a commit, a fetch) must not run Kbuild"
else
	pass git-ignored
fi

# Kbuild prints nothing when the first word of MAKEFLAGS holds an "s"
# (its silent mode): kernel-build under make -s must take it out.
reset
touch "$src/kernel/exit.c"
printf 'all:\n\t@IF_STALE=1 %s %s %s %s >/dev/null 2>&1; true\n' "$TOP/scripts/kernel-build" \
	"$src" "$bld" "$HOSTBIN/kbuild-progress" > "$tmp/outer.mk"
make -s --no-print-directory -f "$tmp/outer.mk" IF_STALE=1
flags=$(cat "$bld/kbuild-ran" 2>/dev/null)
case $flags in
*s*) fail kbuild-not-silenced "under make -s, Kbuild must not run silent (its first MAKEFLAGS word: '$flags'): the progress line would count nothing" ;;
'') fail kbuild-not-silenced "under make -s, the edit must run Kbuild" ;;
*) pass kbuild-not-silenced ;;
esac
done_testing
