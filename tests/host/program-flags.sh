#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's own programs (host tools, guest programs) are rebuilt when
# the command that builds them changes, not only when a source is newer
# (the Makefile's if_changed, after Kbuild's): new flags in the Makefile
# or on make's command line must not leave programs built with the old
# ones.  Builds into a scratch work directory (WORK=), never work/.
. "$TOP/tests/lib.sh"

plan 6

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
w=$tmp/w
mkdir -p "$w"
flags="-O2 -Wall -Wextra -Werror"
# built MAKE-ARGS...: the programs make says it compiled, one a line.
built() {
	make -C "$TOP" --no-print-directory WORK="$w" "$@" 2>&1 |
		sed -n 's/^  \(HOSTCC\|GUESTCC\) *//p' | sort | paste -sd' '
}
tools=$(built host-tools)
all=$(printf '%s\n' $tools | wc -l)
check first-build-compiles "a first build must compile every host tool (got: ${tools:-none})" \
	test "$all" -ge 5

expect_eq unchanged-compiles-nothing "" "$(built host-tools)" \
	"an unchanged tree and command must compile nothing"

got=$(built host-tools HOST_CFLAGS="$flags -DUMDLAB_FLAGS_TEST")
expect_eq new-flags-recompile "$tools" "$got" \
	"new HOST_CFLAGS must recompile every host tool"
if grep -q -- '-DUMDLAB_FLAGS_TEST' "$w/.cmd/host/ktap.cmd" 2>/dev/null; then
	pass command-recorded
else
	fail command-recorded "the command that built a tool must be recorded in work/.cmd/ (host/ktap.cmd)" \
		"$(cat "$w/.cmd/host/ktap.cmd" 2>&1)"
fi

expect_eq old-flags-recompile "$tools" "$(built host-tools)" \
	"going back to the Makefile's flags must recompile again"

# A guest program (static, its own flags) the same way.
built "$w/guest/${BASE:-6.1}/umdlab-init" >/dev/null
expect_eq guest-flags-recompile "umdlab-init" \
	"$(built "$w/guest/${BASE:-6.1}/umdlab-init" GUEST_CFLAGS="-O1 -Wall -Wextra -static")" \
	"new GUEST_CFLAGS must recompile a guest program"
done_testing
