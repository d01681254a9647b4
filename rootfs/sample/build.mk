# The sample user mode driver's guest program (rootfs/sample/README.md):
# umd-sample, in the guest at /usr/lib/umdlab/sample/umd-sample.
# Included by the top-level Makefile; adds a prerequisite to guest-progs-files.

SAMPLE_BIN := $(GUESTBIN)/lib/sample

$(SAMPLE_BIN)/umd-sample: $(TOP)/rootfs/sample/umd_sample_ctl.c
	@mkdir -p $(@D)
	@echo "  GUESTCC sample/$(notdir $@)"
	$(Q)gcc $(GUEST_CFLAGS) -o $@ $<

guest-progs-files: $(SAMPLE_BIN)/umd-sample
