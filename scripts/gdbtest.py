#!/usr/bin/env python3
"""gdbtest: the px gdb commands (scripts/gdb/pollux.py) against a booted kernel.

usage: scripts/gdbtest.py --arch A [--smp N] KERNEL.elf

Boots the default system (init -> sh) with QEMU's gdb server on a free
port, and runs gdb-multiarch in batch mode twice, each time at a point the
guest itself defines:

  1. at the shell's prompt (everything idle): init waits in wait() on the
     child-exit notify, sh in read() on the console, the Ctrl-T task on
     the console's info notify; the hart is parked.
  2. while `clock 30` runs, at the first park once the timer wheel holds
     an entry: the clock process waits in ring_enter() on a timer whose
     deadline px timers names, and sh waits in wait().

Each check prints "test NAME: OK" or "test NAME: FAILED (why)"; the last
line is "N passed, N failed".  Host time limits only bound how long we
wait for what must come.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile

import qemu_guest
from qemu_guest import HERE, SCALE


def free_port():
    """A TCP port nobody listens on now (several QEMUs may run at once)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Guest(qemu_guest.Guest):
    def __init__(self, arch, smp, kernel, port):
        super().__init__(["--arch", arch, "--smp", str(smp), "--gdb-port", str(port),
                          "--timeout", str(int(300 * SCALE)), "--input", "/dev/stdin", kernel])

    def wait_for(self, what, secs=60):
        return self.wait_until(lambda text: True if what in text else None, secs) is not None


def gdb(kernel, port, cmds):
    """Run gdb-multiarch in batch mode with the px helpers and the gdb
    commands cmds (one string, a gdb script); its output."""
    script = "set pagination off\nfile %s\nsource %s\ntarget remote 127.0.0.1:%d\n%s\n" % (
        kernel, os.path.join(HERE, "gdb", "pollux.py"), port, cmds)
    with tempfile.NamedTemporaryFile("w", suffix=".gdb") as f:
        f.write(script)
        f.flush()
        r = subprocess.run(["gdb-multiarch", "-batch", "-nx", "-x", f.name],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120 * SCALE, text=True)
    return r.stdout


results = []


def check(name, ok, why):
    results.append(ok)
    print("test %s: %s" % (name, "OK" if ok else "FAILED (%s)" % why))


def row(out, name):
    """The px tasks line of the task called name, or ""."""
    for line in out.splitlines():
        f = line.split()
        if len(f) > 2 and f[1] == name and re.match(r"(\d+\.\d+|0x[0-9a-f]+)$", f[0]):
            return line
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="riscv64")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("kernel")
    a = ap.parse_args()

    port = free_port()
    g = Guest(a.arch, a.smp, a.kernel, port)
    try:
        if not g.wait_for("\n$ "):
            check("boot", False, "no shell prompt:\n" + g.text[-2000:])
            return
        # 1. Idle at the prompt.
        out = gdb(a.kernel, port, "px tasks\npx procs\npx harts\npx timers\ndetach")
        print(out)
        init, sh, ct = row(out, "init"), row(out, "sh"), row(out, "ctrl-t")
        check("tasks_init", " waiting " in init and "syscall wait" in init and
              "child exit:" in init and "proc_child_exited" in init, repr(init))
        check("tasks_sh", " waiting " in sh and "syscall read" in sh and
              "console:" in sh and "rx_ready" in sh, repr(sh))
        check("tasks_ctrl_t", " waiting " in ct and "console_info" in ct, repr(ct))
        check("tasks_no_lost", "NO WAKER" not in out, "a task without a waker")
        check("procs_idle", re.search(r"^1\s+0\s+1\s+init\s+live\s+waits in wait$", out, re.M)
              is not None and re.search(r"^2\s+1\s+\d+\s+sh\s+live\s+waits in read$", out, re.M)
              is not None, "px procs")
        harts = [l for l in out.splitlines() if l.startswith("hart ")]
        check("harts", len(harts) == a.smp and all(": parked, in " in h for h in harts),
              repr(harts))
        check("timers_idle", "\n0 timers" in out, "px timers at the prompt")

        # 2. A process waiting on a timer: `clock 30` ticks once a second,
        # its executor parked in ring_enter until the next deadline.  Stop
        # at the first park once the kernel's wheel holds an entry and the
        # clock's task waits: with two harts a park on one can catch the
        # clock's task on the other, running between its wheel insert and
        # the end of its poll.
        g.send("clock 30\n")
        if not g.wait_for("tick 1 s"):
            check("clock", False, "clock printed no tick:\n" + g.text[-2000:])
            return
        out = gdb(a.kernel, port, """break hook_park
python
for i in range(200):
    gdb.execute('continue', to_string=True)
    if int(gdb.parse_and_eval('kernel_exec.wheel.count')) > 0:
        rows = [l.split() for l in gdb.execute('px tasks', to_string=True).splitlines()]
        if any(r[1:3] == ['clock', 'waiting'] for r in rows):
            break
end
delete
px timers
px tasks
px procs
kill""")
        print(out)
        ck = row(out, "clock")
        m = re.search(r"deadline [\d.]+ ms \(in (\d+)\.\d+ ms\), level \d+ slot \d+: task \S+ clock$",
                      out, re.M)
        check("timers_clock", m is not None and int(m.group(1)) <= 1100,
              "px timers names the clock task, due within a second")
        check("tasks_clock", " waiting " in ck and "syscall ring_enter" in ck and "timer" in ck,
              repr(ck))
        check("tasks_sh_waits", "syscall wait" in row(out, "sh"), repr(row(out, "sh")))
        check("procs_clock", re.search(r"^\d+\s+2\s+\d+\s+clock\s+live\s+waits in ring_enter$",
                                       out, re.M) is not None, "px procs")
    finally:
        g.kill()


if __name__ == "__main__":
    try:
        main()
    except subprocess.TimeoutExpired as e:
        check("gdb", False, "gdb timed out: %s" % e)
    print("%d passed, %d failed" % (results.count(True), results.count(False)))
    sys.exit(0 if results and all(results) else 1)
