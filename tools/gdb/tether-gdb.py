# gdb support for tether: see every fiber, and the backtrace of one that
# is suspended or dead, in a live process or a core file.
#
#   info fibers         every live fiber: id, name, state, function, where
#   fiber bt ID         the backtrace of fiber ID (yielded, faulted,
#                       terminated), from its saved registers
#   fiber fault ID      a faulted fiber's record, as tether_fault_format()
#                       prints it (the backtrace if it was walked)
#
# Everything is read from memory through the description libtether
# exports (tether_debug_info, include/tether/debug.h); no function of the
# program is ever called, so a core file works like a live process.
#
# Loaded automatically when installed in gdb's auto-load directory for
# libtether (see README, "Debugging"), or by hand: source tether-gdb.py

import struct

import gdb
from gdb.unwinder import Unwinder


class FrameId:
    """A frame's identity for an unwinder (gdb 14 has gdb.unwinder.FrameId)."""

    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc

STATES = ["ready", "yielded", "returned", "faulted", "terminated", "running"]
KINDS = {1: "segmentation fault", 2: "bus error", 3: "illegal instruction",
         4: "arithmetic exception", 5: "stack overflow"}
SIGNALS = {4: "SIGILL", 7: "SIGBUS", 8: "SIGFPE", 11: "SIGSEGV"}
CODES = {  # si_code names, per signal
    11: {1: "SEGV_MAPERR", 2: "SEGV_ACCERR", 3: "SEGV_BNDERR", 4: "SEGV_PKUERR"},
    7: {1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR"},
    4: {1: "ILL_ILLOPC", 2: "ILL_ILLOPN", 3: "ILL_ILLADR", 4: "ILL_ILLTRP",
        5: "ILL_PRVOPC", 6: "ILL_PRVREG", 7: "ILL_COPROC", 8: "ILL_BADSTK"},
    8: {1: "FPE_INTDIV", 2: "FPE_INTOVF", 3: "FPE_FLTDIV", 4: "FPE_FLTOVF",
        5: "FPE_FLTUND", 6: "FPE_FLTRES", 7: "FPE_FLTINV", 8: "FPE_FLTSUB"},
}
# tether_reg order (tether/fault.h): DWARF's.
REGS = ["rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9",
        "r10", "r11", "r12", "r13", "r14", "r15", "rip", "eflags"]
FRAMES_MAX = 48

# struct tether_debug_info, field by field (include/tether/debug.h).
INFO_FIELDS = [
    ("version", "I"), ("size", "I"), ("chunks", "Q"),
    ("chunk_next", "I"), ("chunk_base", "I"), ("chunk_slot_size", "I"),
    ("chunk_carved", "I"), ("fiber_from_slot_end", "I"), ("fiber_magic", "I"),
    ("fiber_magic_value", "Q"), ("fiber_state", "I"), ("fiber_id", "I"),
    ("fiber_fn", "I"), ("fiber_arg", "I"), ("fiber_user_data", "I"),
    ("fiber_has_frames", "I"), ("fiber_stopped_by_signal", "I"),
    ("fiber_sp", "I"), ("fiber_regs", "I"), ("fiber_fault", "I"),
    ("fiber_parent", "I"), ("fiber_name", "I"), ("saved_size", "I"),
    ("saved_rip", "I"), ("saved_rbp", "I"), ("saved_rbx", "I"),
    ("saved_r12", "I"), ("saved_r13", "I"), ("saved_r14", "I"),
    ("saved_r15", "I"), ("frame_signal", "Q"), ("trampoline", "Q"),
    ("trampoline_end", "Q"), ("frame_suspended", "Q"),
]


def _read(addr, length):
    return bytes(gdb.selected_inferior().read_memory(addr, length))


def _u64(addr):
    return struct.unpack("<Q", _read(addr, 8))[0]


def _u8(addr):
    return _read(addr, 1)[0]


class Info:
    """libtether's tether_debug_info, unpacked; None if it is not loaded."""

    @staticmethod
    def load():
        try:
            addr = int(gdb.parse_and_eval("(unsigned long)&tether_debug_info"))
        except gdb.error:
            sym = gdb.lookup_global_symbol("tether_debug_info")
            if sym is None:
                return None
            addr = int(sym.value().address)
        info = Info()
        offset = 0
        raw = _read(addr, 4 * 2)
        info.version, info.size = struct.unpack("<II", raw)
        raw = _read(addr, info.size)
        for name, kind in INFO_FIELDS:
            width = 8 if kind == "Q" else 4
            if kind == "Q" and offset % 8:
                offset += 8 - offset % 8
            if offset + width > len(raw):
                setattr(info, name, None)
                continue
            setattr(info, name, struct.unpack_from("<" + kind, raw, offset)[0])
            offset += width
        return info


class Fiber:
    def __init__(self, info, addr):
        self.addr = addr
        word = _u64(addr + info.fiber_state)
        self.state = word & 0xFFFFFFFF
        self.runner = word >> 32
        self.id = _u64(addr + info.fiber_id)
        self.fn = _u64(addr + info.fiber_fn)
        self.has_frames = _u8(addr + info.fiber_has_frames)
        self.by_signal = _u8(addr + info.fiber_stopped_by_signal)
        self.sp = _u64(addr + info.fiber_sp)
        self.name = ""
        if info.fiber_name not in (None, 0xFFFFFFFF):
            raw = _read(addr + info.fiber_name, 32)
            self.name = raw.split(b"\0")[0].decode("utf-8", "replace")
        self.info = info

    def state_name(self):
        if 0 <= self.state < len(STATES):
            return STATES[self.state]
        return "state %d" % self.state

    def context(self):
        """The registers of a frame whose caller is the fiber's innermost
        frame, or None if it has none: one of libtether's debugger stubs,
        with rbx pointing at the saved registers (a register block after a
        signal, the suspended block otherwise). The stub is a signal frame,
        so gdb lets the fiber's stack lie anywhere."""
        info = self.info
        if not self.has_frames or self.state in (0, 2, 5):
            return None
        if self.by_signal:
            return {"rip": info.frame_signal + 1, "rbx": self.addr + info.fiber_regs}
        return {"rip": info.frame_suspended + 1, "rbx": self.sp}

    def stub(self):
        return self.info.frame_signal + 1 if self.by_signal else self.info.frame_suspended + 1


def fibers():
    info = Info.load()
    if info is None:
        raise gdb.GdbError("libtether is not loaded (no tether_debug_info)")
    if info.version != 1:
        raise gdb.GdbError("tether_debug_info version %d: this script knows 1" % info.version)
    out = []
    chunk = _u64(info.chunks)
    while chunk:
        base = _u64(chunk + info.chunk_base)
        slot = _u64(chunk + info.chunk_slot_size)
        carved = _u64(chunk + info.chunk_carved)
        for i in range(carved):
            obj = base + (i + 1) * slot - info.fiber_from_slot_end
            try:
                if _u64(obj + info.fiber_magic) == info.fiber_magic_value:
                    out.append(Fiber(info, obj))
            except gdb.MemoryError:
                pass  # not in the core, or not mapped
        chunk = _u64(chunk + info.chunk_next)
    out.sort(key=lambda f: f.id)
    return out


def find(arg):
    try:
        want = int(gdb.parse_and_eval(arg))
    except gdb.error:
        raise gdb.GdbError("fiber: expected a fiber id, got %r" % arg)
    for f in fibers():
        if f.id == want or f.addr == want:
            return f
    raise gdb.GdbError("no live fiber with id %d" % want)


def symbolize(pc, exact):
    """'function+off at file:line' for a pc (a return address unless exact).
    Never fails: a pc that is garbage (a corrupt stack) is shown as ??."""
    look = pc if exact or pc == 0 else pc - 1
    try:
        block = gdb.block_for_pc(look)
        while block is not None and block.function is None:
            block = block.superblock
        name = block.function.print_name if block is not None else None
        if name is None:
            text = gdb.execute("info symbol 0x%x" % look, to_string=True).strip()
            name = text.split(" in section")[0] if "No symbol" not in text else "??"
        sal = gdb.find_pc_line(look)
        where = ""
        if sal.symtab is not None:
            where = " at %s:%d" % (sal.symtab.filename, sal.line)
        return name + where
    except Exception:  # gdb.error, RuntimeError, OverflowError: not code
        return "??"


class FiberUnwinder(Unwinder):
    """Makes the fiber's context the caller of the thread's newest frame,
    for the time of one `fiber bt`."""

    def __init__(self):
        super().__init__("tether-fiber")
        self.regs = None

    def __call__(self, pending):
        if self.regs is None or pending.level() != 0:
            return None
        sp = pending.read_register("rsp")
        pc = pending.read_register("rip")
        unwind = pending.create_unwind_info(FrameId(sp, pc))
        for name, value in self.regs.items():
            unwind.add_saved_register(name, gdb.Value(value).cast(pending.read_register(name).type))
        return unwind


_unwinder = FiberUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


def backtrace(f, limit=256):
    """The fiber's frames as (pc, exact, text), innermost first."""
    regs = f.context()
    if regs is None:
        return None
    info = f.info
    frames = []
    _unwinder.regs = regs
    gdb.invalidate_cached_frames()
    try:
        frame = gdb.newest_frame().older()
        exact = False
        while frame is not None and len(frames) < limit:
            pc = frame.pc()
            if pc == 0:
                break  # a corrupt stack: nothing sensible beyond
            if pc == f.stub():
                exact = True  # the stub: its caller's pc is exact
                frame = frame.older()
                continue
            frames.append((pc, exact, symbolize(pc, exact)))
            if info.trampoline <= pc < info.trampoline_end:
                break  # the fiber's bottom frame
            exact = False
            try:
                frame = frame.older()
            except gdb.error:
                break  # gdb could not unwind further (a corrupt stack)
    finally:
        _unwinder.regs = None
        gdb.invalidate_cached_frames()
    return frames


def where(f):
    if f.state == 5:
        return "running on LWP %d" % f.runner
    try:
        frames = backtrace(f, limit=8)
    except (gdb.error, gdb.MemoryError, RuntimeError, OverflowError) as e:
        return "? (%s)" % e
    if not frames:
        return "-"
    # The innermost frame that is not tether's own.
    for pc, exact, text in frames:
        if not text.startswith(("tether_yield", "tether__", "tether_terminate")):
            return text
    return frames[0][2]


class InfoFibers(gdb.Command):
    """List tether's live fibers: id, name, state, function, where it stopped."""

    def __init__(self):
        super().__init__("info fibers", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        rows = fibers()
        if not rows:
            print("No fibers.")
            return
        print("%-6s %-18s %-16s %-11s %-28s %s" % ("Id", "Address", "Name", "State",
                                                 "Function", "Where"))
        for f in rows:
            print("%-6d 0x%-16x %-16s %-11s %-28s %s" % (
                f.id, f.addr, f.name or "-", f.state_name(), symbolize(f.fn, True).split(" at ")[0],
                where(f)))


class FiberPrefix(gdb.Command):
    """Commands for tether fibers: fiber bt ID, fiber fault ID."""

    def __init__(self):
        super().__init__("fiber", gdb.COMMAND_STACK, prefix=True)


class FiberBt(gdb.Command):
    """Print the backtrace of a suspended or dead fiber: fiber bt ID."""

    def __init__(self):
        super().__init__("fiber bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        f = find(arg)
        frames = backtrace(f)
        if frames is None:
            if f.state == 5:
                raise gdb.GdbError("fiber %d is running on LWP %d: select that thread "
                                   "(thread find %d) and use bt" % (f.id, f.runner, f.runner))
            raise gdb.GdbError("fiber %d is %s: it has no frames" % (f.id, f.state_name()))
        for i, (pc, exact, text) in enumerate(frames):
            print("#%-2d 0x%016x in %s" % (i, pc, text))


class FiberFault(gdb.Command):
    """Print a faulted fiber's fault record: fiber fault ID."""

    def __init__(self):
        super().__init__("fiber fault", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        f = find(arg)
        if f.state != 3:
            raise gdb.GdbError("fiber %d is %s, not faulted" % (f.id, f.state_name()))
        rec = f.addr + f.info.fiber_fault
        kind, signo, code = struct.unpack("<iii", _read(rec, 12))
        addr, pc, sp = struct.unpack("<QQQ", _read(rec + 16, 24))
        nregs = len(REGS)
        nframes = struct.unpack("<i", _read(rec + 40 + 8 * nregs, 4))[0]
        frames = struct.unpack("<%dQ" % FRAMES_MAX, _read(rec + 48 + 8 * nregs, 8 * FRAMES_MAX))
        print("%s: %s (%s) at address 0x%x" % (
            KINDS.get(kind, "fault %d" % kind), SIGNALS.get(signo, "signal %d" % signo),
            CODES.get(signo, {}).get(code, "code %d" % code), addr))
        print("  pc 0x%x sp 0x%x" % (pc, sp))
        if nframes <= 0:
            print("  (backtrace not walked yet: fiber bt %d walks the stack)" % f.id)
        for i in range(min(nframes, FRAMES_MAX)):
            print("  #%-2d 0x%x %s" % (i, frames[i], symbolize(frames[i], i == 0)))


InfoFibers()
FiberPrefix()
FiberBt()
FiberFault()
