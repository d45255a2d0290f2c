#!/usr/bin/env bash
# make bench: guest-counted figures under -icount, plus idle host CPU use.
#
# usage: scripts/bench.sh ARCH       (RUNS=n medians over n runs, default 5;
#                                     IDLE_SECS=n idle window, default 10;
#                                     SMP=n harts for the -icount boots,
#                                     default 1; SMP_RUNS=n boots per hart
#                                     count for the kbench=smp figures)
# Needs the normal and the test kernel without the waker checks
# (build/ARCH/kernel.elf and build/ARCH-bench/kernel.elf: make bench
# builds both).  Prints
# "bench <name> <median> <unit>" lines and writes them as JSON to
# build/ARCH/bench.json.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=$1
runs=${RUNS:-5}
idle_secs=${IDLE_SECS:-10}
out=build/$arch
mkdir -p "$out/bench"
results=()

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2)}'; }
emit() {
	echo "bench $1 $2 $3"
	results+=("{\"name\": \"$1\", \"median\": $2, \"unit\": \"$3\", \"runs\": $4}")
}

# Boot cost: the kernel prints its own instruction counter at the prompt
# ("bootstat" on the command line) and powers off.  Under -icount shift=0
# the counter counts guest instructions exactly.
for i in $(seq "$runs"); do
	scripts/run-qemu.sh --arch "$arch" --smp "${SMP:-1}" --icount --timeout 60 --append bootstat \
		--out "$out/bench/boot.$i.log" "$out/kernel.elf" || true
	sed 's/\r$//' "$out/bench/boot.$i.log" | grep '^bootstat:' \
		|| { echo "bench: boot run $i printed no bootstat line" >&2; exit 1; }
done >"$out/bench/boot.txt"
emit boot_reset_to_prompt "$(awk '{print $2}' "$out/bench/boot.txt" | median)" instructions "$runs"
emit boot_kmain_to_prompt "$(awk '{print $8}' "$out/bench/boot.txt" | median)" instructions "$runs"

# Kernel executor figures: the "kbench" boot of the test kernel (the
# in-kernel benchmarks, kernel/kbench/, are linked only there; the code
# they measure is the normal kernel's) measures them with the
# instruction counter (medians of 11 inside) and prints bench lines; it
# also prints the kernel bytes of a process (kproc_bytes, the base cost;
# kproc_fp_bytes, what a process that used FP/SIMD adds: 0 on riscv64).
# Every bench line becomes a bench.json entry.
test_kernel=build/$arch-bench/kernel.elf
for i in $(seq "$runs"); do
	scripts/run-qemu.sh --arch "$arch" --smp "${SMP:-1}" --icount --timeout 120 --append kbench \
		--out "$out/bench/kbench.$i.log" "$test_kernel" \
		|| { echo "bench: kbench run $i failed (log: $out/bench/kbench.$i.log)" >&2; exit 1; }
	sed 's/\r$//' "$out/bench/kbench.$i.log" | grep '^bench '
done >"$out/bench/kbench.txt"
for name in $(awk '{print $2}' "$out/bench/kbench.txt" | sort -u); do
	unit=$(awk -v n="$name" '$2 == n {print $4; exit}' "$out/bench/kbench.txt")
	emit "$name" "$(awk -v n="$name" '$2 == n {print $3}' "$out/bench/kbench.txt" | median)" "$unit" "$runs"
done

# User-level figures: the "ubench" program as process 1 (user/ubench.c)
# measures getpid, pipe ping-pong and spawn+exit+wait (medians of 11
# batches inside) and prints bench lines.  Its unit is "instructions"
# where user mode can read the instruction counter, else "ns" of guest
# time (under -icount shift=0 also one per instruction; ubench says which).
for i in $(seq "$runs"); do
	scripts/run-qemu.sh --arch "$arch" --smp "${SMP:-1}" --icount --timeout 120 --append init=ubench \
		--out "$out/bench/ubench.$i.log" "$out/kernel.elf" \
		|| { echo "bench: ubench run $i failed (log: $out/bench/ubench.$i.log)" >&2; exit 1; }
	sed 's/\r$//' "$out/bench/ubench.$i.log" | grep '^bench '
done >"$out/bench/ubench.txt"
sed 's/\r$//' "$out/bench/ubench.1.log" | grep '^ubench: \(counting\|no user\)' >&2 || true
for name in $(awk '{print $2}' "$out/bench/ubench.txt" | sort -u); do
	unit=$(awk -v n="$name" '$2 == n {print $4; exit}' "$out/bench/ubench.txt")
	emit "$name" "$(awk -v n="$name" '$2 == n {print $3}' "$out/bench/ubench.txt" | median)" "$unit" "$runs"
