# SPDX-License-Identifier: GPL-2.0
#
# make series-check: a row per patch of "Make the user mode driver code a
# better citizen" (v5.9) with the evidence, from SRC and from the built
# kernel, that its end state is in this tree (scripts/series-check).
# Builds the kernel first when it is missing or stale, like run-uml.
# Exits non-zero when a patch that belongs in this version is absent.

.PHONY: series-check
series-check: IF_STALE := 1
series-check: kernel
	$(Q)$(TOP)/scripts/series-check $(SRC) $(BLD)
