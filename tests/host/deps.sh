#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/deps: detects what is missing, tells a normal user the exact
# install command (status 2), and reports an install that cannot work.
. "$TOP/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
cp "$TOP/scripts/deps" "$TOP/scripts/deps.list" "$tmp/"

plan 4

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

if [ "$(id -u)" = 0 ]; then
	out=$(DEPS_STAMP=$tmp/root "$tmp/deps" umdlab-no-such-package 2>&1); rc=$?
	expect_eq root-uninstallable-rc 2 "$rc" "as root, a package apt cannot install must fail with status 2: $out"
else
	skip root-uninstallable-rc "not root"
fi
done_testing
