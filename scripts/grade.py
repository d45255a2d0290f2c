#!/usr/bin/env python3
"""Grade the labs: boot one QEMU per checkpoint, award points, write results.json.

usage: scripts/grade.py [--arch A] [--lab N | --upto N] [--time-scale S] [--jobs J] [--manifest FILE]
       scripts/grade.py --write-manifest      (teachers: after changing a test)
       scripts/grade.py --selftest            (make check: handout + grader end to end)

Checkpoints live in grade/lab<N>.json, one object each:
  name     shown in the table and in results.json
  points   awarded when it passes (0: a "given" regression check)
  ktest    boot the KTEST kernel with "ktest=NAME token=T"; passes on exit
           status 0 and the line "ktest NAME: OK [T]"
  user     or: boot the normal kernel with "init=NAME token=T"; passes on exit
           status 0 and every regex of "expect" ({token} is replaced by T)
  args     optional, with user: the program's arguments (a list; {token} is
           replaced by T), passed as "initargs=A,B,..."
  timeout  seconds, multiplied by GRADE_TIME_SCALE / --time-scale
  input    optional console input: "ktest-rx" (the bytes scripts/ktest.sh feeds)
  smp      optional number of harts (default 1)
  disk     optional, true: attach a fresh 4 MiB scratch disk (virtio-blk)
  given    true: code the lab hands out complete; passes in the starter tree
T is a fresh random token per checkpoint, so output that merely looks right
cannot pass.  Logs: build/grade/<arch>/lab<N>-<name>.log; results:
build/grade/results.json (Gradescope's format).  Exit status 0 once graded
(whatever the score), 2 if the tree was refused or could not be built.
"""
import argparse
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = 'grade/manifest.sha256'
# The files a student must not change: the tests, the runner, the grader.
PROTECTED = ['kernel/ktest/*.c', 'kernel/ktest/*.h', 'user/usertests.c', 'scripts/run-qemu.sh',
             'scripts/grade.py', 'grade/lab*.json']
EXIT_REASONS = {1: 'tests failed (exit status 1)', 2: 'unexpected exception (exit status 2)',
                3: 'kernel panic (exit status 3)', 124: 'time limit expired'}


def rel(p):
    return os.path.relpath(p, ROOT)


# ---------------------------------------------------------------- manifest
def protected_files(root):
    out = set()
    for pat in PROTECTED:
        out.update(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, pat)))
    return sorted(out)


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_manifest(root):
    lines = [f'{sha256(os.path.join(root, f))}  {f}\n' for f in protected_files(root)]
    with open(os.path.join(root, MANIFEST), 'w') as f:
        f.writelines(lines)
    print(f'grade: wrote {MANIFEST} ({len(lines)} files)')


def check_manifest(root, manifest):
    """Return a list of problems (empty: the tree is intact)."""
    try:
        with open(manifest) as f:
            entries = [l.rstrip('\n').split('  ', 1) for l in f if l.strip()]
    except OSError as e:
        return [f'cannot read the manifest: {e}']
    bad, listed = [], set()
    for digest, path in entries:
        listed.add(path)
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            bad.append(f'{path}: missing')
        elif sha256(full) != digest:
            bad.append(f'{path}: modified')
    bad += [f'{p}: not in the manifest' for p in protected_files(root) if p not in listed]
    return bad


# ---------------------------------------------------------------- labs
def load_labs(root, only=None, upto=None):
    labs = []
    for path in glob.glob(os.path.join(root, 'grade', 'lab*.json')):
        with open(path) as f:
            lab = json.load(f)
        if (only is None or lab['lab'] == only) and (upto is None or lab['lab'] <= upto):
            labs.append(lab)
    return sorted(labs, key=lambda l: l['lab'])


