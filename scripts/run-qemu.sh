#!/usr/bin/env bash
# Boot a Pollux kernel in QEMU: interactively, or for a test with a time limit.
#
# usage: scripts/run-qemu.sh [options] KERNEL.elf
#   --arch A          riscv64 (default) or aarch64
#   --smp N           harts (default 1)        --mem M   RAM (default 128M)
#   --interactive     console on this terminal (Ctrl-A x quits)
#   --gdb             stop at reset and wait for gdb (port 1234 unless
#                     --gdb-port)
#   --gdb-port PORT   serve gdb on 127.0.0.1:PORT (several QEMUs may run at
#                     once: make qemu-gdb and the gdb test pick a free one)
#   --input FILE      feed FILE to the console (default: nothing)
#   --wait-for TEXT   hold the input back until the console shows TEXT
#                     (as a person types only after the prompt; needs --out)
#   --out FILE        write the console output to FILE (default: stdout)
#   --timeout SECS    kill QEMU after SECS (default 60); then exit 124
#   --append ARGS     kernel command line (/chosen/bootargs)
#   --icount          -icount shift=0,sleep=on: one guest instruction per ns
#                     (sleep=off would be exact even when idle, but QEMU 7.2
#                     then never wakes a guest that waits only for input)
#   --disk FILE       attach FILE as a virtio-blk disk
#   --drive-opts O    extra -drive options for it (e.g. aio=threads,cache=none;
#                     make bench's FS_DRIVE_OPTS)
#   --net             a virtio-net card on QEMU's user-mode network with
#                     restrict=on (the guest reaches nothing beyond QEMU),
#                     guest 10.0.2.15; host ports on 127.0.0.1 only are
#                     forwarded: TCP 8080 -> guest 80 (httpd), TCP 7007 ->
#                     guest 7 (echod), UDP 7007 -> guest 7, UDP 5555 ->
#                     guest 5555.  A host port already taken stops the
#                     boot with a message saying which
#   --net-ports T,U,V[,E] with --net: forward host TCP port T (to 80), UDP
#                     ports U (to 7) and V (to 5555) and TCP port E (to 7)
#                     instead (tests pick free ones); "none": none
#   --net-fwd H:G[,H:G...] with --net: also forward host TCP port
#                     127.0.0.1:H to guest port G (make bench's bulk ports)
#   --net-guestfwd P[,Q] with --net, test-only: a guest connection to
#                     10.0.2.100:1234 (and :1235) is carried to the host's
#                     127.0.0.1:P (Q), where something must already listen
#                     (QEMU connects once, at start)
#   --net-peer P,Q    test-only, instead of the user-mode network: the card's
#                     raw Ethernet frames go as UDP datagrams (QEMU's
#                     -netdev dgram, no slirp) to 127.0.0.1:P, and frames
#                     sent from there to 127.0.0.1:Q reach the card; the
#                     program on P plays the gateway (scripts/nettest.py)
#   --el2             aarch64: enter the kernel at EL2 (virtualization=on),
#                     as most real boot loaders do; PSCI then goes over SMC
#
# Exit status: QEMU's, which is the kernel's power-off status (0 = pass),
# or 124 if the time limit expired.  The kernel's own statuses: 1 tests
# failed, 2 unexpected exception, 3 panic.
set -euo pipefail

arch=riscv64 smp=1 mem=128M interactive=0 gdb=0 input=/dev/null out=
timeout_s=60 append= icount=0 disk= drive_opts= kernel= wait_for= el2=0 net=0 net_ports=8080,7007,5555,7007 net_peer= gdbport= guestfwd= netfwd=
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--el2) el2=1; shift ;;
	--mem) mem=$2; shift 2 ;;
	--interactive) interactive=1; shift ;;
	--gdb) gdb=1; shift ;;
	--gdb-port) gdbport=$2; shift 2 ;;
	--input) input=$2; shift 2 ;;
	--wait-for) wait_for=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--disk) disk=$2; shift 2 ;;
	--drive-opts) drive_opts=$2; shift 2 ;;
	--net) net=1; shift ;;
	--net-ports) net_ports=$2; shift 2 ;;
	--net-peer) net=1; net_peer=$2; shift 2 ;;
	--net-guestfwd) guestfwd=$2; shift 2 ;;
	--net-fwd) netfwd=$2; shift 2 ;;
	-h|--help) sed -n '2,50p' "$0"; exit 0 ;;
	-*) echo "run-qemu.sh: unknown option $1" >&2; exit 2 ;;
	*) kernel=$1; shift ;;
	esac
done
[ -n "$kernel" ] || { echo "run-qemu.sh: no kernel given" >&2; exit 2; }
[ -f "$kernel" ] || { echo "run-qemu.sh: $kernel does not exist (run make first)" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
opensbi=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
case "$arch" in
riscv64)
	qemu=qemu-system-riscv64
	[ -f "$opensbi" ] && command -v $qemu >/dev/null || "$here/deps.sh" qemu
	# Debian's OpenSBI, explicitly, not the copy QEMU bundles.
	args=(-machine virt -bios "$opensbi" -kernel "$kernel")
	;;
aarch64)
	qemu=qemu-system-aarch64
	command -v $qemu >/dev/null || "$here/deps.sh" qemu
	# The Image (.bin, with an arm64 Image header) makes QEMU pass the
	# device tree in x0; semihosting carries the exit status out.
	machine=virt,gic-version=3
	[ $el2 = 1 ] && machine+=,virtualization=on
	args=(-machine "$machine" -cpu cortex-a72 -kernel "${kernel%.elf}.bin"
	      -semihosting-config enable=on,target=native)
	;;
