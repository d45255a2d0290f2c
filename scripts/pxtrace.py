#!/usr/bin/env python3
"""make trace: boot the tracing kernel, take its trace off the console, and
write Chrome Trace Event JSON (Perfetto, chrome://tracing) and an SVG
timeline (docs/kernel.md, "Seeing a wake-up travel").

usage: scripts/pxtrace.py --arch A --smp N --kernel build/A-trace/kernel.elf
                        [--prog "echosrv 20"] [--input FILE] [--wait-for TEXT]
                        [--name NAME] [--cap N] [--out-dir build/A/trace]
       scripts/pxtrace.py --from-log LOG ...     (convert a console log again)

The kernel prints its buffers at power-off, framed (kernel/trace.c):
  @@PXTRACE 1 harts=N freq=HZ cap=C
  @@HART h written=W lost=L        then "@R" + base64 of each 32-byte record
  @@END records=R sum=S
A dump whose record count or word sum does not match is an error, never a
silent partial trace.  Records and events: lib/uapi/px_trace.h.
"""
import argparse
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# lib/uapi/px_trace.h
POLL_START, POLL_END, WAKE, ENQUEUE, STEAL, PARK, UNPARK, SPAWN, TASK_DONE, PARKED = range(1, 11)
TRAP_ENTER, TRAP_EXIT, IRQ, IPI_SEND, IPI_RECV = 16, 17, 18, 19, 20
SYS_ENTER, SYS_EXIT, SQE, CQE, PROC_SPAWN, PROC_EXIT = 21, 22, 23, 24, 25, 26
U_REAP, U = 32, 64
FROM_TASK, FROM_TIMER, FROM_IRQ, FROM_OUTSIDE, FROM_CQE = range(5)
BYREF = 0x10
CAUSES = {0: "timer", 1: "device", 2: "ipi"}
QUEUES = {0: "local", 1: "LIFO", 2: "inject", 3: "pinned", 4: "due"}
ORIGINS = {0: "task", 1: "timer", 2: "irq", 3: "outside", 4: "cqe"}
# lib/uapi/pollux.h
SYSCALLS = ["exit", "getpid", "spawn", "wait", "kill", "yield", "read", "write", "pipe",
            "close", "dup", "sleep", "clock_gettime", "sbrk", "ring_setup", "ring_enter",
            "progs", "kstat", "pread", "pwrite", "fstat", "fsync", "spawnpg", "setfg",
            "getpgid"]
OPS = {0: "NOP", 1: "READ", 2: "WRITE", 3: "TIMEOUT", 4: "CANCEL", 5: "BLK_READ",
       6: "BLK_WRITE"}

REC = struct.Struct("<QBBHIQQ")


class TraceError(Exception):
    pass


def sysname(nr):
    if 0 <= nr < len(SYSCALLS):
        return SYSCALLS[nr]
    return "trace_put" if nr == 64 else "sys%d" % nr


def name8(v, extra=0, n=8):
    raw = struct.pack("<Q", v & (2**64 - 1)) + struct.pack("<H", extra)[: n - 8 if n > 8 else 0]
    return raw.split(b"\0")[0].decode("ascii", "replace")


# ---------------------------------------------------------------- decoding
def decode(text):
    """The dump in a console log -> (header dict, list of record dicts)."""
    lines = [l.strip().rstrip("\r") for l in text.splitlines()]
    starts = [i for i, l in enumerate(lines) if l.startswith("@@PXTRACE ")]
    if not starts:
        raise TraceError("no trace dump in the console output (a TRACE=1 kernel prints "
                         "one when the first process exits)")
    i = starts[-1]
    head = dict(kv.split("=") for kv in lines[i].split()[2:])
    hdr = {"harts": int(head["harts"]), "freq": int(head["freq"]), "cap": int(head["cap"]),
           "lost": {}, "written": {}}
    recs, hart, total, seq = [], None, 0, 0
    for l in lines[i + 1:]:
        if l.startswith("@@HART "):
            f = l.split()
            hart = int(f[1])
            kv = dict(x.split("=") for x in f[2:])
            hdr["written"][hart] = int(kv["written"])
            hdr["lost"][hart] = int(kv["lost"])
        elif l.startswith("@R"):
            raw = base64.b64decode(l[2:])
            if len(raw) != 32 or hart is None:
                raise TraceError("damaged record line: %r" % l)
            for k in range(0, 32, 4):
                total = (total + struct.unpack_from("<I", raw, k)[0]) & 0xFFFFFFFF
            ts, ev, h, x, pid, a, b = REC.unpack(raw)
            recs.append({"ts": ts, "ev": ev, "hart": h, "x": x, "pid": pid, "a": a, "b": b,
                         "buf": hart, "seq": seq})
            seq += 1
        elif l.startswith("@@END"):
            kv = dict(x.split("=") for x in l.split()[1:])
            if int(kv["records"]) != len(recs):
                raise TraceError("dump has %d records, its trailer says %s" %
                                 (len(recs), kv["records"]))
            if int(kv["sum"]) != total:
                raise TraceError("dump checksum mismatch: records damaged on the way out")
            return hdr, recs
    raise TraceError("trace dump cut short (no @@END line)")


