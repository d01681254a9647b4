# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: module symbols that follow the kernel
#
# Three internal breakpoints in vmlinux text keep gdb's symbol tables in
# step with the modules the kernel has loaded:
#
#   do_init_module(mod)  add-symbol-file MOD.ko with every section at the
#                        address struct module's sect_attrs records,
#                        .init.* included (breakpoints on the module's init
#                        function resolve and hit)
#   do_free_init()       the module's init memory is about to be freed:
#                        reload its symbols without the .init.* sections, so
#                        gdb never again writes a breakpoint into memory
#                        vfree() hands to someone else
#   free_module(mod)     remove-symbol-file: the module's breakpoints go
#                        back to pending and resolve at the next load, at the
#                        new address
#
# Unlike lx-symbols (scripts/gdb/linux/symbols.py) nothing here ever runs
# 'symbol-file' to drop and reload vmlinux.  lx-symbols does that when a
# module it already knows loads again -- and on UML it already knows it at
# its first do_init_module hit, so it loops; see README.md.
#
#   umdlab-modules  the modules the kernel has and the symbol files loaded

import atexit
import os
import shutil
import struct
import tempfile

import gdb

from umdlab import utils

initfree_type = utils.CachedType("struct mod_initfree")
mem_type_enum = utils.CachedType("enum mod_mem_type")

# name -> {"file", "text", "init", "with_init", "sections"}
loaded = {}
_ko_index = None


def build_dir():
    """The kernel build directory: where vmlinux (or linux) came from."""
    env = os.environ.get("UMDLAB_BLD")
    if env:
        return env
    for obj in gdb.objfiles():
        fn = obj.filename or ""
        if os.path.basename(fn) in ("vmlinux", "linux"):
            return os.path.dirname(os.path.realpath(fn))
    return os.getcwd()


def find_ko(name):
    """BLD/**/NAME.ko ('-' and '_' are the same in module names)."""
    global _ko_index
    if _ko_index is None:
        _ko_index = {}
        for root, dirs, files in os.walk(build_dir()):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for f in files:
                if f.endswith(".ko"):
                    _ko_index.setdefault(f[:-3].replace("-", "_"),
                                         os.path.join(root, f))
    return _ko_index.get(name.replace("-", "_"))


def sections(mod):
    """{section name: address} from mod->sect_attrs (sysfs' view)."""
    out = {}
    try:
        sa = mod["sect_attrs"]
    except gdb.error:
        return out
    if utils.ulong(sa) == 0:
        return out
    attrs = sa["attrs"]
    for i in range(int(sa["nsections"])):
        name = utils.string(attrs[i]["battr"]["attr"]["name"])
        out[name] = utils.ulong(attrs[i]["address"])
    return out


# Sections of a .ko the kernel did not place (.modinfo, freed .init.*)
# still get an address from add-symbol-file: 0 plus their offset, which
# makes NULL print as <__UNIQUE_ID_license...>.  They go here instead.
NOWHERE = 0xffffffffe0000000

SHF_ALLOC = 2


def elf_alloc_sections(path):
    """Names of the SHF_ALLOC sections of ELF64 file PATH."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return []
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    def sh(i):
        return struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
    stroff = sh(shstrndx)[4]
    names = []
    for i in range(1, shnum):
        name, _typ, flags, _addr, _off, size = sh(i)
        if flags & SHF_ALLOC and size:
            end = data.index(b"\0", stroff + name)
            names.append(data[stroff + name:end].decode())
    return names


# gdb places the sections of a relocatable file (a .ko) apart itself, so
# that the DWARF addresses of its variables map back to the right
# section -- unless some section already has an address, when it keeps
# them all as they are.  6.12's scripts/module.lds.S has '.data : {
# CODETAG_SECTIONS() }' without the '0' its other sections have: ld puts
# .data after the sections before it (0x200 in umd_sample.ko) and gdb
# then takes its variables for code: 'p umd' read .text.  The kernel's
# loader ignores sh_addr; symbols here come from a copy of the .ko with
# every sh_addr 0, in a directory removed when gdb exits.
_copies = {}
_copy_dir = []


def _remove_copies():
    for d in _copy_dir:
        shutil.rmtree(d, ignore_errors=True)


def symbol_file(path):
    """PATH, or a copy of it with all section addresses 0 if it has any
    (see above)."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    if key in _copies:
        return _copies[key]
    with open(path, "rb") as f:
        data = bytearray(f.read())
    out = path
    if data[:4] == b"\x7fELF" and data[4] == 2 and \
            struct.unpack_from("<H", data, 0x10)[0] == 1:     # ET_REL
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3a)
        addrs = [shoff + i * shentsize + 0x10 for i in range(1, shnum)]
        if any(struct.unpack_from("<Q", data, a)[0] for a in addrs):
            for a in addrs:
                struct.pack_into("<Q", data, a, 0)
            if not _copy_dir:
                _copy_dir.append(tempfile.mkdtemp(prefix="umdlab-gdb-"))
                atexit.register(_remove_copies)
            out = os.path.join(_copy_dir[0], "%d-%s" % (
                len(_copies), os.path.basename(path)))
            with open(out, "wb") as f:
                f.write(data)
    _copies[key] = out
    return out


def module_name(mod):
    return mod["name"].string("latin-1", "replace").split("\0")[0]


def _mem_base(mod, layout, mem):
    """Base address of a module's core or init text: mod->LAYOUT.base up
    to 6.3, mod->mem[MEM].base (enum mod_mem_type) from 6.4 on."""
    try:
        return utils.ulong(mod[layout]["base"])
    except gdb.error:
        pass
    for f in mem_type_enum.get_type().fields():
        if f.name == mem:
            return utils.ulong(mod["mem"][f.enumval]["base"])
    raise gdb.GdbError("struct module has neither %s nor mem[%s]" %
                       (layout, mem))


