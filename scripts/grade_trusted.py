"""The trusted grading mode: the course's grader, runner, tests and build files over a clean private copy of a submission.

scripts/grade.py --trusted DIR [--submission SUB] (--lab N | --upto N) [--arch all]
                 [--results FILE] [--artifacts ADIR]     (or GRADE_TRUSTED=DIR make grade)

DIR is the teacher's tree (the full tree, as in the repository).  The
grader that runs is DIR's own (scripts/grade.py re-executes it), and:

 1. it writes lab N's starter tree from DIR (scripts/handout.py) into a
    private directory, then copies the submission over it: every file but
    build/, .git/, symbolic links and the TRUSTED files below, which stay
    the course's copies (a submission's own versions are ignored, and
    results.json says so);
 2. it refuses, with score 0 and the file:line of each, a submission whose
    non-test sources use the grading interface: a string literal naming
    the token or test-selection boot arguments (token=, ktest=, "-T",
    usertests) or spelling the OK line's token part ("OK [", "[%s]");
 3. it builds from scratch (there is no build/ to reuse) and grades;
 4. it writes results.json whatever happens, with the diff of the
    submission against the starter as a hidden test entry (the teacher
    sees it, the student does not), and keeps the diff and the console
    logs in ADIR if given.

What it cannot stop: code that builds those strings at run time, or a
kernel that finds the token in memory, can still forge an OK line (so
could a student of any grader whose tests run inside the student's
kernel); the diff is there for the teacher to read.
"""
import fnmatch
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile

import grade

# The course's copies always: the build, the grader and runner, the
# checkpoints, every test (in the kernel, in user mode, on the host).
TRUSTED = sorted(set(grade.PROTECTED + [
    'Makefile', 'linker/*', 'scripts/*', 'grade/*', 'kernel/ktest/*', 'arch/*/ktest/*',
    'kernel/kbench/*', 'kernel/hosttest/*', 'executor/tests/*', 'executor/bench/*',
    'user/tests/*', 'user/usertests.c', 'user/kiotest.c']))
SKIP = {'build', '.git', '__MACOSX'}
C_FILES = ('.c', '.h', '.S', '.s', '.ld', '.inc')
DOC_FILES = ('.md', '.txt', '.pdf', '.png', '.jpg')
# What only the tests may say: (regex on a string literal, what it is).
# The token's part of the OK line, not "test %s: OK" itself, which user
# test programs (user/lib/px_test.c) print too.
INTERFACE = [
    (r'OK\s*\[', 'the OK line format'),
    (r'^\s*\[%s\]', 'the OK line format'),
    (r'\btoken\s*=|^token$', 'the token boot argument'),
    (r'\bktest\s*=|^ktest$', 'the test-selection boot argument'),
    (r'^-T$', "usertests' token option"),
    (r'\busertests\b', 'the graded test program'),
]
# Outside C-like files, only the unmistakable ones.
RAW_INTERFACE = [(r'OK \[', 'the OK line format'), (r'\btoken=', 'the token boot argument'),
                 (r'\bktest=', 'the test-selection boot argument')]


def trusted(rel):
    return any(fnmatch.fnmatch(rel, p) for p in TRUSTED)


# ---------------------------------------------------------------- scanning
def c_literals(text):
    """(line, text) of every string literal, comments skipped and adjacent
    literals ("a" "b") joined, escapes decoded."""
    out, i, n, line = [], 0, len(text), 1
    cur, cur_line, last_end = None, 0, -1
    while i < n:
        c = text[i]
        if c == '\n':
            line += 1
            i += 1
        elif text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            line += text.count('\n', i, j)
            i = j
        elif c == "'":
            j = i + 1
            while j < n and text[j] != "'" and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            i = j + 1
        elif c == '"':
            j, s = i + 1, []
            while j < n and text[j] != '"' and text[j] != '\n':
                if text[j] == '\\' and j + 1 < n:
                    e = text[j + 1]
                    m = re.match(r'x[0-9a-fA-F]{1,2}|[0-7]{1,3}', text[j + 1:])
                    if m:
                        v = m.group(0)
                        s.append(chr(int(v[1:], 16) if v[0] == 'x' else int(v, 8)))
                        j += 1 + len(v)
                        continue
                    s.append({'n': '\n', 't': '\t', 'r': '\r', '0': '\0'}.get(e, e))
                    j += 2
                else:
                    s.append(text[j])
                    j += 1
            lit = ''.join(s)
            if cur is not None and text[last_end:i].strip() == '':
                cur += lit
            else:
                if cur is not None:
                    out.append((cur_line, cur))
                cur, cur_line = lit, line
            i = last_end = j + 1
        else:
            i += 1
    if cur is not None:
        out.append((cur_line, cur))
    return out


