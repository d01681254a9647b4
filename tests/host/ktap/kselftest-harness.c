// SPDX-License-Identifier: GPL-2.0
/*
 * Source of kselftest-harness.in: a tiny kselftest_harness.h program with
 * one passing, one failing and one skipped test. It is kept so the
 * recording can be checked and redone; the binary is not kept. Recorded
 * with:
 *
 *   gcc -static -I work/src/linux-6.1/tools/testing/selftests \
 *       -o /tmp/harness tests/host/ktap/kselftest-harness.c
 *   /tmp/harness > tests/host/ktap/kselftest-harness.in 2>&1
 */
#include "kselftest_harness.h"

TEST(passes)
{
	ASSERT_EQ(4, 2 + 2);
}

TEST(fails)
{
	int expected = 5;

	TH_LOG("checking that 2 + 2 == %d", expected);
	ASSERT_EQ(expected, 2 + 2);
}

TEST(skipped)
{
	SKIP(return, "needs a device that UML does not have");
}

TEST_HARNESS_MAIN