# ---------------------------------------------------------------- the model
class Model:
    """Slices, instants and flows, with timestamps in microseconds."""

    def __init__(self, hdr, recs):
        self.hdr = hdr
        self.tick_us = 1e6 / hdr["freq"]
        self.slices = []      # dict(track, name, ts, end, args, kind)
        self.instants = []    # dict(track, name, ts, args)
        self.flows = []       # (src slice, dst slice, name)
        self.tasks = {}       # kernel task id -> name
        self.task_pid = {}    # kernel task id -> pid (process tasks)
        self.procs = {}       # pid -> name
        self.utasks = {}      # (pid, task) -> name
        self.lost = sum(hdr["lost"].values())
        self.nharts = hdr["harts"]
        self.t_end = 0
        self.wakes, self.polls, self.cqes, self.ipis, self.ipi_recv = [], [], [], [], []
        self.timer_traps, self.sys_open = [], {}
        self.op_of = {}       # ring op task -> its SQE's mark (pid, user_data)
        self.gen = {}         # task address -> tasks it has held
        kernel = [r for r in recs if not (r["ev"] & U)]
        user = [r for r in recs if r["ev"] & U]
        self._kernel(kernel)
        self._user(user)
        for s in self.slices:   # whatever never ended (a record lost, a bad batch)
            if s["end"] is None:
                s["end"] = self.t_end
                s["args"]["open at dump"] = True
        self._link()

    # tracks: ("hart", h) ("task", id) ("sys", pid) ("utask", pid, id)
    def _stamp(self, recs):
        """Per stream: microseconds, strictly increasing (records within one
        counter tick keep their order, a nanosecond apart)."""
        last = None
        for r in recs:
            t = r["ts"] * self.tick_us
            if last is not None and t <= last:
                t = last + 0.001
            r["us"] = last = t

    def _slice(self, track, name, ts, kind, args=None, end=None):
        s = {"track": track, "name": name, "ts": ts, "end": end, "kind": kind,
             "args": args or {}}
        self.slices.append(s)
        return s

    def _mark(self, track, name, ts, kind, args=None):
        """A short slice: something that happens at one moment (a wake, a
        CQE), made a slice so flow arrows can start or end on it.  One ns
        long: the next record on its stream is at least that much later,
        so it never sticks out of the slice around it."""
        s = self._slice(track, name, ts, kind, args, end=ts + 0.001)
        s["mark"] = True
        return s

    def _kernel(self, recs):
        """Each hart's records in their order, then all of them in time
        order, so that what one hart did (an SQE, a spawn) is known when
        another hart's record refers to it."""
        merged = []
        for h in range(self.nharts):
            stream = sorted((r for r in recs if r["buf"] == h), key=lambda r: r["seq"])
            self._stamp(stream)
            merged += stream
        merged.sort(key=lambda r: (r["us"], r["buf"], r["seq"]))
        self.t_end = max([0] + [r["us"] for r in merged])
        state = {}
        for r in merged:
            self._record(r, state.setdefault(r["buf"], {"stack": [], "irq": None, "sqe": None}))
        for s in self.slices:
            if s["end"] is None:
                s["end"] = self.t_end
                s["args"]["open at dump"] = True

    def key(self, a):
        """A task's id: its address, and how many tasks that slot held
        before it (slots are reused)."""
        return (a, self.gen.get(a, 0))

    def _record(self, r, st):
        """One kernel record, on hart h (st: that hart's open slices
        (stack), the interrupt being served, an SQE whose op task is not
        spawned yet)."""
        h = r["buf"]
        track = ("hart", h)
        stack = st["stack"]
        ev, t, b, x = r["ev"], r["us"], r["b"], r["x"]
        if ev == SPAWN:
            self.gen[r["a"]] = self.gen.get(r["a"], 0) + 1
        a = self.key(r["a"])
        cur_irq, pending_sqe = st["irq"], st["sqe"]
        if ev == SPAWN:
            self.tasks[a] = name8(b, x, 10)
            if pending_sqe is not None:
                # ring_submit -> op_start spawns the op's task right after
                self.op_of[a] = pending_sqe
                st["sqe"] = None
        elif ev == PROC_SPAWN:
            self.procs[x] = name8(b)
            self.task_pid[a] = x
        elif ev == TRAP_ENTER:
            s = self._slice(track, "trap: " + CAUSES.get(x, str(x)), t, "trap",
                            {"cause": CAUSES.get(x, x)})
            stack.append(s)
            if x == 0:
                self.timer_traps.append((h, s))
        elif ev == TRAP_EXIT:
            while stack and stack[-1]["kind"] != "trap":
                stack.pop()["end"] = t
            if stack:
                stack.pop()["end"] = t
            st["irq"] = None
        elif ev == IRQ:
            st["irq"] = self._mark(track, "irq %d" % x, t, "irq", {"irq": x})
        elif ev == IPI_RECV:
            s = self._mark(track, "ipi received", t, "ipi_recv")
            self.ipi_recv.append((h, s))
        elif ev == IPI_SEND:
            s = self._mark(track, "ipi -> hart %d" % x, t, "ipi_send", {"to": x})
            self.ipis.append((x, s))
        elif ev == POLL_START:
            s = self._slice(track, "poll " + self.task_name(a), t, "poll", {"task": hex(a[0])})
            s["task"] = a
            stack.append(s)
            ts = self._slice(("task", a), "poll", t, "tpoll", {"hart": h})
            ts["task"] = a
            s["twin"] = ts
            self.polls.append(s)
        elif ev == POLL_END:
            while stack and stack[-1]["kind"] not in ("poll",):
                stack.pop()["end"] = t
            if stack:
                s = stack.pop()
                s["end"] = s["twin"]["end"] = t
                s["args"]["result"] = s["twin"]["args"]["result"] = \
                    "Ready" if x else "Pending"
        elif ev == PARK:
            stack.append(self._slice(track, "park", t, "park",
                                     {"deadline_ns": "none" if b == 2**64 - 1 else b}))
        elif ev == PARKED:
            while stack and stack[-1]["kind"] != "park":
                stack.pop()["end"] = t
            if stack:
                stack.pop()["end"] = t
        elif ev == WAKE:
            origin = x & 0xF
            s = self._mark(track, "wake " + self.task_name(a), t, "wake",
                           {"task": hex(a[0]), "origin": ORIGINS.get(origin, origin),
                            "by_ref": bool(x & BYREF)})
            s["task"], s["origin"], s["from"] = a, origin, b
            s["poll"] = self._enclosing(stack, "poll")
            s["irq"] = cur_irq if origin == FROM_IRQ else None
            s["hart"] = h
            self.wakes.append(s)
        elif ev == ENQUEUE:
            self.instants.append({"track": track, "ts": t,
                                  "name": "enqueue %s (%s)" % (self.task_name(a),
                                                               QUEUES.get(x, x)),
                                  "args": {"task": hex(a[0]), "queue": QUEUES.get(x, x)}})
        elif ev == STEAL:
            self.instants.append({"track": track, "ts": t,
                                  "name": "steal %d from hart %d" % (b, x),
                                  "args": {"task": hex(a[0]), "victim": x, "count": b}})
        elif ev == UNPARK:
            self.instants.append({"track": track, "ts": t, "name": "unpark hart %d" % x,
                                  "args": {}})
        elif ev == TASK_DONE:
            self.instants.append({"track": track, "ts": t,
                                  "name": "done " + self.task_name(a),
                                  "args": {"task": hex(a[0]), "cancelled": bool(x)}})
        elif ev == SYS_ENTER:
            s = self._slice(("sys", x), sysname(r["a"]), t, "sys", {"pid": x, "nr": r["a"]})
            self.sys_open[x] = s
            poll = self._enclosing(stack, "poll")
            if poll is not None:
                self.task_pid.setdefault(poll["task"], x)
        elif ev == SYS_EXIT:
            st["sqe"] = None
            a = r["a"]
            s = self.sys_open.pop(x, None)
            if s is not None:
                s["end"] = t
                s["args"]["result"] = b - 2**64 if b >= 2**63 else b
            m = self._mark(track, "%s returns" % sysname(a), t, "sysret",
                           {"pid": x, "result": b - 2**64 if b >= 2**63 else b})
            m["pid"], m["poll"] = x, self._enclosing(stack, "poll")
        elif ev == SQE:
            a = r["a"]
            st["sqe"] = pending_sqe = self._mark(track, "SQE %s" % OPS.get(b, b), t, "sqe",
                                     {"pid": x, "user_data": hex(a), "op": OPS.get(b, b)})
            pending_sqe["pid"], pending_sqe["ud"] = x, a
        elif ev == CQE:
            a = r["a"]
            s = self._mark(track, "CQE", t, "cqe",
                           {"user_data": hex(a), "result": b - 2**64 if b >= 2**63 else b})
            s["ud"], s["pid"], s["poll"] = a, x, self._enclosing(stack, "poll")
            if not x and s["poll"] is not None and s["poll"]["task"] in self.op_of:
                # an op task's CQE: the process whose SQE started the task
                s["pid"] = self.op_of[s["poll"]["task"]]["pid"]
            self.cqes.append(s)
        elif ev == PROC_EXIT:
            s = self.sys_open.pop(x, None)
            if s is not None:       # exit, or a kill while waiting
                s["end"] = t
            self.instants.append({"track": track, "ts": t, "name": "exit pid %d" % x,
                                  "args": {"pid": x, "status": b}})

    @staticmethod
    def _enclosing(stack, kind):
        for s in reversed(stack):
            if s["kind"] == kind:
                return s
        return None

    def task_name(self, t):
        if not isinstance(t, tuple):
            t = self.key(t)
        if t in self.task_pid and self.task_pid[t] in self.procs:
            return "pid %d %s" % (self.task_pid[t], self.procs[self.task_pid[t]])
        return self.tasks.get(t, hex(t[0]))

    def _user(self, recs):
        self.ureaps, self.uwakes, self.upolls = [], [], []
        for pid in sorted({r["pid"] for r in recs}):
            stream = sorted((r for r in recs if r["pid"] == pid), key=lambda r: (r["ts"], r["seq"]))
            self._stamp(stream)
            open_polls = {}
            cur = None
            for r in stream:
                ev, t, a, b, x = r["ev"] & ~U, r["us"], r["a"], r["b"], r["x"]
                self.t_end = max(self.t_end, t)
                if ev == SPAWN:
                    self.utasks[(pid, a)] = name8(b, x, 10)
                elif ev == POLL_START:
                    if a in open_polls:     # its end never came: close it here
                        open_polls.pop(a)["end"] = t
                    s = self._slice(("utask", pid, a), "poll " + self.utask_name(pid, a), t,
                                    "upoll", {"task": hex(a), "pid": pid})
                    s["task"], s["pid"] = a, pid
                    open_polls[a] = s
                    cur = s
                    self.upolls.append(s)
                elif ev == POLL_END:
                    s = open_polls.pop(a, None)
                    if s is not None:
                        s["end"] = t
                        s["args"]["result"] = "Ready" if x else "Pending"
                    cur = None
                elif ev == U_REAP:
                    s = self._mark(("utask", pid, 0), "CQE taken", t, "ureap",
                                   {"user_data": hex(a), "result": b})
                    s["ud"], s["pid"] = a, pid
                    self.ureaps.append(s)
                elif ev == WAKE:
                    origin = x & 0xF
                    track = ("utask", pid, cur["task"]) if cur else ("utask", pid, 0)
                    s = self._mark(track, "wake " + self.utask_name(pid, a), t, "uwake",
                                   {"task": hex(a), "origin": ORIGINS.get(origin, origin)})
                    s["task"], s["pid"], s["origin"], s["from"] = a, pid, origin, b
                    self.uwakes.append(s)
            for s in open_polls.values():
                s["end"] = self.t_end
                s["args"]["open at dump"] = True

    def utask_name(self, pid, t):
        return self.utasks.get((pid, t), hex(t))

    # ------------------------------------------------------------ flows
    def _link(self):
        polls_by_task = {}
        for p in sorted(self.polls, key=lambda s: s["ts"]):
            polls_by_task.setdefault(p["task"], []).append(p)
        upolls_by_task = {}
        for p in sorted(self.upolls, key=lambda s: s["ts"]):
            upolls_by_task.setdefault((p["pid"], p["task"]), []).append(p)

        def next_after(lst, t):
            for p in lst:
                if p["ts"] >= t:
                    return p
            return None

        for w in self.wakes:
            if w["irq"] is not None:
                self.flows.append((w["irq"], w, "interrupt wakes"))
            elif w["origin"] == FROM_TIMER:
                prior = [s for h, s in self.timer_traps if h == w["hart"] and s["ts"] <= w["ts"]]
                if prior:
                    self.flows.append((prior[-1], w, "timer wakes"))
            elif w["origin"] == FROM_TASK and w["poll"] is not None:
                w["caused_by"] = w["poll"]
            p = next_after(polls_by_task.get(w["task"], []), w["ts"])
            if p is not None:
                self.flows.append((w, p["twin"], "wake -> poll"))
                w["led_to"] = p
        for task, sqe in self.op_of.items():
            p = next_after(polls_by_task.get(task, []), sqe["ts"])
            if p is not None:
                self.flows.append((sqe, p["twin"], "SQE -> op task"))
                sqe["led_to"] = p
        for dst_h, s in self.ipis:
            r = next((r for h, r in self.ipi_recv if h == dst_h and r["ts"] >= s["ts"]), None)
            if r is not None:
                self.flows.append((s, r, "IPI"))
        for c in self.cqes:
            if c["poll"] is not None:
                self.flows.append((c["poll"]["twin"], c, "poll posts CQE"))
            r = next((r for r in sorted(self.ureaps, key=lambda s: s["ts"])
                      if r["ud"] == c["ud"] and r["pid"] == c["pid"] and r["ts"] >= c["ts"]),
                     None)
            if r is not None:
                self.flows.append((c, r, "CQE -> user"))
                c["reaped"] = r
        for w in self.uwakes:
            if w["origin"] == FROM_CQE:
                r = next((r for r in reversed(self.ureaps)
                          if r["pid"] == w["pid"] and r["ud"] == w["from"] and r["ts"] <= w["ts"]),
                         None)
                if r is not None:
                    self.flows.append((r, w, "completion wakes"))
                    w["reap"] = r
            p = next_after(upolls_by_task.get((w["pid"], w["task"]), []), w["ts"])
            if p is not None:
                self.flows.append((w, p, "wake -> user poll"))
                w["led_to"] = p

    # ------------------------------------------------------------ chains
    def chain_back(self, upoll):
        """The chain that ends at a user poll (or a kernel poll), walked
        back: [origin, ..., wake, poll, CQE, reap, user wake, user poll],
        as far as the links go.  The origin is an irq mark, a timer trap,
        or the poll of the task whose wake started it."""
        out = [upoll]
        if upoll["kind"] == "upoll":
            w = next((w for w in self.uwakes if w.get("led_to") is upoll), None)
            if w is None:
                return out
            out.insert(0, w)
            r = w.get("reap")
            if r is None:
                return out
            out.insert(0, r)
            c = next((c for c in self.cqes if c.get("reaped") is r), None)
            if c is None:
                return out
            out.insert(0, c)
            if c["poll"] is None:
                return out
            poll = c["poll"]
            out.insert(0, poll)
        else:
            poll = upoll
        seen = set()
        while id(poll) not in seen:
            seen.add(id(poll))
            w = next((w for w in self.wakes if w.get("led_to") is poll), None)
            if w is None:
                sqe = self.op_of.get(poll["task"])
                if sqe is not None and sqe.get("led_to") is poll:
                    out.insert(0, sqe)
                break
            out.insert(0, w)
            if w["irq"] is not None:
                out.insert(0, w["irq"])
                break
            if w["origin"] != FROM_TASK or w["poll"] is None:
                break
            poll = w["poll"]
            out.insert(0, poll)
        return out

    # ------------------------------------------------------------ output
    def track_ids(self):
        """Chrome pid/tid per track, and their names."""
        ids, names, seen = {}, {}, {}
        task_tid = {}
        for s in self.slices:
            tr = s["track"]
            if tr in ids:
                continue
            if tr[0] == "hart":
                ids[tr] = (1, tr[1])
                names[tr] = ("kernel: harts", "hart %d" % tr[1])
            elif tr[0] == "task":
                task_tid.setdefault(tr[1], 100 + len(task_tid))
                ids[tr] = (2, task_tid[tr[1]])
                n = self.task_name(tr[1])
                seen[n] = seen.get(n, 0) + 1
                # many tasks share a name (every ring op's): number them
                names[tr] = ("kernel: tasks", n if seen[n] == 1 else "%s #%d" % (n, seen[n]))
            elif tr[0] == "sys":
                ids[tr] = (1000 + tr[1], 0)
                names[tr] = ("pid %d %s" % (tr[1], self.procs.get(tr[1], "")), "syscalls")
            else:
                pid, t = tr[1], tr[2]
                task_tid.setdefault((pid, t), 100 + len(task_tid))
                ids[tr] = (1000 + pid, task_tid[(pid, t)])
                names[tr] = ("pid %d %s" % (pid, self.procs.get(pid, "")),
                             "reactor" if t == 0 else "task " + self.utask_name(pid, t))
        for i in self.instants:
            if i["track"] not in ids:
                ids[i["track"]] = (1, i["track"][1])
                names[i["track"]] = ("kernel: harts", "hart %d" % i["track"][1])
        return ids, names

    def chrome(self):
        ids, names = self.track_ids()
        out = []
        seen_p = set()
        for tr, (pid, tid) in ids.items():
            pn, tn = names[tr]
            if pid not in seen_p:
                seen_p.add(pid)
                out.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                            "args": {"name": pn}})
                out.append({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0,
                            "args": {"sort_index": pid}})
            out.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                        "args": {"name": tn}})
        for s in self.slices:
            pid, tid = ids[s["track"]]
            out.append({"ph": "X", "name": s["name"], "cat": s["kind"], "pid": pid, "tid": tid,
                        "ts": round(s["ts"], 3), "dur": round(max(s["end"] - s["ts"], 0.001), 3),
                        "args": s["args"]})
        for i in self.instants:
            pid, tid = ids[i["track"]]
            out.append({"ph": "i", "s": "t", "name": i["name"], "cat": "event", "pid": pid,
                        "tid": tid, "ts": round(i["ts"], 3), "args": i["args"]})
        for n, (src, dst, name) in enumerate(self.flows, 1):
            sp, st = ids[src["track"]]
            dp, dt = ids[dst["track"]]
            out.append({"ph": "s", "id": n, "name": name, "cat": "flow", "pid": sp, "tid": st,
                        "ts": round(src["ts"], 3)})
            out.append({"ph": "f", "bp": "e", "id": n, "name": name, "cat": "flow", "pid": dp,
                        "tid": dt, "ts": round(dst["ts"], 3)})
        meta = {"lost_events": self.lost, "lost_per_hart": self.hdr["lost"],
                "written_per_hart": self.hdr["written"], "counter_hz": self.hdr["freq"],
                "buffer_records_per_hart": self.hdr["cap"]}
        return {"traceEvents": out, "displayTimeUnit": "ns", "otherData": meta}


