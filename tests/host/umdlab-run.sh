#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The supervisor against fake UML programs (scripts/tests/fake-uml/).
exec bash "$TOP/scripts/tests/umdlab-run-test.sh" "$HOSTBIN/umdlab-run"
