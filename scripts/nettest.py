#!/usr/bin/env python3
"""Drive a booted guest's network from the host; everything stays on 127.0.0.1.

usage: scripts/nettest.py --arch A [--smp N] [--log FILE] KERNEL.elf

The boots that exchange UDP with the host give the guest's virtio-net card
QEMU's -netdev dgram backend (scripts/run-qemu.sh --net-peer), no slirp:
each Ethernet frame is a UDP datagram on 127.0.0.1 to or from the Peer
below, which plays the gateway 10.0.2.2 (it answers ARP and builds and
checks Ethernet, IPv4, UDP and ICMP itself, checksums included).  The
other boots use QEMU's user-mode network with restrict=on (--net).
  boot        the driver and the stack come up ("net: up")
  udp_echo    datagrams of 1..1472 bytes from the peer to the guest's UDP
              port 7 come back byte-exact, with right checksums, from the
              kernel's echo service
  guest_ping  3 echo requests from the peer to 10.0.2.15 answered intact
  tcp_echo    a TCP connection from the peer to the kernel's TCP echo
              service (port 7007): handshake with MSS, 20,000 bytes sent
              in segments of up to 1,000 come back byte-exact in order,
              every guest segment's checksum right, then both FINs
  counters    the shell's `net` shows the datagrams, no malformed device
              completions, and no TCP connection left but the listener
  udpcheck    a boot (user-mode network, restrict=on) with user/udpcheck.c
              as process 1: the socket syscalls' error paths (it sends
              nothing off the guest)
  udp_socket  a boot with user/udpecho.c as process 1, a UDP socket in a
              user program: the same datagrams from the peer to port 5555
              come back byte-exact, and "quit" ends the boot with status 0
              after udpecho counted all of them
  ping        a boot with user/ping.c as process 1 on the user-mode network
              with restrict=on, as make qemu gives: 3 echo requests to
              10.0.2.2 (QEMU) answered intact
  loss        a boot with net_drop=20 (the driver drops, duplicates and
              reorders frames both ways, kernel/netem.h): the boot says so,
              30 datagrams to UDP port 7 and 3 echo requests each come back
              intact when the peer resends after 0.15 s of silence, and the
              shell's `net` shows every injection counter above 0
  ping_loss   the shell on the user-mode network with net_drop=20
              net_seed=6 (a seed whose three requests lose some replies and
              not all): `ping 10.0.2.2 3` gives up on a lost reply after a
              second, goes on, and ends with "ping: N of 3 replies",
              0 < N < 3; then `kstat` shows the six injection counters
              (SYS_kstat), transmit drops above 0
Ends with "N passed, N failed"; exit status 1 on a failure.
"""
import argparse
import os
import re
import select
import socket
import struct
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


SIZES = [1, 2, 17, 46, 100, 512, 1000, 1471, 1472] + [(i * 131) % 1472 + 1 for i in range(40)]


