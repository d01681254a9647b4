#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The KTAP/TAP summariser on recorded logs (scripts/tests/ktap/).
exec bash "$TOP/scripts/tests/ktap-test.sh" "$HOSTBIN/ktap"