# ---------------------------------------------------------------- SVG
def focus_window(m):
    """The stretch worth drawing: around the last complete chain that
    reaches a user poll, else the last interrupt wake, else everything."""
    ends = [w for w in m.uwakes if w.get("reap") is not None and w.get("led_to") is not None]
    if ends:
        w = ends[-1]
        start = w["reap"]
        cqe = next((c for c in m.cqes if c.get("reaped") is start), None)
        t0 = cqe["ts"] if cqe else start["ts"]
        if cqe is not None and cqe["poll"] is not None:
            t0 = cqe["poll"]["ts"]
            wk = next((x for x in m.wakes if x.get("led_to") is cqe["poll"]), None)
            if wk is not None:
                t0 = min(t0, wk["ts"])
                if wk.get("irq") is not None:
                    t0 = min(t0, wk["irq"]["ts"])
        t1 = w["led_to"]["end"]
    else:
        irq_wakes = [w for w in m.wakes if w["irq"] is not None and w.get("led_to")]
        if not irq_wakes:
            return 0, m.t_end
        w = irq_wakes[-1]
        t0, t1 = w["irq"]["ts"], w["led_to"]["end"]
    pad = (t1 - t0) * 0.15 + 1
    return max(0, t0 - pad), t1 + pad


def svg(m, title, window=None):
    t0, t1 = window or focus_window(m)
    ids, names = m.track_ids()
    shown = [s for s in m.slices if s["end"] >= t0 and s["ts"] <= t1]
    tracks = []
    for kind in ("hart", "task", "sys", "utask"):
        for tr in sorted({s["track"] for s in shown if s["track"][0] == kind}, key=str):
            tracks.append(tr)
    lane_h, left, width, top = 42, 190, 1100, 60
    height = top + lane_h * len(tracks) + 40
    x = lambda t: left + (min(max(t, t0), t1) - t0) / (t1 - t0) * width
    y = {tr: top + i * lane_h for i, tr in enumerate(tracks)}
    colors = {"trap": "#e4572e", "poll": "#4c9be8", "tpoll": "#4c9be8", "upoll": "#59b86f",
              "park": "#d8d8d8", "sys": "#c9a0dc", "wake": "#f2a541", "uwake": "#f2a541",
              "cqe": "#8e44ad", "ureap": "#8e44ad", "irq": "#b3001b", "sqe": "#777777",
              "sysret": "#555555", "ipi_send": "#000000", "ipi_recv": "#000000"}
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'font-family="sans-serif" font-size="11">' % (left + width + 20, height),
         '<defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
         'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#222"/></marker></defs>',
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="20" font-size="14" font-weight="bold">%s</text>' % esc(title),
         '<text x="10" y="38" fill="#444">%.1f us shown; %d events lost%s</text>' % (
             t1 - t0, m.lost, "" if not m.lost else " (oldest overwritten)")]
    for tr in tracks:
        pn, tn = names[tr]
        o.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#eee"/>' %
                 (left, left + width, y[tr] + lane_h - 2, y[tr] + lane_h - 2))
        label = tn if tr[0] == "hart" else "%s: %s" % (pn.replace("kernel: ", ""), tn)
        o.append('<text x="8" y="%d">%s</text>' % (y[tr] + 26, esc(label[:30])))
    depth, last_label = {}, {}
    for s in sorted(shown, key=lambda s: (s["ts"], -(s["end"] - s["ts"]))):
        tr = s["track"]
        stack = depth.setdefault(tr, [])
        while stack and stack[-1] <= s["ts"]:
            stack.pop()
        d = len(stack)
        stack.append(s["end"])
        x0, x1 = x(s["ts"]), x(s["end"])
        mark = s.get("mark", False)
        yy = y[tr] + 12 + 4 * d
        hh = lane_h - 16 - 4 * d
        if mark:
            o.append('<rect x="%.1f" y="%d" width="3" height="%d" fill="%s"><title>%s</title></rect>'
                     % (x0 - 1, yy, hh, colors.get(s["kind"], "#999"), esc(s["name"])))
            short = MARK_LABELS.get(s["kind"])
            if short and x0 - last_label.get(tr, -1e9) > 45:
                last_label[tr] = x0
                o.append('<text x="%.1f" y="%d" font-size="9" fill="#333">%s</text>'
                         % (x0 + 3, y[tr] + 10, esc(short(s))))
            continue
        o.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" fill-opacity="0.8" '
                 'stroke="#333" stroke-width="0.5"><title>%s</title></rect>'
                 % (x0, yy, max(x1 - x0, 1), hh, colors.get(s["kind"], "#999"), esc(s["name"])))
        if x1 - x0 > 40:
            o.append('<text x="%.1f" y="%d" font-size="10">%s</text>' %
                     (x0 + 2, yy + hh - 4, esc(s["name"][: int((x1 - x0) / 6)])))
    for src, dst, name in m.flows:
        if src["track"] not in y or dst["track"] not in y:
            continue
        if not (t0 <= src["ts"] <= t1 and t0 <= dst["ts"] <= t1):
            continue
        x0, x1 = x(src["ts"]), x(dst["ts"])
        y0, y1 = y[src["track"]] + lane_h / 2 + 4, y[dst["track"]] + lane_h / 2 + 4
        o.append('<path d="M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="none" stroke="#222" '
                 'stroke-width="1.2" marker-end="url(#a)"><title>%s</title></path>'
                 % (x0, y0, x0 + 20, y0, x1 - 20, y1, x1, y1, esc(name)))
    # time axis
    ay = height - 24
    o.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>' % (left, left + width, ay, ay))
    for i in range(6):
        t = t0 + (t1 - t0) * i / 5
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%.1f us</text>' % (x(t), ay + 14, t - t0))
    legend = [("trap", "trap"), ("poll", "kernel poll"), ("upoll", "user poll"),
              ("park", "parked (WFI)"), ("sys", "syscall"), ("wake", "wake"), ("cqe", "CQE")]
    lx = left
    for k, label in legend:
        o.append('<rect x="%d" y="44" width="10" height="10" fill="%s"/>' % (lx + 400, colors[k]))
        o.append('<text x="%d" y="53">%s</text>' % (lx + 414, label))
        lx += 95
    o.append("</svg>")
    return "\n".join(o) + "\n"


