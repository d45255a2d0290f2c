#!/usr/bin/env python3
"""shtest: script the shell (user/sh.c) through the console of a booted kernel.

usage: scripts/shtest.py --arch A [--smp N] [--only NAME,...] [--image FS.img] KERNEL.elf

Boots the default system (init -> sh) with the console on a pipe, types
command lines and control keys as a person would (each only after the
shell's prompt), and checks what comes back.  Each check prints
"test NAME: OK" or "test NAME: FAILED (why)"; the last line is
"N passed, N failed".

Time: nothing here is measured on the host's clock.  Host time limits
only bound how long we wait for output that should come (scaled by
TIME_SCALE); the 200 ms limit of Ctrl-C is measured in the guest: the
kernel records when the Ctrl-C key arrived and when the shell next took
the console back (setfg(0), after it reaped every process of the job),
and `kstat` prints both (PX_KSTAT_CTRLC_NS, PX_KSTAT_CTRLC_BACK_NS).

After a failed check the system may be in any state, so the next check
boots a fresh kernel.

Disk: with --image, every boot gets a fresh copy of that file-system
image (made by mkfs: /bin holds the programs) as its disk, so the
checks of files and redirection start from the same tree; without it
they are skipped (the kernel then runs from its archive).
"""
import argparse
import os
import re
import shutil
import sys
import time

from qemu_guest import SCALE, Failed, Guest, check

PROMPT = "\n$ "
CTRL_C, CTRL_T = "\x03", "\x14"
INTR_LIMIT_NS = 200_000_000
TICK = r"(?:tick \d+ s\n)*"     # a background clock's line


class Console(Guest):
    """A booted kernel: its console output so far, and a way to type."""

    def __init__(self, arch, smp, kernel, disk=None):
        disk_args = ["--disk", disk] if disk else []
        super().__init__(["--arch", arch, "--smp", str(smp), "--timeout", str(int(600 * SCALE)),
                          "--input", "/dev/stdin"] + disk_args + [kernel])
        self.ticks = False      # a background clock runs: its lines may come anywhere
        self.echo_at = 0        # where run() found its line's echo

    def expect(self, what, start, secs=20):
        """Wait for `what` (a string or a compiled regex) at or after
        offset start; the offset just after it.  Raises Failed."""
        return self.expect_span(what, start, secs)[1]

    def expect_span(self, what, start, secs=20):
        """expect, returning where the match starts and ends."""
        if isinstance(what, str):
            def find(text):
                i = text.find(what, start)
                return (i, i + len(what)) if i >= 0 else None
        else:
            def find(text):
                m = what.search(text, start)
                return (m.start(), m.end()) if m else None
        span = self.wait_until(find, secs)
        if span is None:
            why = "QEMU exited" if self.eof else "no output for %gs" % (secs * SCALE)
            raise Failed("waited for %r: %s; console ends with %r"
                         % (what if isinstance(what, str) else what.pattern, why,
                            self.text[-300:]))
        return span

    def run(self, line, secs=20):
        """Type line at the prompt; the lines it printed before the next prompt.
        With a background clock running (self.ticks), its lines may come
        between the echoed characters (the echo is written a key at a
        time) and among the output: they are left out."""
        m = self.mark()
        self.send(line + "\r")
        what = line + "\n"
        if self.ticks:
            what = re.compile(TICK.join(re.escape(c) for c in what))
        self.echo_at, echoed = self.expect_span(what, m, secs)
        end = self.expect(PROMPT, echoed - 1, secs)
        out = self.text[echoed:end - len(PROMPT) + 1]
        if self.ticks:
            out = re.sub(TICK, "", out)
        return out.splitlines()

    def close(self):
        self.kill()


def kstat(con):
    out = con.run("kstat")
    vals = {}
    for l in out:
        f = l.split()
        if len(f) == 2 and re.fullmatch(r"-?\d+", f[1]):
            vals[f[0]] = int(f[1])
    check("spawns" in vals and "ctrlc" in vals, "kstat printed %r" % out)
    return vals


