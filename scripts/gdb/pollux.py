# gdb commands that know Pollux's executor: px tasks, px harts, px timers, px procs.
#
# Loaded by `make gdb` (scripts/gdb/pollux.gdb) into gdb-multiarch, next to
# a QEMU started by `make qemu-gdb`.  Everything is read from the stopped
# kernel's memory through its debug information; nothing is written.
#
# What a pending task waits on is found the way the executor itself would
# wake it: every waker in the kernel's data (.data, .bss: the task pools,
# the timer wheel, the drivers' tables) whose data is the task is located
# and named by where it lies (a timer wheel entry, a join handle's trailer,
# a field inside some task's future or a global, read through the debug
# information's types).
import os
import re

import gdb

HERE = os.path.dirname(os.path.abspath(__file__))
UAPI = os.path.join(HERE, "..", "..", "lib", "uapi", "pollux.h")

FLAGS = [(1 << 0, "SCHEDULED"), (1 << 1, "RUNNING"), (1 << 2, "COMPLETE"),
         (1 << 3, "CANCELLED"), (1 << 4, "JOIN_INTEREST"), (1 << 5, "JOIN_WAKER"),
         (1 << 6, "READY"), (1 << 7, "POOLED")]
REF_SHIFT = 8


def u64(v):
    return int(v) & 0xffffffffffffffff


def ptr_size():
    return gdb.lookup_type("void").pointer().sizeof


def sym_addr(name):
    s = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    if s is None:
        return None
    return u64(s.value().address)


def global_value(name):
    s = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    return None if s is None else s.value()


def cstr(v, limit=32):
    """A C string (char * or char[]) as text, up to its NUL."""
    try:
        t = v.type.strip_typedefs()
        addr = u64(v.address) if t.code == gdb.TYPE_CODE_ARRAY else u64(v)
        if not addr:
            return ""
        raw = bytes(gdb.selected_inferior().read_memory(addr, limit))
        return raw.split(b"\0")[0].decode("utf-8", "replace")
    except gdb.error:
        return "?"


def syscall_names():
    names = {}
    try:
        with open(UAPI) as f:
            for line in f:
                m = re.match(r"#define SYS_(\w+)\s+(\d+)", line)
                if m:
                    names[int(m.group(2))] = m.group(1)
    except OSError:
        pass
    return names


def decode_state(s):
    flags = [n for bit, n in FLAGS if s & bit]
    if s & 2:
        word = "running"
    elif s & 4:
        word = "cancelled" if not s & 64 else "done"
    elif s & 1:
        word = "runnable"
    else:
        word = "waiting"
    return word, "|".join(flags) or "-", s >> REF_SHIFT


