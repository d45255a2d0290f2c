#!/usr/bin/env bash
# Install the Debian packages Pollux needs, only those that are missing.
#
# Usage: scripts/deps.sh [group...]   groups: cross, qemu, host (curl: make
# nettest fetches pages with it), fuzz, model,
# debug (gdb-multiarch: make gdb, the labs' Debugging sections, make check's
# gdb test); default: those six.  trace (rsvg-convert, for make trace's PNG)
# and bench (wrk, make bench's HTTP load generator) only when asked for.
# Safe to run repeatedly: it asks dpkg first and calls apt-get only when
# something is absent. Needs root (or sudo) the first time.
set -euo pipefail

cross="gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf gcc-aarch64-linux-gnu picolibc-aarch64-linux-gnu binutils-aarch64-linux-gnu"
qemu="qemu-system-misc qemu-system-arm opensbi"
host="gcc make valgrind device-tree-compiler python3 patch ccache curl"
debug="gdb-multiarch"
trace="librsvg2-bin"
bench="wrk"
# clang with libFuzzer (libclang-rt-*-dev holds it): the file-system fuzz targets
fuzz="clang libclang-rt-14-dev"
# the SPIN model checker: make model (models/)
model="spin"

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(cross qemu host fuzz model debug)

want=""
for g in "${groups[@]}"; do
	case "$g" in
	cross) want="$want $cross" ;;
	qemu) want="$want $qemu" ;;
	host) want="$want $host" ;;
	debug) want="$want $debug" ;;
	trace) want="$want $trace" ;;
	fuzz) want="$want $fuzz" ;;
	model) want="$want $model" ;;
	bench) want="$want $bench" ;;
	*) echo "deps.sh: unknown group '$g' (cross, qemu, host, fuzz, model, debug, trace, bench)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps.sh: need root to install:$missing" >&2; exit 1; }
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# A stale package list makes apt-get fail to find packages; refresh once.
$sudo apt-get update -qq >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
