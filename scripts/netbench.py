#!/usr/bin/env python3
"""make bench's network figures: the host drives httpd, echod and the bulk
servers of `ubench -net` (user/ubench.c) through QEMU's forwarded ports on
127.0.0.1, the guest counts.

usage: scripts/netbench.py --arch A --kernel K --mkfs MKFS --progs DIR
                           --out DIR (count | wall)
       NET_RUNS=n batches per figure (default 11), WRK_SECS=s per wrk run (4)

count: under -icount shift=0 (one instruction per ns of virtual time).
  Around each batch of operations the host types a line on the guest's
  console; ubench answers "netmark C W", C the instruction counter, W what
  it advanced while the hart slept in WFI (PX_KSTAT_WFI_INSTRET).  A
  batch's cost is (C1 - C0) - (W1 - W0): every instruction the guest
  retired, kernel and user, idle sleep excluded, the marks' own console
  work taken off (the median of empty intervals).  Before the closing
  mark the host waits 50 ms, so the guest's tail of the batch (the last
  ACKs, the close) is inside.  Each figure is the median over RUNS
  batches, per operation (per byte for bulk).
wall: no -icount; requests per second from wrk at 1, 10 and 100
  connections against httpd (one run each; only 200 responses count, the
  rest — connections reset, 404s when httpd runs out of fds — are printed
  as errors), their ratios to the 1-connection figure, and MB/s of bulk
  TCP each way (8 MiB into the sink, 8 x 1 MiB from the source).
  QEMU's user-mode network (slirp, one host thread with the emulation)
  bounds both.

Prints "bench NAME VALUE UNIT" lines.
"""
import os
import re
import socket
import subprocess
import sys
import threading
import time

from qemu_guest import free_ports

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
opt = {}
while args and args[0].startswith("--"):
    opt[args[0][2:]] = args[1]
    args = args[2:]
mode = args[0] if args else "count"
arch = opt["arch"]
runs = int(os.environ.get("NET_RUNS", "11"))
out_dir = opt["out"]
os.makedirs(out_dir, exist_ok=True)

HTTP_N, CONN_N, ECHO_N = 100, 40, 200
BULK = 1 << 20            # the guest's source sends this much per connection