*) echo "run-qemu.sh: unknown arch $arch" >&2; exit 2 ;;
esac
# No default network card (it needs an option ROM, efi-virtio.rom, that
# Debian's qemu-system-arm does not ship); --net adds a virtio-mmio one.
args+=(-m "$mem" -smp "$smp" -nic none)
if [ "$net" = 1 ] && [ -n "$net_peer" ]; then
	IFS=, read -r peer_port card_port <<<"$net_peer"
	[ -n "$peer_port" ] && [ -n "$card_port" ] ||
		{ echo "run-qemu.sh: --net-peer needs P,Q" >&2; exit 2; }
	args+=(-netdev "dgram,id=net0,local.type=inet,local.host=127.0.0.1,local.port=$card_port,remote.type=inet,remote.host=127.0.0.1,remote.port=$peer_port"
	       -device virtio-net-device,netdev=net0)
elif [ "$net" = 1 ]; then
	fwd=
	if [ "$net_ports" != none ]; then
		IFS=, read -r tcp_port udp_port udp_port2 echo_port <<<"$net_ports"
		fwd=",hostfwd=tcp:127.0.0.1:$tcp_port-:80,hostfwd=udp:127.0.0.1:$udp_port-:7"
		fwd+=",hostfwd=udp:127.0.0.1:$udp_port2-:5555"
		[ -n "$echo_port" ] && fwd+=",hostfwd=tcp:127.0.0.1:$echo_port-:7"
		# QEMU's own message for a taken port is easy to miss: say it.
		for p in "$tcp_port" ${echo_port:+"$echo_port"}; do
			if ! python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null; then
				echo "run-qemu.sh: host TCP port 127.0.0.1:$p is already in use (another" \
				     "QEMU?); free it or pick others: make qemu NET_PORTS=T,U,V,E" >&2
				exit 2
			fi
		done
	fi
	if [ -n "$netfwd" ]; then
		IFS=, read -ra pairs <<<"$netfwd"
		for pr in "${pairs[@]}"; do
			fwd+=",hostfwd=tcp:127.0.0.1:${pr%%:*}-:${pr#*:}"
		done
	fi
	if [ -n "$guestfwd" ]; then
		IFS=, read -r gf1 gf2 <<<"$guestfwd"
		fwd+=",guestfwd=tcp:10.0.2.100:1234-tcp:127.0.0.1:$gf1"
		[ -n "$gf2" ] && fwd+=",guestfwd=tcp:10.0.2.100:1235-tcp:127.0.0.1:$gf2"
	fi
	args+=(-netdev "user,id=net0,restrict=on$fwd" -device virtio-net-device,netdev=net0)
fi
args+=(-global virtio-mmio.force-legacy=false) # virtio 1.x, not QEMU's legacy default (docs/virtio.md)
[ -n "$append" ] && args+=(-append "$append")
[ "$icount" = 1 ] && args+=(-icount shift=0,sleep=on)
[ -n "$disk" ] && args+=(-drive "if=none,format=raw,file=$disk,id=hd0${drive_opts:+,$drive_opts}" -device virtio-blk-device,drive=hd0)

[ "$gdb" = 1 ] && [ -z "$gdbport" ] && gdbport=1234
[ -n "$gdbport" ] && args+=(-gdb "tcp:127.0.0.1:$gdbport")
[ "$gdb" = 1 ] && args+=(-S)
if [ "$interactive" = 1 ]; then
	echo "*** Pollux on $arch ($smp hart(s)).  Quit QEMU with Ctrl-A then x." >&2
	exec $qemu "${args[@]}" -nographic
fi

# Tests: console on stdio (no monitor multiplexing, so every input byte
# reaches the guest), no display, a hard time limit.
args+=(-display none -monitor none -serial stdio)
# QEMU_EXTRA: more QEMU options, word-split (scripts/netprof.py: a monitor
# socket and -singlestep for an instruction profile).
[ -n "${QEMU_EXTRA:-}" ] && args+=($QEMU_EXTRA)
set +e
if [ -n "$wait_for" ]; then
	[ -n "$out" ] || { echo "run-qemu.sh: --wait-for needs --out" >&2; exit 2; }
	# QEMU reads a FIFO; a writer feeds it once the marker appears, and
	# holds it open until QEMU is gone so the guest never sees EOF early.
	dir=$(mktemp -d)
	mkfifo "$dir/in"
	: >"$out"
	(
		exec 3>"$dir/in"
		until grep -qF -- "$wait_for" "$out" 2>/dev/null; do sleep 0.05; done
		cat "$input" >&3
		while kill -0 $$ 2>/dev/null; do sleep 0.2; done
	) &
	feeder=$!
	timeout -k 5 "$timeout_s" $qemu "${args[@]}" <"$dir/in" >"$out" 2>&1
	status=$?
	kill $feeder 2>/dev/null
	wait $feeder 2>/dev/null
	rm -rf "$dir"
elif [ -n "$out" ]; then
	timeout -k 5 "$timeout_s" $qemu "${args[@]}" <"$input" >"$out" 2>&1
	status=$?
else
	timeout -k 5 "$timeout_s" $qemu "${args[@]}" <"$input"
	status=$?
fi
set -e
if [ $status -eq 124 ] || [ $status -eq 137 ]; then
	echo "run-qemu.sh: time limit of ${timeout_s}s expired" >&2
	exit 124
fi
exit $status
