# SPDX-License-Identifier: GPL-2.0
#
# umdlab: the kernel's user mode driver code in a User Mode Linux sandbox.
#
# Data flows one way, and so do the targets:
#   base source -> patched tree -> configured build -> kernel + modules
#     -> rootfs -> running instance -> results
# Everything built lives under work/ (ignored by git); the only inputs are
# the tracked files here and Debian's packages.  `make help` lists targets.

BASE     ?= 6.1
FLAVOUR  ?= default
MEM      ?= 256M
NET      ?= slirp
UMID     ?= umdlab
PIN      ?= 1
V        ?= 0
export V

TOP      := $(CURDIR)
WORK     := $(TOP)/work
HOSTBIN  := $(WORK)/host

ifneq ($(words $(TOP)),1)
  $(error umdlab: the project path must not contain spaces: $(TOP))
endif

# ---- inputs, validated: bad input is one line and exit status 2 ------------

# work/ must stay its owner's: root in another user's checkout only
# installs packages, and a work/ the caller cannot write stops here
# (scripts/check-owner says what to do).
OWNER_PROBLEM := $(shell $(TOP)/scripts/check-owner $(WORK) $(MAKECMDGOALS))
ifneq ($(OWNER_PROBLEM),)
  $(error $(OWNER_PROBLEM))
endif

BASES := 6.1 6.12
ifeq ($(filter $(BASE),$(BASES)),)
  $(error umdlab: unknown BASE '$(BASE)'; known: $(BASES))
endif

# A flavour is a list of uml-config fragments.  A base may bring its own
# UMD fragment: 6.12 has no bpfilter (uml-config/umd-6.12.config).  A KSRC
# tree without net/bpfilter (gone in 6.8) gets that one too.
ifdef KSRC
  UMD := $(if $(wildcard $(abspath $(KSRC))/net/bpfilter/Kconfig),umd,umd-6.12)
else
  UMD := $(if $(wildcard $(TOP)/uml-config/umd-$(BASE).config),umd-$(BASE),umd)
endif
# The interleaving points are a 6.1 patch (kernel-patches/6.1/0008: they
# sit in bpfilter too); a KSRC tree or 6.12 has none to turn on.
RACE_FRAG := $(if $(KSRC),,$(if $(filter 6.1,$(BASE)),race))
FLAVOUR_default := base $(UMD) debuginfo sample kunit gcov faults $(RACE_FRAG)
FLAVOUR_debug   := base $(UMD) debuginfo sample kunit gcov faults $(RACE_FRAG) debug
FLAVOUR_builtin := base $(UMD) debuginfo sample kunit gcov faults $(RACE_FRAG) builtin
# make coverage: the default kernel with the objects of
# uml-config/coverage.objs profiled (uml-config/gcov.config says why).
FLAVOUR_coverage := $(FLAVOUR_default)
GCOV_OBJS := $(if $(filter coverage,$(FLAVOUR)),$(TOP)/uml-config/coverage.objs)
FLAVOURS := default debug builtin coverage
ifeq ($(filter $(FLAVOUR),$(FLAVOURS)),)
  $(error umdlab: unknown FLAVOUR '$(FLAVOUR)'; known: $(FLAVOURS))
