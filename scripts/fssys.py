#!/usr/bin/env python3
"""fssys: file-system tests that reboot, cut the power or run many processes.

usage: scripts/fssys.py --arch A [--smp N] --image BASE.img --fsck FSCK
                         [--kills N] [--seed S] [--only NAME,...] KERNEL.elf

Each test boots the kernel with user/fssys.c as process 1
(init=fssys initargs=MODE,...) on a copy of BASE.img (made by mkfs) and
reads what it prints.  After each boot, the host's fsck must pass on
the image.  Prints "test NAME: OK" or "test NAME: FAILED (why)" per
test, then "N passed, N failed".  Each test's image and the consoles of
its boots (kernel messages included) are left in the kernel's logs
directory: NAME-smpN.img and NAME-smpN.log.

  persist   write files of many sizes; reboot: byte-exact, then change
            the tree (unlink, truncate + rename, append); reboot: the
            changed tree, byte-exact
  crash     --kills times: boot the workload of fssys crash and kill
            QEMU (SIGKILL: a power cut) at a random instant; fsck the
            image as it is; the next boot lists the cut directory, which
            must equal the workload's tree after some step at or after
            the last step it reported done (this script runs the same
            deterministic workload to know every such tree)
  conc      8 processes create, write, read back, append to a shared log
            and delete in the same and in their own directories
  fill      fill the disk to ENOSPC, free everything, use it again
  big       a 64 MiB file; a directory of 2,000 entries
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time

import qemu_guest
from qemu_guest import SCALE, Failed, check


class Guest(qemu_guest.Guest):
    """One boot: fssys as process 1 on disk, its console collected."""

    def __init__(self, args, disk, initargs, secs):
        super().__init__(["--arch", args.arch, "--smp", str(args.smp),
                          "--timeout", str(int(secs * SCALE)), "--disk", disk, "--mem", args.mem,
                          "--append", "init=fssys initargs=" + ",".join(initargs), args.kernel],
                         stdin=subprocess.DEVNULL, chunk=65536)

    def expect(self, pattern, secs):
        """Wait for regex pattern in the output; the match."""
        m = self.wait_until(re.compile(pattern, re.M).search, secs)
        if m is None:
            raise Failed("waited for %r: %s; output ends %r" % (
                pattern, "QEMU exited" if self.eof else "time limit", self.text[-600:]))
        return m

    def finish(self, secs):
        """Wait for QEMU to exit; its status (process 1's exit status)."""
        try:
            return self.proc.wait(secs * SCALE)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failed("QEMU did not exit; output ends %r" % self.text[-600:])

    def kill(self):
        """A power cut: SIGKILL QEMU (and the script around it)."""
        super().kill()
        with self.cond:
            while not self.eof:
                self.cond.wait(1)


def fsck(args, disk):
    """fsck the image; (clean?, its output)."""
    r = subprocess.run([args.fsck, disk], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode == 0, r.stdout.decode("utf-8", "replace")


def run_mode(args, disk, initargs, secs, name):
    g = Guest(args, disk, initargs, secs)
    try:
        status = g.finish(secs + 30)
    finally:
        # The whole console, kernel messages included, beside the image.
        with open(disk[:-4] + ".log", "a") as f:
            f.write("==== fssys %s\n%s\n" % (" ".join(initargs), g.text))
    out = g.text
    check(re.search(r"^fssys %s: OK$" % name, out, re.M) and status == 0,
          "fssys %s: exit status %d; output ends %r" % (" ".join(initargs), status, out[-1500:]))
    ok, fout = fsck(args, disk)
    check(ok, "fsck after fssys %s: %s" % (" ".join(initargs), fout))
    return out


def disk_path(args, name):
    """This test's image path; its console log beside it starts empty
    (run_mode appends each boot's)."""
    disk = os.path.join(args.workdir, "%s-smp%d.img" % (name, args.smp))
    open(disk[:-4] + ".log", "w").close()
    return disk


def fresh_disk(args, name):
    """A copy of the tests' image for this test."""
    disk = disk_path(args, name)
    shutil.copyfile(args.image, disk)
    return disk


def made_disk(args, name, size):
    """A new image of size, made by mkfs with the programs."""
    disk = disk_path(args, name)
    subprocess.run([args.mkfs, "-s", size, disk] + args.progs, check=True,
                   stdout=subprocess.DEVNULL)
    return disk


# ---- the tests ---------------------------------------------------------------

def t_persist(args):
    disk = fresh_disk(args, "persist")
    for phase in ("1", "2", "3"):
        run_mode(args, disk, ["persist", phase], 300, "persist")


def t_conc(args):
    disk = fresh_disk(args, "conc")
    out = run_mode(args, disk, ["conc", "8", str(args.rounds)], 600, "conc")
    m = re.search(r"fssys conc: (\d+) processes x (\d+) rounds, (\d+) records", out)
    check(m and int(m.group(3)) == 8 * args.rounds, "conc printed %r" % out[-600:])


def t_fill(args):
    disk = made_disk(args, "fill", "16M")
    out = run_mode(args, disk, ["fill"], 300, "fill")
    check("ENOSPC" in out, "fill printed %r" % out[-600:])


def t_big(args):
    disk = made_disk(args, "big", "96M")
    run_mode(args, disk, ["big"], 900, "big")


# ---- crash: the workload, as user/fssys.c runs it -------------------------------

MASK = (1 << 64) - 1
CRASH_FILES = 6
CRASH_MAX_WRITE = 7 * 4096
# Steps that may have completed after the last "s<step>" line the host
# saw: the console's output trails the program (the kernel's console
# buffer drains at the UART's pace), and the step in flight.
LAG = 8


def crash_bytes(n, start, length):
    return bytes(((n * 131 + j * 7 + (j >> 9)) & 0xff) for j in range(start, start + length))


def fnv(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def crash_trees(it, seed, max_steps):
    """The tree of /w<it> after each step 0..max_steps: a list of
    frozensets of (path, kind, size, hash) ("none" for step 0)."""
    d = "/w%d" % it

    def path(k):
        if k == CRASH_FILES:
            return d + "/t"
        return "%s/f%d" % (d, k) if k < 4 else "%s/s/g%d" % (d, k)

    files = {}          # path -> (bytes, fnv of them)
    dirs = set()
    trees = [None]

    def put(p, data):
        files[p] = (data, fnv(data))

    def snap():
        t = set(("dir", p) for p in dirs)
        t |= set(("file", p, len(c), h) for p, (c, h) in files.items())
        trees.append(frozenset(t))

    dirs.add(d)
    snap()
    dirs.add(d + "/s")
    snap()
    rng = seed or 1
    xdir = False
    n = 0
    while len(trees) <= max_steps:
        rng ^= rng >> 12
        rng ^= (rng << 25) & MASK
        rng ^= rng >> 27
        r = (rng * 0x2545f4914f6cdd1d) & MASK
        kind, k, k2 = r % 10, (r >> 8) % CRASH_FILES, (r >> 16) % CRASH_FILES
        length = (r >> 24) % (CRASH_MAX_WRITE + 1)
        a = path(k)
        if kind <= 3:
            t = path(CRASH_FILES)
            put(t, b"")
            snap()
            if length > 0:
                put(t, crash_bytes(n, 0, length))
                snap()
            files[a] = files.pop(t)
            snap()
        elif kind <= 5 and a in files:
            alen = length % 12289
            if alen > 0:
                old = files[a][0]
                put(a, old + crash_bytes(n, len(old), alen))
                snap()
        elif kind == 6 and a in files:
            del files[a]
            snap()
        elif kind == 7 and a in files and k != k2:
            files[path(k2)] = files.pop(a)
            snap()
        elif kind == 8 and a in files:
            old = files[a][0]
            put(a, old[:length % (len(old) + 1)])
            snap()
        elif kind == 9:
            if xdir:
                dirs.discard(d + "/x")
            else:
                dirs.add(d + "/x")
            xdir = not xdir
            snap()
        n += 1
    return trees


def parse_listing(text):
    """The L lines up to "L end": a frozenset like crash_trees', or None."""
    tree = set()
    for line in text.splitlines():
        if not line.startswith("L "):
            continue
        f = line.split()
        if f[1] == "end":
            return frozenset(tree)
        if f[1] == "none":
            return None
        if f[2] == "d":
            tree.add(("dir", f[1]))
        elif f[2] == "f":
            tree.add(("file", f[1], int(f[3]), int(f[4], 16)))
        else:
            raise Failed("listing line %r" % line)
    raise Failed("no 'L end' in the listing")


def t_crash(args):
    rnd = random.Random(args.seed)
    disk = fresh_disk(args, "crash")
    kills = args.kills
    in_commit = 0
    matched_later = 0
    max_lag = 0
    last_done = {}      # iteration -> (seed, last step printed)
    for it in range(kills + 1):
        seed = rnd.getrandbits(63) | 1
        final = it == kills
        initargs = ["list", "/w%d" % (it - 1)] if final else ["crash", str(it), str(seed)]
        g = Guest(args, disk, initargs, 300)
        got = None
        try:
            if it > 0:
                m = g.expect(r"^L end$", 120)
                got = parse_listing(g.text[:m.end() + 1])
            if final:
                check(g.finish(60) == 0, "fssys list failed: %r" % g.text[-600:])
            else:
                g.expect(r"^fssys crash: start ", 120)
                time.sleep(rnd.uniform(0, args.window))
        finally:
            if g.proc.poll() is None:
                g.kill()
        # The model's trees are computed once the guest is dead: while
        # they were computed the workload ran on, so each boot ran longer
        # than the one before and gave the next more steps to model.
        if it > 0:
            pseed, done = last_done[it - 1]
            trees = crash_trees(it - 1, pseed, done + LAG)
            ok = [k for k in range(done, len(trees)) if trees[k] == got]
            check(ok, "boot %d: /w%d after the cut matches no tree from step %d on "
                  "(the workload printed s%d last); listing %s" % (
                      it, it - 1, done, done, sorted(got) if got else got))
            if ok[0] > done:
                matched_later += 1
                max_lag = max(max_lag, ok[0] - done)
        if final:
            break
        check("FAILED" not in g.text, "boot %d: %r" % (it, g.text[-800:]))
        steps = [int(s) for s in re.findall(r"^s(\d+)$", g.text, re.M)]
        last_done[it] = (seed, max(steps) if steps else 0)
        ok, fout = fsck(args, disk)
        check(ok, "kill %d: fsck: %s" % (it + 1, fout))
        if "committed transaction" in fout:
            in_commit += 1
    print("  crash: %d kills, after %d of them the log held a committed transaction "
          "(the cut came inside a commit); %d trees were a later step than the last "
          "one printed (at most %d later); steps done per boot: %s" % (
              kills, in_commit, matched_later, max_lag,
              " ".join(str(last_done[i][1]) for i in range(kills))))


TESTS = [t_persist, t_conc, t_fill, t_big, t_crash]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="riscv64")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--mem", default="128M")
    ap.add_argument("--image", required=True, help="mkfs's image: each test copies it")
    ap.add_argument("--fsck", default="build/host/fsck")
    ap.add_argument("--mkfs", default="build/host/mkfs")
    ap.add_argument("--progs", default="", help="the programs for mkfs (fill, big)")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--window", type=float, default=1.5,
                    help="seconds after the workload starts in which the kill falls")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--only", default="")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("kernel")
    args = ap.parse_args()
    args.progs = args.progs.split()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    args.workdir = args.workdir or os.path.join(os.path.dirname(args.kernel), "logs")
    os.makedirs(args.workdir, exist_ok=True)
    only = [t for t in args.only.split(",") if t]
    tests = [t for t in TESTS if not only or t.__name__[2:] in only]
    print("fssys: seed %d (--seed %d repeats the workloads and the delays before each kill)"
          % (args.seed, args.seed))

    passed = failed = 0
    for t in tests:
        name = t.__name__[2:]
        start = time.monotonic()
        try:
            t(args)
            print("test %s: OK (%.0f s)" % (name, time.monotonic() - start))
            passed += 1
        except (Failed, subprocess.CalledProcessError) as e:
            print("test %s: FAILED (%s)" % (name, e))
            failed += 1
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
