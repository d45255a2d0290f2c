#!/usr/bin/env python3
"""Grade the labs: boot one QEMU per checkpoint, award points, write results.json.

usage: scripts/grade.py [--arch A|all] [--lab N [--test NAME] | --upto N] [--time-scale S]
                        [--jobs J] [--manifest FILE] [--results FILE]
       scripts/grade.py --trusted DIR [--submission DIR] --lab N ...   (course autograders)
       scripts/grade.py --write-manifest      (teachers: after changing a test)
       scripts/grade.py --selftest            (make check: handout + grader end to end)

Checkpoints live in grade/lab<N>.json, one object each:
  name     shown in the table and in results.json
  points   awarded when it passes (0: a "given" regression check)
  ktest    boot the KTEST kernel with "ktest=NAME token=T"; passes on exit
           status 0 and the line "ktest NAME: OK [T]"
  user     or: boot the normal kernel with "init=NAME token=T"; passes on exit
           status 0 and every regex of "expect" ({token} is replaced by T)
  args     optional, with user or host: the program's arguments (a list;
           {token} is replaced by T), with user passed as "initargs=A,B,..."
  host     or: a host test binary (a make target, such as
           build/host/ring_test): built, then run natively with "args";
           passes on exit status 0 and every regex of "expect".  Graded once,
           whatever the arch.
  timeout  seconds, multiplied by GRADE_TIME_SCALE / --time-scale
  input    optional console input: "ktest-rx" (the bytes scripts/ktest.sh feeds)
  smp      optional number of harts (default 1)
  disk     optional, true: attach a fresh 4 MiB scratch disk (virtio-blk)
  given    true: code the lab hands out complete; passes in the starter tree
T is a fresh random token per checkpoint, so output that merely looks right
cannot pass.  Logs: build/grade/<arch>/lab<N>-<name>.log (removed before each
run); results: build/grade/results.json (Gradescope's format).  --arch all
grades both arches into one results.json, each checkpoint worth half its
points per arch.  Exit status 0 once graded (whatever the score), 2 if the
tree was refused or could not be built (results.json says why in both cases).

--trusted DIR (or GRADE_TRUSTED=DIR): the trusted mode of scripts/grade_trusted.py.
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
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCHES = ('riscv64', 'aarch64')
CROSS = {'riscv64': 'riscv64-unknown-elf-', 'aarch64': 'aarch64-linux-gnu-'}
MANIFEST = 'grade/manifest.sha256'
# The files a student must not change: the tests, the runner, the grader,
# the checkpoints.  (The trusted mode replaces more: grade_trusted.TRUSTED.)
PROTECTED = ['kernel/ktest/*.c', 'kernel/ktest/*.h', 'arch/*/ktest/*', 'user/usertests.c',
             'user/kiotest.c', 'kernel/hosttest/*', 'user/tests/*', 'scripts/run-qemu.sh',
             'scripts/grade*.py', 'grade/lab*.json']
EXIT_REASONS = {1: 'tests failed (exit status 1)', 2: 'unexpected exception (exit status 2)',
                3: 'kernel panic (exit status 3)', 124: 'time limit expired'}
TAIL = 25  # console lines kept in results.json


# ---------------------------------------------------------------- manifest
def protected_files(root):
    out = set()
    for pat in PROTECTED:
        out.update(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, pat))
                   if os.path.isfile(p))
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


def kind_of(cp):
    return 'host' if 'host' in cp else 'ktest' if 'ktest' in cp else 'user'


def build(root, arch, kind, target=None):
    """One build per kind of kernel (or host binary); returns (ok, output)."""
    jobs = f'-j{os.cpu_count() or 1}'
    if kind == 'host':
        cmd = ['make', '--no-print-directory', jobs, target]
    else:
        cmd = ['make', '--no-print-directory', jobs, f'ARCH={arch}',
               f"KTEST={1 if kind == 'ktest' else 0}", 'all']
    r = subprocess.run(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors='replace')
    return r.returncode == 0, r.stdout


# ---------------------------------------------------------------- reading a log
def kernel_lines(text):
    """The console from the kernel's first line on: firmware banners left out."""
    lines = text.replace('\r', '').splitlines()
    for i, l in enumerate(lines):
        if l.startswith('Pollux on '):
            return lines[i:]
    # No kernel banner (it died in firmware or at entry): OpenSBI's own
    # lines are "Key : value" or its logo; keep the rest.
    return [l for l in lines if not re.match(r'^(OpenSBI v|\s*[ _/|\\().,\'`<>-]+$|[A-Z][\w ]+\s+: )', l)]