def csum(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip4(text):
    return socket.inet_aton(text)


GW_IP, GUEST_IP = ip4("10.0.2.2"), ip4("10.0.2.15")
GW_MAC = bytes.fromhex("525500000202")
BCAST = b"\xff" * 6


class Peer:
    """The gateway, 10.0.2.2, at the far end of QEMU's -netdev dgram.

    Every datagram on self.sock is one Ethernet frame of the guest's card.
    The peer answers ARP for 10.0.2.2, builds and parses IPv4/UDP/ICMP
    itself and checks every checksum the guest sends; nothing goes
    anywhere but 127.0.0.1."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.card_port = free_port(socket.SOCK_DGRAM)
        self.guest_mac = None
        self.ip_id = 0
        self.bad = []        # frames from the guest that failed a check

    def send(self, dst_mac, ethertype, payload):
        self.sock.sendto(dst_mac + GW_MAC + struct.pack("!H", ethertype) + payload,
                         ("127.0.0.1", self.card_port))

    def arp(self, op, tha, tpa):
        return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, GW_MAC, GW_IP, tha, tpa)

    def send_ip(self, proto, payload):
        self.ip_id = (self.ip_id + 1) & 0xffff
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), self.ip_id, 0, 64,
                          proto, 0, GW_IP, GUEST_IP)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        self.send(self.guest_mac, 0x0800, hdr + payload)

    def send_udp(self, sport, dport, data):
        head = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
        pseudo = GW_IP + GUEST_IP + struct.pack("!BBH", 0, 17, 8 + len(data))
        c = csum(pseudo + head + data) or 0xffff
        self.send_ip(17, head[:6] + struct.pack("!H", c) + data)

    def send_ping(self, ident, seq, data):
        msg = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
        self.send_ip(1, msg[:2] + struct.pack("!H", csum(msg)) + msg[4:])

    def frame(self, deadline):
        """The next frame from the guest, ARP for 10.0.2.2 answered on the
        way; None at the deadline.  Returns (proto, src, dst, ip payload)."""
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                f = self.sock.recv(2048)
            except socket.timeout:
                return None
            if len(f) < 14:
                self.bad.append(f"runt frame of {len(f)} bytes")
                continue
            etype = struct.unpack("!H", f[12:14])[0]
            if etype == 0x0806 and len(f) >= 42:
                op, sha, spa, tpa = struct.unpack("!6xH6s4s6x4s", f[14:42])
                if spa == GUEST_IP:
                    self.guest_mac = sha
                if op == 1 and tpa == GW_IP and spa == GUEST_IP:
                    self.send(sha, 0x0806, self.arp(2, sha, spa))
                continue
            if etype != 0x0800 or len(f) < 34:
                continue
            ip = f[14:]
            ihl = (ip[0] & 15) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            if ip[0] >> 4 != 4 or ihl < 20 or total > len(ip) or csum(ip[:ihl]) != 0:
                self.bad.append("bad IPv4 header")
                continue
            proto, src, dst = ip[9], ip[12:16], ip[16:20]
            body = ip[ihl:total]
            if proto == 17:
                pseudo = src + dst + struct.pack("!BBH", 0, 17, len(body))
                if len(body) < 8 or struct.unpack("!H", body[6:8])[0] == 0 or csum(pseudo + body):
                    self.bad.append("UDP datagram without a right checksum")
                    continue
            elif proto == 1 and csum(body):
                self.bad.append("bad ICMP checksum")
                continue
            elif proto == 6:
                pseudo = src + dst + struct.pack("!BBH", 0, 6, len(body))
                if len(body) < 20 or csum(pseudo + body):
                    self.bad.append("TCP segment without a right checksum")
                    continue
            return proto, src, dst, body

    def resolve(self, secs=10):
        """Learn the guest's MAC: ARP request for 10.0.2.15, broadcast."""
        end = time.time() + secs
        while self.guest_mac is None and time.time() < end:
            self.send(BCAST, 0x0806, self.arp(1, b"\0" * 6, GUEST_IP))
            self.frame(min(end, time.time() + 1))
        return self.guest_mac is not None

    def udp_roundtrip(self, dport, data, sport=40000, secs=5):
        """Send data to the guest's dport; its UDP answer's data, or None."""
        self.send_udp(sport, dport, data)
        end = time.time() + secs
        while True:
            got = self.frame(end)
            if got is None:
                return None
            proto, src, dst, body = got
            if proto == 17 and src == GUEST_IP and dst == GW_IP and \
                    struct.unpack("!HH", body[:4]) == (dport, sport):
                return body[8:]

    def udp_retry(self, dport, data, sport=40000, tries=30, secs=0.15):
        """udp_roundtrip over a lossy link: resend after secs of silence and
        skip answers that are not data (duplicates of earlier ones)."""
        for _ in range(tries):
            self.send_udp(sport, dport, data)
            end = time.time() + secs
            while True:
                got = self.frame(end)
                if got is None:
                    break
                proto, src, dst, body = got
                if proto == 17 and src == GUEST_IP and \
                        struct.unpack("!HH", body[:4]) == (dport, sport) and body[8:] == data:
                    return True
        return False

    def ping_retry(self, ident, seq, data, tries=30, secs=0.15):
        for _ in range(tries):
            self.send_ping(ident, seq, data)
            end = time.time() + secs
            while True:
                got = self.frame(end)
                if got is None:
                    break
                proto, src, dst, body = got
                if proto == 1 and src == GUEST_IP and body[0] == 0 and \
                        struct.unpack("!HH", body[4:8]) == (ident, seq) and body[8:] == data:
                    return True
        return False

    def ping(self, ident, seq, data, secs=5):
        """An echo request to 10.0.2.15; True if the reply matches it."""
        self.send_ping(ident, seq, data)
        end = time.time() + secs
        while True:
            got = self.frame(end)
            if got is None:
                return False
            proto, src, dst, body = got
            if proto == 1 and src == GUEST_IP and body[0] == 0 and \
                    struct.unpack("!HH", body[4:8]) == (ident, seq):
                return body[8:] == data

    def send_tcp(self, sport, dport, seq, ack, flags, data=b"", opts=b""):
        hl = 20 + len(opts)
        head = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                           hl // 4 << 4, flags, 65535, 0, 0) + opts
        pseudo = GW_IP + GUEST_IP + struct.pack("!BBH", 0, 6, hl + len(data))
        c = csum(pseudo + head + data)
        self.send_ip(6, head[:16] + struct.pack("!H", c) + head[18:] + data)

    def tcp_echo(self, dport, total=20000, secs=20):
        """One connection to the guest's TCP echo port: None, or why it failed."""
        SYN, FIN, RST, ACK = 2, 1, 4, 16
        sport, iss = 41000, 0xffffb000          # our sequence numbers wrap past 2^32
        end = time.time() + secs
        msg = bytes((i * 11 + (i >> 8)) & 0xff for i in range(total))
        self.send_tcp(sport, dport, iss, 0, SYN, opts=struct.pack("!BBH", 2, 4, 1460))
        snd_una = iss + 1
        rcv_nxt = None
        got = bytearray()
        fin_rcvd = False
        sent_fin = False
        last_tx = time.time()
        while time.time() < end:
            # Stop and wait: one segment of ours in flight at a time.
            if rcv_nxt is not None:
                off = snd_una - iss - 1
                if off < total and (last_tx is None or time.time() - last_tx > 0.5 or
                                    not inflight):
                    chunk = msg[off:off + 1000]
                    self.send_tcp(sport, dport, snd_una, rcv_nxt, ACK, chunk)
                    inflight, last_tx = True, time.time()
                elif off == total and len(got) == total and not sent_fin:
                    self.send_tcp(sport, dport, snd_una, rcv_nxt, ACK | FIN)
                    sent_fin, last_tx = True, time.time()
            f = self.frame(min(end, time.time() + 0.5))
            if f is None:
                continue
            proto, src, dst, body = f
            if proto != 6 or struct.unpack("!HH", body[:4]) != (dport, sport):
                continue
            seq, ack, off_flags, flags, wnd = struct.unpack("!IIBBH", body[4:16])
            data = body[(off_flags >> 4) * 4:]
            if flags & RST:
                return f"the guest reset the connection ({len(got)} bytes echoed)"
            if rcv_nxt is None:
                if flags & (SYN | ACK) != SYN | ACK or ack != snd_una:
                    return f"no SYN,ACK for our SYN (flags {flags:#x})"
                rcv_nxt = (seq + 1) & 0xffffffff
                self.send_tcp(sport, dport, snd_una, rcv_nxt, ACK)
                inflight, last_tx = False, None
                continue
            if flags & ACK and (ack - snd_una) & 0xffffffff <= total + 1 and ack != snd_una:
                snd_una = (snd_una + ((ack - snd_una) & 0xffffffff))
                inflight = False
            if seq == rcv_nxt and data:
                got += data
                rcv_nxt = (rcv_nxt + len(data)) & 0xffffffff
            if flags & FIN and (seq + len(data)) & 0xffffffff == rcv_nxt:
                rcv_nxt = (rcv_nxt + 1) & 0xffffffff
                fin_rcvd = True
            if data or flags & FIN:
                self.send_tcp(sport, dport, snd_una, rcv_nxt, ACK)
            if fin_rcvd and sent_fin and snd_una == iss + 1 + total + 1:
                break
        if bytes(got) != msg:
            return f"{len(got)} of {total} bytes came back" + \
                ("" if bytes(got) == msg[:len(got)] else ", not the ones sent")
        if not (fin_rcvd and sent_fin and snd_una == iss + total + 2):
            return "the connection did not close in order"
        if self.bad:
            return "bad frames from the guest: " + "; ".join(self.bad[:3])
        return None

    def close(self):
        self.sock.close()


def boot(init, peer=None, extra=""):
    net = ["--net-peer", f"{peer.port},{peer.card_port}"] if peer else ["--net-ports", "none"]
    return subprocess.Popen(
        [os.path.join(here, "run-qemu.sh"), "--arch", opt.arch, "--smp", opt.smp, "--net"] + net +
        ["--timeout", "90", "--append", f"init={init}{extra}", "--input", "/dev/stdin", opt.kernel],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def echo_all(peer, port):
    """Send every size to the guest's UDP port through the peer; None, or why it failed."""
    if not peer.resolve():
        return "the guest did not answer ARP for 10.0.2.15"
    for i, n in enumerate(SIZES):
        msg = bytes((i * 7 + j * 13) & 0xff for j in range(n))
        got = peer.udp_roundtrip(port, msg)
        if got is None:
            return f"no echo for datagram {i} ({n} bytes)" + \
                ("; bad frames from the guest: " + "; ".join(peer.bad[:3]) if peer.bad else "")
        if got != msg:
            return f"datagram {i} ({n} bytes) came back as {len(got)} different bytes"
    if peer.bad:
        return "bad frames from the guest: " + "; ".join(peer.bad[:3])
    return None


peer = Peer()
qemu = boot("none", peer)
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
    bad = echo_all(peer, 7)
    result("udp_echo", bad is None, bad)
    data = bytes(range(56))
    ok = all(peer.ping(0x5058, seq, data) for seq in range(1, 4)) and not peer.bad
    result("guest_ping", ok, "echo requests to 10.0.2.15 not answered intact; " +
           "; ".join(peer.bad[:3]))

    bad = peer.tcp_echo(7007)
    result("tcp_echo", bad is None, bad)
    time.sleep(0.2)   # the guest's last ACK from LAST_ACK frees its side

    mark = len(out)
    qemu.stdin.write(b"net\n")
    qemu.stdin.flush()
    read_until(b"pollux> ", 10, mark)
    text = out[mark:].decode(errors="replace")
    ok = (f"udp: rx {len(SIZES)} " in text and "0 malformed" in text and "(0 bad, 0 bad checksum" in text
          and "tcp: 1 connections alive" in text)
    result("counters", ok, "unexpected `net` output:\n" + text)

try:
    qemu.stdin.write(b"poweroff\n")
    qemu.stdin.flush()
    rest, _ = qemu.communicate(timeout=30)
    out += rest
except (BrokenPipeError, subprocess.TimeoutExpired):
    qemu.kill()
    out += qemu.communicate()[0]
peer.close()
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

peer = Peer()
qemu = boot("udpecho", peer)
out = b""
if read_until(b"udpecho: port 5555", 60):
    bad = echo_all(peer, 5555)
    if bad is None:
        peer.send_udp(40000, 5555, b"quit")
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
peer.close()
logs.append(out)

# The user ping program, on the network make qemu gives (restrict=on).
qemu = boot("ping initargs=10.0.2.2,3")
try:
    out = qemu.communicate(timeout=60)[0]
except subprocess.TimeoutExpired:
    qemu.kill()
    out = qemu.communicate()[0]
logs.append(out)
result("ping", qemu.returncode == 0 and b"ping: 3 of 3 replies" in out,
       f"exit status {qemu.returncode}")


def shutdown():
    global out
    try:
        qemu.stdin.write(b"poweroff\n")
        qemu.stdin.flush()
        out += qemu.communicate(timeout=30)[0]
    except (BrokenPipeError, subprocess.TimeoutExpired):
        qemu.kill()
        out += qemu.communicate()[0]


# Loss injection.  The user ping copes (a lost reply costs a second), and
# kstat reads the injector's counters.
qemu = boot("sh net_drop=20 net_seed=6")
out = b""
bad = None
if not read_until(b"$ ", 60):
    bad = "no shell prompt"
else:
    qemu.stdin.write(b"ping 10.0.2.2 3\n")
    qemu.stdin.flush()
    mark = len(out)
    if not read_until(b" replies", 30, mark):
        bad = "ping did not finish"
    else:
        m = re.search(rb"ping: (\d) of 3 replies", out[mark:])
        if not m or not 0 < int(m.group(1)) < 3 or b"no reply from 10.0.2.2" not in out[mark:]:
            bad = "expected some replies and some lost"
    read_until(b"$ ", 10, mark)
    mark = len(out)
    qemu.stdin.write(b"kstat\n")
    qemu.stdin.flush()
    read_until(b"$ ", 10, mark)
    vals = dict(re.findall(rb"(net_[rt]x_\w+) +(\d+)", out[mark:]))
    if bad is None and not (len(vals) == 6 and int(vals[b"net_tx_dropped"]) > 0 and
                            sum(int(v) for v in vals.values()) > 0):
        bad = f"kstat's injection counters: {vals}"
try:
    qemu.stdin.write(b"exit\n")
    qemu.stdin.flush()
    out += qemu.communicate(timeout=30)[0]
except (BrokenPipeError, subprocess.TimeoutExpired):
    qemu.kill()
    out += qemu.communicate()[0]
logs.append(out)
result("ping_loss", bad is None, bad)

# Loss injection: the kernel's echo service and ping answer through it.
peer = Peer()
qemu = boot("none", peer, " net_drop=20")
out = b""
bad = None
if not read_until(b"pollux> ", 60):
    bad = "no shell prompt"
elif b"loss injection on: drop, duplicate and reorder 20%" not in out:
    bad = "no boot line for net_drop=20"
elif not peer.resolve():
    bad = "the guest did not answer ARP for 10.0.2.15"
else:
    for i in range(30):
        n = SIZES[i]
        msg = bytes((i * 5 + j * 11) & 0xff for j in range(n))
        if not peer.udp_retry(7, msg):
            bad = f"datagram {i} ({n} bytes) never came back intact"
            break
    if bad is None and not all(peer.ping_retry(0x4c4f, seq, bytes(range(40))) for seq in (1, 2, 3)):
        bad = "an echo request never answered intact"
    if bad is None and peer.bad:
        bad = "bad frames from the guest: " + "; ".join(peer.bad[:3])
    if bad is None:
        mark = len(out)
        qemu.stdin.write(b"net\n")
        qemu.stdin.flush()
        read_until(b"pollux> ", 10, mark)
        text = out[mark:].decode(errors="replace")
        m = re.search(r"injected \(net_drop=20\): rx (\d+) dropped, (\d+) duplicated, (\d+) "
                      r"reordered; tx (\d+) dropped, (\d+) duplicated, (\d+) reordered", text)
        if not m or not all(int(v) > 0 for v in m.groups()):
            bad = "an injection counter did not move:\n" + text
shutdown()
result("loss", bad is None, bad)
peer.close()
logs.append(out)
out = b"\n".join(logs)

if opt.log:
    os.makedirs(os.path.dirname(opt.log), exist_ok=True)
    with open(opt.log, "wb") as f:
        f.write(out)
if failed:
    sys.stdout.write(out.decode(errors="replace"))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