def scan_file(path, rel):
    """Uses of the grading interface in one file: [(line, what, snippet)]."""
    if rel.endswith(DOC_FILES):
        return []
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
    except OSError:
        return []
    hits = []
    if rel.endswith(C_FILES):
        for line, lit in c_literals(text):
            for pat, what in INTERFACE:
                if re.search(pat, lit):
                    hits.append((line, what, '"' + lit.encode('unicode_escape').decode()[:60] + '"'))
                    break
    else:
        for i, l in enumerate(text.splitlines(), 1):
            for pat, what in RAW_INTERFACE:
                if re.search(pat, l):
                    hits.append((i, what, l.strip()[:60]))
                    break
    return hits


def scan(tree, rels):
    return [f'{rel}:{line}: {snippet} ({what})' for rel in sorted(rels)
            for line, what, snippet in scan_file(os.path.join(tree, rel), rel)]


# ---------------------------------------------------------------- the tree
def find_tree(sub):
    """The directory of the submission holding the tree (a zip of a folder
    nests it one or two levels down), or None for a flat upload of files."""
    level = [sub]
    for _ in range(3):
        for d in level:
            if os.path.isfile(os.path.join(d, 'Makefile')) and os.path.isdir(os.path.join(d, 'kernel')):
                return d
        level = [os.path.join(d, x) for d in level for x in sorted(os.listdir(d))
                 if x not in SKIP and os.path.isdir(os.path.join(d, x))
                 and not os.path.islink(os.path.join(d, x))]
    return None


