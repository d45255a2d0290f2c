#!/usr/bin/env python3
"""Drive a booted guest's network from the host; everything stays on 127.0.0.1.

usage: scripts/nettest.py --arch A [--smp N] [--log FILE] [--image IMG]
                          [--conns N] [--cycles K] [--only tcp] KERNEL.elf

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
TCP (user-mode network, restrict=on, host ports forwarded on 127.0.0.1):
  tcp_calls   a boot with user/nettests.c as process 1: every TCP socket
              call's and ring op's errors, then a session the host drives
              (accept/recv/send/shutdown on the syscall door, ACCEPT/RECV/
              SEND of 5000 bytes on the ring door, a reset seen as
              ECONNRESET, EADDRINUSE while a port listens), then connect
              and the ring's CONNECT out to 10.0.2.100:1234/1235, which
              QEMU's guestfwd carries to two listeners of the test, and
              to 10.0.2.2:9, which QEMU resets (ECONNREFUSED)
  then one boot of sh as process 1 (the disk of --image) running
  `httpd 80 /www 3 &` and `echod 7 60 &`:
  curl_page   curl fetches the built-in page at / byte-exact
  curl_file   curl fetches /www/wc.bin (the guest copied /bin/wc there)
              byte-exact: the stripped wc.elf of the build
  curl_404    a missing file is 404
  keepalive   one http.client connection, 7 requests (page, file, HEAD,
              404, page, file, the file again): every answer right,
              never a reconnect
  fresh_files one connection GETs /f.txt while the shell rewrites it in
              place, replaces it by mv and removes it: each answer is
              the file the path names at that moment (httpd keeps a
              connection's last file open; it must not serve it stale)
  too_long    a request line over 4 KiB gets 400 and the close; a head
              over 4 KiB 431 and the close
  slow_client a client that sends half a request does not hold up curl,
              and httpd closes it after its 3 s idle limit
  echo_conns  N connections to echod (--conns, default 100; make net-load
              1,000) open at once (each opened once the one before echoed
              its first byte), then each sends 10 KiB of its own pattern
              and gets it back byte-exact, 100 connections at a time
  churn       K connect / 1 byte echoed / close cycles (--cycles, default
              100); afterwards the kernel's tcp_conns and sock_files
              counters (kstat) come back to their values before
  port_reuse  two connect + GET + close from one host port in a row: the
              second SYN finds the first connection in TIME_WAIT and
              must open a new one at once
  echo_idle   echod restarted with a 1 s idle limit keeps a connection
              that sends a byte every 0.4 s for 2 s and closes it about
              1 s after the last
  nc          `echo ... | nc 10.0.2.100 1234` in the guest: QEMU's guestfwd
              carries the connection to the test, which reads the line and
              answers; nc prints the answer (then Ctrl-C ends it)
  tcp_loss    a boot with net_drop=10 net_seed=2 (--loss-seed) and
              `httpd 80 /bin 60 &`: one curl fetches /usertests and
              /fstests (about 240 KiB) byte-exact on one keep-alive
              connection through the lossy link, and `kstat
              tcp_retransmits` grew: the guest's retransmissions recovered
              its lost segments (QEMU's slirp retransmits what it sends the
              guest).  One connection, opened while seed 2 lets every frame
              through: a second handshake through the injector can meet a
              bug of slirp's (after a duplicate SYN,ACK with the MSS option,
              data slirp had sent and the guest lost is never sent again:
              docs/net.md, "Tests")
--only tcp_loss runs that boot alone (make net-loss).
--only tcp runs the TCP part alone (make net-load).
Ends with "N passed, N failed"; exit status 1 on a failure.
"""
import argparse
import os
import resource
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from qemu_guest import free_ports

ap = argparse.ArgumentParser()
ap.add_argument("--arch", default="riscv64")
ap.add_argument("--smp", default="1")
ap.add_argument("--log")
ap.add_argument("--image")
ap.add_argument("--conns", type=int, default=100)
ap.add_argument("--cycles", type=int, default=100)
ap.add_argument("--only", default="all")
ap.add_argument("--loss-seed", type=int, default=2)
ap.add_argument("kernel")
opt = ap.parse_args()
# echo_conns holds --conns sockets of our own at once: lift the soft limit
# on open files to the hard one.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _hard == resource.RLIM_INFINITY or _hard > _soft:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))
here = os.path.dirname(os.path.abspath(__file__))