done

# The file system: `ubench -fs` on a fresh 64 MiB image each run.
# "count" under -icount: instructions per operation, the hart's idle time
# taken off (PX_KSTAT_IDLE_NS: the counter runs on while the hart waits
# for the disk).  "wall" without -icount, where the disk takes real
# time: KiB/s, blocking reads vs the ring, cp async vs plain.  FS_RUNS=n
# boots of each (default 3); FS_DRIVE_OPTS=o extra -drive options for the
# disk in both modes (e.g. cache=none,aio=threads: QEMU reads the disk,
# not the host's page cache).  Without it the count boots read the image
# with O_DIRECT when its file system allows (cache=none,aio=threads), so
# their guest time, in which an instruction takes 1 ns and the disk its
# real time, shows what the ring's reads in flight hide
# (fs_rand_read_ring32_icount_speedup_x100); the wall boots use the page
# cache.
fs_runs=${FS_RUNS:-3}
count_dopts=
if [ -z "${FS_DRIVE_OPTS:-}" ]; then
	if dd if=/dev/zero of="$out/bench/direct.probe" bs=4096 count=1 oflag=direct 2>/dev/null; then
		count_dopts=cache=none,aio=threads
	else
		echo "bench: $out/bench cannot be opened with O_DIRECT: the fs count boots use the page cache" >&2
	fi
	rm -f "$out/bench/direct.probe"
