"""A kernel booted by scripts/run-qemu.sh, its console collected as it comes (shtest.py, fssys.py, gdbtest.py, tutorial_check.py), and free host ports (nettest.py, netbench.py).

Guest(run_qemu_args) starts run-qemu.sh; a thread reads its output into
guest.text ("\r" removed) and sets guest.eof when it ends.  wait_until
waits, on the host's clock scaled by TIME_SCALE, until a function of the
text finds something; kill SIGKILLs run-qemu.sh and everything below it,
by pid (this guest's processes only).  Failed and check: a test's
failed check, with why.  free_ports: ports on 127.0.0.1 to forward to a
guest.
"""
import os
import signal
import socket
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCALE = float(os.environ.get("TIME_SCALE", "1"))


class Failed(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failed(why)


def free_ports(kind, n):
    """n distinct free ports on 127.0.0.1 of kind (socket.SOCK_STREAM or
    SOCK_DGRAM), held together while chosen, so the system cannot hand
    out one twice."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, kind)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def descendants(pid):
    """Every process below pid (pids, children first)."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                for c in f.read().split():
                    out += descendants(int(c)) + [int(c)]
    except OSError:
        pass
    return out


class Guest:
    """One boot: run-qemu.sh with args, its console in self.text."""

    def __init__(self, args, stdin=subprocess.PIPE, chunk=4096):
        self.proc = subprocess.Popen([os.path.join(HERE, "run-qemu.sh")] + args, stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.text = ""          # everything printed, "\r" removed
        self.cond = threading.Condition()
        self.eof = False
        self.chunk = chunk
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            data = os.read(self.proc.stdout.fileno(), self.chunk)
            with self.cond:
                if data:
                    self.text += data.decode("utf-8", "replace").replace("\r", "")
                else:
                    self.eof = True
                self.cond.notify_all()
            if not data:
                return

    def mark(self):
        with self.cond:
            return len(self.text)

    def wait_until(self, find, secs):
        """Wait until find(text) is not None and return it; None when the
        output ended or after secs (times TIME_SCALE) without it."""
        limit = time.monotonic() + secs * SCALE
        with self.cond:
            while True:
                got = find(self.text)
                if got is not None:
                    return got
                left = limit - time.monotonic()
                if self.eof or left <= 0:
                    return None
                self.cond.wait(left)

    def send(self, keys):
        self.proc.stdin.write(keys.encode())
        self.proc.stdin.flush()

    def kill(self):
        """SIGKILL QEMU and the script around it (by pid: ours only)."""
        for pid in descendants(self.proc.pid) + [self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait()
