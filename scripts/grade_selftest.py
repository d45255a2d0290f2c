"""The grader's own tests: every lab's starter tree (make grade-selftest) and the Gradescope recipe (make grade-autograder-test).

scripts/grade.py --selftest                   the starter trees, the full tree
scripts/grade_selftest.py autograder [LAB]   grade/run_autograder on a fake
                                              /autograder: a passing tree, the
                                              starter, a tree that does not
                                              build, and three cheats
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import grade
import grade_trusted

ROOT = grade.ROOT


class Checks:
    def __init__(self, prefix):
        self.prefix, self.passed, self.failed = prefix, 0, 0

    def __call__(self, name, ok, detail=''):
        print(f"{self.prefix} {name}: {'OK' if ok else 'FAILED'}{'' if ok else ' ' + detail}",
              flush=True)
        self.passed, self.failed = self.passed + bool(ok), self.failed + (not ok)

    def summary(self):
        print(f'{self.passed} passed, {self.failed} failed')
        return 0 if self.failed == 0 else 1


def run(cmd, cwd, env=None):
    r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors='replace', env=env)
    # Indented: the inner "N passed, N failed" must not count in make check.
    print(''.join(f'  | {l}\n' for l in r.stdout.splitlines()), end='', flush=True)
    return r


def use_ccache(tmp):
    """Compile every tree under tmp through ccache (make CCACHE=ccache): the
    trees differ from each other in a few files, so after the first build
    each later one compiles only those.  The cache lives in build/ccache."""
    if shutil.which('ccache') is None:
        subprocess.run(['scripts/deps.sh', 'host'], cwd=ROOT, check=False)
    if shutil.which('ccache') is None:
        return
    os.environ.update(CCACHE='ccache', CCACHE_DIR=os.path.join(ROOT, 'build', 'ccache'),
                      CCACHE_BASEDIR=tmp, CCACHE_NOHASHDIR='1', CCACHE_MAXSIZE='2G')


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {'score': -1, 'tests': []}


def interface_hits(tree):
    """Uses of the grading interface in a tree's non-test files."""
    rels = [r for r in grade_trusted.files_under(tree) if not grade_trusted.trusted(r)]
    return grade_trusted.scan(tree, rels)


# ---------------------------------------------------------------- starter trees
def stubbed_files(lab):
    """The files whose code lab `lab`'s starter tree changes: those holding a
    region of lab `lab` or later (scripts/handout.py; elsewhere the starter
    differs from the full tree by marker lines only)."""
    sys.path.insert(0, os.path.join(ROOT, 'scripts'))
    import handout
    out = []
    for rel in handout.tree_files(ROOT):
        if rel.startswith('build/') or not rel.endswith(('.c', '.h', '.S')):
            continue
        try:
            with open(os.path.join(ROOT, rel), encoding='utf-8') as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            continue
        if 'LAB ' not in text:
            continue
        try:
            if handout.strip(text, lab, rel)[1]:
                out.append(rel)
        except handout.MarkerError:
            out.append(rel)
    return out


def kernel_sources(tree, arch='riscv64'):
    """Every file the arch's two kernels (and the programs they carry) were
    compiled from, as the compiler's .d files list them; None without any."""
    deps = set()
    for sub in (arch, f'{arch}-ktest'):
        for d, _, files in os.walk(os.path.join(tree, 'build', sub)):
            for f in files:
                if not f.endswith('.d'):
                    continue
                with open(os.path.join(d, f), errors='replace') as fh:
                    for tok in fh.read().replace('\\\n', ' ').split():
                        if not tok.endswith(':'):
                            deps.add(os.path.normpath(os.path.relpath(os.path.join(tree, tok), tree)))
    return deps or None


# The sources of what earlier labs' checkpoints run in QEMU: the test
# kernel's tests and the user test programs.
CHECKPOINT_SOURCES = ['kernel/ktest/*.c', 'kernel/ktest/*.h', 'arch/*/ktest/*', 'user/usertests.c',
                      'user/kiotest.c', 'user/tests/*']


