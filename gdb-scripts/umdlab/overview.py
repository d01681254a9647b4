# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: the one-line usage and the 'umdlab' overview.

import gdb

USAGE = ("umdlab: umdlab-umd | umdlab-pid NR | umdlab-break launch|exit|"
         "restart|unload|all | umdlab-trace on|off | umdlab-race | "
         "$umdlab_umd_tgid_nr() "
         "$umdlab_pid_task(p,t); Ctrl-] in the guest console stops; "
         "'umdlab' for more")


class Umdlab(gdb.Command):
    """umdlab: user mode drivers on a UML kernel, in the kernel's terms.

Commands (help CMD for each):
  umdlab-umd [EXPR]       struct umd_info: blob, pipes, tgid, exited?
  umdlab-pid EXPR|NR      struct pid: numbers, count, tasks per type, waiters
  umdlab-break WHAT       stopping breakpoints on the driver's life:
                          launch, exit, restart, unload, all; off
  umdlab-trace on|off     the same points, logged without stopping;
                          'umdlab-trace' prints the timeline
  umdlab-race [...]       the kernel's interleaving points: arm a point or
                          a schedule, raise a signal, see who is held
  umdlab-modules [sync]   modules and the symbol files loaded for them
  umdlab-uml [setup]      the UML instance: pid, time-travel, fork re-arming
Functions:
  $umdlab_pid_task(PID, TYPE)  $umdlab_find_pid(NR [, NS])
  $umdlab_pid_nr(PID)  $umdlab_thread_group_exited(PID)
  $umdlab_umd_tgid_nr([INFO])  $umdlab_current()
Every command is umdlab-*, every function $umdlab_*, as the kernel's
are lx-* and $lx_* (lx-ps, lx-dmesg, ... work as well).
Ctrl-] typed on the guest console stops the kernel in gdb (Ctrl-C is the
guest's: UML's console is raw)."""

    def __init__(self):
        super().__init__("umdlab", gdb.COMMAND_SUPPORT)

    def invoke(self, arg, from_tty):
        gdb.write(self.__doc__ + "\n")


Umdlab()
