#!/usr/bin/env python3
"""tutorial_check: every block of docs/tutorial.md is the tree's own code, and still runs as shown.

usage: scripts/tutorial_check.py [--arch A] [DOC]

The tutorial marks each fenced block with an HTML comment on the line
before it:
  <!-- file: user/NAME.c -->      a C block: a piece of that file.  The
        file's blocks, in order, must be the whole file (only blank
        lines between them): then what the reader copies is what make
        builds, so a block that stops compiling breaks the build.
  <!-- output of: make test-user PROG=NAME [ARGS=A][, exit status N] -->
        the command is run (a boot); every line of the block must appear
        in its output, in order, and it must exit with status N (0).
  <!-- session: typed A | B | ... -->   a console session with the
        default system (init, sh): the lines A, B, ... are typed, each
        once the output so far matches the block above it; the console
        must then read exactly as the block.
A ```c block without a file marker fails; so does a marker with no block.
Each check prints "test NAME: OK" or "test NAME: FAILED (why)"; the last
line is "N passed, N failed".
"""
import argparse
import os
import re
import subprocess
import sys

import qemu_guest
from qemu_guest import HERE, SCALE

ROOT = os.path.dirname(HERE)
MARK = re.compile(r"^<!-- (file|output of|session): (.*) -->$")


def blocks(text):
    """[(marker kind, marker value, info string, block lines, doc line)]"""
    out, lines, i, mark = [], text.split("\n"), 0, None
    while i < len(lines):
        m = MARK.match(lines[i])
        if m:
            mark = (m.group(1), m.group(2).strip(), i + 1)
            i += 1
            continue
        if lines[i].startswith("```"):
            info, start = lines[i][3:].strip(), i + 1
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            body = lines[start:i]
            kind, value, at = mark if mark and mark[2] == start - 1 else (None, None, start)
            out.append((kind, value, info, body, start))
            mark = None
        elif lines[i].strip() and mark:
            out.append((mark[0], mark[1], None, None, mark[2]))  # a marker with no block
            mark = None
        i += 1
    return out


class Checker:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, why=""):
        print(f"test {name}: OK" if ok else f"test {name}: FAILED ({why})")
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def check_files(c, found):
    """Each file's blocks, in order, are the whole file."""
    per_file = {}
    for kind, value, info, body, at in found:
        if info == "c" and kind != "file":
            c.check(f"tutorial_block_line_{at}", False, "a C block without <!-- file: ... -->")
        if kind == "file":
            per_file.setdefault(value, []).append((body, at))
    for path, parts in per_file.items():
        name = "tutorial_" + os.path.basename(path).replace(".", "_")
        try:
            with open(os.path.join(ROOT, path)) as f:
                src = f.read().split("\n")
        except OSError as e:
            c.check(name, False, str(e))
            continue
        pos, why = 0, ""
        for body, at in parts:
            if body is None:
                why = f"line {at}: a marker with no block"
                break
            while pos < len(src) and not src[pos].strip():
                pos += 1
            if src[pos:pos + len(body)] != body:
                k = next((j for j, l in enumerate(body) if pos + j >= len(src)
                          or src[pos + j] != l), len(body))
                why = (f"the block at line {at}, its line {k + 1} {body[k]!r} is not "
                       f"{path}:{pos + k + 1}")
                break
            pos += len(body)
        if not why and any(l.strip() for l in src[pos:]):
            why = f"{path} goes on after the last block (from line {pos + 1})"
        c.check(name, not why, why)


def run_output(c, command, body, at):
    want_status = 0
    m = re.fullmatch(r"(.*), exit status (\d+)", command)
    if m:
        command, want_status = m.group(1), int(m.group(2))
    words = command.split()
    name = f"tutorial_output_line_{at}"
    if words[:2] != ["make", "test-user"] or not all(re.fullmatch(r"[A-Z]+=[\w-]+", w)
                                                     for w in words[2:]):
        c.check(name, False, f"only 'make test-user VAR=value...' may run, not {command!r}")
        return
    p = subprocess.run(words + ["--no-print-directory", f"ARCH={ARCH}"], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode(errors="replace").replace("\r", "").split("\n")
    i, missing = 0, None
    for want in (l for l in body if l.strip()):
        while i < len(out) and out[i] != want:
            i += 1
        if i == len(out):
            missing = want
            break
        i += 1
    # make reports a failed recipe as its own status 2; test-user.sh
    # names the program's.
    said = [l for l in out if re.match(rf"test-user: .* exit status {want_status}; log in ", l)]
    status_ok = p.returncode == 0 if want_status == 0 else p.returncode != 0 and said
    c.check(name, status_ok and missing is None,
            f"make exited with {p.returncode}, want the program's status {want_status}"
            if missing is None else f"no line {missing!r} (in order)")


class Console(qemu_guest.Guest):
    """The default system booted, its console read as it comes."""

    def __init__(self, kernel):
        super().__init__(["--arch", ARCH, "--timeout", str(int(120 * SCALE)),
                          "--input", "/dev/stdin", kernel])

    def wait_for(self, pred, secs):
        return self.wait_until(lambda t: True if pred(t) else None, secs) is not None

    def type(self, line):
        self.send(line + "\n")

    def close(self):
        self.kill()


def run_session(c, typed, body, at, kernel):
    name = f"tutorial_session_line_{at}"
    typed = [t.strip() for t in typed.removeprefix("typed").split("|")]
    con = Console(kernel)
    try:
        # From the shell's first prompt on, the console must read as the block.
        if not con.wait_for(lambda t: "\n$ " in t, 60):
            c.check(name, False, "no shell prompt")
            return
        start = con.text.index("\n$ ") + 1
        shown = lambda: con.text[start:]
        expect = ""
        for line in body:
            cmd = line[2:] if line.startswith("$ ") else line
            if typed and cmd == typed[0]:
                head = expect + ("$ " if line.startswith("$ ") else "")
                if not con.wait_for(lambda t: t[start:].startswith(head), 30):
                    c.check(name, False, f"before typing {cmd!r}: got {shown()!r}, "
                                         f"want {head!r}")
                    return
                con.type(typed.pop(0))
            expect += line + "\n"
        whole = expect.rstrip("\n")
        ok = con.wait_for(lambda t: t[start:].startswith(whole), 30)
        c.check(name, ok and not typed, f"got {shown()!r}, want {whole!r}" if not ok
                else f"never typed {typed!r}")
    finally:
        con.close()


def main():
    global ARCH
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="riscv64")
    ap.add_argument("doc", nargs="?", default=os.path.join(ROOT, "docs/tutorial.md"))
    a = ap.parse_args()
    ARCH = a.arch
    with open(a.doc) as f:
        found = blocks(f.read())
    c = Checker()
    check_files(c, found)
    kernel = os.path.join(ROOT, "build", ARCH, "kernel.elf")
    for kind, value, info, body, at in found:
        if kind == "output of" and body is not None:
            run_output(c, value, body, at)
        elif kind == "session" and body is not None:
            if subprocess.call(["make", "-s", "--no-print-directory", f"ARCH={ARCH}"],
                               cwd=ROOT, stdout=subprocess.DEVNULL) != 0:
                c.check(f"tutorial_session_line_{at}", False, "make failed")
                continue
            run_session(c, value, body, at, kernel)
        elif kind in ("output of", "session"):
            c.check(f"tutorial_block_line_{at}", False, "a marker with no block")
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
