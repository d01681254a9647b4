# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: loader.  Source it after the kernel's own helpers:
#
#   source BLD/vmlinux-gdb.py
#   source gdb-scripts/umdlab-gdb.py
#
# Each module below registers its commands and functions when imported;
# 'umdlab' prints the overview, 'help CMD' the details.

import os
import sys

import gdb

sys.dont_write_bytecode = True     # keep gdb-scripts/ free of __pycache__

_here = os.path.dirname(os.path.abspath(__file__))
if not os.path.isdir(os.path.join(_here, "umdlab")):
    # 'source' from inside another Python script leaves __file__ alone.
    _here = os.environ.get("UMDLAB_GDB_DIR", _here)
if _here not in sys.path:
    sys.path.insert(0, _here)

import umdlab.utils      # noqa: E402,F401
import umdlab.tasks      # noqa: E402,F401
import umdlab.pid        # noqa: E402,F401
import umdlab.race       # noqa: E402,F401
import umdlab.umd        # noqa: E402,F401
import umdlab.modsyms    # noqa: E402,F401
import umdlab.uml        # noqa: E402,F401
import umdlab.lifecycle  # noqa: E402,F401
import umdlab.overview   # noqa: E402,F401

if umdlab.uml.is_uml():
    umdlab.uml.setup()
    gdb.write(umdlab.overview.USAGE + "\n")
else:
    gdb.write("umdlab: no UML kernel symbols loaded; commands registered, "
              "'umdlab-uml setup' once they are\n")