# ---- the checks: each gets a console at the shell's prompt -----------------

def t_ctrl_t(con, smp):
    """Ctrl-T in the default boot prints the kernel's task table."""
    m = con.mark()
    con.send(CTRL_T)
    end = con.expect(re.compile(r"^hart %d: .*ipi \d+\n" % (smp - 1), re.M), m)
    table = con.text[m:end]
    check(re.search(r"^task\s+state", table, re.M), "no table header in %r" % table)
    check(re.search(r"^ctrl-t\s", table, re.M), "no ctrl-t task in %r" % table)
    check(re.search(r"^sh\s", table, re.M), "no sh process in %r" % table)
    # Per-hart interrupt counts; with several harts the console's
    # interrupts go to a hart other than 0 (docs/kernel.md, "Device
    # interrupts"), and typing has made some.
    dev = {int(h): int(d) for h, d in
           re.findall(r"^hart (\d+):.*interrupts taken: device (\d+), timer \d+, ipi \d+$",
                      table, re.M)}
    check(len(dev) == smp, "per-hart interrupt counts missing: %r" % table)
    others = sum(d for h, d in dev.items() if h != 0)
    if smp > 1:
        check(others > 0, "no hart but 0 took a device interrupt: %r" % dev)
    else:
        check(dev[0] > 0, "device interrupts by hart: %r" % dev)
    check(con.run("echo still") == ["still"], "the shell did not answer after Ctrl-T")


def t_pipeline(con, smp):
    """echo a b | cat | cat prints a b."""
    out = con.run("echo a b | cat | cat")
    check(out == ["a b"], "printed %r" % out)
    # a shell reading a pipe: the same, and no prompt
    out = con.run("echo 'echo c d | cat; echo e' | sh")
    check(out == ["c d", "e"], "sh from a pipe printed %r" % out)


def t_pipe_64k(con, smp):
    """64 KiB through a 4-stage pipeline, byte-exact."""
    out = con.run("pattern gen 65536 | cat | cat | pattern check 65536", 60)
    check(out == ["pattern: 65536 bytes OK"], "printed %r" % out)
    # and the check itself notices damage: one byte short
    out = con.run("pattern gen 65535 | cat | pattern check 65536", 60)
    check(out == ["pattern: 65535 bytes, expected 65536", "pattern: exit status 1"],
          "a short stream gave %r" % out)
    # A reader that stops early: the writer gets EPIPE and ends too (no
    # stage holds a read end of its own output pipe).
    out = con.run("pattern gen 1000000 | pattern check 10", 60)
    check(out == ["pattern: more than 10 bytes", "pattern: exit status 1"],
          "a reader that stopped early gave %r" % out)


def t_quoting(con, smp):
    """Quotes and backslashes keep spaces and operators."""
    out = con.run("echo 'a  b'")
    check(out == ["a  b"], "echo 'a  b' printed %r" % out)
    out = con.run("echo \"x | y;\"  z\\ \\ w 'q'\"r\"s \"a\\\"b\\\\\"")
    check(out == ['x | y; z  w qrs a"b\\'], "printed %r" % out)
    out = con.run("echo '' x")
    check(out == [" x"], "an empty quoted word printed %r" % out)


def t_exit_status(con, smp):
    """exit 3 in a nested sh: the outer one reports status 3."""
    out = con.run("sh")
    check(out == [], "starting sh printed %r" % out)
    out = con.run("exit 3")
    check(out == ["sh: exit status 3"], "exit 3 gave %r" % out)
    out = con.run("sh")
    out = con.run("exit")
    check(out == [], "exit gave %r" % out)