MARK_LABELS = {
    "irq": lambda s: s["name"],
    "wake": lambda s: "wake",
    "uwake": lambda s: "wake",
    "cqe": lambda s: "CQE",
    "ureap": lambda s: "CQE taken",
    "sqe": lambda s: "SQE",
    "ipi_send": lambda s: "IPI",
}


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- running
def run(args, log):
    """Boot the tracing kernel with the program as process 1; with an
    input, type it once the console shows wait_for and the program had
    time to start waiting (what the trace is about)."""
    prog = args.prog.split()
    append = "init=%s" % prog[0]
    if len(prog) > 1:
        append += " initargs=" + ",".join(prog[1:])
    if args.cap:
        append += " trace.cap=%d" % args.cap
    cmd = [os.path.join(HERE, "run-qemu.sh"), "--arch", args.arch, "--smp", str(args.smp),
           "--timeout", str(args.timeout), "--append", append, "--out", log]
    if not args.input:
        return subprocess.call(cmd + [args.kernel])
    data = open(args.input, "rb").read()
    tmp = tempfile.mkdtemp()
    fifo = os.path.join(tmp, "in")
    os.mkfifo(fifo)
    open(log, "w").close()
    qemu = subprocess.Popen(cmd + ["--input", fifo, args.kernel])
    try:
        with open(fifo, "wb", buffering=0) as f:
            deadline = time.time() + args.timeout
            while args.wait_for not in open(log, errors="replace").read():
                if qemu.poll() is not None or time.time() > deadline:
                    break
                time.sleep(0.05)
            time.sleep(args.delay)
            for i, c in enumerate(data):
                if qemu.poll() is not None:
                    break
                f.write(bytes([c]))
                time.sleep(args.key_gap)
            # keep the console open until the kernel powers off
            return qemu.wait()
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def write_outputs(m, out_dir, name, title):
    os.makedirs(out_dir, exist_ok=True)
    jpath = os.path.join(out_dir, name + ".json")
    with open(jpath, "w") as f:
        json.dump(m.chrome(), f)
    spath = os.path.join(out_dir, name + ".svg")
    with open(spath, "w") as f:
        f.write(svg(m, title))
    outs = [jpath, spath]
    conv = shutil.which("rsvg-convert")
    if conv:
        ppath = os.path.join(out_dir, name + ".png")
        if subprocess.call([conv, "-o", ppath, spath]) == 0:
            outs.append(ppath)
    return outs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="riscv64")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--kernel")
    ap.add_argument("--prog", default="sh")
    ap.add_argument("--input")
    ap.add_argument("--wait-for", default="Pollux on",
                    help="type the input once the console shows this")
    ap.add_argument("--delay", type=float, default=0.5,
                    help="seconds between wait-for and the first key")
    ap.add_argument("--key-gap", type=float, default=0.05,
                    help="seconds between keys (each its own interrupt)")
    ap.add_argument("--name")
    ap.add_argument("--cap", type=int, default=0, help="records per hart (trace.cap=N)")
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--out-dir")
    ap.add_argument("--from-log")
    args = ap.parse_args()
    name = args.name or args.prog.split()[0]
    out_dir = args.out_dir or "build/%s/trace" % args.arch
    os.makedirs(out_dir, exist_ok=True)
    log = args.from_log or os.path.join(out_dir, name + ".log")
    if not args.from_log:
        status = run(args, log)
        if status == 124:
            print("trace: time limit expired; console log in %s" % log)
            return 1
    try:
        hdr, recs = decode(open(log, errors="replace").read())
    except TraceError as e:
        print("trace: %s (console log: %s)" % (e, log))
        return 1
    m = Model(hdr, recs)
    title = "Pollux %s, %d hart%s: %s" % (args.arch, hdr["harts"],
                                          "s" if hdr["harts"] > 1 else "", args.prog)
    outs = write_outputs(m, out_dir, name, title)
    print("trace: %d records from %d hart%s, %d lost%s" % (
        len(recs), hdr["harts"], "s" if hdr["harts"] > 1 else "", m.lost,
        "".join(" (hart %d: %d)" % (h, n) for h, n in sorted(hdr["lost"].items()) if n)))
    for p in outs:
        print("trace: wrote %s" % p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
