#!/usr/bin/env python3
"""Where irq_to_poll's instructions go (docs/kernel.md, "Measured").

usage: scripts/irqpath.py ARCH [ELF] [N]   (after make bench, or
make KTEST=1 CHECK=0 ARCH=...; ELF defaults to build/ARCH-bench/kernel.elf)

Boots the kbench kernel under -icount with QEMU's single-step exec log
limited to the kernel's text, cuts out the first N (default 11) paths
from the trap vector's first instruction to kbench_poll's first that
pass through trap_timer, and prints the median one as runs of
instructions per function, then totals per function."""
import bisect, collections, os, re, subprocess, sys, tempfile
arch = sys.argv[1]
elf = sys.argv[2] if len(sys.argv) > 2 else 'build/%s-bench/kernel.elf' % arch
nwin = int(sys.argv[3]) if len(sys.argv) > 3 else 11
nm = 'riscv64-unknown-elf-nm' if arch == 'riscv64' else 'aarch64-linux-gnu-nm'
syms = []
for l in subprocess.run([nm, '-n', elf], capture_output=True, text=True).stdout.splitlines():
    p = l.split()
    if len(p) == 3 and p[1] in 'tTwW' and not p[2].startswith('$'):
        syms.append((int(p[0], 16), p[2]))
addrs = [a for a, _ in syms]
def sym(pc):
    i = bisect.bisect_right(addrs, pc) - 1
    return syms[i][1] if i >= 0 else '?'
by = {n: a for a, n in syms}
lo = min(a for a, n in syms if n in ('_start', '__kernel_start'))
hi = max(addrs) + 0x10000
vec = by['rv_trap_vector' if arch == 'riscv64' else 'a64_vectors']
vec_end = vec + (0x800 if arch == 'aarch64' else 4)
poll = by['kbench_poll']
fifo = os.path.join(tempfile.mkdtemp(), 'exec.log')
os.mkfifo(fifo)
kern = elf if arch == 'riscv64' else elf[:-4] + '.bin'
if arch == 'riscv64':
    cmd = ['qemu-system-riscv64', '-machine', 'virt', '-bios',
           '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin', '-kernel', kern]
else:
    cmd = ['qemu-system-aarch64', '-machine', 'virt,gic-version=3', '-cpu', 'cortex-a72',
           '-kernel', kern, '-semihosting-config', 'enable=on,target=native']
cmd += ['-m', '128M', '-smp', '1', '-nic', 'none', '-global', 'virtio-mmio.force-legacy=false',
        '-append', 'kbench', '-icount', 'shift=0,sleep=on', '-display', 'none', '-monitor', 'none',
        '-serial', 'null', '-singlestep', '-d', 'exec,nochain',
        '-dfilter', '0x%x..0x%x' % (lo, hi), '-D', fifo]
q = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pcre = re.compile(r'/([0-9a-f]{16})/')
wins = []
cur = None
with open(fifo) as f:
    for line in f:
        m = pcre.search(line)
        if not m: continue
        pc = int(m.group(1), 16)
        if arch == 'riscv64' and pc == vec:
            cur = [pc]; continue
        # aarch64: a slot's first instruction (the table is 16 slots).
        if arch == 'aarch64' and vec <= pc < vec_end and (pc - vec) % 0x80 == 0:
            cur = [pc]; continue
        if cur is not None:
            cur.append(pc)
            if pc == poll:
                names = [sym(p) for p in cur]
                if 'trap_timer' in names and len(cur) < 5000:
                    wins.append(names)
                    if len(wins) >= nwin: break
                cur = None
            elif len(cur) > 5000:
                cur = None
q.kill()
os.unlink(fifo)
os.rmdir(os.path.dirname(fifo))
if not wins:
    sys.exit('irqpath: no wake-up path found')
wins.sort(key=len)
med = wins[len(wins) // 2]
print('windows:', [len(w) - 1 for w in wins])
print('median window: %d instructions (vector first .. poll first, exclusive)' % (len(med) - 1))
# Runs of consecutive functions, in order.
runs = []
for n in med[:-1]:
    if runs and runs[-1][0] == n: runs[-1][1] += 1
    else: runs.append([n, 1])
for n, c in runs: print('  %5d  %s' % (c, n))
tot = collections.Counter(med[:-1])
print('per function:')
for n, c in tot.most_common(): print('  %5d  %s' % (c, n))