def reaches(tree, names):
    """The checkpoint sources of tree that mention any of names (a lab's
    "stub_entry": the only ways into its stubbed code)."""
    hits = []
    for pat in CHECKPOINT_SOURCES:
        for path in sorted(glob.glob(os.path.join(tree, pat))):
            if not os.path.isfile(path):
                continue
            with open(path, errors='replace') as f:
                text = f.read()
            hits += [f'{os.path.relpath(path, tree)}: {n}' for n in names
                     if re.search(r'\b' + re.escape(n) + r'\b', text)]
    return hits


def selftest(args):
    """make grade-selftest, for every lab L of grade/: the starter tree of lab L
    is a git repository, builds on both arches, scores 0 on lab L (only its
    given checkpoints pass) and full marks on labs 1..L-1 (riscv64), and
    uses no grading interface; the full tree scores full marks; a tampered
    test file makes the grader refuse; one checkpoint can be graded alone.
    Labs 1..L-1 boot the full tree's kernels in starter L when the riscv64
    kernels compile none of the files lab L stubs (their .d files say), or
    when lab L names the only ways into its stubbed code ("stub_entry" in
    grade/labL.json) and no checkpoint source (CHECKPOINT_SOURCES) uses
    any of them: then only their host checkpoints are graded there.
    With --lab L (make grade-selftest LAB=L): lab L's starter tree, and
    lab L alone in the full tree."""
    check = Checks('grade-selftest')
    scale = ['--time-scale', str(args.time_scale)] if args.time_scale else []
    jobs = ['-j', str(min(os.cpu_count() or 1, 4))]
    all_labs = grade.load_labs(ROOT)
    only = getattr(args, 'lab', None)
    check('full-tree-no-interface', not interface_hits(ROOT), '; '.join(interface_hits(ROOT)))
    tmp = tempfile.mkdtemp(prefix='pollux-handout-')
    use_ccache(tmp)
    try:
        for labdef in all_labs:
            lab = labdef['lab']
            if only is not None and lab != only:
                continue
            starter = os.path.join(tmp, f'lab{lab}')
            r = run([sys.executable, 'scripts/handout.py', str(lab), starter], ROOT)
            check(f'lab{lab}-handout', r.returncode == 0, f'handout.py exit status {r.returncode}')
            if r.returncode != 0:
                continue
            log = subprocess.run(['git', 'log', '--format=%s'], cwd=starter, capture_output=True,
                                 text=True)
            st = subprocess.run(['git', 'status', '--porcelain'], cwd=starter, capture_output=True,
                                text=True)
            check(f'lab{lab}-handout-git', log.returncode == 0 and log.stdout == f'Lab {lab} starter\n'
                  and st.stdout == '', f'git log {log.stdout!r}, status {st.stdout!r}')
            hits = interface_hits(starter)
            check(f'lab{lab}-starter-no-interface', not hits, '; '.join(hits))
            # Builds on both arches without warnings (-Werror); aarch64 is
            # only built (CI time), riscv64 is built and graded.
            for arch in ('riscv64', 'aarch64'):
                ok = all(run(['make', '--no-print-directory', *jobs, f'ARCH={arch}', f'KTEST={k}',
                              'all'], starter).returncode == 0 for k in (0, 1))
                check(f'lab{lab}-starter-builds-{arch}', ok)
            defs = {l['lab']: l['checkpoints'] for l in grade.load_labs(starter, upto=lab)}
            # Labs before L boot kernels compiled from the full tree's code
            # (which full-tree-full-marks grades; marker lines aside) when
            # the riscv64 kernels compile none of the files lab L stubs:
            # then only their host checkpoints run here.  Otherwise every
            # checkpoint runs.
            stubbed = stubbed_files(lab)
            used = kernel_sources(starter)
            same_kernels = lab > 1 and used is not None and not set(stubbed) & used
            entry = labdef.get('stub_entry')
            unreached = lab > 1 and not same_kernels and bool(entry) and not reaches(starter, entry)
            if entry and not same_kernels:
                hits = reaches(starter, entry)
                check(f'lab{lab}-stub-entry-unused', not hits,
                      '; '.join(hits) + ' (so every checkpoint runs)')
            if same_kernels:
                print(f'  lab {lab} stubs only {", ".join(stubbed)}, which the riscv64 kernels '
                      f'do not compile: labs before {lab} are graded on their host checkpoints',
                      flush=True)
            elif unreached:
                print(f'  lab {lab}\'s stubs are reached only through {", ".join(entry)}, which '
                      f'no checkpoint source uses: labs before {lab} are graded on their host '
                      f'checkpoints', flush=True)
                same_kernels = True
            if same_kernels:
                runs = [['--lab', str(lab)]] + [['--lab', str(n), '--test', c['name']]
                                                for n, cps in defs.items() if n < lab
                                                for c in cps if 'host' in c]
                skipped = {(n, c['name']) for n, cps in defs.items() if n < lab
                           for c in cps if 'host' not in c}
            else:
                runs, skipped = [['--upto', str(lab)]], set()
            tests, status = {}, 0
            for sel in runs:
                r = run([sys.executable, 'scripts/grade.py', *sel, '--arch', 'riscv64'] + scale,
                        starter)
                status |= r.returncode
                res = load(os.path.join(starter, 'build', 'grade', 'results.json'))
                tests.update((t['name'], t) for t in res['tests'])
            check(f'lab{lab}-starter-graded', status == 0 and
                  len(tests) == sum(len(c) for c in defs.values()) - len(skipped),
                  f'grade.py exit status {status}, {len(tests)} results')
            # Lab L: only its given checkpoints pass; labs before L: all pass.
            wrong = []
            for n, cps in defs.items():
                for c in cps:
                    if (n, c['name']) in skipped:
                        continue
                    arch = 'host' if 'host' in c else 'riscv64'
                    t = tests.get(f"lab{n} {c['name']} [{arch}]")
                    ok = t is not None and t['status'] == 'passed'
                    if ok != (n < lab or c.get('given', False)):
                        wrong.append(f"lab{n} {c['name']}")
            check(f'lab{lab}-starter-exact-failures', not wrong,
                  'unexpected result for ' + ', '.join(wrong) + f' (expected: labs before {lab} '
                  f'pass, lab {lab} fails except its given checkpoints)')
            if lab == all_labs[0]['lab'] and only is None:
                # Tampering: one changed byte in a test file.
                victim = os.path.join(starter, 'kernel', 'ktest', 'ktest.c')
                with open(victim, 'a') as f:
                    f.write('/* tampered */\n')
                r = run([sys.executable, 'scripts/grade.py', '--lab', str(lab)], starter)
                res = load(os.path.join(starter, 'build', 'grade', 'results.json'))
                check('refuses-modified-tests', r.returncode == 2 and 'REFUSED' in r.stdout
                      and 'kernel/ktest/ktest.c: modified' in r.stdout
                      and 'git checkout -- FILE' in r.stdout and res['score'] == 0
                      and 'REFUSED' in res.get('output', ''), f'exit status {r.returncode}')
            shutil.rmtree(starter, ignore_errors=True)
        sel = ['--lab', str(only)] if only is not None else []
        graded = [l for l in all_labs if only is None or l['lab'] == only]
        r = run([sys.executable, 'scripts/grade.py', '--arch', 'riscv64'] + sel + scale, ROOT)
        res = load(os.path.join(ROOT, 'build', 'grade', 'results.json'))
        top = sum(t['max_score'] for t in res['tests'])
        check('full-tree-full-marks', r.returncode == 0 and res['score'] == top > 0 and
              len(res['tests']) == sum(len(l['checkpoints']) for l in graded) and
              all(t['status'] == 'passed' for t in res['tests']), f"score {res['score']}/{top}")
        # One checkpoint alone: only it runs, and only its log is left.
        first = all_labs[0]
        cp = first['checkpoints'][-1]['name']
        r = run([sys.executable, 'scripts/grade.py', '--lab', str(first['lab']), '--test', cp]
                + scale, ROOT)
        res = load(os.path.join(ROOT, 'build', 'grade', 'results.json'))
        logs = sorted(os.listdir(os.path.join(ROOT, 'build', 'grade', 'riscv64')))
        check('one-checkpoint', r.returncode == 0 and
              [t['name'] for t in res['tests']] == [f"lab{first['lab']} {cp} [riscv64]"] and
              [l for l in logs if l.startswith(f"lab{first['lab']}-")] == [f"lab{first['lab']}-{cp}.log"],
              f"{[t['name'] for t in res['tests']]}, logs {logs}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.summary()


# ---------------------------------------------------------------- the recipe
# Seven lines in kernel/main.c that print what a passing test prints.
CHEAT_MAIN = '''
	{	/* grade me */
		char t[40], k[40];
		if (bootarg("ktest", k, sizeof(k)) && bootarg("token", t, sizeof(t))) {
			printf("ktest %s: OK [%s]\\n", k, t);
			arch_power_off(0);
		}
	}
'''


def copy_tree(src, dst):
    sys.path.insert(0, os.path.join(ROOT, 'scripts'))
    import handout
    for f in handout.tree_files(src):
        if f.startswith('build/'):
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, f)) or dst, exist_ok=True)
        shutil.copy2(os.path.join(src, f), os.path.join(dst, f))


