#!/usr/bin/env python3
"""harness_check: the test harness (user/include/px_test.h) judged from outside.

usage: scripts/harness_check.py --arch A [--smp N] KERNEL.elf

Boots the kernel with user/harness_fixture as process 1, whose tests pass
and fail on purpose, and compares what the harness says with what it must
say: every verdict line (the file:line and values of each failed
assertion, the time limit, the crash, the deadlock, what was left in
flight), the "also" lines, the summary and the exit status (QEMU's, which
is the first process's).  A second boot runs it with filters (and -i).
Each check prints "test NAME: OK" or "test NAME: FAILED (why)"; the last
line is "N passed, N failed".  The fixture's own output goes to the log
only (its summary must not count in make check).
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURE = "user/harness_fixture.c"
SCALE = int(os.environ.get("TIME_SCALE", "1"))


def source_lines():
    with open(os.path.join(ROOT, FIXTURE)) as f:
        return f.read().split("\n")


def line_of(lines, pattern):
    """1-based number of the only source line matching pattern."""
    hits = [i + 1 for i, l in enumerate(lines) if re.search(pattern, l)]
    if len(hits) != 1:
        raise SystemExit(f"harness_check: {FIXTURE}: {len(hits)} lines match {pattern!r}")
    return hits[0]


def expected_full():
    """[(test name, [regex of its verdict, regexes of its 'also' lines])]"""
    src = source_lines()

    def at(marker):     # file:line of a "fixture: marker" comment
        n = line_of(src, r"/\* fixture: " + marker + r" \*/")
        return f"{FIXTURE}:{n}: "

    def test_at(name):  # file:line of the test's definition
        n = line_of(src, r"^PX_(ASYNC_)?TEST\(" + name + r"\b")
        return f"{FIXTURE}:{n}: "

    def lit(s):
        return re.escape(s)

    ok = [r"OK"]
    limit = f"FAILED: time limit of {300 * SCALE} ms exceeded: killed"
    return [
        ("plain_passes", ok),
        ("async_passes", ok),
        ("fail_eq", [lit("FAILED: " + at("fail_eq") + "PX_ASSERT_EQ(three, 4): three = 3")]),
        ("fail_unsigned", [lit("FAILED: " + at("fail_unsigned") +
                               "PX_ASSERT_LT(big, 5u): big = 18446744073709551615, 5u = 5")]),
        ("fail_str", [lit("FAILED: " + at("fail_str") +
                          r'PX_ASSERT_STR_EQ(greeting, "hello\n"): greeting = "hullo\n"')]),
        ("fail_async", [lit("FAILED: " + at("fail_async") + "PX_ASSERT_EQ(c->n, 2): c->n = 1")]),
        ("fail_helper", [lit("FAILED: " + at("fail_helper") + "PX_ASSERT_GT(v, 0): v = -7"),
                         lit("also " + at("fail_helper_also") + "and a second failure, 2")]),
        ("fail_within", [lit("FAILED: " + at("fail_within") +
                             "PX_ASSERT_WITHIN(TIMER_MS(50), px_now() == 0): "
                             "still false after 50 ms")]),
        ("hang_spin", [lit(limit)]),
        ("hang_async", [lit(limit)]),
        ("deadlock", [lit("FAILED: deadlock: every task waits and nothing can wake them "
                          "(the reactor's exit status 125)")]),
        ("leak_timer", [lit("FAILED: " + test_at("leak_timer") + "left in flight: 1 timer")]),
        ("leak_ring", [lit("FAILED: " + test_at("leak_ring") + "left in flight: 1 ring operation"),
                       lit("also " + test_at("leak_ring") + "left open: file descriptors ")
                       + r"\d+, \d+"]),
        ("leak_task", [lit("FAILED: " + test_at("leak_task") + "left in flight: 1 task, 1 timer")]),
        ("crash_isolated", [lit("FAILED: killed: memory fault")]),
        ("crash_shared", [lit("FAILED: killed: memory fault")]),
        ("exits", [lit("FAILED: the test process ended with exit status 3 during the test")]),
        ("after_crashes", ok),
        ("virtual_hour", ok),
        ("waker_counts", ok),
        ("wait_until", ok),
        ("child_spawn", ok),
    ]


def boot(args, kernel, arch, smp, log, initargs=None):
    append = "init=harness_fixture"
    if initargs:
        append += " initargs=" + ",".join(initargs)
    cmd = [os.path.join(HERE, "run-qemu.sh"), "--arch", arch, "--smp", str(smp),
           "--timeout", str(120 * SCALE), "--append", append, "--out", log, kernel]
    status = subprocess.call(cmd)
    with open(log, errors="replace") as f:
        text = f.read().replace("\r", "")
    return status, text.split("\n")


def verdicts(lines):
    """The harness's own lines: [(test name, [verdict, 'also' lines...])], in order."""
    out = []
    for l in lines:
        m = re.match(r"test (\S+): (.*)", l)
        if m:
            out.append((m.group(1), [m.group(2)]))
        elif l.startswith("  also ") and out:
            out[-1][1].append(l[2:])
    return out


class Checker:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, why=""):
        if ok:
            print(f"test {name}: OK")
            self.passed += 1
        else:
            print(f"test {name}: FAILED ({why})")
            self.failed += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="riscv64")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("kernel")
    a = ap.parse_args()
    logs = os.path.join(os.path.dirname(a.kernel), "logs")
    os.makedirs(logs, exist_ok=True)
    c = Checker()
    sfx = f"-smp{a.smp}" if a.smp != 1 else ""

    # ---- every test
    log = os.path.join(logs, f"harness-fixture{sfx}.log")
    args = ["-s", str(SCALE)] if SCALE != 1 else None
    status, lines = boot(a, a.kernel, a.arch, a.smp, log, args)
    got = verdicts(lines)
    want = expected_full()
    blocks = dict(got)
    for name, pats in want:
        mine = blocks.get(name, [])
        ok = len(mine) == len(pats) and all(re.fullmatch(p, l) for p, l in zip(pats, mine))
        c.check(f"harness_{name}", ok, f"got {mine!r}, want {pats!r}")
    names = [n for n, _ in got]
    c.check("harness_order", names == [n for n, _ in want], f"tests reported: {names!r}")
    npass = sum(1 for _, p in want if p == [r"OK"])
    summary = f"{npass} passed, {len(want) - npass} failed"
    c.check("harness_summary", summary in lines, f"no line {summary!r}")
    c.check("harness_exit_status", status == len(want) - npass,
            f"QEMU exited with {status}, want {len(want) - npass}")
    after = [l for l in lines if "after the assertion" in l]
    c.check("harness_assert_ends_the_test", not after, f"ran on: {after!r}")

    # ---- filters (and -i): what they select, a filter matching nothing
    log2 = os.path.join(logs, f"harness-fixture-filter{sfx}.log")
    status, lines = boot(a, a.kernel, a.arch, a.smp, log2,
                         (args or []) + ["-i", "passes", "wait_", "nosuch"])
    got = verdicts(lines)
    want2 = [("nosuch", ["FAILED: no test matches this filter"]), ("plain_passes", ["OK"]),
             ("async_passes", ["OK"]), ("wait_until", ["OK"])]
    c.check("harness_filter_selects", got == want2, f"got {got!r}, want {want2!r}")
    c.check("harness_filter_summary", "3 passed, 1 failed" in lines, "no '3 passed, 1 failed'")
    c.check("harness_filter_exit_status", status == 1, f"QEMU exited with {status}, want 1")

    if c.failed:
        print(f"harness_check: logs in {log} and {log2}")
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