passed = failed = 0


def indent(text):
    """Guest output shown in ours: each line behind "  | ", so a guest
    program's own "N passed, N failed" is not read as ours
    (scripts/summary.sh)."""
    return "\n".join("  | " + line for line in text.splitlines())


def result(name, ok, why=""):
    global passed, failed
    if why and "\n" in why:
        first, rest = why.split("\n", 1)
        why = first + "\n" + indent(rest)
    print(f"nettest {name}: " + ("OK" if ok else f"FAILED ({why})"), flush=True)
    if ok:
        passed += 1
    else:
        failed += 1


def free_port(kind):
    return free_ports(kind, 1)[0]


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


def run_qemu(args, **popen):
    """scripts/run-qemu.sh with a network card, args and the kernel; the
    console on a pipe each way."""
    return subprocess.Popen(
        [os.path.join(here, "run-qemu.sh"), "--arch", opt.arch, "--smp", opt.smp, "--net"] +
        args + ["--input", "/dev/stdin", opt.kernel],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)


def boot(init, peer=None, extra=""):
    net = ["--net-peer", f"{peer.port},{peer.card_port}"] if peer else ["--net-ports", "none"]
    return run_qemu(net + ["--timeout", "90", "--append", f"init={init}{extra}"])


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


def udp_tests():
    global qemu, out, peer
    peer = Peer()
    qemu = boot("none", peer)
    out = b""

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

    out += finish(qemu, b"poweroff\n")
    peer.close()
    logs = [out]

    # A user program's socket: the error paths, then an echo server.
    qemu = boot("udpcheck")
    out = finish(qemu, secs=60)
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
    out += finish(qemu)
    if bad is None and qemu.returncode != 0:
        bad = f"the boot ended with status {qemu.returncode}"
    if bad is None and f"udpecho: {len(SIZES)} datagrams echoed".encode() not in out:
        bad = "udpecho did not report every datagram"
    result("udp_socket", bad is None, bad)
    peer.close()
    logs.append(out)

    # The user ping program, on the network make qemu gives (restrict=on).
    qemu = boot("ping initargs=10.0.2.2,3")
    out = finish(qemu, secs=60)
    logs.append(out)
    result("ping", qemu.returncode == 0 and b"ping: 3 of 3 replies" in out,
           f"exit status {qemu.returncode}")
    out = b"\n".join(logs)

    return out


# ---- TCP -----------------------------------------------------------------------

BUILTIN_PAGE = (b"<!DOCTYPE html>\n"
                b"<html><head><title>Pollux</title></head>\n"
                b"<body><h1>Hello from Pollux</h1>\n"
                b"<p>This page is served by httpd, an async user program: one task per\n"
                b"connection on the user executor, over the kernel's own TCP.</p>\n"
                b"</body></html>\n")


def tcp_boot(append, http_port, echo_port, disk=None, guestfwd=None):
    udp1, udp2 = free_ports(socket.SOCK_DGRAM, 2)
    ports = f"{http_port},{udp1},{udp2},{echo_port}"
    args = ["--net-ports", ports, "--timeout", "600"]
    if guestfwd:
        args += ["--net-guestfwd", guestfwd]
    if append:
        args += ["--append", append]
    if disk:
        args += ["--disk", disk]
    return run_qemu(args, start_new_session=True)