def rx_input(path):
    """The console input of kernel/ktest/ktest.h: 8 KiB for uart_rx, then the 64 KiB flood."""
    rx = bytes(33 + (i * 31 + i // 94 + 7) % 94 for i in range(8192))
    flood = bytes((i * 7 + i // 251) & 0xff for i in range(65536))
    with open(path, 'wb') as f:
        f.write(rx + flood)


def build(root, arch, ktest):
    cmd = ['make', '--no-print-directory', f'ARCH={arch}', f'KTEST={1 if ktest else 0}', 'all']
    r = subprocess.run(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode == 0, r.stdout


def run_checkpoint(root, arch, lab, cp, scale, logdir):
    token = secrets.token_hex(8)
    limit = max(1, round(cp['timeout'] * scale))
    log = os.path.join(logdir, f"lab{lab['lab']}-{cp['name']}.log")
    args = [os.path.join(root, 'scripts', 'run-qemu.sh'), '--arch', arch, '--timeout', str(limit),
            '--out', log]
    if 'ktest' in cp:
        elf = os.path.join(root, 'build', f'{arch}-ktest', 'kernel.elf')
        args += ['--append', f"ktest={cp['ktest']} token={token}"]
        # -icount makes QEMU run every hart on one host thread in turn, so
        # multi-hart checkpoints boot without it (as scripts/ktest.sh does).
        if cp.get('smp', 1) <= 1:
            args += ['--icount']
        expect = [re.escape(f"ktest {cp['ktest']}: OK [{token}]")]
    else:
        elf = os.path.join(root, 'build', arch, 'kernel.elf')
        append = f"init={cp['user']} token={token}"
        if cp.get('args'):
            append += ' initargs=' + ','.join(a.replace('{token}', token) for a in cp['args'])
        args += ['--append', append]
        expect = [e.replace('{token}', token) for e in cp.get('expect', [])]
    if cp.get('smp'):
        args += ['--smp', str(cp['smp'])]
    if cp.get('disk'):
        # A fresh zeroed image per checkpoint, as scripts/ktest.sh does.
        img = os.path.join(logdir, f"lab{lab['lab']}-{cp['name']}.img")
        with open(img, 'wb') as f:
            f.truncate(4 << 20)
        args += ['--disk', img]
    if cp.get('input') == 'ktest-rx':
        rxfile = os.path.join(logdir, 'rx.bin')
        args += ['--input', rxfile, '--wait-for', 'ktest: running']
    start = time.monotonic()
    r = subprocess.run(args + [elf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    secs = time.monotonic() - start
    try:
        with open(log, errors='replace') as f:
            text = f.read().replace('\r', '')
    except OSError:
        text = ''
    lines = text.splitlines()
    missing = [e for e in expect if not any(re.fullmatch(e, l) for l in lines)]
    if r.returncode == 124:
        reason = f'time limit of {limit}s expired'
    elif r.returncode != 0:
        reason = EXIT_REASONS.get(r.returncode, f'QEMU exited with status {r.returncode}')
    elif missing:
        reason = 'expected output missing (or without this run\'s token): ' + missing[0]
    else:
        reason = None
    tail = '\n'.join(lines[-25:])
    out = f"{cp.get('about', '')}\n" + ('passed' if reason is None else f'FAILED: {reason}') + \
        f' in {secs:.1f}s; log {rel(log)}\n--- console (last lines)\n{tail}\n'
    return {'lab': lab['lab'], 'name': cp['name'], 'passed': reason is None,
            'score': cp['points'] if reason is None else 0, 'max_score': cp['points'],
            'reason': reason, 'log': rel(log), 'output': out, 'given': cp.get('given', False)}


def write_results(results, score, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    doc = {'score': score,
           'tests': [{'name': f"lab{r['lab']} {r['name']}", 'score': r['score'],
                      'max_score': r['max_score'], 'output': r['output']} for r in results]}
    with open(path, 'w') as f:
        json.dump(doc, f, indent=1)


def grade(args):
    results_json = os.path.join(ROOT, 'build', 'grade', 'results.json')
    manifest = args.manifest or os.path.join(ROOT, MANIFEST)
    bad = check_manifest(ROOT, manifest)
    if bad:
        msg = ('grade: REFUSED: the test files differ from the manifest (' + rel(manifest) + '):\n' +
               ''.join(f'  {b}\n' for b in bad) +
               'Restore them (git checkout -- FILE, or a fresh copy of the handout); '
               'the grader only grades unmodified tests.')
        print(msg)
        os.makedirs(os.path.dirname(results_json), exist_ok=True)
        with open(results_json, 'w') as f:
            json.dump({'score': 0, 'output': msg, 'tests': []}, f, indent=1)
        return 2
    labs = load_labs(ROOT, args.lab, args.upto)
    if not labs:
        print(f'grade: no checkpoints for lab {args.lab} (grade/lab{args.lab}.json)')
        return 2
    scale = args.time_scale or float(os.environ.get('GRADE_TIME_SCALE', '1') or 1)
    logdir = os.path.join(ROOT, 'build', 'grade', args.arch)
    os.makedirs(logdir, exist_ok=True)
    rx_input(os.path.join(logdir, 'rx.bin'))
    cps = [(lab, cp) for lab in labs for cp in lab['checkpoints']]
    # One build per kind of kernel; a build error fails its checkpoints.
    built = {}
    for kind in sorted({'ktest' in cp for _, cp in cps}, reverse=True):
        ok, out = build(ROOT, args.arch, kind)
        built[kind] = (ok, out)
        if not ok:
            print(out)
    print(f'grade: {len(cps)} checkpoints on {args.arch}, time scale {scale:g}')
    results = [None] * len(cps)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futs = {}
        for i, (lab, cp) in enumerate(cps):
            ok, out = built['ktest' in cp]
            if not ok:
                tail = '\n'.join(out.splitlines()[-25:])
                results[i] = {'lab': lab['lab'], 'name': cp['name'], 'passed': False, 'score': 0,
                              'max_score': cp['points'], 'reason': 'the kernel did not build',
                              'log': '', 'given': cp.get('given', False),
                              'output': f'FAILED: the kernel did not build\n{tail}\n'}
            else:
                futs[pool.submit(run_checkpoint, ROOT, args.arch, lab, cp, scale, logdir)] = i
        for f in concurrent.futures.as_completed(futs):
            results[futs[f]] = f.result()
    total = maxtotal = 0
    for lab in labs:
        rs = [r for r in results if r['lab'] == lab['lab']]
        got, top = sum(r['score'] for r in rs), sum(r['max_score'] for r in rs)
        total, maxtotal = total + got, maxtotal + top
        print(f"\n== lab {lab['lab']}: {lab['title']} ({args.arch})")
        for r in rs:
            status = 'OK' if r['passed'] else f"FAILED: {r['reason']}"
            if not r['passed'] and r['log']:
                status += f" (log: {r['log']})"
            print(f"  {r['name']:<24} {r['score']:>3}/{r['max_score']:<3} {status}")
        print(f"  {'lab ' + str(lab['lab']) + ' score':<24} {got:>3}/{top}")
    write_results(results, total, results_json)
    npass = sum(r['passed'] for r in results)
    print(f'\nTotal score: {total}/{maxtotal}  (results: {rel(results_json)})')
    print(f'{npass} passed, {len(results) - npass} failed')
    return 0


# ---------------------------------------------------------------- self test
def selftest(args):
    """make grade-selftest, for every lab L of grade/: the starter tree of lab L
    builds on both arches, scores 0 on lab L (only its given checkpoints pass)
    and full marks on labs 1..L-1 (riscv64); the full tree scores full marks;
    a tampered test file makes the grader refuse."""
    passed = failed = 0

    def check(name, ok, detail=''):
        nonlocal passed, failed
        print(f"grade-selftest {name}: {'OK' if ok else 'FAILED'}{'' if ok else ' ' + detail}",
              flush=True)
        passed, failed = passed + ok, failed + (not ok)

    def run(cmd, cwd):
        r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Indented: the inner "N passed, N failed" must not count in make check.
        print(''.join(f'  | {l}\n' for l in r.stdout.splitlines()), end='', flush=True)
        return r

    def results(tree):
        try:
            with open(os.path.join(tree, 'build', 'grade', 'results.json')) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {'score': -1, 'tests': []}

    scale = ['--time-scale', str(args.time_scale)] if args.time_scale else []
    jobs = ['-j', str(min(os.cpu_count() or 1, 4))]
    all_labs = load_labs(ROOT)
    tmp = tempfile.mkdtemp(prefix='pollux-handout-')
    try:
        for labdef in all_labs:
            lab = labdef['lab']
            starter = os.path.join(tmp, f'lab{lab}')
            r = run([sys.executable, 'scripts/handout.py', str(lab), starter], ROOT)
            check(f'lab{lab}-handout', r.returncode == 0, f'handout.py exit status {r.returncode}')
            if r.returncode != 0:
                continue
            # Builds on both arches without warnings (-Werror); aarch64 is
            # only built (CI time), riscv64 is built and graded.
            for arch in ('riscv64', 'aarch64'):
                ok = all(run(['make', '--no-print-directory', *jobs, f'ARCH={arch}', f'KTEST={k}',
                              'all'], starter).returncode == 0 for k in (0, 1))
                check(f'lab{lab}-starter-builds-{arch}', ok)
            r = run([sys.executable, 'scripts/grade.py', '--upto', str(lab), '--arch', 'riscv64']
                    + scale, starter)
            res = results(starter)
            defs = {l['lab']: l['checkpoints'] for l in load_labs(starter, upto=lab)}
            tests = {t['name']: t for t in res['tests']}
            check(f'lab{lab}-starter-graded', r.returncode == 0 and
                  len(tests) == sum(len(c) for c in defs.values()),
                  f'grade.py exit status {r.returncode}, {len(tests)} results')
            # Lab L: only its given checkpoints pass; labs before L: all pass.
            wrong = []
            for n, cps in defs.items():
                for c in cps:
                    t = tests.get(f"lab{n} {c['name']}")
                    ok = t is not None and 'FAILED' not in t['output'].splitlines()[1]
                    if ok != (n < lab or c.get('given', False)):
                        wrong.append(f"lab{n} {c['name']}")
            check(f'lab{lab}-starter-exact-failures', not wrong,
                  'unexpected result for ' + ', '.join(wrong) + f' (expected: labs before {lab} '
                  f'pass, lab {lab} fails except its given checkpoints)')
            if lab == all_labs[0]['lab']:
                # Tampering: one changed byte in a test file.
                victim = os.path.join(starter, 'kernel', 'ktest', 'ktest.c')
                with open(victim, 'a') as f:
                    f.write('/* tampered */\n')
                r = run([sys.executable, 'scripts/grade.py', '--lab', str(lab)], starter)
                check('refuses-modified-tests', r.returncode == 2 and 'REFUSED' in r.stdout
                      and 'kernel/ktest/ktest.c: modified' in r.stdout, f'exit status {r.returncode}')
            shutil.rmtree(starter, ignore_errors=True)
        r = run([sys.executable, 'scripts/grade.py', '--arch', 'riscv64'] + scale, ROOT)
        res = results(ROOT)
        top = sum(t['max_score'] for t in res['tests'])
        check('full-tree-full-marks', r.returncode == 0 and res['score'] == top and
              len(res['tests']) == sum(len(l['checkpoints']) for l in all_labs) and
              all('FAILED' not in t['output'].splitlines()[1] for t in res['tests']),
              f"score {res['score']}/{top}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f'{passed} passed, {failed} failed')
    return 0 if failed == 0 else 1


def main():
    p = argparse.ArgumentParser(description='Pollux lab grader')
    p.add_argument('--arch', default=os.environ.get('ARCH', 'riscv64'), choices=['riscv64', 'aarch64'])
    p.add_argument('--lab', type=int)
    p.add_argument('--upto', type=int, help='grade labs 1..N (make grade-selftest)')
    p.add_argument('--time-scale', type=float)
    p.add_argument('--jobs', type=int, default=int(os.environ.get('GRADE_JOBS', '0') or 0) or os.cpu_count())
    p.add_argument('--manifest', default=os.environ.get('GRADE_MANIFEST'))
    p.add_argument('--write-manifest', action='store_true')
    p.add_argument('--selftest', action='store_true')
    args = p.parse_args()
    if args.write_manifest:
        write_manifest(ROOT)
        return 0
    if args.selftest:
        return selftest(args)
    return grade(args)


if __name__ == '__main__':
    sys.exit(main())