endif
FRAG_NAMES := $(FLAVOUR_$(FLAVOUR)) $(FRAGMENTS)
FRAG_FILES := $(foreach f,$(FRAG_NAMES),$(TOP)/uml-config/$(f).config)
$(foreach f,$(FRAG_NAMES),$(if $(wildcard $(TOP)/uml-config/$(f).config),,\
  $(error umdlab: unknown fragment '$(f)'; fragments are uml-config/*.config)))

ifeq ($(shell echo '$(MEM)' | grep -Eqx '[1-9][0-9]*[KMG]?' && echo ok),)
  $(error umdlab: MEM '$(MEM)' is not a size (e.g. 256M, 1G))
endif
ifeq ($(filter $(NET),slirp none),)
  $(error umdlab: NET '$(NET)' must be slirp or none)
endif
ifeq ($(shell echo '$(UMID)' | grep -Eqx '[A-Za-z0-9_.-]{1,32}' && echo ok),)
  $(error umdlab: UMID '$(UMID)' must be 1-32 of [A-Za-z0-9_.-])
endif
ifeq ($(filter $(PIN),0 1),)
  $(error umdlab: PIN '$(PIN)' must be 1 (one host CPU per instance) or 0)
endif

ifneq ($(COUNT),)
  ifeq ($(shell echo '$(COUNT)' | grep -Eqx '[1-9][0-9]*' && echo ok),)
    $(error umdlab: COUNT '$(COUNT)' is not a positive number)
  endif
endif

# JOBS=N: test groups (and the scenario group's guests) at once.  By
# default one per CPU, at most 4: on 2 CPUs the whole suite takes a
# little over half its JOBS=1 time (make bench BENCH=jobs); a guest is one
# busy CPU, so more jobs than CPUs only stretch the timeouts.
ifeq ($(origin JOBS),undefined)
  JOBS := $(shell n=$$(nproc 2>/dev/null || echo 1); [ "$$n" -gt 4 ] && n=4; echo $$n)
endif
ifeq ($(shell echo '$(JOBS)' | grep -Eqx '[1-9][0-9]*' && echo ok),)
  $(error umdlab: JOBS '$(JOBS)' is not a positive number)
endif

# T= names test groups (tests/host, tests/guest) or scenarios.
ifneq ($(T),)
  comma := ,
  T_KNOWN := $(basename $(notdir $(wildcard $(TOP)/tests/host/*.sh $(TOP)/tests/guest/*.sh))) \
	$(shell [ -f $(TOP)/tests/guest/scenarios.sh ] && bash $(TOP)/tests/guest/scenarios.sh --list 2>/dev/null)
  T_BAD := $(filter-out $(T_KNOWN),$(subst $(comma), ,$(T)))
  ifneq ($(T_BAD),)
    $(error umdlab: unknown test or scenario '$(firstword $(T_BAD))'; known: $(sort $(T_KNOWN)))
  endif
endif

# The kernel source: Debian's tarball as a git work tree, or KSRC.
ifdef KSRC
  override KSRC := $(abspath $(KSRC))
  ifeq ($(wildcard $(KSRC)/Makefile $(KSRC)/Kconfig $(KSRC)/arch/um/Kconfig),)
    $(error umdlab: KSRC '$(KSRC)' is not a kernel tree (no Makefile, Kconfig, arch/um))
  endif
  SRC      := $(KSRC)
  BUILD_ID := ksrc-$(shell printf %s '$(KSRC)' | sha1sum | cut -c1-8)
else
  SRC      := $(WORK)/src/linux-$(BASE)
  BUILD_ID := $(BASE)
  TARBALL  := /usr/src/linux-source-$(BASE).tar.xz
  PATCHDIR := $(TOP)/kernel-patches/$(BASE)
  # 6.12 keeps kernel/usermode_driver.c, but bpfilter is gone (6.8) and
  # nothing selects the hidden USERMODE_DRIVER: without patches that add a
  # user there is no UMD code to build.  Say so before extracting anything.
  ifeq ($(BASE),6.12)
    ifeq ($(shell grep -v '^\s*\(#\|$$\)' $(PATCHDIR)/series 2>/dev/null),)
      $(error umdlab: BASE=6.12 has no UMD user yet (bpfilter left in 6.8, nothing selects USERMODE_DRIVER): kernel-patches/6.12/series is empty)
    endif
  endif
endif
BLD      := $(WORK)/build/$(BUILD_ID)-$(FLAVOUR)
ROOTFS   := $(WORK)/rootfs/$(BUILD_ID)-$(FLAVOUR)
# Guest programs, one set per source tree: the scenario programs and the
# pidfd selftests are built against the tree's kselftest headers, so a
# set shared by 6.1 and 6.12 was rebuilt at every switch of BASE.
GUESTBIN := $(WORK)/guest/$(BUILD_ID)
PKGROOT  := $(WORK)/rootfs/packages
LINUX    := $(BLD)/linux

# Kbuild's output conventions (scripts/Kbuild.include): a rule runs
# $(call cmd,X), which prints the short line $(quiet_cmd_X), or with V=1
# the full command $(cmd_X), then runs cmd_X (set -e, the target's
# directory made first).  Scripts get V from the environment (export V).
ifeq ($(V),1)
  Q :=
  quiet :=
else
  Q := @
  quiet := quiet_
endif
escsq = $(subst ','\'',$(1))
cmd = @set -e; mkdir -p $(@D); \
	$(if $($(quiet)cmd_$(1)),echo '  $(call escsq,$($(quiet)cmd_$(1)))';) $(cmd_$(1))

# And Kbuild's if_changed: $(call if_changed,X) in a rule that also lists
# FORCE runs $(call cmd,X) when a prerequisite is newer than the target
# or when cmd_X differs from the command that made it, which is kept in
# work/.cmd/ (the same path as the target's under work/, .cmd added): a
# change of flags in this Makefile or a build.mk remakes what it built.
cmd-file = $(WORK)/.cmd$(patsubst $(WORK)%,%,$@).cmd
saved-cmd = $(strip $(file <$(cmd-file)))
new-cmd = $(strip $(cmd_$(1)))
cmd-same = $(and $(findstring x$(new-cmd)x,x$(saved-cmd)x),$(findstring x$(saved-cmd)x,x$(new-cmd)x))
if_changed = $(if $(filter-out FORCE,$?)$(if $(call cmd-same,$(1)),,1), \
	$(call cmd,$(1)); mkdir -p $(dir $(cmd-file)); \
	printf '%s\n' '$(call escsq,$(new-cmd))' > $(cmd-file), @:)

# ---- host and guest programs (C) --------------------------------------------

HOST_CFLAGS  := -O2 -Wall -Wextra -Werror
GUEST_CFLAGS := -O2 -Wall -Wextra -static
HOST_TOOLS   := umdlab-run ktap kbuild-progress kbuild-cc blob-check
GUEST_PROGS  := umdlab-init lib/bench/restart-latency

# One pair per kind of program: a host tool (scripts/, tests/tools/) and
# a static guest program.  A guest program's rule may set guest-name (its
# short line, default the file name) and guest-cflags for its target.
quiet_cmd_hostcc  = HOSTCC  $(notdir $@)
      cmd_hostcc  = gcc $(HOST_CFLAGS) -o $@ $<
quiet_cmd_guestcc = GUESTCC $(guest-name)
      cmd_guestcc = gcc $(guest-cflags) -o $@ $(filter %.c,$^)
guest-name   = $(notdir $@)
guest-cflags = $(GUEST_CFLAGS)

$(HOSTBIN)/%: $(TOP)/scripts/%.c FORCE
	$(call if_changed,hostcc)

# Tools only the tests use.
$(HOSTBIN)/%: $(TOP)/tests/tools/%.c FORCE
	$(call if_changed,hostcc)

$(GUESTBIN)/umdlab-init: $(TOP)/rootfs/init/umdlab-init.c FORCE
	$(call if_changed,guestcc)

$(GUESTBIN)/lib/bench/%: $(TOP)/rootfs/bench/%.c FORCE
	$(call if_changed,guestcc)

host-tools: $(addprefix $(HOSTBIN)/,$(HOST_TOOLS))
# Guest programs build against the kernel tree (the selftest harness, the
# pidfd selftests): on a fresh clone the tree is made first, and the
# programs by a second make, which sees the new files (make caches what a
# directory held when it first looked).
guest-progs: tree
	$(Q)$(MAKE) -s --no-print-directory guest-progs-files
guest-progs-files: $(addprefix $(GUESTBIN)/,$(GUEST_PROGS))

# ---- the pipeline -------------------------------------------------------------

.PHONY: all deps tree config kernel rootfs run-uml halt export-patches \
	test check bench host-tools guest-progs guest-progs-files help clean FORCE

all: rootfs

# Every target starts here.  Cheap when nothing changed: the package
# database is read only when it is newer than the last check.
DEPS_PKGS := $(if $(KSRC),,linux-source-$(BASE))
deps:
	$(Q)$(TOP)/scripts/deps $(DEPS_PKGS)

tree: deps
ifndef KSRC
	$(Q)$(TOP)/scripts/kernel-tree prepare $(TARBALL) $(PATCHDIR) $(SRC)
endif

config: tree
	$(Q)$(TOP)/scripts/kernel-config $(SRC) $(BLD) $(FRAG_FILES)

kernel: config $(HOSTBIN)/kbuild-progress $(HOSTBIN)/kbuild-cc $(HOSTBIN)/blob-check
	$(Q)IF_STALE=$(IF_STALE) GCOV_OBJS=$(GCOV_OBJS) \
		$(TOP)/scripts/kernel-build $(SRC) $(BLD) $(HOSTBIN)/kbuild-progress

rootfs: kernel guest-progs
	$(Q)$(TOP)/scripts/rootfs-packages $(TOP)/rootfs/packages.list $(WORK)/debs $(PKGROOT)
	$(Q)$(TOP)/scripts/rootfs-assemble $(PKGROOT) $(ROOTFS) $(SRC) $(BLD) $(GUESTBIN) $(TOP)/rootfs/overlay

export-patches: deps
ifdef KSRC
	$(error umdlab: export-patches works on the umdlab tree, not on KSRC)
endif
	$(Q)$(TOP)/scripts/kernel-tree export $(PATCHDIR) $(SRC)

# ---- running an instance --------------------------------------------------------

SHARE ?= $(WORK)/share
RUN_ENV = LINUX=$(LINUX) ROOTFS=$(ROOTFS) MEM=$(MEM) NET=$(NET) UMID=$(UMID) PIN=$(PIN) \
	SHARE=$(SHARE) APPEND='$(subst ','\'',$(value APPEND))' RUNDIR=$(WORK)/run UMLDIR=$(WORK)/uml \
	SUPERVISOR=$(HOSTBIN)/umdlab-run BLOBCHECK=$(HOSTBIN)/blob-check TIMEOUT=$(TIMEOUT)

# run-uml builds only what is missing or stale (see scripts/kernel-build).
run-uml: IF_STALE := 1
run-uml: rootfs $(HOSTBIN)/umdlab-run $(HOSTBIN)/blob-check
	$(Q)$(RUN_ENV) CMD='$(subst ','\'',$(value CMD))' $(TOP)/scripts/run-uml

halt:
	$(Q)$(TOP)/scripts/halt-uml $(WORK)/uml $(UMID)

# ---- the loop and the benchmark ------------------------------------------------

# The fast set make check runs when T= is not given: bpfilter's
# scenarios, or, on a tree without bpfilter (BASE=6.12, a KSRC after
# 6.8), the sample driver's group.
CHECK_T_umd      := launch,restart,unload
CHECK_T_umd-6.12 := sample
CHECK_T ?= $(CHECK_T_$(UMD))
CHECK_ENV = $(RUN_ENV) TOP=$(TOP) WORK=$(WORK) BASE=$(BASE) HOSTBIN=$(HOSTBIN) SRC=$(SRC) \
	BLD=$(BLD) PKGROOT=$(PKGROOT) GUESTBIN=$(GUESTBIN) FLAVOUR=$(FLAVOUR) COUNT='$(COUNT)' JOBS=$(JOBS)

check: deps $(HOSTBIN)/loopback-token
	$(Q)$(CHECK_ENV) CHECK_T='$(CHECK_T)' T='$(T)' WATCH=$(WATCH) $(TOP)/scripts/check

bench: rootfs host-tools
	$(Q)$(TOP)/scripts/deps gnuplot-nox
	$(Q)$(CHECK_ENV) BENCH='$(BENCH)' RUNS='$(RUNS)' RESTARTS='$(RESTARTS)' SOAK='$(SOAK)' $(TOP)/scripts/bench

# ---- tests ------------------------------------------------------------------------

# make test, like run-uml and check, runs Kbuild only when a file of the
# source tree is newer than the last build: Kbuild's own no-op takes
# seconds, and break-on-purpose and mutate run make test many times.
test: IF_STALE := 1
test: rootfs host-tools $(HOSTBIN)/loopback-token
	$(Q)$(CHECK_ENV) T='$(T)' $(TOP)/tests/run

# Bugs brought back on purpose (scripts/mutate): each patch, applied in a
# scratch copy of the tree and build, must be caught by the tests it
# names.  PATCH= a patch or a directory of them; T= overrides the tests.
# A flavour other than the default has its own set (tests/mutations/
# 6.1-builtin: bugs only a built-in bpfilter shows).  The patches and
# the tree are checked before anything is built: a dirty tree or a bad
# patch is refused at once.
MUTATIONS = $(TOP)/tests/mutations/$(BASE)$(if $(filter-out default,$(FLAVOUR)),-$(FLAVOUR))
MUTATE = $(CHECK_ENV) ROOTFS=$(ROOTFS) T='$(T)' $(TOP)/scripts/mutate $(or $(PATCH),$(MUTATIONS))
.PHONY: mutate
mutate: tree host-tools $(HOSTBIN)/loopback-token
	$(Q)MUTATE_CHECK_ONLY=1 $(MUTATE)
	$(Q)$(MAKE) --no-print-directory rootfs
	$(Q)$(MUTATE)

# Coverage of the UMD code: the guest groups on FLAVOUR=coverage, every
# boot's counters collected, then lcov's report (scripts/coverage-report).
COVERAGE_T ?= boot,drivers,kunit,sample,scenarios,faults
COVERAGE_DIR = $(WORK)/coverage/$(BUILD_ID)
.PHONY: coverage
coverage:
ifneq ($(FLAVOUR),coverage)
	$(Q)$(MAKE) --no-print-directory coverage FLAVOUR=coverage
else
	$(Q)$(TOP)/scripts/deps lcov
	$(Q)rm -rf $(COVERAGE_DIR)/boots
	$(Q)rc=0; $(MAKE) --no-print-directory test T='$(or $(T),$(COVERAGE_T))' \
		UMDLAB_GCOV_DIR=$(COVERAGE_DIR)/boots || rc=$$?; \
	$(TOP)/scripts/coverage-report $(BLD) $(TOP)/uml-config/coverage.objs \
		$(COVERAGE_DIR)/boots $(COVERAGE_DIR) || rc=$$((rc ? rc : $$?)); exit $$rc
endif

# Every sabotage switch through make test: exactly its tests fail.
.PHONY: break-on-purpose
break-on-purpose:
	$(Q)$(TOP)/tests/break-on-purpose BASE=$(BASE) FLAVOUR=$(FLAVOUR) $(if $(KSRC),KSRC=$(KSRC))

# Areas that own their build rules and targets.
include $(TOP)/rootfs/tests/build.mk
include $(TOP)/gdb-scripts/gdb.mk
include $(TOP)/scripts/series-check.mk
include $(TOP)/rootfs/sample/build.mk

help:
	@echo "umdlab targets (README.md has the details):"
	@echo "  run-uml  test  check  bench  coverage  mutate  gdb  attach  series-check  break-on-purpose"
	@echo "  kernel  rootfs  config  tree  export-patches  halt  clean"
	@echo "variables: BASE KSRC FLAVOUR FRAGMENTS MEM NET CMD APPEND UMID PIN SHARE"
	@echo "  TIMEOUT T COUNT JOBS WATCH BENCH RUNS RESTARTS SOAK TT V CCACHE"
	@echo "  and Kbuild's own (KCFLAGS W C ...: Documentation/kbuild/kbuild.rst), passed to Kbuild"

# Removes what can be rebuilt from the inputs.  Never the kernel work tree
# (work/src, a developer's edits and commits), the .deb cache or the share.
clean:
	rm -rf $(WORK)/build $(WORK)/rootfs $(WORK)/host $(WORK)/guest $(WORK)/.cmd $(WORK)/test