class Kernel:
    """One snapshot of the stopped kernel."""

    def __init__(self):
        self.exec = global_value("kernel_exec")
        if self.exec is None:
            raise gdb.GdbError("px: no kernel_exec: is this a Pollux kernel.elf?")
        self.task_t = gdb.lookup_type("struct task")
        self.waker_vt = sym_addr("task_waker_vtable")
        self.psz = ptr_size()
        self.inf = gdb.selected_inferior()
        self._data = None

    # ---- tasks ----------------------------------------------------------
    def pools(self):
        p = gdb.parse_and_eval("task_pools")
        while u64(p):
            yield p.dereference()
            p = p["next_pool"]

    def tasks(self):
        """Live tasks: pool slots whose state holds a reference and no
        COMPLETE, then the registry lists (tasks not from a pool)."""
        seen = set()
        tp = self.task_t.pointer()
        exec_addr = u64(self.exec.address)
        for pool in self.pools():
            mem, size = u64(pool["mem"]), int(pool["slot_size"])
            for i in range(int(pool["fresh"])):
                t = gdb.Value(mem + i * size).cast(tp).dereference()
                s = u64(t["state"])
                if s >> REF_SHIFT and not s & 4 and u64(t["exec"]) == exec_addr:
                    seen.add(u64(t.address))
                    yield t
        heads = [self.exec["reg_head"]]
        for w in range(int(self.exec["nworkers"])):
            heads.append(self.exec["workers"][w]["reg"]["head"])
        for h in heads:
            t = h
            while u64(t):
                if u64(t) not in seen:
                    seen.add(u64(t))
                    yield t.dereference()
                t = t["reg_next"]

    def task_id(self, t):
        """A stable short id: the pool and slot, or the address."""
        a = u64(t.address)
        for n, pool in enumerate(self.pools()):
            mem, size, cnt = u64(pool["mem"]), int(pool["slot_size"]), int(pool["count"])
            if mem <= a < mem + size * cnt:
                return "%d.%d" % (n, (a - mem) // size)
        return "%#x" % a

    def task_at(self, addr):
        """The live task whose storage holds addr, or None."""
        for t in self.all_tasks:
            base = u64(t.address)
            if base <= addr < base + int(t["size"]):
                return t
        return None

    # ---- memory scan for wakers ----------------------------------------
    def data_ranges(self):
        """The kernel's writable data: .data, .sdata, .bss, .sbss (from
        gdb's section table), merged where they touch."""
        rs = []
        for line in gdb.execute("info files", to_string=True).splitlines():
            m = re.match(r"\s*(0x[0-9a-f]+) - (0x[0-9a-f]+) is (\.s?(data|bss)\S*)", line)
            if m:
                rs.append((int(m.group(1), 16), int(m.group(2), 16)))
        rs.sort()
        out = []
        for a, b in rs:
            if out and a <= out[-1][1] + 4096:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        if not out:
            raise gdb.GdbError("px: no .data/.bss sections: load kernel.elf first")
        return out

    def wakers(self):
        """{task address: [waker slot address, ...]} for every task waker
        in .data/.bss, and in every entry queued on the timer wheel (an
        entry may live in allocated memory: a ring's timer)."""
        if self._data is not None:
            return self._data
        found = {}
        vt = self.waker_vt.to_bytes(8, "little")
        for lo, hi in self.data_ranges():
            mem = bytes(self.inf.read_memory(lo, hi - lo))
            i = mem.find(vt)
            while i >= 0:
                if i >= 8 and (i - 8) % 8 == 0:
                    data = int.from_bytes(mem[i - 8:i], "little")
                    found.setdefault(data, []).append(lo + i - 8)
                i = mem.find(vt, i + 8)
        for e in self.wheel_entries():
            wk = e["waker"]
            if u64(wk["raw"]["vtable"]) == self.waker_vt:
                slot = u64(wk.address)
                slots = found.setdefault(u64(wk["raw"]["data"]), [])
                if slot not in slots:
                    slots.append(slot)
        self._data = found
        return found

    # ---- naming a waker slot --------------------------------------------
    def wheel_entries(self):
        w = self.exec["wheel"]
        levels = w["slots"].type.range()[1] + 1
        slots = w["slots"][0].type.range()[1] + 1
        for lv in range(levels):
            if not u64(w["occupied"][lv]):
                continue
            for s in range(slots):
                e = w["slots"][lv][s]
                while u64(e):
                    yield e.dereference()
                    e = e["next"]

    def type_of_poll(self, poll):
        """struct foo, from a poll function named foo_poll or foo_vpoll."""
        b = gdb.block_for_pc(poll)
        fn = b.function.name if b is not None and b.function else ""
        for suf in ("_vpoll", "_poll"):
            if fn.endswith(suf):
                try:
                    return gdb.lookup_type("struct " + fn[: -len(suf)])
                except gdb.error:
                    return None
        return None

    def dyn_type(self, addr):
        """The future type of the object at addr, if it starts with a
        future vtable (whose poll function names the type), else None."""
        cache = self.__dict__.setdefault("_dyn", {})
        try:
            vt = int.from_bytes(bytes(self.inf.read_memory(addr, self.psz)), "little")
        except gdb.MemoryError:
            return None
        if vt in cache:
            return cache[vt]
        t = None
        sym = gdb.execute("info symbol %#x" % vt, to_string=True)
        if "vtable" in sym and "No symbol" not in sym:
            try:
                poll = int.from_bytes(bytes(self.inf.read_memory(vt, self.psz)), "little")
                t = self.type_of_poll(poll)
            except gdb.error:
                t = None
        cache[vt] = t
        return t

    def future_type(self, t):
        return self.dyn_type(u64(t["future"]))

    def components(self, typ, base, addr, name, depth=0):
        """[(field name, type, address)] from an object of type typ at
        base down to the struct waker at addr, reading each future's real
        type from its vtable (a union io_slot holds one of many)."""
        typ = typ.strip_typedefs()
        here = [(name, typ, base)]
        if depth > 12 or typ.tag == "waker":
            return here
        if typ.code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
            dt = self.dyn_type(base)
            if dt is not None and dt.tag != typ.tag and dt.sizeof <= typ.sizeof and \
                    base <= addr < base + dt.sizeof:
                return [(name, typ, base)] + self.components(dt, base, addr, "(%s)" % dt.tag,
                                                             depth + 1)[0:]
        if typ.code == gdb.TYPE_CODE_ARRAY:
            el = typ.target()
            if el.sizeof:
                i = (addr - base) // el.sizeof
                return here + self.components(el, base + i * el.sizeof, addr, "[%d]" % i,
                                              depth + 1)
            return here
        if typ.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
            return here
        best = None
        for f in typ.fields():
            if getattr(f, "bitpos", None) is None:
                continue
            off = f.bitpos // 8
            if base + off <= addr < base + off + f.type.sizeof:
                sub = self.components(f.type, base + off, addr, f.name or "", depth + 1)
                exact = sub[-1][1].tag == "waker" and sub[-1][2] == addr
                if typ.code != gdb.TYPE_CODE_UNION:
                    return here + sub
                if exact and (best is None or not best[0]):
                    best = (exact, sub)
                elif best is None:
                    best = (exact, sub)
        return here + (best[1] if best else [])

    @staticmethod
    def path_text(comps):
        out = ""
        for n, _, _ in comps:
            if n.startswith("[") or n.startswith("(") or not out:
                out += n
            else:
                out += "." + n
        return out

    TYPE_KINDS = {"sleep": "timer", "timer_entry": "timer", "timeout": "timer",
                  "interval": "timer", "io_sleep": "timer",
                  "con_read": "console", "con_write": "console",
                  "console_read": "console", "console_write": "console",
                  "pipe_read": "pipe", "pipe_write": "pipe", "pipe": "pipe",
                  "blk_req": "virtio request", "blk_io": "virtio request",
                  "ring_op": "ring op", "ring_wait": "ring op", "ring": "ring op",
                  "join_handle": "join handle",
                  "mpsc": "channel", "mpsc_recv": "channel", "mpsc_send": "channel",
                  "oneshot": "channel", "oneshot_recv": "channel",
                  "child_wait": "child exit",
                  "semaphore": "semaphore", "mutex": "mutex", "notified": "notify"}

    def kind_of(self, name):
        """A kind from a global's name (rx_waker, blk_waiters, ...)."""
        low = name.lower()
        for key in ("console", "pipe", "blk", "virtio", "ring", "timer", "wheel",
                    "join", "mpsc", "oneshot", "chan"):
            if key in low:
                return {"blk": "virtio request", "virtio": "virtio request",
                        "ring": "ring op", "wheel": "timer", "join": "join handle",
                        "mpsc": "channel", "oneshot": "channel",
                        "chan": "channel"}.get(key, key)
        return "waker"

    def classify(self, comps):
        """(kind, detail) from the innermost typed component outwards."""
        detail = ""
        for n, t, a in reversed(comps):
            tag = t.tag or ""
            if tag == "notified":
                try:
                    np = gdb.Value(a).cast(t.pointer()).dereference()["n"]
                    sym = gdb.execute("info symbol %#x" % u64(np), to_string=True).strip()
                    detail = " on " + (sym.split(" in section")[0] if "No symbol" not in sym
                                       else "notify %#x" % u64(np))
                except gdb.error:
                    pass
            if tag in self.TYPE_KINDS and self.TYPE_KINDS[tag] != "notify":
                return self.TYPE_KINDS[tag], detail
        return ("notify" if detail else "waker"), detail

    def describe_slot(self, addr, waiter):
        """What the waker stored at addr is: (kind, where)."""
        now = self.now_ns()
        shift = int(self.exec["wheel"]["shift"])
        for e in self.wheel_entries():
            if u64(e["waker"].address) == addr:
                dl = u64(e["tick"]) << shift
                return "timer", "deadline %.3f ms (in %.3f ms)" % (dl / 1e6, (dl - now) / 1e6)
        owner = self.task_at(addr)
        if owner is not None:
            base = u64(owner.address)
            if addr == base + int(owner["trailer_off"]):
                return "join handle", "of task %s %s" % (self.task_id(owner),
                                                         cstr(owner["name"]))
            fut = u64(owner["future"])
            ft = self.future_type(owner)
            where = "task %s %s" % (self.task_id(owner), cstr(owner["name"]))
            if u64(owner.address) == u64(waiter.address):
                where = "its own future"
            if ft is not None and fut <= addr < fut + ft.sizeof:
                comps = self.components(ft, fut, addr, ft.tag)
                kind, detail = self.classify(comps)
                return kind, "%s%s, in %s" % (self.path_text(comps), detail, where)
            return "waker", "at %#x, in %s+%d" % (addr, where, addr - base)
        sym = gdb.execute("info symbol %#x" % addr, to_string=True).strip()
        m = re.match(r"(\S+)( \+ (\d+))? in section", sym)
        if m:
            v = global_value(m.group(1))
            if v is not None:
                comps = self.components(v.type, u64(v.address), addr, m.group(1))
                kind, detail = self.classify(comps)
                if kind == "waker":
                    kind = self.kind_of(m.group(1))
                return kind, self.path_text(comps) + detail
            return self.kind_of(m.group(1)), sym.split(" in section")[0]
        return "waker", "at %#x" % addr

    def borrowed(self):
        """Worker context wakers: borrowed by the task being polled (no
        reference), not a stored waker."""
        return {u64(self.exec["workers"][i]["waker"].address)
                for i in range(int(self.exec["nworkers"]))}

    def now_ns(self):
        """The latest time the kernel has seen: the wheel's clock or the
        last timer interrupt on any hart, whichever is later (gdb cannot
        read the timer counter itself through QEMU's stub)."""
        w = self.exec["wheel"]
        best = u64(w["elapsed"]) << int(w["shift"])
        try:
            m = u64(gdb.parse_and_eval("clock_ns_per_tick"))
            harts = gdb.parse_and_eval("ktimer_harts")
            for i in range(int(self.exec["nworkers"])):
                best = max(best, u64(harts[i]["last_irq"]) * m)
        except gdb.error:
            pass
        return best

    def waits(self, t):
        """[(kind, where)] for a pending task."""
        out = []
        skip = self.borrowed()
        for slot in self.wakers().get(u64(t.address), []):
            if slot not in skip:
                out.append(self.describe_slot(slot, t))
        return out

    # ---- processes --------------------------------------------------------
    def procs(self):
        ptab = global_value("ptab")
        if ptab is None:
            return
        n = ptab["e"].type.range()[1] + 1
        for i in range(n):
            e = ptab["e"][i]
            if int(e["state"]) != 0:
                yield e


def cmd_tasks(k, arg):
    k.all_tasks = list(k.tasks())
    procs = {}
    for e in k.procs():
        if u64(e["p"]):
            procs[u64(e["p"])] = e
    names = syscall_names()
    print("%-7s %-14s %-9s %-36s %4s %8s %8s  %s" %
          ("id", "name", "state", "flags", "refs", "polls", "wakes", "waits on"))
    for t in k.all_tasks:
        word, flags, refs = decode_state(u64(t["state"]))
        waits = []
        fut = u64(t["future"])
        if fut in procs:
            p = gdb.Value(fut).cast(gdb.lookup_type("struct proc").pointer())
            sysno = int(p["sys"])
            if sysno >= 0:
                waits.append("syscall %s (pid %d)" % (names.get(sysno, str(sysno)),
                                                      int(p["pid"])))
        if word == "waiting":
            found = k.waits(t)
            # A process's own kill waker (proc.self) is always there: it
            # says nothing about what the syscall waits on.
            found = [w for w in found if not w[1].startswith("proc.self")]
            waits += ["%s: %s" % w for w in found]
            if not found and not waits:
                waits.append("NO WAKER (nothing can wake it)")
        print("%-7s %-14s %-9s %-36s %4d %8d %8d  %s" %
              (k.task_id(t), cstr(t["name"], 14), word, flags, refs,
               int(t["polls"]), int(t["wakes"]), "; ".join(waits)))
    print("%d tasks" % len(k.all_tasks))


def queue_len(inj):
    return int(inj["len"])


def cmd_harts(k, arg):
    e = k.exec
    idle = u64(e["idle_mask"])
    stats = global_value("hart_stats")
    threads = {}
    for th in gdb.selected_inferior().threads():
        threads[th.num - 1] = th
    cur = gdb.selected_thread()
    print("injection queue: %d tasks, live tasks %d, searching %d" %
          (queue_len(e["inject"]), int(e["live"]), int(e["nsearching"])))
    for i in range(int(e["nworkers"])):
        w = e["workers"][i]
        rq = (int(w["runq"]["tail"]) - int(w["runq"]["head"])) & 0xffffffff
        lifo = u64(w["lifo"])
        lifo_name = ""
        if lifo:
            lifo_name = cstr(w["lifo"].dereference()["name"])
        where = "?"
        th = threads.get(i)
        if th is not None:
            th.switch()
            f = gdb.newest_frame()
            where = f.name() or ("%#x" % f.pc())
        parked = bool(idle & (1 << i))
        line = "hart %d: %s, in %s; run queue %d, lifo %s, pinned %d, due %s" % (
            i, "parked" if parked else "running", where, rq, lifo_name or "-",
            queue_len(w["pinned"]), "yes" if u64(w["due_head"]) else "-")
        if stats is not None:
            s = stats[i]
            line += "; parks %d, woken by timer %d device %d ipi %d" % (
                int(s["parks"]), int(s["wakeups"][0]), int(s["wakeups"][1]),
                int(s["wakeups"][2]))
        ws = w["stats"]
        line += "; polls %d steals %d" % (int(ws["polls"]), int(ws["steals"]))
        print(line)
    if cur is not None:
        cur.switch()


def cmd_timers(k, arg):
    k.all_tasks = list(k.tasks())
    w = k.exec["wheel"]
    shift = int(w["shift"])
    now = k.now_ns()
    print("wheel: clock %.3f ms, %d entries, tick %d ns; kernel time seen %.3f ms" %
          ((u64(w["elapsed"]) << shift) / 1e6, int(w["count"]), 1 << shift, now / 1e6))
    n = 0
    for e in k.wheel_entries():
        dl = u64(e["tick"]) << shift
        wk = e["waker"]
        who = "-"
        if u64(wk["raw"]["vtable"]) == k.waker_vt:
            t = k.task_at(u64(wk["raw"]["data"]))
            if t is not None:
                who = "task %s %s" % (k.task_id(t), cstr(t["name"]))
        print("  deadline %.3f ms (in %.3f ms), level %d slot %d: %s" %
              (dl / 1e6, (dl - now) / 1e6, int(e["level"]), int(e["slot"]), who))
        n += 1
    print("%d timers" % n)


PSTATE = {1: "live", 2: "zombie"}


def cmd_procs(k, arg):
    names = syscall_names()
    print("%-5s %-5s %-5s %-14s %-7s %s" % ("pid", "ppid", "pgid", "name", "state", "syscall"))
    n = 0
    for e in k.procs():
        st = PSTATE.get(int(e["state"]), str(int(e["state"])))
        name, sysw = "", ""
        if int(e["state"]) == 1 and u64(e["p"]):
            p = e["p"].dereference()
            name = cstr(p["name"], 16)
            sysno = int(p["sys"])
            if sysno >= 0:
                sysw = "waits in %s" % names.get(sysno, str(sysno))
            else:
                sysw = "running user code or runnable"
        elif int(e["state"]) == 2:
            sysw = "exit status %d" % int(e["status"])
        print("%-5d %-5d %-5d %-14s %-7s %s" % (int(e["pid"]), int(e["ppid"]),
                                                int(e["pgid"]), name, st, sysw))
        n += 1
    print("%d processes" % n)


SUBS = {"tasks": cmd_tasks, "harts": cmd_harts, "timers": cmd_timers, "procs": cmd_procs}


class Px(gdb.Command):
    """Pollux: px tasks | px harts | px timers | px procs"""

    def __init__(self):
        super().__init__("px", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

    def invoke(self, arg, from_tty):
        words = arg.split()
        if not words or words[0] not in SUBS:
            raise gdb.GdbError("usage: px tasks | px harts | px timers | px procs")
        SUBS[words[0]](Kernel(), " ".join(words[1:]))


Px()