def t_errors(con, smp):
    """Syntax errors, unknown programs, misplaced builtins: a message
    each, and no process started for any of them."""
    before = kstat(con)["spawns"]
    cases = [
        ("echo x |", "sh: syntax error near '|'"),
        ("| echo x", "sh: syntax error near '|'"),
        ("echo x ;; echo y", "sh: syntax error near ';'"),
        ("echo x | ; echo y", "sh: syntax error near ';'"),
        ("echo x > | cat", "sh: syntax error near '|'"),
        ("echo 'x y", "sh: syntax error: unterminated quote: 'x y"),
        ("echo x\\", "sh: syntax error: '\\' at the end of the line"),
        ("nosuch arg", "sh: nosuch: not found"),
        ("echo x > f >", "sh: syntax error near '>'"),
        ("cat <", "sh: syntax error near '<'"),
        ("pwd > f", "sh: pwd: a builtin runs alone, not in a pipeline, the background "
                    "or with redirection"),
    ]
    for line, msg in cases:
        out = con.run(line)
        check(out == [msg], "%r printed %r, expected %r" % (line, out, msg))
    after = kstat(con)["spawns"]
    check(after == before + 1, "%d processes started in between (kstat itself: 1)"
          % (after - before))
    out = con.run("help")
    for word in ("exit", "help", "jobs", "|", ";", "&"):
        check(any(l.lstrip().startswith(word) or (" %s " % word) in l for l in out),
              "help does not mention %r: %r" % (word, out))


def t_long_line(con, smp):
    """A console line longer than the line buffer (255 bytes) is never cut
    silently: sh reports it as too long, and cat gets every byte."""
    line = "echo " + "a" * 295
    out = con.run(line)
    check(out == ["sh: line too long (max 255 bytes)"], "a 300-byte line gave %r"
          % [l[:60] + ("..." if len(l) > 60 else "") for l in out])
    out = con.run("echo short")
    check(out == ["short"], "the next line gave %r" % out)
    m = con.mark()
    con.send("cat\r")
    con.expect("cat\n", m)
    text = "".join(chr(ord("A") + i % 26) for i in range(600))
    m = con.mark()
    con.send(text + "\r")
    # The echo of the typed line and cat's copy of each 255-byte piece
    # interleave; together they hold every typed byte twice.
    # Two newlines: the echo's and the one ending cat's last piece.
    con.expect(re.compile(r"\n[A-Z]*\n"), m)
    con.send("\x04")
    end = con.expect(PROMPT, m)
    got = con.text[m:end - len(PROMPT)].replace("\n", "")
    check(len(got) == 2 * len(text) and
          all(got.count(ch) == 2 * text.count(ch) for ch in set(text)),
          "typed 600 bytes to cat; echo and cat together gave %d" % len(got))


def interrupt(con, line, ready, smp):
    """Start line in the foreground, wait for `ready`, press Ctrl-C: the
    prompt must come back once, `echo after` must work, and the guest must
    have taken under 200 ms from the key to the shell's taking the console
    back."""
    n0 = kstat(con)["ctrlc"]
    m = con.mark()
    con.send(line + "\r")
    con.expect(ready, m, 30)
    m = con.mark()
    con.send(CTRL_C)
    con.expect(PROMPT, con.expect("^C\n", m) - 1)
    out = con.run("echo after")
    # A stored ^C would end the shell's next read at once: a second
    # prompt before the echo of the line typed after the first.
    seg = con.text[m:con.echo_at]
    check(seg.count("$ ") == 1, "after Ctrl-C %d prompts instead of 1: %r"
          % (seg.count("$ "), seg))
    check(out == ["after"], "echo after printed %r" % out)
    k = kstat(con)
    check(k["ctrlc"] == n0 + 1, "Ctrl-C count went %d -> %d" % (n0, k["ctrlc"]))
    took = k["ctrlc_back_ns"] - k["ctrlc_ns"]
    check(k["ctrlc_ns"] > 0 and 0 < took < INTR_LIMIT_NS,
          "guest time from Ctrl-C to the prompt: %d ns (ctrlc_ns %d, ctrlc_back_ns %d)"
          % (took, k["ctrlc_ns"], k["ctrlc_back_ns"]))
    print("  %s: Ctrl-C to prompt %.3f ms guest time" % (line, took / 1e6))
    return m