def connect(port, secs=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=secs)
    s.settimeout(secs)
    return s


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_to_end(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def kill_tree(pid):
    """Kill run-qemu.sh (pid) and everything below it: `timeout` gives QEMU
    a process group of its own, so the runner's group is not enough."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    todo, tree = [pid], []
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += kids.get(p, [])
    for p in reversed(tree):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def finish(q, line=None, secs=30):
    """End the boot: type line if given ("exit" ends the shell, process 1;
    "poweroff" the kernel's shell), wait up to secs for QEMU to exit,
    failing that kill it and its runner; the rest of the console."""
    if line:
        try:
            q.stdin.write(line)
            q.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
    try:
        return q.communicate(timeout=secs)[0]
    except subprocess.TimeoutExpired:
        kill_tree(q.pid)
        return q.communicate()[0]


def stop(q):
    """End the boot: the shell (process 1) exits, the kernel powers off;
    failing that, QEMU and its runner are killed (their own group)."""
    global out
    out += finish(q, b"exit\n", 15)


def tcp_calls():
    """user/nettests.c as process 1; the host is its peer on port 80."""
    global qemu, out
    port = free_port(socket.SOCK_STREAM)
    fwd = []
    for _ in range(2):      # QEMU connects to each once, at start
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        ls.settimeout(30)
        fwd.append(ls)
    qemu = tcp_boot("init=nettests", port, free_port(socket.SOCK_STREAM),
                    guestfwd=",".join(str(ls.getsockname()[1]) for ls in fwd))
    out = b""
    why = None
    chans = []
    try:
        chans = [ls.accept()[0] for ls in fwd]
        for ch in chans:
            ch.settimeout(60)
        if not read_until(b"nettests: ready", 60):
            raise RuntimeError("nettests did not get ready")
        s = connect(port)                               # 1: syscalls
        s.sendall(b"hello")
        if recv_exact(s, 5) != b"HELLO":
            raise RuntimeError("no HELLO")
        s.shutdown(socket.SHUT_WR)
        if recv_to_end(s) != b"bye":
            raise RuntimeError("no bye and end of stream")
        s.close()
        s = connect(port)                               # 2: the ring
        data = bytes((i * 7 + 3) & 0xff for i in range(5000))
        s.sendall(data)
        if recv_exact(s, 5000) != data:
            raise RuntimeError("the ring's 5000 bytes did not come back")
        s.close()
        s = connect(port)                               # 3: a reset
        time.sleep(0.5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        if recv_exact(chans[0], 4) != b"ping":                # 5: connect
            raise RuntimeError("no ping through the guest's connect")
        chans[0].sendall(b"pong")
        if recv_exact(chans[1], 4) != b"ring":                # 6: CONNECT
            raise RuntimeError("no bytes through the ring's CONNECT")
        chans[1].sendall(b"gnir")
    except (OSError, RuntimeError) as e:
        why = str(e)
    out += finish(qemu, secs=60)
    for ls in fwd + chans:
        ls.close()
    text = out.decode(errors="replace")
    bad = [l for l in text.splitlines() if "FAILED" in l]
    ok = why is None and qemu.returncode == 0 and " 0 failed" in text and not bad
    result("tcp_calls", ok, (why or f"exit status {qemu.returncode}") + "\n" + "\n".join(bad))
    return out


def sh(cmd, wait=b"\n$ ", secs=20):
    """Type a command into the guest's shell; its output from the shell's echo
    of the command up to the next prompt (or wait) after that echo.  Waiting
    for the echo first keeps a late prompt of the command before (one started
    with & prints its prompt when it likes) from ending this one's wait."""
    mark = len(out)
    end = time.time() + secs
    qemu.stdin.write(cmd.encode() + b"\n")
    qemu.stdin.flush()
    echo = cmd.encode()
    read_until(echo, secs, mark)
    at = out.find(echo, mark)
    start = at if at >= 0 else mark
    read_until(wait, max(0.0, end - time.time()), start + len(echo) if at >= 0 else mark)
    return out[start:].decode(errors="replace")


def kstat(name):
    text = sh(f"kstat {name}")
    for line in text.splitlines()[1:]:
        if line.strip().lstrip("-").isdigit():
            return int(line.strip())
    return None


def loss_tests():
    global qemu, out, peer
    logs = []
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
    out += finish(qemu, b"exit\n")
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
    out += finish(qemu, b"poweroff\n")
    result("loss", bad is None, bad)
    peer.close()
    logs.append(out)
    return b"\n".join(logs)


def http_get(port, path, extra=b""):
    s = connect(port)
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
    return s


def image_copy():
    """A scratch copy of --image for one boot to write (the caller unlinks
    it), or None without --image."""
    if not opt.image:
        return None
    fd, disk = tempfile.mkstemp(suffix=".img", prefix="nettest-")
    os.close(fd)
    with open(opt.image, "rb") as src, open(disk, "wb") as dst:
        dst.write(src.read())
    return disk


def tcp_servers():
    global qemu, out
    hport, eport = free_ports(socket.SOCK_STREAM, 2)
    disk = image_copy()
    ncl = socket.socket()       # nc's peer, through QEMU's guestfwd
    ncl.bind(("127.0.0.1", 0))
    ncl.listen(1)
    ncl.settimeout(30)
    qemu = tcp_boot("init=sh", hport, eport, disk, guestfwd=str(ncl.getsockname()[1]))
    out = b""
    try:
        nch = ncl.accept()[0]   # QEMU connects at start
        nch.settimeout(30)
        if not read_until(b"\n$ ", 60):
            result("tcp_servers", False, "no shell prompt")
            return out
        if disk:
            sh("mkdir /www")
            sh("cp /bin/wc /www/wc.bin")
        sh("httpd 80 /www 3 &", b"httpd: listening")
        sh("echod 7 60 &", b"echod: listening")
        conns0, files0 = kstat("tcp_conns"), kstat("sock_files")


        def curl(path, *args):
            r = subprocess.run(["curl", "-s", "--max-time", "20", *args,
                                f"http://127.0.0.1:{hport}{path}"], capture_output=True)
            return r.stdout

        got = curl("/")
        result("curl_page", got == BUILTIN_PAGE, f"got {got[:200]!r}")
        if disk:
            want = open(os.path.join(os.path.dirname(opt.kernel), "user", "stripped", "wc.elf"),
                        "rb").read()
            got = curl("/wc.bin")
            result("curl_file", got == want, f"got {len(got)} bytes, want {len(want)}")
        code = curl("/nope.html", "-o", "/dev/null", "-w", "%{http_code}")
        result("curl_404", code == b"404", f"status {code!r}")

        import http.client
        why = None
        try:
            c = http.client.HTTPConnection("127.0.0.1", hport, timeout=20)
            c.connect()
            sock0 = c.sock
            wc = want if disk else None
            # the file twice in a row: its second head must not be one
            # that its body's later pieces overwrote
            plan = [("GET", "/", 200, BUILTIN_PAGE), ("GET", "/wc.bin", 200, wc),
                    ("HEAD", "/", 200, b""), ("GET", "/missing", 404, b"Not Found\n"),
                    ("GET", "/", 200, BUILTIN_PAGE), ("GET", "/wc.bin", 200, wc),
                    ("GET", "/wc.bin", 200, wc)]
            for method, path, status, body in plan:
                if path == "/wc.bin" and not disk:
                    continue
                c.request(method, path)
                r = c.getresponse()
                data = r.read()
                if r.status != status or (body is not None and data != body):
                    why = f"{method} {path}: {r.status}, {len(data)} bytes"
                    break
                if c.sock is not sock0 or r.will_close:
                    why = f"{method} {path}: the connection was not kept"
                    break
            c.close()
        except (OSError, http.client.HTTPException) as e:
            why = f"{type(e).__name__}: {e}"
        result("keepalive", why is None, why)

        if disk:
            # httpd keeps a connection's last file open for its next
            # request; what it sends must still be the path's file now
            why = None
            try:
                sh("echo one > /www/f.txt")
                c = http.client.HTTPConnection("127.0.0.1", hport, timeout=20)
                plan = [(None, 200, b"one\n"),
                        ("echo second > /www/f.txt", 200, b"second\n"),  # same file, rewritten
                        ("echo third > /www/g.txt", 200, b"second\n"),
                        ("mv /www/g.txt /www/f.txt", 200, b"third\n"),   # another file
                        ("rm /www/f.txt", 404, None)]
                for cmd, status, body in plan:
                    if cmd:
                        sh(cmd)
                    c.request("GET", "/f.txt")
                    r = c.getresponse()
                    data = r.read()
                    if r.status != status or (body is not None and data != body):
                        why = f"after {cmd!r}: {r.status} {data[:40]!r}"
                        break
                c.close()
            except (OSError, http.client.HTTPException) as e:
                why = f"{type(e).__name__}: {e}"
            result("fresh_files", why is None, why)

        why = None
        try:
            for what, req, status in (
                    ("long request line", b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n", b"400"),
                    ("long header", b"GET / HTTP/1.1\r\nX-Long: " + b"b" * 5000 + b"\r\n\r\n",
                     b"431")):
                s = connect(hport)
                s.sendall(req)
                got = recv_to_end(s)      # the answer, then the close
                s.close()
                if not got.startswith(b"HTTP/1.1 " + status + b" "):
                    why = f"{what}: {got[:40]!r}"
                    break
        except OSError as e:
            why = f"{type(e).__name__}: {e}"
        result("too_long", why is None, why)

        why = None
        try:
            slow = connect(hport)
            slow.sendall(b"GET / HT")
            t0 = time.time()
            got = curl("/")
            if got != BUILTIN_PAGE or time.time() - t0 > 2.5:
                why = f"curl behind a slow client took {time.time() - t0:.1f} s"
            slow.settimeout(10)
            if why is None and slow.recv(100) != b"":
                why = "the slow client got an answer"
            if why is None and time.time() - t0 > 8:
                why = "the idle limit of 3 s was not kept"
            slow.close()
        except OSError as e:
            why = f"{type(e).__name__}: {e}"
        result("slow_client", why is None, why)

        why = None
        t0, t_open = time.time(), 0.0
        try:
            pats = [bytes((i * 31 + j * 7 + (j >> 8)) & 0xff for j in range(10240))
                    for i in range(opt.conns)]
            socks = []
            for i, p in enumerate(pats):
                # Each connection's first byte comes back before the next
                # opens: QEMU's slirp listens with a backlog of 1, and a
                # host connect it has not accepted yet sits in the host's
                # queue, its data retransmitted after seconds.
                s = connect(eport, 30)
                socks.append(s)
                s.sendall(p[:1])
                if s.recv(1) != p[:1]:
                    raise OSError(f"connection {i}: no first byte back")
            t_open = time.time() - t0
            # All of them open, the data goes 100 connections at a time:
            # 1,000 at once would put megabytes in flight towards the
            # guest's 32 receive buffers, and slirp's backed-off
            # retransmissions (its own TCP) would take longer than the
            # timeout.  Every connection stays open until the end.
            for b in range(0, len(socks), 100):
                for s, p in zip(socks[b:b + 100], pats[b:b + 100]):
                    s.sendall(p[1:])
                for i in range(b, min(b + 100, len(socks))):
                    s, p = socks[i], pats[i]
                    got = p[:1] + recv_exact(s, len(p) - 1)
                    if got != p:
                        at = next((k for k in range(min(len(got), len(p))) if got[k] != p[k]),
                                  min(len(got), len(p)))
                        why = (f"connection {i}: {len(got)} of {len(p)} bytes came back, "
                               f"the first wrong at {at}, after {time.time() - t0:.1f} s")
                        break
                if why is not None:
                    break
            for s in socks:
                s.close()
        except OSError as e:
            why = f"{type(e).__name__}: {e}"
        if why is not None:
            sh("kstat")         # the kernel's counters, for the log
        result("echo_conns", why is None, why)
        print(f"nettest echo_conns: {opt.conns} connections open at once, "
              f"{opt.conns * 10240} bytes echoed, in {time.time() - t0:.1f} s "
              f"({t_open:.1f} s opening them)")

        why = None
        t0 = time.time()
        try:
            for i in range(opt.cycles):
                s = connect(eport)
                s.sendall(bytes([i & 0xff]))
                if s.recv(1) != bytes([i & 0xff]):
                    why = f"cycle {i}: no echo"
                    break
                s.close()
        except OSError as e:
            why = f"cycle {i}: {type(e).__name__}: {e}"
        print(f"nettest churn: {opt.cycles} cycles in {time.time() - t0:.1f} s")
        if why is None:
            end = time.time() + 20
            while True:
                conns, files = kstat("tcp_conns"), kstat("sock_files")
                if (conns, files) == (conns0, files0) or time.time() > end:
                    break
                time.sleep(1)
            if (conns, files) != (conns0, files0):
                why = (f"tcp_conns {conns0} -> {conns}, sock_files {files0} -> {files} "
                       f"after {opt.cycles} cycles")
        result("churn", why is None, why)

        # A client that reuses its port at once: httpd closed first, so the
        # guest holds the old connection in TIME_WAIT (2 s), and QEMU
        # connects from the host client's port.  The new SYN must open a
        # new connection at once (RFC 1122 4.2.2.13); a challenge ACK
        # instead draws QEMU's RST, and QEMU under -icount may not send
        # its SYN again for many seconds.
        why = None
        try:
            port = None
            for i in range(2):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port or 0))
                port = s.getsockname()[1]
                s.settimeout(5)
                s.connect(("127.0.0.1", hport))
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                got = recv_to_end(s)
                s.close()
                if not got.startswith(b"HTTP/1.1 200"):
                    why = f"connection {i + 1} from port {port}: {got[:40]!r}"
                    break
        except OSError as e:
            why = f"connection {i + 1} from port {port}: {type(e).__name__}: {e}"
        result("port_reuse", why is None, why)

        # echod's idle limit counts from the last byte received: restarted
        # with a 1 s limit, a client that sends a byte every 0.4 s for 2 s
        # keeps its connection (the limit moves with each byte), and once
        # it stops, echod closes the connection about 1 s later.
        why = None
        try:
            job = re.search(r"\[(\d+)\] echod 7 60", sh("jobs"))
            if not job:
                why = "no echod job to restart"
            else:
                # kill returns before echod has exited, and until it has,
                # its listener holds port 7.  sh reports a background job
                # when it next waits for a foreground one: run `echo` until
                # the report comes.
                mark = len(out)
                sh(f"kill -{job.group(1)}")
                gone = f"[{job.group(1)}] echod 7 60: killed".encode()
                end = time.time() + 10
                while gone not in out[mark:] and time.time() < end:
                    sh("echo waiting")
                if gone not in out[mark:]:
                    raise OSError("the killed echod was never reported gone")
                if "echod: listening" not in sh("echod 7 1 &", b"echod: listening"):
                    raise OSError("echod 7 1 did not start: " + out[mark:].decode(errors="replace"))
                s = connect(eport)
                for i in range(5):
                    s.sendall(b"i")
                    if s.recv(1) != b"i":
                        why = f"byte {i}: no echo"
                        break
                    time.sleep(0.4)
                t0 = time.time()
                if why is None:
                    s.settimeout(10)
                    if s.recv(1) != b"":
                        why = "echod sent data instead of closing"
                    elif not 0.5 < time.time() - t0 < 4:
                        why = f"closed {time.time() - t0:.1f} s after the last byte, not about 1 s"
                s.close()
        except OSError as e:
            why = f"{type(e).__name__}: {e}"
        result("echo_idle", why is None, why)

        # nc: "echo hi | nc 10.0.2.100 1234" sends the line; the host
        # answers; nc prints the answer.  (A guestfwd carries no end of
        # stream either way, so Ctrl-C ends nc; last, as its connection
        # may linger in the kernel a while.)
        mark = len(out)
        qemu.stdin.write(b"echo hi from the guest | nc 10.0.2.100 1234\n")
        qemu.stdin.flush()
        why = None
        try:
            got = recv_exact(nch, 18)    # a guestfwd carries no end of stream
            if got != b"hi from the guest\n":
                why = f"the host got {got!r}"
            nch.sendall(b"hello from the host\n")
            nch.close()
        except OSError as e:
            why = f"{type(e).__name__}: {e}"
        if not read_until(b"hello from the host", 20, mark) and why is None:
            why = "nc did not print the answer: " + out[mark:].decode(errors="replace")
        qemu.stdin.write(b"\x03")
        qemu.stdin.flush()
        if not read_until(b"\n$ ", 10, mark) and why is None:
            why = "Ctrl-C did not end nc"
        result("nc", why is None, why)
    finally:
        ncl.close()
        stop(qemu)
        if disk:
            os.unlink(disk)
    return out


def tcp_loss():
    """TCP through the lossy link: httpd serves two programs of the disk
    (/bin/usertests and /bin/fstests, about 240 KiB) to curl, byte-exact, and the guest's retransmissions (kstat)
    recover what the injector dropped on the way out."""
    global qemu, out
    hport = free_port(socket.SOCK_STREAM)
    disk = image_copy()
    # net_seed=2 lets the first frames each way through (rx 0..8, tx 0..5:
    # no drop, duplicate or hold), so the one handshake is clean; the losses
    # all fall on the data.  Only one connection: a SYN,ACK that reaches
    # slirp twice (duplicated, held, or answering a retransmitted SYN) after
    # slirp has sent the request makes slirp lose the request for good when
    # the injector dropped it (the second one's MSS option does it: one
    # without the option does not), and the fetch waits for httpd's idle
    # limit: docs/net.md, "Tests".
    qemu = tcp_boot(f"init=sh net_drop=10 net_seed={opt.loss_seed}", hport,
                    free_port(socket.SOCK_STREAM), disk)
    out = b""
    why = None
    t0 = time.time()
    try:
        if not disk:
            why = "no --image: nothing to serve"
        elif not read_until(b"\n$ ", 60):
            why = "no shell prompt"
        elif b"loss injection on" not in out:
            why = "no boot line for net_drop=10"
        else:
            sh("httpd 80 /bin 60 &", b"httpd: listening")
            r0 = kstat("tcp_retransmits")
            t0, nbytes = time.time(), 0
            names = ("usertests", "fstests")
            with tempfile.TemporaryDirectory() as tmp:
                cmd = ["curl", "-s", "--max-time", "60", "-w", "%{num_connects}\n"]
                for name in names:
                    cmd += [f"http://127.0.0.1:{hport}/{name}", "-o", os.path.join(tmp, name)]
                r = subprocess.run(cmd, capture_output=True)
                for name in names:
                    want = open(os.path.join(os.path.dirname(opt.kernel), "user", "stripped",
                                             name + ".elf"), "rb").read()
                    path = os.path.join(tmp, name)
                    got = open(path, "rb").read() if os.path.exists(path) else b""
                    nbytes += len(got)
                    if got != want:
                        at = next((k for k in range(min(len(got), len(want)))
                                   if got[k] != want[k]), min(len(got), len(want)))
                        why = (f"/{name}: {len(got)} of {len(want)} bytes, the first wrong at "
                               f"{at} (curl status {r.returncode})")
                        break
            connects = r.stdout.decode(errors="replace").split()
            if why is None and connects != ["1", "0"]:
                why = f"curl's new connections per fetch: {connects}, not one in all"
            secs = time.time() - t0
            r1, f1 = kstat("tcp_retransmits"), kstat("tcp_fast_retransmits")
            print(f"nettest tcp_loss: {nbytes} bytes served in {secs:.1f} s, "
                  f"{(r1 or 0) - (r0 or 0)} retransmissions ({f1} fast)")
            if why is None and not (r0 is not None and r1 is not None and r1 > r0):
                why = f"tcp_retransmits {r0} -> {r1}: the guest never retransmitted"
    except OSError as e:
        why = f"{type(e).__name__}: {e}"
    finally:
        stop(qemu)
        if disk:
            os.unlink(disk)
    result("tcp_loss", why is None, why)
    return out


logs = []
if opt.only == "tcp_loss":      # make net-loss
    logs.append(tcp_loss())
else:
    if opt.only != "tcp":
        logs.append(udp_tests())
        logs.append(loss_tests())
    logs.append(tcp_calls())
    logs.append(tcp_servers())
    if opt.only != "tcp":
        logs.append(tcp_loss())
out = b"\n".join(logs)

if opt.log:
    os.makedirs(os.path.dirname(opt.log), exist_ok=True)
    with open(opt.log, "wb") as f:
        f.write(out)
if failed:
    print("nettest: the guests' consoles:")
    print(indent(out.decode(errors="replace")))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