def files_under(root):
    """Every file, but not .git/ and not the top-level build/."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x not in ('.git', '__MACOSX') and not (x == 'build' and d == root)]
        out += [os.path.relpath(os.path.join(d, f), root) for f in files
                if f != '.git' and not (f == '.pollux-handout' and d == root)]
    return sorted(out)


def same(a, b):
    try:
        with open(a, 'rb') as f, open(b, 'rb') as g:
            return f.read() == g.read()
    except OSError:
        return False


def compose(sub, starter, tree):
    """Copy the submission over the starter copy in `tree`; returns (files
    of the submission that differ from the starter, notes)."""
    notes, changed = [], []
    subroot = find_tree(sub)
    placed = {}
    if subroot:
        for rel in files_under(subroot):
            placed[rel] = os.path.join(subroot, rel)
    else:
        # Single files uploaded flat: put each where the starter has the
        # one file of that name.
        by_name = {}
        for rel in files_under(starter):
            by_name.setdefault(os.path.basename(rel), []).append(rel)
        for name in sorted(os.listdir(sub)):
            src = os.path.join(sub, name)
            if not os.path.isfile(src):
                continue
            cands = [r for r in by_name.get(name, []) if not trusted(r)]
            if len(cands) == 1:
                placed[cands[0]] = src
            else:
                notes.append(f'{name}: ignored (the starter has {len(cands) or "no"} files of that '
                             'name; submit the whole tree, or a zip of it)')
    for rel, src in sorted(placed.items()):
        if os.path.islink(src) or not os.path.isfile(src):
            notes.append(f'{rel}: ignored (not a regular file)')
            continue
        ref = os.path.join(starter, rel)
        if same(src, ref):
            continue
        if trusted(rel):
            notes.append(f'{rel}: your version is ignored; graded with the course\'s copy')
            continue
        dst = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        changed.append(rel)
    return changed, notes


def unzip(sub, dest):
    """A submission that is one zip file and nothing else: its contents."""
    names = [n for n in os.listdir(sub) if not n.startswith('.')]
    if find_tree(sub) or len(names) != 1 or not names[0].endswith('.zip'):
        return sub
    try:
        with zipfile.ZipFile(os.path.join(sub, names[0])) as z:
            for m in z.infolist():
                target = os.path.realpath(os.path.join(dest, m.filename))
                if target.startswith(os.path.realpath(dest) + os.sep) and not m.is_dir():
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with z.open(m) as f, open(target, 'wb') as g:
                        shutil.copyfileobj(f, g)
    except (zipfile.BadZipFile, OSError):
        return sub
    return dest


def write_zip(root, lab, path):
    """Gradescope's autograder zip: the teacher's tree at the top (it becomes
    /autograder/source), setup.sh and run_autograder beside it, LAB = lab."""
    sys.path.insert(0, os.path.join(root, 'scripts'))
    import handout
    files = [f for f in handout.tree_files(root) if not f.startswith('build/')]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        def add(name, src=None, data=None, mode=0o644):
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            if data is None:
                with open(src, 'rb') as f:
                    data = f.read()
            z.writestr(info, data)
        for f in files:
            src = os.path.join(root, f)
            add(f, src, mode=0o755 if os.access(src, os.X_OK) else 0o644)
        add('setup.sh', os.path.join(root, 'grade', 'setup.sh'), mode=0o755)
        add('run_autograder', os.path.join(root, 'grade', 'run_autograder'), mode=0o755)
        add('LAB', data=f'{lab}\n')
    print(f'grade: wrote {path}: upload it as the autograder of lab {lab} ({len(files)} files)')


def diff(work):
    r = subprocess.run(['diff', '-ruN', '-x', 'build', '-x', '.pollux-handout', 'starter',
                        'submission'], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors='replace')
    return r.stdout


def diff_entry(text, lab):
    shown = text if len(text) <= 60000 else text[:60000] + '\n[... diff cut at 60000 characters]\n'
    files = sorted(set(re.findall(r'^\+\+\+ submission/(\S+)', text, re.M)))
    return {'name': f'submission diff against the lab {lab} starter (teacher only)',
            'score': 0, 'max_score': 0, 'status': 'passed', 'visibility': 'hidden',
            'output': f'{len(files)} files changed: {", ".join(files)}\n\n{shown}'}


def open_up(path):
    """Let an unprivileged user read the private tree (host checkpoints)."""
    for d, dirs, files in os.walk(path):
        os.chmod(d, 0o755)
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def main(args):
    started = time.monotonic()
    root = grade.ROOT
    sub = os.path.abspath(args.submission or root)
    arches = grade.ARCHES if args.arch == 'all' else tuple(args.arch.split(','))
    results_json = os.path.abspath(args.results or os.path.join(sub, 'build', 'grade', 'results.json'))
    labs = grade.load_labs(root, args.lab, args.upto)
    if not labs:
        print(f'grade: no checkpoints for lab {args.lab} in {root}/grade')
        return 2
    lab = args.lab or args.upto or labs[-1]['lab']
    work = tempfile.mkdtemp(prefix='pollux-grade-')
    try:
        starter, tree = os.path.join(work, 'starter'), os.path.join(work, 'submission')
        r = subprocess.run([sys.executable, os.path.join(root, 'scripts', 'handout.py'), '--no-git',
                            str(lab), starter], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if r.returncode != 0:
            return grade.refuse(results_json, f'grade: cannot write the lab {lab} starter:\n{r.stdout}',
                                labs, arches, started)
        shutil.copytree(starter, tree, symlinks=True)
        if not os.path.isdir(sub):
            return grade.refuse(results_json, f'grade: no submission at {sub}', labs, arches, started)
        sub = unzip(sub, os.path.join(work, 'unzipped'))
        changed, notes = compose(sub, starter, tree)
        d = diff(work)
        extra = [diff_entry(d, lab)]
        if args.artifacts:
            os.makedirs(args.artifacts, exist_ok=True)
            with open(os.path.join(args.artifacts, 'submission.diff'), 'w') as f:
                f.write(d)
        note = ''.join(f'{n}\n' for n in notes)
        print(f'grade: trusted mode: {len(changed)} files of the submission differ from the lab '
              f'{lab} starter' + ''.join(f'\n  {n}' for n in notes))
        hits = scan(tree, changed)
        if hits:
            msg = ('grade: REFUSED: your code uses the grading interface, which only the tests '
                   'may use:\n' + ''.join(f'  {h}\n' for h in hits) +
                   'Only the tests (kernel/ktest/, user/usertests.c) read token= or ktest= or print '
                   'OK lines. Remove these lines and submit again.')
            return grade.refuse(results_json, msg, labs, arches, started, extra, note)
        grade.SANDBOX = True
        open_up(work)
        # The build runs the course's scripts whatever modes the upload kept.
        for f in os.listdir(os.path.join(tree, 'scripts')):
            if f.endswith(('.sh', '.py')):
                os.chmod(os.path.join(tree, 'scripts', f), 0o755)
        status, _ = grade.grade_tree(tree, labs, arches, args, results_json, note=note, extra=extra)
        if args.artifacts:
            logs = os.path.join(tree, 'build', 'grade')
            if os.path.isdir(logs):
                shutil.copytree(logs, os.path.join(args.artifacts, 'logs'), dirs_exist_ok=True)
        return status
    finally:
        if os.environ.get('GRADE_KEEP'):
            print(f'grade: kept {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)
