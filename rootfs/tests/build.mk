# Guest test programs (static C) and the suites they belong to.
# Included by the top-level Makefile; adds prerequisites to guest-progs-files.
#
# umd_scenarios (the scenario suite, tests/guest/scenarios.sh) and the
# kernel's own pidfd selftests, both built against the kselftest headers
# of the kernel tree under test ($(SRC)), installed in the guest under
# /usr/lib/umdlab/scenarios and /usr/lib/umdlab/pidfd.

KSFT_DIR     := $(SRC)/tools/testing/selftests
SCEN_BIN     := $(GUESTBIN)/lib/scenarios
PIDFD_BIN    := $(GUESTBIN)/lib/pidfd
# The one list of them, shared with tests/guest/scenarios.sh.
PIDFD_TESTS  := $(shell sed -e 's/\#.*//' $(TOP)/rootfs/tests/pidfd-tests.list)

# What the two guest programs share (rootfs/tests/umd_lib.h).
UMD_LIB      := $(TOP)/rootfs/tests/umd_lib.c $(TOP)/rootfs/tests/umd_lib.h

# The Makefile's guestcc (guest-name, guest-cflags: per target).
$(SCEN_BIN)/umd_scenarios: guest-cflags = $(GUEST_CFLAGS) -isystem $(KSFT_DIR)
$(SCEN_BIN)/umd_scenarios: $(TOP)/rootfs/tests/umd_scenarios.c $(UMD_LIB) \
		$(KSFT_DIR)/kselftest_harness.h $(KSFT_DIR)/kselftest.h FORCE
	$(call if_changed,guestcc)

$(SCEN_BIN)/umd_faults: guest-cflags = $(GUEST_CFLAGS) -isystem $(KSFT_DIR)
$(SCEN_BIN)/umd_faults: $(TOP)/rootfs/tests/umd_faults.c $(UMD_LIB) \
		$(KSFT_DIR)/kselftest_harness.h $(KSFT_DIR)/kselftest.h FORCE
	$(call if_changed,guestcc)

$(SCEN_BIN)/umd_race: guest-cflags = $(GUEST_CFLAGS) -isystem $(KSFT_DIR)
$(SCEN_BIN)/umd_race: $(TOP)/rootfs/tests/umd_race.c $(UMD_LIB) \
		$(KSFT_DIR)/kselftest_harness.h $(KSFT_DIR)/kselftest.h FORCE
	$(call if_changed,guestcc)

# As tools/testing/selftests/pidfd/Makefile builds them (-Wall, not
# -Wextra: upstream code), but static.
$(PIDFD_BIN)/%: guest-name = pidfd/$(notdir $@)
$(PIDFD_BIN)/%: guest-cflags = $(filter-out -Wextra,$(GUEST_CFLAGS)) -pthread -I$(KSFT_DIR)
$(PIDFD_BIN)/%: $(KSFT_DIR)/pidfd/%.c $(KSFT_DIR)/pidfd/pidfd.h \
		$(KSFT_DIR)/kselftest_harness.h $(KSFT_DIR)/kselftest.h FORCE
	$(call if_changed,guestcc)

guest-progs-files: $(SCEN_BIN)/umd_scenarios $(SCEN_BIN)/umd_faults $(SCEN_BIN)/umd_race $(addprefix $(PIDFD_BIN)/,$(PIDFD_TESTS))