def t_intr_clock(con, smp):
    """Ctrl-C stops clock 100 (waiting in ring_enter between ticks)."""
    m = interrupt(con, "clock 100", "tick 1 s\n", smp)
    check("tick 2 s" not in con.text[m:], "the clock kept ticking")


def t_intr_spin(con, smp):
    """Ctrl-C stops a pipeline of three busy loops that make no syscall."""
    interrupt(con, "spin | spin | spin", "spin: spinning\n", smp)


def t_intr_ring(con, smp):
    """Ctrl-C stops a program parked in ring_enter with no timeout."""
    interrupt(con, "spin ring", "spin: waiting in ring_enter\n", smp)


def t_intr_background(con, smp):
    """Ctrl-C spares a background job: its clock keeps ticking."""
    m = con.mark()
    out = con.run("clock 100 &")
    check(len(out) == 1 and re.fullmatch(r"\[\d+\]", out[0]), "clock 100 & printed %r" % out)
    job = out[0][1:-1]
    con.ticks = True
    con.expect("tick 1 s\n", m, 30)
    m = interrupt(con, "spin", "spin: spinning\n", smp)
    last = max(int(t) for t in re.findall(r"tick (\d+) s", con.text))
    con.expect("tick %d s\n" % (last + 1), m, 30)
    check(not re.search(r"\[%s\] clock 100: " % job, con.text[m:]),
          "the background job ended: %r" % con.text[m:])
    # kill returns once the group is marked killed; each process ends when
    # its hart next reaches it, and sh reports a background job only when
    # it next waits for a foreground one.  So the report may come after
    # kill's own line or after a later command's: run `echo done` until it
    # has, but no more than a handful of times.
    out = con.run("kill -%s" % job)
    for _ in range(10):
        if "[%s] clock 100: killed" % job in out:
            break
        out += con.run("echo done")
    check("[%s] clock 100: killed" % job in out, "kill -%s gave %r" % (job, out))
    check(out.count("[%s] clock 100: killed" % job) == 1, "reported twice: %r" % out)


def t_intr_prompt(con, smp):
    """Ctrl-C at the prompt: the line typed so far is dropped, a new prompt."""
    m = con.mark()
    con.send("echo abc")
    con.expect("echo abc", m)
    con.send(CTRL_C)
    con.expect("echo abc^C" + PROMPT, m)
    m = con.mark()
    con.send(CTRL_C)
    con.expect("^C" + PROMPT, m)
    out = con.run("echo after")
    check(out == ["after"], "echo after printed %r" % out)


# ---- files and redirection (need --image) ----------------------------------

def t_redirect(con, smp):
    """> creates and truncates, >> appends, < reads, 2> takes errors; with
    pipelines and in the background."""
    def expect(line, want):
        out = con.run(line)
        check(out == want, "%r printed %r, expected %r" % (line, out, want))

    expect("echo hi > note", [])
    expect("cat note", ["hi"])
    expect("echo there >> note", [])
    expect("cat note", ["hi", "there"])
    expect("echo new > note; cat note", ["new"])
    expect("cat < note", ["new"])
    expect("wc < note", ["      1       1        4"])
    expect(">> note echo more", [])
    expect("cat note", ["new", "more"])
    # a pipeline: < on the first stage, > on the last
    expect("cat < note | grep more | cat > picked", [])
    expect("cat picked", ["more"])
    # a redirection wins over the pipe: the next stage reads end-of-file
    expect("echo a > first | wc", ["      0       0        0"])
    expect("cat first", ["a"])
    # 2>: errors to a file, the output still to the console
    expect("cat note nosuch 2> errs", ["new", "more", "cat: exit status 1"])
    expect("cat errs", ["cat: nosuch: no such file"])
    expect("cat nosuch", ["cat: nosuch: no such file", "cat: exit status 1"])
    expect("cat nosuch > out 2> errs; cat errs out",
           ["cat: exit status 1", "cat: nosuch: no such file"])
    # 2>>: errors appended
    expect("cat nosuch2 2>> errs", ["cat: exit status 1"])
    expect("cat errs", ["cat: nosuch: no such file", "cat: nosuch2: no such file"])
    # in the background: the job writes its file, sh goes on
    out = con.run("pattern gen 300000 > bg &")
    check(len(out) == 1 and re.fullmatch(r"\[\d+\]", out[0]), "& printed %r" % out)
    job = out[0][1:-1]
    limit = time.monotonic() + 30 * SCALE
    while True:
        out = [l for l in con.run("pattern check 300000 < bg")
               if not l.startswith("[%s]" % job)]
        if out == ["pattern: 300000 bytes OK"]:
            break
        check(time.monotonic() < limit, "the background job's file: %r" % out)
        time.sleep(0.2)


