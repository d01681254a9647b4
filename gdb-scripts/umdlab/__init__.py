# SPDX-License-Identifier: GPL-2.0
# umdlab's gdb helpers for user mode drivers on a UML kernel; loaded by
# gdb-scripts/umdlab-gdb.py on top of the kernel's vmlinux-gdb.py.