def core_base(mod):
    return _mem_base(mod, "core_layout", "MOD_TEXT")


def init_base(mod):
    """0 once the kernel has freed the module's init sections."""
    return _mem_base(mod, "init_layout", "MOD_INIT_TEXT")


def _quiet(cmd):
    return gdb.execute(cmd, to_string=True)


def load(mod, with_init):
    name = module_name(mod)
    ko = find_ko(name)
    if ko is None:
        gdb.write("umdlab: no %s.ko under %s: no symbols for it\n"
                  % (name, build_dir()))
        return
    secs = sections(mod)
    text = secs.get(".text", core_base(mod))
    have = loaded.get(name)
    if have and have["text"] == text and have["with_init"] == with_init \
            and have["sections"] == secs:
        return
    try:
        symfile = symbol_file(ko)
    except (OSError, struct.error) as e:
        raise gdb.GdbError("%s: %s" % (ko, e))
    args = ["add-symbol-file", symfile, "0x%x" % text]
    placed = {}
    for s, a in sorted(secs.items()):
        if s == ".text" or not a or \
                (not with_init and s.startswith(".init")):
            continue
        placed[s] = a
    try:
        unplaced = [s for s in elf_alloc_sections(ko)
                    if s not in placed and s != ".text"]
    except (OSError, ValueError, struct.error):
        unplaced = []
    for i, s in enumerate(unplaced):
        placed[s] = NOWHERE + i * 0x100000
    for s, a in sorted(placed.items()):
        args += ["-s", s, "0x%x" % a]
    unload(name, quiet=True)
    _quiet(" ".join(args))
    loaded[name] = {"file": ko, "text": text, "with_init": with_init,
                    "init": init_base(mod),
                    "sections": secs}
    # The reload without .init at do_free_init() is not news.
    if have is None or have["text"] != text:
        gdb.write("umdlab: %s.ko symbols loaded @0x%x\n" % (name, text))


def unload(name, quiet=False):
    info = loaded.pop(name, None)
    if info is None:
        return
    try:
        _quiet("remove-symbol-file -a 0x%x" % info["text"])
    except gdb.error:
        pass
    if not quiet:
        gdb.write("umdlab: %s.ko symbols removed\n" % name)


def module_list():
    """The kernel's modules (struct module *): linux.modules.module_list()
    of the kernel's own helpers, which vmlinux-gdb.py loaded."""
    try:
        from linux import modules as lx_modules
    except ImportError:
        raise gdb.GdbError("the kernel's gdb helpers are not loaded "
                           "(source BLD/vmlinux-gdb.py first)")
    return list(lx_modules.module_list())


def sync():
    """Load symbols for every module the kernel has now (attach time)."""
    have = set()
    for mod in module_list():
        name = module_name(mod)
        have.add(name)
        init = init_base(mod)
        if name not in loaded or loaded[name]["text"] != \
                sections(mod).get(".text"):
            load(mod, with_init=init != 0)
    for name in list(loaded):
        if name not in have:
            unload(name)


class _Hook(gdb.Breakpoint):
    def __init__(self, spec, fn):
        super().__init__(spec, internal=True)
        self.silent = True
        self.fn = fn

    def stop(self):
        if utils.rehit():
            return False
        try:
            self.fn()
        except (gdb.error, gdb.GdbError) as e:
            gdb.write("umdlab: module symbols: %s\n" % e)
        return False


def _on_init():
    load(gdb.parse_and_eval("mod"), with_init=True)


def _on_free_init():
    """do_free_init() entry: the list of init areas is still intact."""
    head = gdb.parse_and_eval("init_free_list")
    node = head["first"]
    areas = set()
    n = 0
    while utils.ulong(node) and n < 1000:
        f = utils.container_of(node, initfree_type.get_type(), "node")
        try:
            areas.add(utils.ulong(f["module_init"]))
        except gdb.error:                   # 6.4+: one pointer per type
            areas.add(utils.ulong(f["init_text"]))
        node = node["next"]
        n += 1
    for name, info in list(loaded.items()):
        if info["with_init"] and info["init"] in areas:
            for mod in module_list():
                if module_name(mod) == name:
                    load(mod, with_init=False)


def _on_free():
    unload(module_name(gdb.parse_and_eval("mod")))


hooks = []


def install():
    """Set the hooks (idempotent); returns False without a kernel."""
    if hooks:
        return True
    try:
        gdb.lookup_type("struct module")
    except gdb.error:
        return False
    hooks.append(_Hook("do_init_module", _on_init))
    hooks.append(_Hook("do_free_init", _on_free_init))
    hooks.append(_Hook("free_module", _on_free))
    return True


class UmdlabModules(gdb.Command):
    """List the kernel's modules and the symbol files umdlab loaded for them.

umdlab-modules         list
umdlab-modules sync    (re)load symbols for every module now loaded

Symbols load by themselves when a module loads (do_init_module), lose
their .init sections when the kernel frees them (do_free_init) and go
away when it unloads (free_module)."""

    def __init__(self):
        super().__init__("umdlab-modules", gdb.COMMAND_FILES)

    def invoke(self, arg, from_tty):
        if arg.strip() == "sync":
            sync()
            return
        if arg.strip():
            raise gdb.GdbError("umdlab-modules: usage: umdlab-modules "
                               "[sync]")
        mods = module_list()
        if not mods:
            gdb.write("no modules loaded\n")
        for mod in mods:
            name = module_name(mod)
            info = loaded.get(name)
            gdb.write("%-20s 0x%x  %s\n" % (
                name, core_base(mod),
                "%s%s" % (info["file"], " (+init)" if info["with_init"]
                          else "") if info else "no symbols"))


UmdlabModules()