def t_redirect_errors(con, smp):
    """A redirection that cannot be opened: one message, nothing starts."""
    before = kstat(con)["spawns"]
    cases = [
        ("cat < nosuch", "sh: nosuch: no such file"),
        ("echo x > nodir/f", "sh: nodir/f: no such file"),
        ("echo x > /bin", "sh: /bin: is a directory"),
        ("cat < /bin", "sh: /bin: is a directory"),
        ("echo x 2> /bin | cat", "sh: /bin: is a directory"),
        ("echo x >> /home/readme.txt/x", "sh: /home/readme.txt/x: not a directory"),
    ]
    for line, msg in cases:
        out = con.run(line)
        check(out == [msg], "%r printed %r, expected %r" % (line, out, msg))
    after = kstat(con)["spawns"]
    check(after == before + 1, "%d processes started in between (kstat itself: 1)"
          % (after - before))
    out = con.run("cat nodir/f")
    check(out == ["cat: nodir/f: no such file", "cat: exit status 1"],
          "the failed > created something: %r" % out)


def t_files(con, smp):
    """The file programs, through the shell: mkdir, touch, ls, cp, mv, wc,
    grep, stat, rm, df, cd/pwd, and their errors."""
    def expect(line, want):
        out = con.run(line, 60)
        if hasattr(want, "match"):
            check(all(want.match(l) for l in out) and out, "%r printed %r" % (line, out))
        else:
            check(out == want, "%r printed %r, expected %r" % (line, out, want))

    expect("mkdir d d/e", [])
    expect("mkdir d", ["mkdir: d: file exists", "mkdir: exit status 1"])
    expect("touch d/a", [])
    expect("echo one two > d/b; echo three >> d/b", [])
    expect("ls d", ["%-24s %-4s %10d" % (n, t, z) for n, t, z in
                    [(".", "dir", 4096), ("..", "dir", 4096), ("e", "dir", 4096),
                     ("a", "file", 0), ("b", "file", 14)]])
    expect("ls -l d", ["d   3       4096 .", "d   5       4096 ..", "d   2       4096 e",
                       "-   1          0 a", "-   1         14 b"])
    expect("wc d/b d/a", ["      2       3       14 d/b", "      0       0        0 d/a",
                          "      2       3       14 total"])
    expect("grep thr d/b", ["three"])
    expect("grep -c o d/b d/a", ["d/b:1", "d/a:0"])
    expect("grep nothing d/b", ["grep: exit status 1"])
    expect("cp d/b d/c; cat d/c", ["one two", "three"])
    expect("cp -s d/b d/e; cat d/e/b", ["one two", "three"])
    expect("mv d/c d/e/c2; ls d/e", ["%-24s %-4s %10d" % (n, t, z) for n, t, z in
                                     [(".", "dir", 4096), ("..", "dir", 4096),
                                      ("b", "file", 14), ("c2", "file", 14)]])
    expect("mv d/nosuch d/e", ["mv: d/nosuch: no such file", "mv: exit status 1"])
    expect("stat d/b", re.compile(r"d/b: regular file, 14 bytes, inode \d+, 1 link, 1 block$"))
    expect("stat d", re.compile(r"d: directory, 4096 bytes, inode \d+, 3 links, 1 block$"))
    expect("cd d/e; pwd; cat c2; cd /; pwd", ["/d/e", "one two", "three", "/"])
    expect("cd nosuch", ["sh: cd: nosuch: no such file"])
    expect("rm d", ["rm: d: is a directory (rm -r removes it)", "rm: exit status 1"])
    expect("rm d/nosuch", ["rm: d/nosuch: no such file", "rm: exit status 1"])
    expect("cat d", ["cat: d: is a directory", "cat: exit status 1"])
    expect("rm -r d; ls d", ["ls: d: no such file", "ls: exit status 1"])
    out = con.run("df")
    check(len(out) == 2 and out[0].split() == ["KiB", "used", "free", "inodes", "ifree"]
          and len(out[1].split()) == 5, "df printed %r" % out)
    expect("sync", [])
    expect("ls /bin", re.compile(r"\S+\s+(dir|file)\s+\d+$"))
    expect("/bin/echo by path", ["by path"])


