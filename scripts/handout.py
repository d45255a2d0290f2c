#!/usr/bin/env python3
"""Write a lab's starter tree: the solutions of lab N and later become stubs.

usage: scripts/handout.py [--no-git] LAB OUTDIR

Marker syntax (docs/labs/README.md).  In any tracked text file, a solution
region is three marker lines, each alone on its line (indentation free):

	/* LAB n BEGIN */
	...solution code, compiled in the full tree...
	/* LAB n STUB
	...stub code, inside the comment in the full tree...
	   LAB n END */

The starter tree for lab L keeps the solution of every lab n < L and, for
every lab n >= L, replaces the whole region (marker lines included) by the
stub lines.  Stub lines must not contain a closing comment; use // comments.
Regions do not nest.  The copy covers `git ls-files` (tracked files plus
untracked, not ignored ones; outside git: every file but build/);
grade/manifest.sha256 is regenerated there, and OUTDIR becomes a git
repository with one commit, "Lab N starter", so `git diff` shows what the
student changed (and `git checkout -- FILE` restores a file).
"""
import os
import re
import shutil
import subprocess
import sys

BEGIN = re.compile(r'^\s*/\* LAB (\d+) BEGIN \*/\s*$')
STUB = re.compile(r'^\s*/\* LAB (\d+) STUB\s*$')
END = re.compile(r'^\s*LAB (\d+) END \*/\s*$')


STAMP = '.pollux-handout'  # marks a directory this script may replace


class MarkerError(Exception):
    pass


def strip(text, lab, path='<text>'):
    """Return (text for the starter tree of `lab`, number of regions stubbed)."""
    out, n, state, num = [], 0, None, None
    for i, line in enumerate(text.splitlines(keepends=True), 1):
        for pat, want in ((BEGIN, None), (STUB, 'solution'), (END, 'stub')):
            m = pat.match(line)
            if m:
                if state != want or (want and int(m.group(1)) != num):
                    raise MarkerError(f'{path}:{i}: unexpected marker {line.strip()!r}')
                break
        else:
            m = None
        if m and pat is BEGIN:
            state, num = 'solution', int(m.group(1))
            continue
        if m and pat is STUB:
            state = 'stub'
            if '*/' in line:
                raise MarkerError(f'{path}:{i}: marker line closes the comment')
            continue
        if m and pat is END:
            state = None
            n += num >= lab
            continue
        if state is None or (state == 'solution' and num < lab) \
                or (state == 'stub' and num >= lab):
            if state == 'stub' and '*/' in line:
                raise MarkerError(f'{path}:{i}: stub line closes the comment')
            out.append(line)
    if state is not None:
        raise MarkerError(f'{path}: LAB {num} region not closed')
    return ''.join(out), n


def tree_files(root):
    r = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'],
                       cwd=root, capture_output=True)
    if r.returncode == 0:
        return [f for f in r.stdout.decode().split('\0') if f and os.path.isfile(os.path.join(root, f))]
    # Not a git checkout (a starter tree itself): every file but build/.
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not (d == root and x in ('build', '.git'))]
        out += [os.path.relpath(os.path.join(d, f), root) for f in files if f != STAMP]
    return sorted(out)


def git_init(out, lab):
    """One commit holding the whole starter tree, made by no one in particular."""
    env = dict(os.environ, GIT_AUTHOR_NAME='Pollux handout', GIT_AUTHOR_EMAIL='handout@pollux',
               GIT_COMMITTER_NAME='Pollux handout', GIT_COMMITTER_EMAIL='handout@pollux')
    for cmd in (['git', 'init', '-q'], ['git', 'add', '-A'],
                ['git', 'commit', '-q', '--no-verify', '-m', f'Lab {lab} starter']):
        try:
            r = subprocess.run(cmd, cwd=out, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        except OSError:
            return False
        if r.returncode != 0:
            return False
    return True


def main():
    argv = sys.argv[1:]
    git = '--no-git' not in argv
    argv = [a for a in argv if a != '--no-git']
    if len(argv) != 2 or not argv[0].isdigit():
        print(__doc__.split('\n\n')[1].strip(), file=sys.stderr)
        return 2
    lab, out = int(argv[0]), os.path.abspath(argv[1])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.abspath(out).startswith(root + os.sep) and not os.path.abspath(out).startswith(
            os.path.join(root, 'build') + os.sep):
        print('handout: OUT must be outside the tree (or under build/)', file=sys.stderr)
        return 2
    if os.path.exists(out) and os.listdir(out):
        # Replace only a tree this script wrote before.
        if not os.path.isfile(os.path.join(out, STAMP)):
            print(f'handout: {out} exists and is not an earlier handout; not touching it',
                  file=sys.stderr)
            return 2
        shutil.rmtree(out)
    stubbed = 0
    for f in tree_files(root):
        src, dst = os.path.join(root, f), os.path.join(out, f)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        try:
            with open(src, encoding='utf-8') as fh:
                text = fh.read()
        except UnicodeDecodeError:
            shutil.copy2(src, dst)
            continue
        if 'LAB ' in text and f.endswith(('.c', '.h', '.S')):
            try:
                text, n = strip(text, lab, f)
            except MarkerError as e:
                print(f'handout: {e}', file=sys.stderr)
                return 1
            stubbed += n
        with open(dst, 'w', encoding='utf-8') as fh:
            fh.write(text)
        shutil.copymode(src, dst)
    r = subprocess.run([sys.executable, os.path.join(out, 'scripts', 'grade.py'), '--write-manifest'],
                       cwd=out)
    if r.returncode:
        return 1
    if not git:
        pass
    elif git_init(out, lab):
        # The stamp stays out of the student's history and `git status`.
        with open(os.path.join(out, '.git', 'info', 'exclude'), 'a') as fh:
            fh.write(f'/{STAMP}\n')
    else:
        print('handout: git is missing or failed: the starter tree is not a git repository',
              file=sys.stderr)
    with open(os.path.join(out, STAMP), 'w') as fh:
        fh.write(f'lab {lab}\n')
    print(f'handout: lab {lab} starter tree in {out} ({stubbed} solution regions stubbed)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