def symbolize(root, arch, elf, addr):
    tool = CROSS[arch] + 'addr2line'
    if not shutil.which(tool) or not os.path.isfile(elf):
        return None
    r = subprocess.run([tool, '-f', '-p', '-C', '-e', elf, addr], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    out = re.sub(r' \(discriminator \d+\)', '', r.stdout.strip().replace(os.path.join(root, ''), ''))
    if r.returncode != 0 or not out or out.startswith('??'):
        return None
    return out.splitlines()[0]


def explain(root, arch, cp, lines, elf):
    """The lines that say why a checkpoint failed: the failing assertion,
    a panic, a symbolised crash; [] if the log says nothing specific."""
    out, verdicts = [], []
    for i, l in enumerate(lines):
        # Host checkpoints: the sanitizers' reports, by the first frame of
        # each access (ThreadSanitizer) or of the error (AddressSanitizer).
        m = re.match(r'^(?:WARNING|==\d+==ERROR): (\w+Sanitizer: [\w-]+(?: [\w-]+)?)', l)
        if m:
            frames, want = [], True
            for l2 in lines[i + 1:i + 60]:
                if re.match(r'^\s+(?:(?:Previous |Atomic )?(?:read|write|Read|Write)\b.* of size|Location)', l2):
                    want = True
                fm = re.match(r'^\s+#\d+ (?:0x[0-9a-f]+ in )?(\w+) (\S+:\d+)', l2)
                if want and fm and not fm.group(1).startswith(('__interceptor', '__asan', '__tsan')):
                    frames.append(f'{fm.group(1)} ({fm.group(2)})')
                    want = False
                if len(frames) == 2 or l2.startswith(('SUMMARY', 'WARNING')):
                    break
            what = re.sub(r' on$', '', m.group(1).strip())
            out.append(what + (': ' + ' and '.join(frames) if frames else ''))
            continue
        m = re.match(r'^\s+(\S+\.[chS]:\d+: .*)$', l)           # ktest EXPECT / CHECK
        if m:
            out.append(m.group(1))
            continue
        m = re.match(r'^\s+(\w+): line (\d+): (.*)$', l)        # usertests CHECK
        if m:
            out.append(f'user/usertests.c:{m.group(2)}: {m.group(3)} (in {m.group(1)})')
            continue
        m = re.match(r'^\s+((?:lost wake|waker leaked|poll after Ready|self-wake storm): .*)$', l)
        if m:                                                   # executor/check.h
            out.append(m.group(1))
            continue
        m = re.match(r'^panic on hart \d+: (.*)$', l)
        if m:
            out.append('panic: ' + m.group(1))
            continue
        m = re.match(r'^\*\*\* unexpected exception on hart \d+ \((\w+) mode\): (.*)$', l)
        if m:
            out.append(f'{m.group(2)} in {m.group(1)} mode')
            for l2 in lines[i + 1:i + 12]:
                pcm = re.search(r'\bpc (0x[0-9a-f]+)', l2)
                if pcm and m.group(1) == 'kernel':
                    where = symbolize(root, arch, elf, pcm.group(1))
                    out.append(f'  at pc {pcm.group(1)}: {where or "(no symbol)"}')
                ram = re.search(r'\b(?:ra|x30)\s+([0-9a-f]{16})', l2)
                if ram and m.group(1) == 'kernel':
                    where = symbolize(root, arch, elf, '0x' + ram.group(1))
                    if where:
                        out.append(f'  called from {where}')
            continue
        m = re.match(r'^pid \d+ \((\S+)\): (.*) at pc (0x[0-9a-f]+|0)'
                     r'((?:, (?:address|instruction) (?:0x[0-9a-f]+|0))?): killed$', l)
        if m:
            uelf = os.path.join(root, 'build', arch, 'user', m.group(1) + '.elf')
            where = symbolize(root, arch, uelf, m.group(3))
            out.append(f'{m.group(1)}: {m.group(2)} at pc {m.group(3)}{m.group(4)}'
                       + (f': {where}' if where else ''))
            continue
        if re.match(r'^(test|ktest) \S+: FAILED \(.+\)$', l) or re.match(r'^\s+did not finish', l):
            verdicts.append(l.strip())
    out = out or verdicts
    if not out:
        # A test that says why in its own words: its last indented line
        # before the verdict.
        end = next((i for i, l in enumerate(lines) if re.match(r'^(k?test) \S+: FAILED', l)),
                   len(lines))
        said = [l.strip() for l in lines[:end] if re.match(r'^\s{2,}\S', l)]
        out += said[-1:]
    return out


def test_section(cp, lines):
    """The lines the checkpoint's own test printed (after its start line)."""
    if 'ktest' in cp:
        start = f"ktest {cp['ktest']}:"
    elif 'user' in cp:
        start = 'usertests: running'
    else:
        return lines
    for i, l in enumerate(lines):
        if l.startswith(start):
            return lines[i:]
    return lines


# ---------------------------------------------------------------- one checkpoint
def run_checkpoint(root, arch, lab, cp, scale, logdir, narches):
    token = secrets.token_hex(8)
    limit = max(1, round(cp['timeout'] * scale))
    where = 'host' if kind_of(cp) == 'host' else arch
    log = os.path.join(logdir, f"lab{lab['lab']}-{cp['name']}.log")
    elf = None
    if kind_of(cp) == 'host':
        args = ['timeout', '-k', '5', str(limit), os.path.join(root, cp['host'])]
        args += [a.replace('{token}', token) for a in cp.get('args', [])]
        expect = [e.replace('{token}', token) for e in cp.get('expect', [])]
        cmd = args
    else:
        args = [os.path.join(root, 'scripts', 'run-qemu.sh'), '--arch', arch, '--timeout',
                str(limit), '--out', log]
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
            args += ['--input', os.path.join(logdir, 'rx.bin'), '--wait-for', 'ktest: running']
        cmd = args + [elf]
    start = time.monotonic()
    if kind_of(cp) == 'host':
        with open(log, 'w') as f:
            r = subprocess.run(cmd, cwd=root, stdout=f, stderr=subprocess.STDOUT,
                               preexec_fn=drop_privileges if SANDBOX else None)
    else:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    secs = time.monotonic() - start
    try:
        with open(log, errors='replace') as f:
            text = f.read()
    except OSError:
        text = ''
    lines = text.splitlines() if kind_of(cp) == 'host' else kernel_lines(text)
    missing = [e for e in expect if not any(re.fullmatch(e, l) for l in lines)]
    status = 124 if r.returncode in (124, 137) and kind_of(cp) == 'host' else r.returncode
    if status == 124:
        reason = f'time limit of {limit}s expired'
    elif status != 0:
        reason = EXIT_REASONS.get(status, f'exit status {status}')
    elif missing:
        reason = 'expected output missing (or without this run\'s token): ' + missing[0]
    else:
        reason = None
    details = [] if reason is None else explain(root, arch, cp, test_section(cp, lines), elf)
    if reason is not None and status == 124:
        said = [l for l in test_section(cp, lines) if l.strip() and
                not l.startswith(('qemu-system-', 'run-qemu.sh:'))][-6:]
        details += ['the last lines it printed:'] + [f'  | {l}' for l in said] if said else \
            ['it printed nothing']
    rlog = os.path.relpath(log, root)
    out = f"{cp.get('about', '')}\n" + ('passed' if reason is None else f'FAILED: {reason}') + \
        f' in {secs:.1f}s\n' + ''.join(f'{d}\n' for d in details) + \
        f'--- console, last {TAIL} lines (log {rlog})\n' + '\n'.join(lines[-TAIL:]) + '\n'
    points = cp['points'] if where == 'host' else cp['points'] / narches
    return {'lab': lab['lab'], 'name': cp['name'], 'arch': where, 'passed': reason is None,
            'score': points if reason is None else 0, 'max_score': points, 'reason': reason,
            'details': details, 'log': rlog, 'output': out, 'given': cp.get('given', False),
            'secs': secs}


# Set by the trusted mode: host checkpoints run as an unprivileged user.
SANDBOX = False


def drop_privileges():
    """A host checkpoint runs the student's code natively: as root (a
    container's autograder), give it an unprivileged user first."""
    if os.getuid() == 0:
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        except OSError:
            pass


# ---------------------------------------------------------------- results
def test_name(r):
    return f"lab{r['lab']} {r['name']} [{r['arch']}]"


def num(x):
    return int(x) if float(x).is_integer() else round(x, 3)


def write_results(path, results, score, secs, output='', visibility='visible', extra=()):
    """Gradescope's results.json: score, execution_time, output, visibility,
    and per test name, score, max_score, status, output, visibility."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    doc = {'score': num(score), 'execution_time': int(round(secs)), 'output': output,
           'visibility': visibility, 'stdout_visibility': 'hidden',
           'tests': [{'name': test_name(r), 'score': num(r['score']),
                      'max_score': num(r['max_score']),
                      'status': 'passed' if r['passed'] else 'failed',
                      'output': r['output'], 'visibility': visibility} for r in results]}
    doc['tests'] += list(extra)
    with open(path, 'w') as f:
        json.dump(doc, f, indent=1)


def not_run(lab, cp, arch, narches, reason, detail=''):
    points = cp['points'] if kind_of(cp) == 'host' else cp['points'] / narches
    arch = 'host' if kind_of(cp) == 'host' else arch
    return {'lab': lab['lab'], 'name': cp['name'], 'arch': arch, 'passed': False, 'score': 0,
            'max_score': points, 'reason': reason, 'details': [], 'log': '',
            'given': cp.get('given', False), 'secs': 0,
            'output': f"{cp.get('about', '')}\nFAILED: {reason}\n{detail}"}


def all_checkpoints(labs, arches, test=None):
    """(lab, cp, arch) for every checkpoint to run: host ones once."""
    out = []
    for arch in arches:
        for lab in labs:
            for cp in lab['checkpoints']:
                if test and cp['name'] != test:
                    continue
                if kind_of(cp) == 'host' and arch != arches[0]:
                    continue
                out.append((lab, cp, arch))
    return out


# ---------------------------------------------------------------- grading
def grade_tree(root, labs, arches, args, results_json, stop_on_fail=False, note='', extra=()):
    """Build and grade `root`; returns (exit status, results).  `note`
    heads results.json's output; `extra` are more entries for its tests."""
    started = time.monotonic()
    scale = args.time_scale or float(os.environ.get('GRADE_TIME_SCALE', '1') or 1)
    cps = all_checkpoints(labs, arches, args.test)
    narches = len(arches)
    # Stale logs say nothing about this run.
    for arch in list(arches) + ['host']:
        logdir = os.path.join(root, 'build', 'grade', arch)
        for lab in labs:
            for f in glob.glob(os.path.join(logdir, f"lab{lab['lab']}-*")):
                os.remove(f)
    if os.path.exists(results_json):
        os.remove(results_json)
    # One build per kind of kernel and arch (and per host binary); a build
    # error fails its checkpoints.
    built = {}
    for lab, cp, arch in cps:
        key = ('host', cp['host']) if kind_of(cp) == 'host' else (arch, kind_of(cp))
        if key not in built:
            built[key] = build(root, arch, kind_of(cp), cp.get('host'))
            if not built[key][0]:
                print(built[key][1])
    print(f"grade: {len(cps)} checkpoint{'s' * (len(cps) != 1)} on {', '.join(arches)}, time scale {scale:g}", flush=True)
    results = [None] * len(cps)
    failed_build = False
    for i, (lab, cp, arch) in enumerate(cps):
        key = ('host', cp['host']) if kind_of(cp) == 'host' else (arch, kind_of(cp))
        ok, out = built[key]
        if not ok:
            failed_build = True
            tail = '\n'.join(out.splitlines()[-TAIL:])
            results[i] = not_run(lab, cp, arch, narches, 'the code did not build',
                                 f'--- build output (last lines)\n{tail}\n')
            results[i]['details'] = [l for l in out.splitlines() if ' error: ' in l][:1]
    for arch in list(arches) + ['host']:
        logdir = os.path.join(root, 'build', 'grade', arch)
        os.makedirs(logdir, exist_ok=True)
        if arch != 'host':
            rx_input(os.path.join(logdir, 'rx.bin'))
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futs = {}
        for i, (lab, cp, arch) in enumerate(cps):
            if results[i] is None:
                logdir = os.path.join(root, 'build', 'grade', 'host' if kind_of(cp) == 'host' else arch)
                futs[pool.submit(run_checkpoint, root, arch, lab, cp, scale, logdir, narches)] = i
        for f in concurrent.futures.as_completed(futs):
            if f.cancelled():
                continue
            results[futs[f]] = f.result()
            if stop_on_fail and not results[futs[f]]['passed']:
                for g in futs:
                    g.cancel()
        for f, i in futs.items():
            if results[i] is None:
                lab, cp, arch = cps[i]
                results[i] = not_run(lab, cp, arch, narches, 'not run (an earlier one failed)')
    total = maxtotal = 0
    for arch in arches:
        for lab in labs:
            rs = [r for r in results if r['lab'] == lab['lab'] and
                  (r['arch'] == arch or (r['arch'] == 'host' and arch == arches[0]))]
            if not rs:
                continue
            got, top = sum(r['score'] for r in rs), sum(r['max_score'] for r in rs)
            total, maxtotal = total + got, maxtotal + top
            print(f"\n== lab {lab['lab']}: {lab['title']} ({arch})")
            for r in rs:
                name = r['name'] + (' [host]' if r['arch'] == 'host' else '')
                status = 'OK' if r['passed'] else f"FAILED: {r['reason']}"
                print(f"  {name:<24} {num(r['score']):>4}/{num(r['max_score']):<4} {status}")
                for d in r['details']:
                    print(f'      {d}')
                if not r['passed'] and r['log']:
                    print(f"      log: {r['log']}")
            print(f"  {'lab ' + str(lab['lab']) + ' score':<24} {num(got):>4}/{num(top)}")
    secs = time.monotonic() - started
    npass = sum(r['passed'] for r in results)
    summary = f'Total score: {num(total)}/{num(maxtotal)}'
    if failed_build:
        summary += ' (the code did not build: see the build output)'
    write_results(results_json, results, total, secs, note + summary,
                  os.environ.get('GRADE_VISIBILITY', 'visible'), extra)
    shown = os.path.relpath(results_json)
    print(f"\n{summary}  (results: {results_json if shown.startswith('..') else shown})")
    print(f'{npass} passed, {len(results) - npass} failed')
    return (2 if failed_build else 0), results


def refuse(results_json, msg, labs, arches, started=None, extra=(), note=''):
    """Score 0 with the reason (results.json's output: note + msg); exit status 2."""
    print(msg)
    cps = all_checkpoints(labs, arches)
    results = [not_run(lab, cp, arch, len(arches), 'not graded: the tree was refused (see above)')
               for lab, cp, arch in cps]
    write_results(results_json, results, 0, time.monotonic() - (started or time.monotonic()),
                  note + msg, os.environ.get('GRADE_VISIBILITY', 'visible'), extra)
    return 2


def grade(args):
    arches = ARCHES if args.arch == 'all' else tuple(args.arch.split(','))
    results_json = args.results or os.path.join(ROOT, 'build', 'grade', 'results.json')
    labs = load_labs(ROOT, args.lab, args.upto)
    if not labs:
        print(f'grade: no checkpoints for lab {args.lab} (grade/lab{args.lab}.json)')
        return 2
    if args.test and not any(cp['name'] == args.test for l in labs for cp in l['checkpoints']):
        names = ', '.join(cp['name'] for l in labs for cp in l['checkpoints'])
        print(f'grade: no checkpoint {args.test} in lab {args.lab} (there are: {names})')
        return 2
    manifest = args.manifest or os.path.join(ROOT, MANIFEST)
    bad = check_manifest(ROOT, manifest)
    if bad:
        git = os.path.isdir(os.path.join(ROOT, '.git')) or subprocess.run(
            ['git', 'rev-parse'], cwd=ROOT, capture_output=True).returncode == 0
        advice = ('with git checkout -- FILE (git diff shows what changed)' if git else
                  'from a fresh copy of the handout')
        shown = os.path.relpath(manifest, ROOT) if manifest.startswith(ROOT + os.sep) else manifest
        msg = ('grade: REFUSED: the test files differ from the manifest (' + shown + '):\n' +
               ''.join(f'  {b}\n' for b in bad) +
               f'Restore them {advice}; the grader only grades unmodified tests.')
        return refuse(results_json, msg, labs, arches)
    status, _ = grade_tree(ROOT, labs, arches, args, results_json, args.stop_on_fail)
    return status


def main():
    p = argparse.ArgumentParser(description='Pollux lab grader')
    p.add_argument('--arch', default=os.environ.get('ARCH', 'riscv64'),
                   help='riscv64, aarch64, or all (both, in one results.json)')
    p.add_argument('--lab', type=int)
    p.add_argument('--test', help='grade one checkpoint of the lab (its name)')
    p.add_argument('--upto', type=int, help='grade labs 1..N (make grade-selftest)')
    p.add_argument('--time-scale', type=float)
    p.add_argument('--jobs', type=int, default=int(os.environ.get('GRADE_JOBS', '0') or 0) or os.cpu_count())
    p.add_argument('--manifest', default=os.environ.get('GRADE_MANIFEST'))
    p.add_argument('--results', help='where to write results.json')
    p.add_argument('--stop-on-fail', action='store_true', help='stop at the first failure (make mutants)')
    p.add_argument('--trusted', default=os.environ.get('GRADE_TRUSTED') or None,
                   help="the teacher's tree: grade in the trusted mode (scripts/grade_trusted.py)")
    p.add_argument('--submission', help='trusted mode: the tree to grade (default: this one)')
    p.add_argument('--artifacts', help='trusted mode: where to keep the diff and the logs')
    p.add_argument('--write-autograder', metavar='ZIP', help="write Gradescope's autograder zip for --lab")
    p.add_argument('--write-manifest', action='store_true')
    p.add_argument('--selftest', action='store_true')
    args = p.parse_args()
    if args.arch != 'all' and any(a not in ARCHES for a in args.arch.split(',')):
        p.error(f'--arch: riscv64, aarch64 or all, not {args.arch}')
    if args.test and args.lab is None:
        p.error('--test needs --lab')
    if args.write_manifest:
        write_manifest(ROOT)
        return 0
    if args.write_autograder:
        if args.lab is None:
            p.error('--write-autograder needs --lab')
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import grade_trusted
        grade_trusted.write_zip(ROOT, args.lab, args.write_autograder)
        return 0
    if args.selftest:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import grade_selftest
        return grade_selftest.selftest(args)
    if args.trusted:
        trusted = os.path.realpath(args.trusted)
        if os.path.realpath(ROOT) != trusted:
            # Only the teacher's copy of the grader grades in trusted mode.
            me = os.path.join(trusted, 'scripts', 'grade.py')
            if not os.path.isfile(me):
                p.error(f'--trusted {args.trusted}: no scripts/grade.py there')
            argv = sys.argv[1:] + ([] if args.submission else ['--submission', ROOT])
            os.execv(sys.executable, [sys.executable, me] + argv)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import grade_trusted
        return grade_trusted.main(args)
    return grade(args)


if __name__ == '__main__':
    sys.exit(main())