def t_reboot(con, smp, args):
    """What was written survives a reboot on the same disk, byte-exact."""
    out = con.run("echo hi > note; pattern gen 100000 > pat; cat note")
    check(out == ["hi"], "before the reboot: %r" % out)
    con.close()
    con = Console(args.arch, args.smp, args.kernel, args.disk)
    try:
        con.expect(PROMPT, 0, 60)
        out = con.run("cat note; pattern check 100000 < pat")
        check(out == ["hi", "pattern: 100000 bytes OK"], "after the reboot: %r" % out)
    finally:
        con.close()


TESTS = [t_ctrl_t, t_pipeline, t_pipe_64k, t_quoting, t_exit_status, t_errors, t_long_line,
         t_intr_prompt, t_intr_clock, t_intr_spin, t_intr_ring, t_intr_background]
# Checks that need a disk (--image); t_reboot ends its console itself.
DISK_TESTS = [t_redirect, t_redirect_errors, t_files, t_reboot]


def boot(args):
    if args.image:
        shutil.copyfile(args.image, args.disk)
    con = Console(args.arch, args.smp, args.kernel, args.disk)
    con.expect(PROMPT, 0, 60)
    return con


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="riscv64")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--only", default="")
    ap.add_argument("--log")
    ap.add_argument("--image", help="file-system image: each boot gets a fresh copy")
    ap.add_argument("kernel")
    args = ap.parse_args()
    args.disk = None
    if args.image:
        args.disk = os.path.join(os.path.dirname(args.log or args.kernel) or ".",
                                 "shtest-disk-smp%d.img" % args.smp)
        os.makedirs(os.path.dirname(args.disk) or ".", exist_ok=True)
    only = [t for t in args.only.split(",") if t]
    tests = TESTS + (DISK_TESTS if args.image else [])
    tests = [t for t in tests if not only or t.__name__[2:] in only]

    passed = failed = 0
    con = None
    log = []
    for t in tests:
        name = t.__name__[2:]
        try:
            if con is None:
                con = boot(args)
            if t is t_reboot:
                c, con = con, None
                t(c, args.smp, args)
            else:
                t(con, args.smp)
            print("test %s: OK" % name)
            passed += 1
        except Failed as e:
            print("test %s: FAILED (%s)" % (name, e))
            failed += 1
            if con:
                log.append(con.text)
                con.close()
                con = None
        sys.stdout.flush()
    if con:
        log.append(con.text)
        con.close()
    if args.log:
        os.makedirs(os.path.dirname(args.log) or ".", exist_ok=True)
        with open(args.log, "w") as f:
            f.write("\n==== next boot ====\n".join(log))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