fi
for mode in count wall; do
	for i in $(seq "$fs_runs"); do
		rm -f "$out/bench/fs.img"
		build/host/mkfs -s 64M "$out/bench/fs.img" "$out"/user/stripped/*.elf >/dev/null
		icount=() dopts=()
		[ "$mode" = count ] && icount=(--icount)
		[ "$mode" = count ] && [ -n "$count_dopts" ] && dopts=(--drive-opts "$count_dopts")
		[ -n "${FS_DRIVE_OPTS:-}" ] && dopts=(--drive-opts "$FS_DRIVE_OPTS")
		scripts/run-qemu.sh --arch "$arch" --smp "${SMP:-1}" "${icount[@]}" "${dopts[@]}" --timeout 300 \
			--append "init=ubench initargs=-fs,$mode" --disk "$out/bench/fs.img" \
			--out "$out/bench/ubench-fs-$mode.$i.log" "$out/kernel.elf" \
			|| { echo "bench: ubench -fs $mode run $i failed (log: $out/bench/ubench-fs-$mode.$i.log)" >&2; exit 1; }
		tr -d '\r\000' <"$out/bench/ubench-fs-$mode.$i.log" | grep -a '^bench '
	done
done >"$out/bench/ubench-fs.txt"
for name in $(awk '{print $2}' "$out/bench/ubench-fs.txt" | sort -u); do
	unit=$(awk -v n="$name" '$2 == n {print $4; exit}' "$out/bench/ubench-fs.txt")
	emit "$name" "$(awk -v n="$name" '$2 == n {print $3}' "$out/bench/ubench-fs.txt" | median)" "$unit" "$fs_runs"
done

# The network (scripts/netbench.py, `ubench -net` as process 1 on a fresh
# image, the host driving httpd, echod and a sink and source through the
# forwarded ports): "count" under -icount, guest instructions per
# operation (kernel + user, sleep in WFI excluded, medians of NET_RUNS
# batches); "wall" without it, wrk's requests per second at 1, 10 and 100
# connections and bulk MB/s, bounded by QEMU's user-mode network.
for mode in count wall; do
	python3 scripts/netbench.py --arch "$arch" --kernel "$out/kernel.elf" --mkfs build/host/mkfs \
		--progs "$out/user/stripped" --out "$out/bench" "$mode" \
		|| { echo "bench: netbench $mode failed (log: $out/bench/net-$mode.log)" >&2; exit 1; }
done >"$out/bench/net.txt"
while read -r _ name value unit; do
	emit "$name" "$value" "$unit" 1
done < <(grep '^bench ' "$out/bench/net.txt")

# Multi-hart figures (kernel/kbench/smp.c, "kbench=smp"): wall time in
# timer ticks, without -icount (with it QEMU 7.2 runs every hart on one
# host thread), so medians over SMP_RUNS boots (default 3) at 1, 2 and 4
# harts.  QEMU runs each hart on its own host thread: the speedup is
# bounded by the host's cores ($(nproc) here).
smp_runs=${SMP_RUNS:-3}
for n in 1 2 4; do
	for i in $(seq "$smp_runs"); do
		scripts/run-qemu.sh --arch "$arch" --smp "$n" --timeout 300 --append kbench=smp \
			--out "$out/bench/kbench-smp$n.$i.log" "$test_kernel" \
			|| { echo "bench: kbench=smp -smp $n run $i failed (log: $out/bench/kbench-smp$n.$i.log)" >&2; exit 1; }
		sed 's/\r$//' "$out/bench/kbench-smp$n.$i.log" | grep '^bench '
	done
done >"$out/bench/kbench-smp.txt"
for name in $(awk '{print $2}' "$out/bench/kbench-smp.txt" | sort -u); do
	unit=$(awk -v n="$name" '$2 == n {print $4; exit}' "$out/bench/kbench-smp.txt")
	emit "$name" "$(awk -v n="$name" '$2 == n {print $3}' "$out/bench/kbench-smp.txt" | median)" "$unit" "$smp_runs"
done
smp_med() { awk -v n="$1" '$2 == n {print $3}' "$out/bench/kbench-smp.txt" | median; }
b1=$(smp_med smp_batch_h1) b2=$(smp_med smp_batch_h2) b4=$(smp_med smp_batch_h4)
emit smp_speedup_h2 "$(awk -v a="$b1" -v b="$b2" 'BEGIN {printf "%.2f", a / b}')" x "$smp_runs"
emit smp_speedup_h4 "$(awk -v a="$b1" -v b="$b4" 'BEGIN {printf "%.2f", a / b}')" x "$smp_runs"

# Idle: host CPU time QEMU burns while the kernel sits at the prompt,
# without -icount (under icount even a WFI guest keeps the host busy).
qemu_below() { # pid -> the qemu-system process at or below it
	local todo=$1 p
	while [ -n "$todo" ]; do
		set -- $todo
		p=$1
		shift
		todo="$* $(pgrep -P "$p" | tr '\n' ' ')"
		todo=${todo# }
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		qemu-system-*) echo "$p"; return 0 ;;
		esac
	done
	return 1
}
idle_cpu_ms() { # kernel.elf [harts] -> CPU milliseconds over idle_secs
	local elf=$1 nh=${2:-1} pidfile
	pidfile=$(mktemp)
	( scripts/run-qemu.sh --arch "$arch" --smp "$nh" --timeout $((idle_secs + 30)) --out /dev/null "$elf" &
	  echo $! >"$pidfile"; wait ) &
	local runner=$!
	sleep 2 # boot
	local qpid
	# Our own QEMU: a descendant of this runner (a pattern match on the
	# command line could pick another job's QEMU on a shared machine).
	qpid=$(qemu_below "$(cat "$pidfile")" || true)
	[ -n "$qpid" ] || { echo "bench: QEMU did not start" >&2; return 1; }
	local t0 t1 hz
	hz=$(getconf CLK_TCK)
	t0=$(awk '{print $14 + $15}' "/proc/$qpid/stat")
	sleep "$idle_secs"
	t1=$(awk '{print $14 + $15}' "/proc/$qpid/stat")
	kill "$qpid" 2>/dev/null || true
	wait "$runner" 2>/dev/null || true
	rm -f "$pidfile"
	echo $(((t1 - t0) * 1000 / hz))
}
for i in $(seq 3); do idle_cpu_ms "$out/kernel.elf"; done >"$out/bench/idle.txt"
emit idle_host_cpu_${idle_secs}s "$(median <"$out/bench/idle.txt")" ms 3
for i in $(seq 3); do idle_cpu_ms "$out/kernel.elf" 4; done >"$out/bench/idle-smp4.txt"
emit idle_host_cpu_${idle_secs}s_smp4 "$(median <"$out/bench/idle-smp4.txt")" ms 3
make --no-print-directory ARCH="$arch" IDLE=spin all >/dev/null
for i in $(seq 3); do idle_cpu_ms "build/$arch-spin/kernel.elf"; done >"$out/bench/idle-spin.txt"
emit idle_host_cpu_${idle_secs}s_spin "$(median <"$out/bench/idle-spin.txt")" ms 3

{
	echo "{\"arch\": \"$arch\", \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\", \"results\": ["
	(IFS=,; echo "  ${results[*]}" | sed 's/},{/},\n  {/g')
	echo "]}"
} >"$out/bench.json"
echo "bench: wrote $out/bench.json"
