# The sample user mode driver's guest program (rootfs/sample/README.md):
# umd-sample, in the guest at /usr/lib/umdlab/sample/umd-sample.
# Included by the top-level Makefile; adds a prerequisite to guest-progs-files.

SAMPLE_BIN := $(GUESTBIN)/lib/sample

$(SAMPLE_BIN)/umd-sample: guest-name = sample/$(notdir $@)
$(SAMPLE_BIN)/umd-sample: $(TOP)/rootfs/sample/umd_sample_ctl.c FORCE
	$(call if_changed,guestcc)

guest-progs-files: $(SAMPLE_BIN)/umd-sample