def edit(path, old, new):
    with open(path) as f:
        text = f.read()
    if old not in text:
        raise SystemExit(f'grade_selftest: {path} has no {old!r}')
    with open(path, 'w') as f:
        f.write(text.replace(old, new, 1))


def autograder_test(lab=2):
    """grade/run_autograder against a fake AUTOGRADER_ROOT: the zip of
    make autograder as source/, then one submission after another."""
    check = Checks('grade-autograder')
    tmp = tempfile.mkdtemp(prefix='pollux-autograder-')
    use_ccache(tmp)
    try:
        fake = os.path.join(tmp, 'autograder')
        src = os.path.join(fake, 'source')
        zpath = os.path.join(tmp, 'autograder.zip')
        r = run([sys.executable, 'scripts/grade.py', '--lab', str(lab), '--write-autograder', zpath],
                ROOT)
        import zipfile
        with zipfile.ZipFile(zpath) as z:
            z.extractall(src)
            modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        for f, mode in modes.items():     # as unzip does
            os.chmod(os.path.join(src, f), mode & 0o777)
        with open(os.path.join(src, 'LAB')) as f:
            check('zip', r.returncode == 0 and f.read().strip() == str(lab) and
                  modes['run_autograder'] & 0o111 and modes['setup.sh'] & 0o111,
                  f'exit status {r.returncode}')
        # The trees: the full one (it passes), the starter, and variants.
        full = os.path.join(tmp, 'full')
        copy_tree(ROOT, full)
        starter = os.path.join(tmp, 'starter')
        run([sys.executable, 'scripts/handout.py', str(lab), starter], ROOT)

        def variant(name):
            d = os.path.join(tmp, name)
            shutil.copytree(starter, d, symlinks=True)
            return d

        def autograde(sub, arch='riscv64'):
            sdir = os.path.join(fake, 'submission')
            shutil.rmtree(sdir, ignore_errors=True)
            shutil.rmtree(os.path.join(fake, 'results'), ignore_errors=True)
            shutil.copytree(sub, sdir, symlinks=True)
            env = dict(os.environ, AUTOGRADER_ROOT=fake, GRADE_ARCH=arch)
            env.pop('LAB', None)
            r = run([os.path.join(fake, 'run_autograder')], fake, env)
            return r, load(os.path.join(fake, 'results', 'results.json'))

        def graded(res):
            return [t for t in res['tests'] if t.get('visibility') != 'hidden']

        def well_formed(res, arches):
            tests = graded(res)
            return (isinstance(res.get('execution_time'), int) and res.get('visibility') and
                    tests and all(t['status'] in ('passed', 'failed') and t['visibility'] and
                                  any(f'[{a}]' in t['name'] for a in arches) for t in tests) and
                    any(t.get('visibility') == 'hidden' and 'diff' in t['name'] for t in res['tests']))

        shutil.copy(os.path.join(ROOT, 'grade', 'run_autograder'), os.path.join(fake, 'run_autograder'))
        # 1. The full tree, both arches: full marks, half the points per arch.
        r, res = autograde(full, 'all')
        tests = graded(res)
        check('passing-tree', res['score'] == 100 and all(t['status'] == 'passed' for t in tests)
              and {t['name'].split('[')[1] for t in tests} == {'riscv64]', 'aarch64]'},
              f"score {res['score']}")
        check('passing-tree-json', well_formed(res, ('riscv64', 'aarch64')) and
              os.path.isfile(os.path.join(fake, 'results', 'submission.diff')), json.dumps(res)[:300])
        # 2. The starter: every checkpoint of the lab fails.
        r, res = autograde(starter)
        check('stub-tree', res['score'] == 0 and graded(res) and well_formed(res, ('riscv64',)) and
              all(t['status'] == 'failed' for t in graded(res)), f"score {res['score']}")
        # 3. A tree that does not build: 0, and the compiler's error shown.
        broken = variant('broken')
        edit(os.path.join(broken, 'executor', 'combinators.c'), 'void join2_init(',
             'this does not compile;\nvoid join2_init(')
        r, res = autograde(broken)
        check('broken-tree', res['score'] == 0 and 'did not build' in res['output'] and
              all('error' in t['output'] for t in graded(res)), f"score {res['score']}")
        # 4. Cheat: print the OK line from kernel/main.c.  Without the
        # trusted mode it scores full marks; with it, refused.
        cheat1 = variant('cheat1')
        edit(os.path.join(cheat1, 'kernel', 'main.c'), '\tif (!ktest_boot())', CHEAT_MAIN + '\tif (!ktest_boot())')
        r = run([sys.executable, 'scripts/grade.py', '--lab', str(lab)], cheat1)
        plain = load(os.path.join(cheat1, 'build', 'grade', 'results.json'))
        r, res = autograde(cheat1)
        check('cheat-ok-line', plain['score'] == 100 and res['score'] == 0 and
              'REFUSED' in res['output'] and 'kernel/main.c:' in res['output'],
              f"untrusted {plain['score']}, trusted {res['score']}: {res.get('output', '')[:200]}")
        # 5. Cheat: the full tree's build/, newer than the stub sources.
        cheat2 = variant('cheat2')
        run(['make', '--no-print-directory', f'-j{os.cpu_count() or 1}', 'KTEST=1', 'all'], full)
        shutil.copytree(os.path.join(full, 'build'), os.path.join(cheat2, 'build'))
        future = os.path.getmtime(os.path.join(cheat2, 'Makefile')) + 3600
        for d, _, files in os.walk(os.path.join(cheat2, 'build')):
            for f in files:
                os.utime(os.path.join(d, f), (future, future))
        r = run([sys.executable, 'scripts/grade.py', '--lab', str(lab)], cheat2)
        plain = load(os.path.join(cheat2, 'build', 'grade', 'results.json'))
        r, res = autograde(cheat2)
        check('cheat-stale-build', plain['score'] == 100 and res['score'] == 0 and
              all(t['status'] == 'failed' for t in graded(res)),
              f"untrusted {plain['score']}, trusted {res['score']}")
        # 6. Cheat: tests that pass anything, and a manifest that agrees.
        cheat3 = variant('cheat3')
        path = os.path.join(cheat3, 'kernel', 'ktest', 'ktest.c')
        edit(path, 'static void report(const char *name, bool ok)\n{',
             'static void report(const char *name, bool ok)\n{\n\tok = true;')
        run([sys.executable, 'scripts/grade.py', '--write-manifest'], cheat3)
        r = run([sys.executable, 'scripts/grade.py', '--lab', str(lab)], cheat3)
        plain = load(os.path.join(cheat3, 'build', 'grade', 'results.json'))
        r, res = autograde(cheat3)
        check('cheat-edited-tests', plain['score'] == 100 and res['score'] == 0 and
              'kernel/ktest/ktest.c: your version is ignored' in res['output'],
              f"untrusted {plain['score']}, trusted {res['score']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.summary()


if __name__ == '__main__':
    if sys.argv[1:2] == ['autograder']:
        sys.exit(autograder_test(int(sys.argv[2]) if len(sys.argv) > 2 else 2))
    sys.exit(selftest(None))
