#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/deps: detects what is missing, tells a normal user the exact
# install command (status 2), and reports an install that cannot work;
# its shortcut skips the check only while the list, dpkg's database and
# the script itself are those of the last check.
. "$TOP/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
cp "$TOP/scripts/deps" "$TOP/scripts/deps.list" "$tmp/"

plan 6

out=$(DEPS_STAMP=$tmp/ok "$tmp/deps" 2>&1); rc=$?
expect_eq installed-ok 0 "$rc" "with every package installed deps must succeed: $out"

# A package that cannot be installed, checked as an unprivileged user:
# nobody when this runs as root, else the user running it.
as_user=()
[ "$(id -u)" = 0 ] && as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
out=$(DEPS_STAMP=$tmp/nobody "${as_user[@]}" "$tmp/deps" umdlab-no-such-package 2>&1); rc=$?
expect_eq user-missing-rc 2 "$rc" "a normal user missing a package must get status 2: $out"
check user-missing-command "the message must name the exact apt-get command with the missing package" \
	sh -c "echo '$out' | grep -q 'sudo apt-get update && sudo apt-get install -y --no-install-recommends umdlab-no-such-package$'"

# The shortcut, seen through a dpkg-query that fails: with the stamp of
# the check above the check is skipped (status 0); once the script
# changed it runs, finds nothing installed and says so (status 2, as the
# unprivileged user: root would try to install).
mkdir "$tmp/fake"
printf '#!/bin/sh\nexit 1\n' > "$tmp/fake/dpkg-query"
chmod 755 "$tmp/fake" "$tmp/fake/dpkg-query"
out=$(DEPS_STAMP=$tmp/ok PATH="$tmp/fake:$PATH" "${as_user[@]}" "$tmp/deps" 2>&1); rc=$?
expect_eq stamp-skips-check 0 "$rc" "a stamp for the same list and script, newer than dpkg's database, must skip the check: $out"
echo "# a change of the recipe" >> "$tmp/deps"
out=$(DEPS_STAMP=$tmp/ok PATH="$tmp/fake:$PATH" "${as_user[@]}" "$tmp/deps" 2>&1); rc=$?
expect_eq recipe-change-rechecks 2 "$rc" "a change of scripts/deps must run the check again (here: nothing found installed): $out"

if [ "$(id -u)" = 0 ]; then
	out=$(DEPS_STAMP=$tmp/root "$tmp/deps" umdlab-no-such-package 2>&1); rc=$?
	expect_eq root-uninstallable-rc 2 "$rc" "as root, a package apt cannot install must fail with status 2: $out"
else
	skip root-uninstallable-rc "not root"
fi
done_testing
