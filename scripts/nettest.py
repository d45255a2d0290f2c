#!/usr/bin/env python3
"""Drive a booted guest's network from the host through QEMU's forwarded ports (127.0.0.1 only).

usage: scripts/nettest.py --arch A [--smp N] [--log FILE] KERNEL.elf

Boots the normal kernel with a virtio-net card (scripts/run-qemu.sh --net,
free host ports chosen here) and the kernel shell as its first task, then:
  boot        the driver and the stack come up ("net: up")
  udp_echo    datagrams of 1..1472 bytes sent to the forwarded UDP port come
              back byte-exact from the kernel's echo service (port 7);
              the run uses --net-open, because QEMU's restricted user-mode
              network drops every UDP datagram the guest sends
  counters    the shell's `net` shows the datagrams and no malformed
              device completions
  udpcheck    a boot with user/udpcheck.c as process 1: the socket
              syscalls' error paths (it sends nothing off the guest)
  udp_socket  a boot with user/udpecho.c as process 1, a UDP socket in a
              user program: the same datagrams to the forwarded port 5555
              come back byte-exact, and "quit" ends the boot with status 0
              after udpecho counted all of them
  ping        a boot with user/ping.c as process 1 on the restricted
              network make qemu uses: 3 echo requests to 10.0.2.2 (QEMU)
              answered intact
Ends with "N passed, N failed"; exit status 1 on a failure.
"""
import argparse
import os
import select
import socket
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--arch", default="riscv64")
ap.add_argument("--smp", default="1")
ap.add_argument("--log")
ap.add_argument("kernel")
opt = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))

passed = failed = 0


def result(name, ok, why=""):
    global passed, failed
    print(f"nettest {name}: " + ("OK" if ok else f"FAILED ({why})"))
    if ok:
        passed += 1
    else:
        failed += 1


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


tcp_port, udp_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
udp_port2 = free_port(socket.SOCK_DGRAM)
SIZES = [1, 2, 17, 46, 100, 512, 1000, 1471, 1472] + [(i * 131) % 1472 + 1 for i in range(40)]


def boot(init, restricted=False):
    net = ["--net-ports", "none"] if restricted else \
        ["--net-open", "--net-ports", f"{tcp_port},{udp_port},{udp_port2}"]
    return subprocess.Popen(
        [os.path.join(here, "run-qemu.sh"), "--arch", opt.arch, "--smp", opt.smp, "--net"] + net +
        ["--timeout", "90", "--append", f"init={init}", "--input", "/dev/stdin", opt.kernel],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def echo_all(port):
    """Send every size to 127.0.0.1:port; None, or why it failed."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        for i, n in enumerate(SIZES):
            msg = bytes((i * 7 + j * 13) & 0xff for j in range(n))
            s.sendto(msg, ("127.0.0.1", port))
            try:
                got, _ = s.recvfrom(4096)
            except socket.timeout:
                return f"no echo for datagram {i} ({n} bytes)"
            if got != msg:
                return f"datagram {i} ({n} bytes) came back as {len(got)} different bytes"
        return None
    finally:
        s.close()


qemu = boot("none")
out = b""


def read_until(marker, secs, start=0):
    """Read the console until marker appears at or after out[start:]."""
    global out
    end = time.time() + secs
    while marker not in out[start:] and time.time() < end:
        r, _, _ = select.select([qemu.stdout], [], [], 0.2)
        if r:
            data = os.read(qemu.stdout.fileno(), 65536)
            if not data:
                break
            out += data
    return marker in out[start:]


booted = read_until(b"pollux> ", 60)
result("boot", booted and b"net: up" in out, "no 'net: up' before the shell prompt")

if booted:
    bad = echo_all(udp_port)
    result("udp_echo", bad is None, bad)

    mark = len(out)
    qemu.stdin.write(b"net\n")
    qemu.stdin.flush()
    read_until(b"pollux> ", 10, mark)
    text = out[mark:].decode(errors="replace")
    ok = (f"udp: rx {len(SIZES)} " in text and "0 malformed" in text and "(0 bad, 0 bad checksum" in text)
    result("counters", ok, "unexpected `net` output:\n" + text)

try:
    qemu.stdin.write(b"poweroff\n")
    qemu.stdin.flush()
    rest, _ = qemu.communicate(timeout=30)
    out += rest
except (BrokenPipeError, subprocess.TimeoutExpired):
    qemu.kill()
    out += qemu.communicate()[0]
logs = [out]

# A user program's socket: the error paths, then an echo server.
qemu = boot("udpcheck")
try:
    out = qemu.communicate(timeout=60)[0]
except subprocess.TimeoutExpired:
    qemu.kill()
    out = qemu.communicate()[0]
logs.append(out)
text = out.decode(errors="replace")
result("udpcheck", qemu.returncode == 0 and "\n0 failed" not in text and " 0 failed" in text,
       f"exit status {qemu.returncode}:\n" + "\n".join(l for l in text.splitlines() if "udpcheck" in l))

qemu = boot("udpecho")
out = b""
if read_until(b"udpecho: port 5555", 60):
    bad = echo_all(udp_port2)
    if bad is None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"quit", ("127.0.0.1", udp_port2))
        s.close()
else:
    bad = "udpecho did not start"
try:
    out += qemu.communicate(timeout=30)[0]
except subprocess.TimeoutExpired:
    qemu.kill()
    out += qemu.communicate()[0]
if bad is None and qemu.returncode != 0:
    bad = f"the boot ended with status {qemu.returncode}"
if bad is None and f"udpecho: {len(SIZES)} datagrams echoed".encode() not in out:
    bad = "udpecho did not report every datagram"
result("udp_socket", bad is None, bad)
logs.append(out)

# The user ping program, on the network make qemu gives (restrict=on).
qemu = boot("ping initargs=10.0.2.2,3", restricted=True)
try:
    out = qemu.communicate(timeout=60)[0]
except subprocess.TimeoutExpired:
    qemu.kill()
    out = qemu.communicate()[0]
logs.append(out)
result("ping", qemu.returncode == 0 and b"ping: 3 of 3 replies" in out,
       f"exit status {qemu.returncode}")
out = b"\n".join(logs)

if opt.log:
    os.makedirs(os.path.dirname(opt.log), exist_ok=True)
    with open(opt.log, "wb") as f:
        f.write(out)
if failed:
    sys.stdout.write(out.decode(errors="replace"))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