class Guest:
    def __init__(self, icount):
        self.http, self.echo, self.sink, self.src = free_ports(socket.SOCK_STREAM, 4)
        udp1, udp2 = free_ports(socket.SOCK_DGRAM, 2)
        img = os.path.join(out_dir, f"net-{mode}.img")
        progs = sorted(os.path.join(opt["progs"], f) for f in os.listdir(opt["progs"])
                       if f.endswith(".elf"))
        subprocess.run([opt["mkfs"], "-s", "32M", img] + progs, check=True,
                       stdout=subprocess.DEVNULL)
        cmd = [os.path.join(here, "run-qemu.sh"), "--arch", arch, "--net",
               "--net-ports", f"{self.http},{udp1},{udp2},{self.echo}",
               "--net-fwd", f"{self.sink}:9,{self.src}:19", "--disk", img,
               "--timeout", "900", "--input", "/dev/stdin",
               "--append", "init=ubench initargs=-net"]
        if icount:
            cmd.append("--icount")
        self.log = open(os.path.join(out_dir, f"net-{mode}.log"), "wb")
        self.q = subprocess.Popen(cmd + [opt["kernel"]], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        self.lines, self.cv = [], threading.Condition()
        threading.Thread(target=self.reader, daemon=True).start()
        self.wait_line(lambda l: l.startswith("ubench: net ready"), 120)

    def reader(self):
        for raw in self.q.stdout:
            self.log.write(raw)
            self.log.flush()
            with self.cv:
                self.lines.append(raw.decode(errors="replace").strip())
                self.cv.notify_all()
        with self.cv:
            self.lines.append(None)
            self.cv.notify_all()

    def wait_line(self, pred, secs):
        end = time.time() + secs
        with self.cv:
            while True:
                while self.lines:
                    l = self.lines.pop(0)
                    if l is None:
                        sys.exit(f"netbench: the guest stopped (log: {self.log.name})")
                    if pred(l):
                        return l
                left = end - time.time()
                if left <= 0:
                    sys.exit(f"netbench: timed out waiting for the guest (log: {self.log.name})")
                self.cv.wait(left)

    def mark(self):
        self.q.stdin.write(b"m\n")
        self.q.stdin.flush()
        l = self.wait_line(lambda l: l.startswith("netmark "), 60)
        _, c, w = l.split()
        return int(c), int(w)

    def stop(self):
        try:
            self.q.stdin.write(b"q\n")
            self.q.stdin.flush()
            self.q.wait(timeout=20)
        except Exception:
            os.killpg(self.q.pid, 9)
            self.q.wait()


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise RuntimeError("connection ended early")
        b += c
    return b


def recv_all(s):
    n = 0
    while True:
        c = s.recv(65536)
        if not c:
            return n
        n += len(c)


def http_response(s):
    """One response to a GET of /1k.html: its head, then 1024 bytes."""
    b = b""
    while b"\r\n\r\n" not in b:
        c = s.recv(4096)
        if not c:
            raise RuntimeError("no response")
        b += c
    head, body = b.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200") or b"Content-Length: 1024" not in head:
        raise RuntimeError(f"bad response {head!r}")
    if len(body) < 1024:
        body += recv_exact(s, 1024 - len(body))
    return body


GET = b"GET /1k.html HTTP/1.1\r\nHost: bench\r\n\r\n"
GET_CLOSE = b"GET /1k.html HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


ECHO_MSG = bytes(range(64))


def one_conn(port):
    """A new connection: connect, GET /1k.html with Connection: close, read
    to the end (httpd closes first), close."""
    s = connect(port)
    s.sendall(GET_CLOSE)
    http_response(s)
    if s.recv(1) != b"":
        raise RuntimeError("httpd kept the connection")
    s.close()


def one_echo(e):
    """64 bytes through echod on connection e, byte-exact."""
    e.sendall(ECHO_MSG)
    if recv_exact(e, 64) != ECHO_MSG:
        raise RuntimeError("echo differs")


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def count():
    g = Guest(icount=True)
    wrap = 1 << 32 if arch == "aarch64" else 1 << 64
    try:
        def batch(work):
            time.sleep(0.05)
            c0, w0 = g.mark()
            work()
            time.sleep(0.05)
            c1, w1 = g.mark()
            return (c1 - c0) % wrap - (w1 - w0)

        empty = median([batch(lambda: None) for _ in range(runs)])
        print(f"bench net_mark_overhead {empty} instructions", flush=True)

        def fig(name, work, per, unit="instructions"):
            work()                                   # warm-up, not counted
            v = median([batch(work) for _ in range(runs)])
            val = (v - empty) / per
            val = round(val, 2) if val < 100 else int(round(val))
            print(f"bench {name} {val} {unit}", flush=True)

        ka = connect(g.http)

        def keepalive(n=HTTP_N):
            for _ in range(n):
                ka.sendall(GET)
                http_response(ka)
        fig("net_http_get_keepalive", keepalive, HTTP_N)
        ka.close()

        def conns(n=CONN_N):
            for _ in range(n):
                one_conn(g.http)
        fig("net_http_conn_get_close", conns, CONN_N)

        e = connect(g.echo)

        def echo(n=ECHO_N):
            for _ in range(n):
                one_echo(e)
        fig("net_echo_64", echo, ECHO_N)
        e.close()

        data = b"y" * BULK

        def bulk_rx():
            s = connect(g.sink)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            if s.recv(1) != b"":                   # the sink closes after the end
                raise RuntimeError("sink sent data")
            s.close()
        fig("net_bulk_rx_per_byte", bulk_rx, BULK, "instructions/byte")

        def bulk_tx():
            s = connect(g.src)
            if recv_all(s) != BULK:
                raise RuntimeError("source sent a short stream")
            s.close()
        fig("net_bulk_tx_per_byte", bulk_tx, BULK, "instructions/byte")
    finally:
        g.stop()


def wrk(port, conns, secs):
    t = min(conns, 2)
    r = subprocess.run(["wrk", f"-t{t}", f"-c{conns}", f"-d{secs}s", "--timeout", "5s",
                        f"http://127.0.0.1:{port}/1k.html"], capture_output=True, text=True)
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", r.stdout)
    if not m:
        sys.exit(f"netbench: wrk printed no request count:\n{r.stdout}{r.stderr}")
    # wrk's request count includes the non-2xx responses; socket errors
    # (a reset, a read that failed) are not requests but are errors too
    bad = errs = 0
    e = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", r.stdout)
    if e:
        errs += sum(int(x) for x in e.groups())
    n = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    if n:
        bad = int(n.group(1))
    took = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
    return (int(m.group(1)) - bad) / took, errs + bad


def wall():
    subprocess.run([os.path.join(here, "deps.sh"), "bench"], check=True)
    g = Guest(icount=False)
    secs = int(os.environ.get("WRK_SECS", "4"))
    try:
        # warm-up: the page is in the buffer cache, the servers' tasks exist
        s = connect(g.http)
        s.sendall(GET_CLOSE)
        http_response(s)
        s.close()
        rps = {}
        for c in (1, 10, 100):
            rps[c], errs = wrk(g.http, c, secs)
            print(f"bench net_http_wrk_c{c} {int(rps[c])} req/s", flush=True)
            print(f"bench net_http_wrk_c{c}_errors {errs} errors", flush=True)
        for c in (10, 100):
            print(f"bench net_http_wrk_c{c}_vs_c1 {rps[c] / rps[1]:.2f} x", flush=True)
        n = 8 * BULK
        data = b"z" * n
        t0 = time.time()
        s = connect(g.sink)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
        s.close()
        print(f"bench net_bulk_rx_mb_s {n / (time.time() - t0) / 1e6:.2f} MB/s", flush=True)
        t0 = time.time()
        got = 0
        for _ in range(8):
            s = connect(g.src)
            got += recv_all(s)
            s.close()
        if got != n:
            sys.exit("netbench: the source sent short streams")
        print(f"bench net_bulk_tx_mb_s {n / (time.time() - t0) / 1e6:.2f} MB/s", flush=True)
    finally:
        g.stop()


LAYERS = [
    ("TCP socket files (tcp_sock.c)", ("tcp_sock",)),
    ("driver: virtio-net, virtqueues, interrupt dispatch",
     ("virtio_net", "virtq", "kernel/irq", "plic", "gic")),
    ("protocols: Ethernet, ARP, IPv4, TCP, checksums; the stack's task",
     ("kernel/net/eth", "kernel/net/arp", "kernel/net/ipv4", "kernel/net/tcp", "kernel/net/net_kernel",
      "kernel/net/udp", "kernel/net/icmp")),
    ("I/O layer: ring ops, syscalls, copyin/copyout, page walks",
     ("kernel/ring", "kernel/syscall", "uaccess", "kernel/file", "/vm")),
    ("executor: tasks, wakes, notify, timers, park", ("executor/", "ktask", "exec_glue", "ktimer", "kalloc")),
    ("traps, user entry and exit, processes", ("trapvec", "/trap", "/cpu", "/user", "kernel/proc", "sbi")),
    ("file system", ("kernel/fs", "fsys")),
    ("user program (its executor, reactor, the server)", ("user:",)),
]


def layer(obj):
    for name, keys in LAYERS:
        if any(k in obj for k in keys):
            return name
    return "other"


def profile():
    """Where the instructions of an operation go (riscv64; PROF_OP=echo,
    the 64-byte echo, http, a keep-alive GET of /1k.html, conn, a new
    connection with one GET and the close, rx, PROF_RX_BYTES (64 KiB) into
    the sink, or tx, 1 MiB from the source): QEMU runs
    one instruction per block (-singlestep) and logs every block it runs
    (-d exec,nochain) while the host drives PROF_N round trips; each pc is
    charged to its function and its object file (kernel) or program."""
    sock = os.path.join(out_dir, "netprof.mon")
    logf = os.path.join(out_dir, "netprof.exec")
    for f in (sock, logf):
        if os.path.exists(f):
            os.unlink(f)
    os.environ["QEMU_EXTRA"] = f"-singlestep -monitor unix:{sock},server,nowait -D {logf}"
    g = Guest(icount=True)
    n = int(os.environ.get("PROF_N", "20"))
    what = os.environ.get("PROF_OP", "echo")
    prog = {"http": "httpd", "conn": "httpd", "rx": "ubench", "tx": "ubench"}.get(what, "echod")
    try:
        mon = socket.socket(socket.AF_UNIX)
        mon.connect(sock)
        mon.settimeout(10)

        def monitor(cmd):
            mon.sendall(cmd.encode() + b"\n")
            time.sleep(0.3)
            try:
                mon.recv(65536)
            except socket.timeout:
                pass
        monitor("")
        if what in ("rx", "tx"):
            # bulk: 64 KiB into the sink, or one whole stream from the
            # source (1 MiB; PROF_N=1 is enough)
            blob = b"y" * int(os.environ.get("PROF_RX_BYTES", "65536"))

            def op():
                if what == "rx":
                    s = connect(g.sink)
                    s.sendall(blob)
                    s.shutdown(socket.SHUT_WR)
                    s.recv(1)
                else:
                    s = connect(g.src)
                    recv_all(s)
                s.close()
            e = connect(g.echo)
        elif what == "conn":
            # a new connection per operation: connect, GET, read to the
            # end (httpd closes first), close
            def op():
                one_conn(g.http)
            e = connect(g.echo)
        elif prog == "echod":
            e = connect(g.echo)

            def op():
                one_echo(e)
        else:
            e = connect(g.http)

            def op():
                e.sendall(GET)
                http_response(e)
        for _ in range(5):
            op()
        time.sleep(0.1)
        monitor("log exec,nochain")
        for _ in range(n):
            op()
        time.sleep(0.1)
        monitor("log none")
        e.close()
    finally:
        g.stop()
    # symbols: the kernel's from its object files, the programs' from their ELFs
    import bisect
    syms = []

    def nm(path, owner):
        r = subprocess.run(["riscv64-unknown-elf-nm", "--defined-only", path],
                           capture_output=True, text=True)
        out = []
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "tTwW":
                out.append((int(f[0], 16), f[2], owner))
        return out
    kdir = os.path.dirname(opt["kernel"])
    where = {}
    for root, _, files in os.walk(kdir):
        for fn in files:
            if fn.endswith(".o") and "/user" not in root:
                for _, name, _ in nm(os.path.join(root, fn), None):
                    where.setdefault(name, os.path.relpath(os.path.join(root, fn), kdir)[:-4])
    for addr, name, _ in nm(opt["kernel"], None):
        syms.append((addr, name, "kernel:" + where.get(name, "?")))
    if True:
        for addr, name, _ in nm(os.path.join(kdir, "user", prog + ".elf"), None):
            syms.append((addr, name, "user:" + prog))
    syms.sort()
    addrs = [a for a, _, _ in syms]
    user_lo = min(a for a, _, o in syms if o.startswith("user"))
    byfn, byobj, bylayer, total = {}, {}, {}, 0
    caller = cur = "kernel:?"
    pat = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
    with open(logf, errors="replace") as f:
        for line in f:
            m = pat.match(line)
            if not m:
                continue
            pc = int(m.group(1), 16)
            total += 1
            i = bisect.bisect_right(addrs, pc) - 1
            if i < 0 or (pc >= user_lo) != syms[i][2].startswith("user"):
                key = ("?", "user:?" if pc >= user_lo else "kernel:?")
            else:
                key = (syms[i][1], syms[i][2])
            byfn[key] = byfn.get(key, 0) + 1
            byobj[key[1]] = byobj.get(key[1], 0) + 1
            # memcpy and memset are charged to the file that called them
            if key[1] == "kernel:lib/string":
                if cur != "kernel:lib/string":
                    caller = cur
                obj = caller
            else:
                obj = key[1]
            cur = key[1]
            lay = layer(obj)
            bylayer[lay] = bylayer.get(lay, 0) + 1
    print(f"netprof: {total} instructions over {n} operations ({prog}): {total // n} each")
    print("by layer (memcpy/memset charged to their caller):")
    for k, v in sorted(bylayer.items(), key=lambda kv: -kv[1]):
        print(f"  {v / n:9.0f}  {k}")
    print("by file:")
    for k, v in sorted(byobj.items(), key=lambda kv: -kv[1]):
        print(f"  {v / n:9.0f}  {k}")
    print("by function (top 40):")
    for (fn, o), v in sorted(byfn.items(), key=lambda kv: -kv[1])[:40]:
        print(f"  {v / n:9.0f}  {fn}  ({o})")


if mode == "count":
    count()
elif mode == "profile":
    profile()
else:
    wall()
