# SPDX-License-Identifier: GPL-2.0
#
# gdb on the UML kernel: make gdb, make attach.
# Included by the top-level Makefile.
#
#   make gdb [TT=1|inf-cpu|0] [CMD=...] [APPEND=...]
#       boot the kernel under gdb (scripts/run-uml with scripts/gdb-uml
#       as its supervisor): kernel and umdlab helpers loaded, guest console
#       on this terminal, time-travel on unless TT=0
#   make attach [UMID=...]
#       attach gdb to the instance `make run-uml` started (exit 2 if none)

TT ?= 1

.PHONY: gdb attach

gdb: IF_STALE := 1
gdb: rootfs
	$(Q)$(RUN_ENV) SUPERVISOR=$(TOP)/scripts/gdb-uml BLD=$(BLD) TT='$(TT)' \
		CMD='$(subst ','\'',$(value CMD))' $(TOP)/scripts/run-uml

attach:
	$(Q)BLD=$(BLD) $(TOP)/scripts/gdb-uml attach $(WORK)/uml $(UMID)
