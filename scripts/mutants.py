#!/usr/bin/env python3
"""Mutation testing of the labs' checkpoints: each mutant must lose points.

usage: scripts/mutants.py [--lab N] [--check] [--only NAME,...] [--keep]

A mutant is a small, plausible wrong solution of a lab, kept as a patch
beside the lab's checkpoints: grade/mutants/lab<N>/<name>.patch, a unified
diff (patch -p1, against the full tree) after a header of "Key: value"
lines:
  Mutant:  what the wrong solution does (one line)
  Arch:    the arch to grade it on (riscv64, the default, or aarch64)
  Check:   yes: one of the few that make check runs (--check)
For each lab, on one copy of the full tree: grade the lab unmutated (it
must score full marks), then for each mutant apply it, grade the lab
(stopping at the first failing checkpoint), and revert it.  A mutant is
killed when it loses points; one that does not build is an error (it
tests the compiler, not the checkpoints).  Prints each mutant's fate and
the mutation score per lab; exit status 1 unless every mutant was killed.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import handout  # noqa: E402


def header(path):
    """The patch's "Key: value" lines before the diff."""
    meta = {}
    with open(path) as f:
        for line in f:
            if line.startswith(('diff ', '--- ', 'Index: ')):
                break
            if ':' in line and not line.startswith(' '):
                k, v = line.split(':', 1)
                meta[k.strip().lower()] = v.strip()
    return meta


def mutants(lab, check=False, only=None):
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'grade', 'mutants', f'lab{lab}', '*.patch'))):
        name = os.path.basename(path)[:-len('.patch')]
        meta = header(path)
        if check and meta.get('check', '').lower() != 'yes':
            continue
        if only and name not in only:
            continue
        out.append((name, path, meta))
    return out


def patch(tree, path, reverse=False):
    cmd = ['patch', '-p1', '-s', '--no-backup-if-mismatch', '-d', tree, '-i', path]
    if reverse:
        cmd.insert(1, '-R')
    else:
        cmd.insert(1, '--forward')
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode == 0, r.stdout


def grade(tree, lab, arch, res):
    cmd = [sys.executable, os.path.join(tree, 'scripts', 'grade.py'), '--lab', str(lab), '--arch',
           arch, '--stop-on-fail', '--results', res]
    if os.environ.get('TIME_SCALE'):
        cmd += ['--time-scale', os.environ['TIME_SCALE']]
    start = time.monotonic()
    r = subprocess.run(cmd, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors='replace')
    try:
        with open(res) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        # No results: the grader itself failed, which kills nothing.
        print(r.stdout[-3000:])
        doc = {'score': None, 'tests': [], 'output': 'the grader failed'}
    doc['secs'] = time.monotonic() - start
    doc['stdout'] = r.stdout
    return r.returncode, doc


def first_failure(doc):
    for t in doc['tests']:
        if t.get('status') == 'failed' and 'not run' not in t['output']:
            lines = t['output'].splitlines() + ['', '']
            why = lines[2] if lines[2] and not lines[2].startswith(('---', 'the last lines')) \
                else lines[1]
            return f"{t['name']}: {why}"
    return '?'


def main():
    p = argparse.ArgumentParser(description='mutation testing of the lab checkpoints')
    p.add_argument('--lab', type=int)
    p.add_argument('--check', action='store_true', help='only the mutants marked "Check: yes"')
    p.add_argument('--only', help='comma-separated mutant names')
    p.add_argument('--keep', action='store_true', help='keep the work tree')
    args = p.parse_args()
    labs = sorted(int(os.path.basename(d)[3:]) for d in
                  glob.glob(os.path.join(ROOT, 'grade', 'mutants', 'lab*')))
    if args.lab is not None:
        labs = [l for l in labs if l == args.lab]
    only = set(args.only.split(',')) if args.only else None
    plan = [(lab, mutants(lab, args.check, only)) for lab in labs]
    plan = [(lab, ms) for lab, ms in plan if ms]
    if not plan:
        print('mutants: none selected')
        return 1
    work = tempfile.mkdtemp(prefix='pollux-mutants-')
    tree = os.path.join(work, 'tree')
    for f in handout.tree_files(ROOT):
        if f.startswith('build/'):
            continue
        os.makedirs(os.path.dirname(os.path.join(tree, f)) or tree, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(tree, f))
    # Mutants never touch the tests: the copy's manifest is its own.
    subprocess.run([sys.executable, os.path.join(tree, 'scripts', 'grade.py'), '--write-manifest'],
                   cwd=tree, stdout=subprocess.DEVNULL)
    res = os.path.join(work, 'results.json')
    killed = survived = errors = 0
    scores = []
    try:
        for lab, ms in plan:
            arches = sorted({m.get('arch', 'riscv64') for _, _, m in ms})
            base_ok = True
            for arch in arches:
                st, doc = grade(tree, lab, arch, res)
                top = sum(t['max_score'] for t in doc['tests'])
                ok = st == 0 and doc['score'] is not None and doc['score'] == top and top > 0
                print(f"mutants lab{lab} baseline ({arch}): "
                      f"{'full marks' if ok else 'NOT full marks: ' + first_failure(doc)}",
                      flush=True)
                base_ok &= ok
            if not base_ok:
                errors += len(ms)
                scores.append((lab, 0, len(ms)))
                continue
            k = 0
            for name, path, meta in ms:
                arch = meta.get('arch', 'riscv64')
                ok, out = patch(tree, path)
                if not ok:
                    print(f'mutant lab{lab}/{name}: ERROR: does not apply\n{out}', flush=True)
                    errors += 1
                    continue
                st, doc = grade(tree, lab, arch, res)
                top = sum(t['max_score'] for t in doc['tests'])
                if doc['score'] is None:
                    print(f'mutant lab{lab}/{name}: ERROR: the grader failed', flush=True)
                    errors += 1
                elif st == 2 or 'did not build' in doc.get('output', ''):
                    tail = [l for l in doc['stdout'].splitlines() if 'error' in l][:3]
                    print(f'mutant lab{lab}/{name}: ERROR: does not build ({meta.get("mutant", "")})\n'
                          + '\n'.join('  ' + l for l in tail), flush=True)
                    errors += 1
                elif doc['score'] < top:
                    print(f"mutant lab{lab}/{name}: KILLED ({arch}, {doc['secs']:.0f}s) by "
                          f"{first_failure(doc)}", flush=True)
                    killed += 1
                    k += 1
                else:
                    print(f"mutant lab{lab}/{name}: SURVIVED ({arch}): {meta.get('mutant', '')}",
                          flush=True)
                    survived += 1
                ok, out = patch(tree, path, reverse=True)
                if not ok:
                    print(f'mutants: cannot revert {name}:\n{out}')
                    return 1
            scores.append((lab, k, len(ms)))
    finally:
        if args.keep:
            print(f'mutants: kept {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    for lab, k, n in scores:
        print(f'mutation score lab {lab}: {k}/{n} killed ({100 * k // n}%)')
    print(f'{killed} passed, {survived + errors} failed')
    return 0 if survived == errors == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
