# Pollux: one flat Makefile.  `make help` lists the targets.

ARCH ?= riscv64
# make grade ARCH=all grades both arches into one results.json.
ifeq ($(ARCH),all)
GRADE_ARCH := all
override ARCH := riscv64
else
GRADE_ARCH = $(ARCH)
endif
SMP ?= 1
MEM ?= 128M
# KTEST=1 builds the test kernel: the kernel plus the in-kernel tests and
# benchmarks (make ktest and make bench do it for you), with the
# executor's waker discipline checks (executor/check.h); KTEST=1 CHECK=0
# the same without the checks (build/<arch>-bench: make bench's kernel,
# whose code is the normal kernel's).
KTEST ?= 0
CHECK ?= 1
# make fstest NODISK=1: boot without a disk.
NODISK ?= 0
# IDLE=spin builds a deliberately busy-polling idle loop, for comparison.
IDLE ?= wfi

# TRACE=1 builds the tracing kernel and user library: per-hart event
# buffers (kernel/trace.c, docs/kernel.md "Seeing a wake-up travel");
# make trace uses it.  Every other build compiles the trace points out.
TRACE ?= 0

ifeq ($(KTEST)$(TRACE),11)
BUILD := build/$(ARCH)-ktest-trace
else ifeq ($(KTEST)$(CHECK),10)
BUILD := build/$(ARCH)-bench
else ifeq ($(KTEST),1)
BUILD := build/$(ARCH)-ktest
else ifeq ($(TRACE),1)
BUILD := build/$(ARCH)-trace
else ifeq ($(IDLE),spin)
BUILD := build/$(ARCH)-spin
else
BUILD := build/$(ARCH)
endif
HOSTBUILD := build/host
# The disk image make qemu boots from (the file-system section below).
FS_IMG := build/$(ARCH)/fs.img
FSUPDATE := $(HOSTBUILD)/fsupdate

# ---------------------------------------------------------------- toolchains
# Each arch's toolchain prefix, emulator and code-generation flags, once:
# the kernel, the user programs and exec-cross-check all take them from here.
CROSS_riscv64 := riscv64-unknown-elf-
QEMU_riscv64 := qemu-system-riscv64
# -misa-spec=2.2 keeps CSR and fence.i in the base ISA and selects picolibc's
# rv64imac/lp64 multilib (spelling _zicsr would fall back to lp64d).
# Soft-float: the kernel saves no FP registers on riscv.
ARCH_CFLAGS_riscv64 := -march=rv64imac -misa-spec=2.2 -mabi=lp64 -mcmodel=medany -mno-relax

CROSS_aarch64 := aarch64-linux-gnu-
QEMU_aarch64 := qemu-system-aarch64
# Inline (LL/SC) atomics: GCC's default outline atomics call a libgcc
# helper per atomic that first asks whether the CPU has LSE (cortex-a72,
# Armv8.0, has not), some ten instructions on every wake and poll.
ARCH_CFLAGS_aarch64 := -march=armv8-a -mgeneral-regs-only -mno-outline-atomics

ARCHES := riscv64 aarch64
ifeq ($(filter $(ARCH),$(ARCHES)),)
$(error ARCH must be riscv64 or aarch64, not '$(ARCH)')
endif
CROSS := $(CROSS_$(ARCH))
QEMU := $(QEMU_$(ARCH))
ARCH_CFLAGS := $(ARCH_CFLAGS_$(ARCH))

CC := $(CROSS)gcc
OBJCOPY := $(CROSS)objcopy
OBJDUMP := $(CROSS)objdump
HOSTCC ?= gcc
# make CCACHE=ccache compiles through ccache (Debian's): make grade-selftest
# builds one near-identical tree per lab and sets it in the environment.
ifneq ($(CCACHE),)
CC := $(CCACHE) $(CC)
HOSTCC := $(CCACHE) $(HOSTCC)
endif

# Every tool a target needs is checked first; scripts/deps.sh installs what
# is missing (Debian packages), so the first `make` on a fresh machine works.
DEPS_STAMP = $(shell command -v $(CROSS)gcc >/dev/null 2>&1 && test -d /usr/lib/picolibc/$(patsubst %-,%,$(CROSS)) || echo missing)
ensure-cross:
	@if [ "$(DEPS_STAMP)" = missing ]; then scripts/deps.sh cross; fi
ensure-qemu:
	@command -v $(QEMU) >/dev/null 2>&1 && test -f /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin || scripts/deps.sh qemu
ensure-host:
	@command -v $(lastword $(HOSTCC)) >/dev/null 2>&1 && command -v valgrind >/dev/null 2>&1 && command -v dtc >/dev/null 2>&1 && command -v patch >/dev/null 2>&1 || scripts/deps.sh host

# ------------------------------------------------------------------- flags
WARN := -Wall -Wextra -Werror
WARN += -Wshadow -Wundef -Wmissing-prototypes -Wstrict-prototypes
WARN += -Wpointer-arith -Wcast-align -Wwrite-strings -Wvla

CFLAGS := -std=c11 -O2 -g
CFLAGS += $(WARN)
CFLAGS += $(ARCH_CFLAGS)
CFLAGS += --specs=picolibc.specs
CFLAGS += -ffreestanding -fno-common -fno-stack-protector -fno-pie
CFLAGS += -ffunction-sections -fdata-sections
CFLAGS += -MD -MP
CFLAGS += -I. -Iexecutor -Iarch/$(ARCH)/include
CFLAGS += -DSMP_MAX=8
ifeq ($(IDLE),spin)
CFLAGS += -DIDLE_SPIN=1
endif
ifeq ($(TRACE),1)
CFLAGS += -DEXEC_TRACE
endif
# The test kernel's trap vectors record the instruction counter on entry
# (arch_trap_stamp: where the interrupt-latency benchmark starts).
ifeq ($(KTEST),1)
CFLAGS += -DTRAP_STAMP=1
endif
ifeq ($(KTEST)$(CHECK),11)
CFLAGS += -DEXEC_CHECK=1
endif
ASFLAGS := $(CFLAGS) -D__ASSEMBLY__

LDFLAGS := -nostartfiles -static -no-pie
LDFLAGS += -T linker/$(ARCH).ld -Wl,--gc-sections -Wl,-Map,$(BUILD)/kernel.map
LDFLAGS += -Wl,--no-warn-rwx-segments

# -------------------------------------------------------- kernel objects
# arch-neutral kernel
KERNEL_SRCS := \
	kernel/main.c \
	kernel/fdt.c \
	kernel/console.c \
	kernel/console_file.c \
	kernel/uart.c \
	kernel/uart_ns16550.c \
	kernel/uart_pl011.c \
	kernel/trap.c \
	kernel/irq.c \
	kernel/ktimer.c \
	kernel/panic.c \
	kernel/stdio.c \
	kernel/exec_glue.c \
	kernel/ktask.c \
	kernel/kalloc.c \
	lib/string.c \
	lib/libgcc.c \
	kernel/uaccess.c \
	kernel/io.c \
	kernel/pipe.c \
	kernel/file.c \
	kernel/proc.c \
	kernel/syscall.c \
	kernel/ring.c \
	kernel/ring_queue.c \
	kernel/kshell.c \
	kernel/virtq.c \
	kernel/virtio_blk.c \
	kernel/net/eth.c \
	kernel/net/arp.c \
	kernel/net/ipv4.c \
	kernel/net/icmp.c \
	kernel/net/udp.c \
	kernel/net/tcp.c \
	kernel/net/net_kernel.c \
	kernel/net/udp_sock.c \
	kernel/net/tcp_sock.c \
	kernel/virtio_net.c \
	kernel/block_on.c \
	kernel/elf.c \
	kernel/archive.c \
	kernel/fsys.c \
	kernel/archive_blob.S

# The file-system core: arch-neutral C that the kernel links and the host
# tests and tools build from the same files (docs/fs.md).
FS_CORE_SRCS := kernel/fs/fs_cache.c kernel/fs/fs_log.c kernel/fs/fs_inode.c kernel/fs/fs_names.c kernel/fs/fs_data.c \
	kernel/fs/fs_dir.c kernel/fs/fs_ops.c kernel/fs/fs_mount.c
# The kernel's side of the core: its environment, the virtio-blk device,
# regular files and directories as struct file.
FS_KERNEL_SRCS := kernel/fs/fs_env_kernel.c kernel/fs/fs_virtio.c kernel/fs/fs_file.c

# the executor library, built for the kernel (the same sources as the host)
EXEC_KSRCS := $(sort $(wildcard executor/*.c))

# arch/<arch>: the arch contract's implementation (explicit lists)
ARCH_SRCS_riscv64 := \
	arch/riscv64/entry.S \
	arch/riscv64/trapvec.S \
	arch/riscv64/trap.c \
	arch/riscv64/sbi.c \
	arch/riscv64/plic.c \
	arch/riscv64/cpu.c \
	arch/riscv64/vm.c \
	arch/riscv64/user.c \
	arch/riscv64/fallback_dtb.S

ARCH_SRCS_aarch64 := \
	arch/aarch64/entry.S \
	arch/aarch64/vectors.S \
	arch/aarch64/trap.c \
	arch/aarch64/psci.c \
	arch/aarch64/gic.c \
	arch/aarch64/cpu.c \
	arch/aarch64/mmu.c \
	arch/aarch64/vm.c \
	arch/aarch64/uentry.S \
	arch/aarch64/user.c \
	arch/aarch64/io.c \
	arch/aarch64/fallback_dtb.S

# The test kernel (KTEST=1) is the same kernel plus the in-kernel tests
# (kernel/ktest/, with the arch's test support in arch/<arch>/ktest/) and
# the benchmarks (kernel/kbench/); the normal kernel links none of them.
KTEST_SRCS := \
	kernel/ktest/ktest.c \
	kernel/ktest/blk.c \
	kernel/ktest/vm.c \
	kernel/ktest/async.c \
	kernel/ktest/smp.c \
	kernel/ktest/exec.c \
	kernel/ktest/drv.c \
	kernel/ktest/io.c \
	kernel/ktest/net.c \
	kernel/kbench/kbench.c \
	kernel/kbench/smp.c \
	kernel/kbench/trace.c

ARCH_KTEST_SRCS_riscv64 := \
	arch/riscv64/ktest/selftest.c \
	arch/riscv64/ktest/selftest_prog.S

ARCH_KTEST_SRCS_aarch64 := \
	arch/aarch64/ktest/selftest.c \
	arch/aarch64/ktest/selftest_prog.S

KSRCS := $(ARCH_SRCS_$(ARCH)) $(KERNEL_SRCS) $(FS_CORE_SRCS) $(FS_KERNEL_SRCS) $(EXEC_KSRCS)
ifeq ($(TRACE),1)
KSRCS += kernel/trace.c
endif
ifeq ($(KTEST),1)
KSRCS += $(ARCH_KTEST_SRCS_$(ARCH)) $(KTEST_SRCS)
endif
KOBJS := $(patsubst %,$(BUILD)/%.o,$(KSRCS))

KERNEL := $(BUILD)/kernel.elf

.DEFAULT_GOAL := all
all: $(KERNEL)

# Short build lines; `make V=1` prints the full commands.
V ?= 0
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @echo "  $(1)	$(2)"
endif

# Kernel objects depend on this Makefile too: a change of CFLAGS must not
# leave stale objects behind.
$(BUILD)/%.c.o: %.c Makefile | ensure-cross
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# lib/string.c implements memset/memcpy: GCC must not call them from it.
$(BUILD)/lib/string.c.o: CFLAGS += -fno-tree-loop-distribute-patterns

$(BUILD)/%.S.o: %.S Makefile | ensure-cross
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(CC) $(ASFLAGS) -c $< -o $@

# The fallback device tree is QEMU virt's own, dumped once and embedded.
$(BUILD)/arch/$(ARCH)/fallback_dtb.S.o: $(BUILD)/virt.dtb
$(BUILD)/virt.dtb: scripts/dumpdtb.sh | ensure-qemu
	@mkdir -p $(dir $@)
	scripts/dumpdtb.sh $(ARCH) $@
ASFLAGS += -DFALLBACK_DTB='"$(BUILD)/virt.dtb"'

$(KERNEL): $(KOBJS) linker/$(ARCH).ld
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(KOBJS) -o $@
	$(Q)$(OBJCOPY) -O binary $@ $(BUILD)/kernel.bin

# ------------------------------------------------------------------ running
RUN := scripts/run-qemu.sh --arch $(ARCH) --smp $(SMP) --mem $(MEM)

# The disk image build/<arch>/fs.img is / (made by mkfs if missing; what
# is written to it stays), and a network card (docs/net.md).  Before the
# boot, fs-update-bin brings the image's /bin up to date with the programs
# as built (fsupdate: changed and new ones only, nothing else touched).
qemu: $(KERNEL) fs-update-bin | ensure-qemu
	@$(RUN) --interactive --disk $(FS_IMG) --net $(if $(NET_PORTS),--net-ports $(NET_PORTS)) \
		$(if $(APPEND),--append "$(APPEND)") $(KERNEL)

# make qemu-gdb: QEMU stopped at reset, its gdb server on a free port
# (GDBPORT=n picks one), which it writes to $(BUILD)/gdb-port; then, in
# another terminal, make gdb (same ARCH and KTEST) connects gdb-multiarch
# with the px commands loaded (scripts/gdb/pollux.py: px tasks, px harts,
# px timers, px procs).
FREE_PORT = python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
ensure-gdb:
	@command -v gdb-multiarch >/dev/null 2>&1 || scripts/deps.sh debug

qemu-gdb: $(KERNEL) fs-update-bin | ensure-qemu ensure-gdb
	@port=$${GDBPORT:-$$($(FREE_PORT))}; echo $$port >$(BUILD)/gdb-port; \
	echo "*** waiting for gdb on port $$port: make gdb ARCH=$(ARCH)$(if $(filter 1,$(KTEST)), KTEST=1) in another terminal"; \
	$(RUN) --interactive --gdb --gdb-port $$port --net --net-ports none $(if $(APPEND),--append "$(APPEND)") \
		--disk $(FS_IMG) $(KERNEL)

gdb: | ensure-gdb
	@test -f $(BUILD)/gdb-port || { echo "make gdb: start make qemu-gdb ARCH=$(ARCH) first"; exit 1; }
	gdb-multiarch -q -ex 'set pagination off' -ex 'file $(KERNEL)' -x scripts/gdb/pollux.py \
		-ex "target remote 127.0.0.1:$$(cat $(BUILD)/gdb-port)"

# The px commands checked against a booted kernel (scripts/gdbtest.py).
gdb-test: $(KERNEL) | ensure-qemu ensure-gdb
	@python3 scripts/gdbtest.py --arch $(ARCH) --smp $(SMP) $(KERNEL)

# In-kernel self tests for one arch (a KTEST=1 build in build/<arch>-ktest).
ktest: | ensure-cross ensure-qemu
	@$(MAKE) --no-print-directory KTEST=1 ARCH=$(ARCH) all
	@SMP=$(SMP) scripts/ktest.sh $(ARCH) build/$(ARCH)-ktest/kernel.elf

# The user-mode test program as process 1 of the normal kernel build.
utest: $(KERNEL) | ensure-qemu
	@SMP=$(SMP) TESTS="$(TESTS)" ICOUNT=$(ICOUNT) scripts/utest.sh $(ARCH) $(KERNEL)

# The shell, scripted through the console of the default boot (init -> sh).
# Each boot gets a fresh copy of $(FS_TEST_IMG) as its disk.
shtest: $(KERNEL) | ensure-qemu
	@python3 scripts/shtest.py --arch $(ARCH) --smp $(SMP) --image $(FS_TEST_IMG) \
		--log $(BUILD)/logs/shtest-smp$(SMP).log $(KERNEL)

# Boot ARCH's kernel BOOTS times at SMP_LOOP harts (default 4), two QEMUs
# at a time, and check each boot (scripts/boot-loop.sh); then a few boots
# whose secondaries arrive before they are released (--early).
# make boot-loop: 1,000 boots of each arch; make check runs a slice of it.
BOOTS ?= 1000
SMP_LOOP ?= 4
boot-loop-arch: $(KERNEL) | ensure-qemu
	@scripts/boot-loop.sh --arch $(ARCH) --smp $(SMP_LOOP) --count $(BOOTS) --jobs 2 $(KERNEL)
	@scripts/boot-loop.sh --arch $(ARCH) --smp $(SMP_LOOP) --count 4 --jobs 2 --early $(KERNEL)
boot-loop:
	@for a in $(ARCHES); do $(MAKE) --no-print-directory boot-loop-arch ARCH=$$a || exit 1; done


# ------------------------------------------------------------- host tests
# Arch-neutral code built for Linux under AddressSanitizer + UBSan.
HOST_CFLAGS := -std=c11 -O1 -g $(WARN) -I. -Iexecutor -D_GNU_SOURCE -MD -MP
HOST_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

FDT_TEST := $(HOSTBUILD)/fdt_test
$(FDT_TEST): kernel/hosttest/fdt_test.c kernel/hosttest/check.h kernel/fdt.c kernel/machine.h | ensure-host
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $(HOST_SAN) kernel/hosttest/fdt_test.c kernel/fdt.c -o $@

# Real device trees from both QEMU machines, for the parser tests.
HOST_DTBS := $(HOSTBUILD)/virt-riscv64.dtb $(HOSTBUILD)/virt-aarch64.dtb
HOST_DTBS += $(HOSTBUILD)/virt-riscv64-smp4.dtb $(HOSTBUILD)/virt-aarch64-smp4.dtb
$(HOSTBUILD)/virt-%-smp4.dtb: scripts/dumpdtb.sh | ensure-qemu
	@mkdir -p $(dir $@)
	SMP=4 BOOTARGS="console=ttyS0 pollux.test=1" scripts/dumpdtb.sh $* $@
$(HOSTBUILD)/virt-%.dtb: scripts/dumpdtb.sh | ensure-qemu
	@mkdir -p $(dir $@)
	scripts/dumpdtb.sh $* $@

host-test-fdt: $(FDT_TEST) $(HOST_DTBS)
	$(FDT_TEST) $(HOST_DTBS)

VIRTQ_TEST := $(HOSTBUILD)/virtq_test
$(VIRTQ_TEST): kernel/hosttest/virtq_test.c kernel/hosttest/check.h kernel/virtq.c kernel/virtq.h kernel/virtio.h kernel/netem.h kernel/mmio.h | ensure-host
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $(HOST_SAN) kernel/hosttest/virtq_test.c kernel/virtq.c -o $@

host-test-virtq: $(VIRTQ_TEST)
	$(VIRTQ_TEST)

# lib/string.c (the kernel's and every program's memcpy/memset/memmove) and lib/libgcc.c.
STRING_TEST := $(HOSTBUILD)/string_test
$(STRING_TEST): kernel/hosttest/string_test.c kernel/hosttest/check.h lib/string.c lib/libgcc.c \
		lib/libgcc.h | ensure-host
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $(HOST_SAN) -fno-builtin -fno-tree-loop-distribute-patterns \
		kernel/hosttest/string_test.c -o $@

host-test-string: $(STRING_TEST)
	$(STRING_TEST)

# The async ring's shared-memory half (index checks, CQ posting, backlog).
RING_TEST := $(HOSTBUILD)/ring_test
$(RING_TEST): kernel/hosttest/ring_test.c kernel/ring_queue.c kernel/ring_queue.h lib/uapi/pollux.h | ensure-host
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $(HOST_SAN) kernel/hosttest/ring_test.c kernel/ring_queue.c -o $@

host-test-ring: $(RING_TEST)
	$(RING_TEST)

# The same code's memory ordering: a program thread and a kernel thread
# under ThreadSanitizer (a relaxed CQ tail is a data race there).
RING_TSAN := build/host-tsan/ring_tsan
$(RING_TSAN): kernel/hosttest/ring_tsan_test.c kernel/ring_queue.c kernel/ring_queue.h lib/uapi/pollux.h | ensure-host
	@mkdir -p $(dir $@)
	$(HOSTCC) $(filter-out -MD -MP,$(HOST_CFLAGS)) -fsanitize=thread kernel/hosttest/ring_tsan_test.c \
		kernel/ring_queue.c -o $@ -lpthread

host-test-ring-tsan: $(RING_TSAN)
	$(RING_TSAN)

# ======================================================== executor (host)
# The executor on the host: its unit tests, the TSan stress test, the
# freestanding cross check, the benchmark.
EXEC_SRCS := $(filter-out executor/tests/%,$(wildcard executor/*.c))
EXEC_HOST_SRCS := $(EXEC_SRCS) $(wildcard executor/host/*.c)
EXEC_TEST_SRCS := $(filter-out executor/tests/stress.c,$(wildcard executor/tests/*.c))
EXEC_HDRS := $(wildcard executor/*.h executor/host/*.h executor/tests/*.h)
# One compile+link per binary: no -MD (the headers are listed instead).
EXEC_HOST_CFLAGS := $(filter-out -MD -MP,$(HOST_CFLAGS))
# No interrupt handlers on the host: inline no-op irq save/restore (hooks.h).
EXEC_HOST_CFLAGS += -DEXEC_NO_IRQ
EXEC_TESTS := $(HOSTBUILD)/exec_tests
EXEC_TESTS_PLAIN := $(HOSTBUILD)/exec_tests_plain
EXEC_STRESS := build/host-tsan/stress
EXEC_BENCH := $(HOSTBUILD)/exec_bench

# The unit tests run with the waker discipline checks (executor/check.h).
$(EXEC_TESTS): $(EXEC_HOST_SRCS) $(EXEC_TEST_SRCS) $(EXEC_HDRS) | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (ASan+UBSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) -DEXEC_CHECK $(HOST_SAN) $(EXEC_HOST_SRCS) $(EXEC_TEST_SRCS) -o $@ -lpthread

# The same suite without sanitizers, for valgrind.
$(EXEC_TESTS_PLAIN): $(EXEC_HOST_SRCS) $(EXEC_TEST_SRCS) $(EXEC_HDRS) | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@)
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) -DEXEC_CHECK $(EXEC_HOST_SRCS) $(EXEC_TEST_SRCS) -o $@ -lpthread

# The trace points of a tracing build (-DEXEC_TRACE), with a recording
# exec_trace_emit: the exact events of a few schedules.
EXEC_TRACE_TESTS := $(HOSTBUILD)/exec_trace_tests
EXEC_TRACE_TEST_SRCS := executor/tests/trace/test_trace.c executor/tests/runner.c \
	executor/tests/test_exec_fake.c
$(EXEC_TRACE_TESTS): $(EXEC_HOST_SRCS) $(EXEC_TRACE_TEST_SRCS) $(EXEC_HDRS) lib/uapi/px_trace.h | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (ASan+UBSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) $(HOST_SAN) -DEXEC_TRACE -Iexecutor/tests \
		$(EXEC_HOST_SRCS) $(EXEC_TRACE_TEST_SRCS) -o $@ -lpthread

$(EXEC_STRESS): $(EXEC_HOST_SRCS) executor/tests/stress.c $(EXEC_HDRS) | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (TSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) -fsanitize=thread $(EXEC_HOST_SRCS) executor/tests/stress.c -o $@ -lpthread

# Freestanding proof: every executor/*.c with both cross compilers and the
# kernel CFLAGS, and no #include <...> beyond the five allowed headers.
# (The kernel's executor masks interrupts with arch/arch.h's inline
# functions: each arch's own include directory.)
EXEC_XBASE := $(filter-out $(ARCH_CFLAGS) -MD -MP -Iarch/$(ARCH)/include,$(CFLAGS))
EXEC_XOBJS := $(foreach a,$(ARCHES),$(patsubst %.c,build/xcheck/$(a)/%.o,$(EXEC_SRCS)))
xcheck_cc = $(CROSS_$(1))gcc $(EXEC_XBASE) $(ARCH_CFLAGS_$(1)) -Iarch/$(1)/include

build/xcheck/riscv64/%.o: %.c $(EXEC_HDRS) | ensure-cross
	@mkdir -p $(dir $@)
	$(call say,CC,$< (riscv64))
	$(Q)$(call xcheck_cc,riscv64) -c $< -o $@

build/xcheck/aarch64/%.o: %.c $(EXEC_HDRS) | ensure-cross
	@mkdir -p $(dir $@)
	$(call say,CC,$< (aarch64))
	$(Q)$(call xcheck_cc,aarch64) -c $< -o $@

exec-cross-check: $(EXEC_XOBJS)
	@bad=$$(grep -Hn '^#include <' executor/*.c executor/*.h | grep -Ev '<(stdint|stddef|stdbool|string|stdatomic)\.h>'); \
	if [ -n "$$bad" ]; then echo "exec-cross-check: not freestanding:"; echo "$$bad"; exit 1; fi
	@echo "exec-cross-check: $(words $(EXEC_SRCS)) files x riscv64+aarch64 with kernel CFLAGS: OK"

# The benchmark binary is built here too, so an API change cannot leave
# make bench-host broken unnoticed.
host-test-exec: exec-cross-check $(EXEC_TESTS) $(EXEC_TESTS_PLAIN) $(EXEC_STRESS) $(EXEC_BENCH) $(EXEC_TRACE_TESTS)
	@echo "== executor unit tests (ASan+UBSan)"
	$(EXEC_TESTS)
	@echo "== executor trace points (-DEXEC_TRACE, ASan+UBSan)"
	$(EXEC_TRACE_TESTS)
	@echo "== executor stress: 4 workers, 100000 spawns, 1000000 wakes (ThreadSanitizer)"
	$(EXEC_STRESS)
	@echo "== executor unit tests under valgrind"
	valgrind -q --leak-check=full --error-exitcode=1 $(EXEC_TESTS_PLAIN)

$(EXEC_BENCH): $(EXEC_HOST_SRCS) executor/bench/bench.c $(EXEC_HDRS) | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@)
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) -O2 -DEXEC_NDEBUG $(EXEC_HOST_SRCS) executor/bench/bench.c -o $@ -lpthread

# The same with link-time optimisation: what inlining across files would
# still gain.
$(EXEC_BENCH)_lto: $(EXEC_HOST_SRCS) executor/bench/bench.c $(EXEC_HDRS) | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@)
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) -O2 -flto -DEXEC_NDEBUG $(EXEC_HOST_SRCS) executor/bench/bench.c -o $@ -lpthread

bench-host: $(EXEC_BENCH) $(EXEC_BENCH)_lto
	@scripts/bench-host.sh $(EXEC_BENCH) build/bench-host.json $(EXEC_BENCH)_lto

.PHONY: exec-cross-check
# ==================================================== end executor (host)

# ============================================================ user programs
# The user library (crt0, syscall stubs, picolibc glue, the executor built
# for user mode), the programs and the archive the kernel embeds.  Everything lands in build/<arch>/user/
# (KTEST and IDLE=spin kernels embed the same programs; TRACE=1 builds its
# own, with the trace points in, in build/<arch>-trace/user).
ifeq ($(TRACE),1)
UBUILD := build/$(ARCH)-trace/user
else
UBUILD := build/$(ARCH)/user
endif
# The programs are found, not listed: every user/NAME.c is the program
# NAME, and so is every folder user/NAME/ with .c files (linked together).
# user/include, user/lib (the library) and user/tests (host tests) are not
# programs.  All go into the archive, in name order.
UPROG_FILES := $(basename $(notdir $(wildcard user/*.c)))
UPROG_DIRS := $(filter-out include lib tests,\
	$(patsubst user/%/,%,$(sort $(dir $(wildcard user/*/*.c)))))
ifneq ($(filter $(UPROG_FILES),$(UPROG_DIRS)),)
$(error user/$(firstword $(filter $(UPROG_FILES),$(UPROG_DIRS))): a program is a file NAME.c or a folder NAME/, not both)
endif
UPROGS := $(sort $(UPROG_FILES) $(UPROG_DIRS))
# A program's sources, and their objects.
uprog_srcs = $(or $(wildcard user/$(1).c),$(sort $(wildcard user/$(1)/*.c)))
uprog_objs = $(patsubst %,$(UBUILD)/obj/%.o,$(call uprog_srcs,$(1)))

# The kernel's code-generation flags, and on aarch64 two more reasons to
# keep them: no FP/SIMD, so a process gets an FP save area (512 bytes of
# kernel memory) only at its first FP/SIMD instruction, and the programs
# we ship need none (usertests' fp_* tests opt back in: see below); and
# inline (LL/SC) atomics: no libgcc helpers probing for LSE at run time.
UARCH_CFLAGS := $(ARCH_CFLAGS)

UCFLAGS := -std=c11 -O2 -g
UCFLAGS += $(WARN)
UCFLAGS += $(UARCH_CFLAGS)
UCFLAGS += --specs=picolibc.specs
UCFLAGS += -fno-common -fno-stack-protector -fno-pie
UCFLAGS += -ffunction-sections -fdata-sections
UCFLAGS += -MD -MP
UCFLAGS += -D_DEFAULT_SOURCE
# picolibc's integer-only printf/scanf (picolibc.specs maps vfprintf to
# __i_vfprintf at link time): no FP/SIMD, and smaller.  user/lib/printf.c
# gives it entry points that save no FP registers.
UCFLAGS += -DPICOLIBC_INTEGER_PRINTF_SCANF
# One thread, no interrupt handlers: inline no-op irq save/restore.
UCFLAGS += -DEXEC_NO_IRQ
UCFLAGS += -I. -Iexecutor -Iuser/include -Iuser/lib -Ilib/uapi
ifeq ($(TRACE),1)
UCFLAGS += -DEXEC_TRACE
endif
UASFLAGS := $(UCFLAGS) -D__ASSEMBLY__
ULDFLAGS := -nostartfiles -static -no-pie -T linker/user.ld -Wl,--gc-sections
ULDFLAGS += -Wl,-z,max-page-size=4096 -Wl,-z,common-page-size=4096

ULIB_SRCS := \
	user/lib/crt0_$(ARCH).S \
	user/lib/crt0.c \
	user/lib/syscall.c \
	user/lib/fsio.c \
	user/lib/stdio.c \
	user/lib/printf.c \
	user/lib/exec_glue.c \
	user/lib/ring.c \
	user/lib/reactor.c \
	user/lib/acceptor.c \
	user/lib/px_test.c \
	user/lib/px_test_runner.c \
	user/lib/px_test_help.c \
	user/lib/pxutil.c
ifeq ($(TRACE),1)
ULIB_SRCS += user/lib/trace.c
endif
# the executor library, built for user mode (the same sources as the kernel's)
ULIB_SRCS += $(EXEC_KSRCS)
# word-at-a-time memset/memcpy/memmove, shared with the kernel
ULIB_SRCS += lib/string.c
# compiler support routines (__clzdi2 on rv64imac), shared with the kernel
ULIB_SRCS += lib/libgcc.c
ULIB_OBJS := $(patsubst %,$(UBUILD)/obj/%.o,$(ULIB_SRCS))
$(UBUILD)/obj/lib/string.c.o: UCFLAGS += -fno-tree-loop-distribute-patterns
# usertests' fp_* tests use doubles and the vector registers on purpose:
# that one file may use FP/SIMD, and turns it off again (a pragma) for
# everything but those tests.
$(UBUILD)/obj/user/usertests.c.o: UCFLAGS := $(filter-out -mgeneral-regs-only,$(UCFLAGS))
UARCHIVE := $(UBUILD)/archive.bin

# User objects also depend on this Makefile: a change of UCFLAGS (say,
# -mgeneral-regs-only) must not leave stale objects behind.
$(UBUILD)/obj/%.c.o: %.c Makefile | ensure-cross
	@mkdir -p $(dir $@)
	$(call say,UCC,$<)
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

$(UBUILD)/obj/%.S.o: %.S Makefile | ensure-cross
	@mkdir -p $(dir $@)
	$(call say,UAS,$<)
	$(Q)$(CC) $(UASFLAGS) -c $< -o $@

define UPROG_RULE
$(UBUILD)/$(1).elf: $(call uprog_objs,$(1)) $(ULIB_OBJS) linker/user.ld
	$$(call say,ULD,$$@)
	$$(Q)$$(CC) $$(UCFLAGS) $$(ULDFLAGS) $$(ULIB_OBJS) $(call uprog_objs,$(1)) -o $$@
endef
$(foreach p,$(UPROGS),$(eval $(call UPROG_RULE,$(p))))

# The archive holds stripped copies; the .elf files keep symbols for gdb.
USTRIPPED := $(patsubst %,$(UBUILD)/stripped/%.elf,$(UPROGS))
$(USTRIPPED): $(UBUILD)/stripped/%.elf: $(UBUILD)/%.elf
	@mkdir -p $(dir $@)
	$(Q)$(OBJCOPY) --strip-all $< $@

# The list of programs, rewritten only when it changes: a program removed
# must leave the archive too.
$(UBUILD)/programs.txt: FORCE
	@mkdir -p $(dir $@)
	@echo '$(UPROGS)' | cmp -s - $@ || echo '$(UPROGS)' >$@

$(UARCHIVE): $(USTRIPPED) $(UBUILD)/programs.txt scripts/mkarchive.py
	@command -v python3 >/dev/null 2>&1 || scripts/deps.sh host
	$(call say,ARCHIVE,$@)
	$(Q)python3 scripts/mkarchive.py -o $@ $(USTRIPPED)

user: $(UARCHIVE)

# Boot with user program PROG as process 1 (ARGS: its arguments); fail
# unless it exits with status 0 (scripts/test-user.sh exits with its
# status).  Without PROG, user/runtests.c runs every program whose name
# ends in _test and prints the total.
test-user: $(KERNEL) | ensure-qemu
	@SMP=$(SMP) scripts/test-user.sh $(ARCH) $(KERNEL) $(or $(PROG),runtests) $(ARGS)

# The test harness judged from outside: user/harness_fixture's verdicts.
harness-check: $(KERNEL) | ensure-qemu
	@python3 scripts/harness_check.py --arch $(ARCH) --smp $(SMP) $(KERNEL)

# The wake-up path, seen: boot the tracing kernel (TRACE=1) with PROG as
# process 1 (default: the shell, typing scripts/trace_input/sh.txt; INPUT=
# another file of keys), take the trace off the console at power-off and
# write build/<arch>/trace/<name>.json (Chrome Trace Event format: Perfetto,
# chrome://tracing), .svg and .png (docs/kernel.md, "Seeing a wake-up
# travel").  TRACE_CAP=n keeps only n records per hart (the rest are
# counted as lost).
TRACE_PROG = $(or $(PROG),sh)
TRACE_INPUT = $(or $(INPUT),$(if $(PROG),,scripts/trace_input/sh.txt))
trace: | ensure-cross ensure-qemu
	@$(MAKE) --no-print-directory TRACE=1 KTEST=0 ARCH=$(ARCH) all
	@command -v rsvg-convert >/dev/null 2>&1 || scripts/deps.sh trace
	@python3 scripts/pxtrace.py --arch $(ARCH) --smp $(SMP) --kernel build/$(ARCH)-trace/kernel.elf \
		--prog "$(TRACE_PROG)" $(if $(TRACE_INPUT),--input $(TRACE_INPUT)) \
		$(if $(NAME),--name $(NAME)) $(if $(TRACE_CAP),--cap $(TRACE_CAP))

# The traces of scripted scenarios hold the whole wake-up chain
# (scripts/tracetest.py): a key into cat, keys into a ring READ, pipes on
# two harts, ring READs on two harts, and a buffer too small
# (lost events counted).
trace-test: | ensure-cross ensure-qemu
	@$(MAKE) --no-print-directory TRACE=1 KTEST=0 ARCH=$(ARCH) all
	@command -v rsvg-convert >/dev/null 2>&1 || scripts/deps.sh trace
	@python3 scripts/tracetest.py --arch $(ARCH)

# docs/tutorial.md against the tree: its C blocks are the files, its test
# output and its console session are what they print today.
tutorial-check: | ensure-cross ensure-qemu
	@python3 scripts/tutorial_check.py --arch $(ARCH)

# The kernel embeds the archive (kernel/archive_blob.S).
$(BUILD)/kernel/archive_blob.S.o: $(UARCHIVE)
ASFLAGS += -DARCHIVE_BIN='"$(UARCHIVE)"'

# Host tests of the ELF loader and the archive reader, against the real
# programs of both arches too (built first with the cross compilers).
ELF_TEST := $(HOSTBUILD)/elf_test
ELF_TEST_SRCS := kernel/hosttest/elf_test.c kernel/elf.c kernel/archive.c
$(ELF_TEST): $(ELF_TEST_SRCS) kernel/hosttest/check.h kernel/elf.h kernel/archive.h lib/uapi/pollux.h arch/arch.h | ensure-host
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $(HOST_SAN) -Iarch/riscv64/include $(ELF_TEST_SRCS) -o $@

host-test-elf: $(ELF_TEST)
	@$(MAKE) --no-print-directory ARCH=riscv64 user
	@$(MAKE) --no-print-directory ARCH=aarch64 user
	$(ELF_TEST) build/riscv64/user/archive.bin:243 build/aarch64/user/archive.bin:183  # EM_RISCV, EM_AARCH64

# Host test of the user reactor against a fake kernel ring (ASan+UBSan).
REACTOR_TEST := $(HOSTBUILD)/reactor_test
REACTOR_TEST_SRCS := user/tests/reactor_test.c user/lib/reactor.c user/lib/ring.c \
	user/lib/exec_glue.c executor/tests/runner.c $(EXEC_SRCS)
$(REACTOR_TEST): $(REACTOR_TEST_SRCS) user/include/px_async.h user/include/px_ring.h \
		user/include/px.h lib/uapi/pollux.h $(EXEC_HDRS) | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (ASan+UBSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) $(HOST_SAN) -Iuser/include -Ilib/uapi -Iexecutor/tests \
		$(REACTOR_TEST_SRCS) -o $@

host-test-reactor: $(REACTOR_TEST)
	$(REACTOR_TEST)

.PHONY: user test-user harness-check tutorial-check trace trace-test nettest net-load net-loss ensure-curl FORCE
-include $(ULIB_OBJS:.o=.d) $(foreach p,$(UPROGS),$(patsubst %.o,%.d,$(call uprog_objs,$(p))))
# ======================================================== end user programs

# ============================================================ file system
# The host tools, built from the one definition of the on-disk format
# (kernel/fs/fs_format.h); docs/fs.md.
MKFS := $(HOSTBUILD)/mkfs
FSCK := $(HOSTBUILD)/fsck
FS_TOOL_CFLAGS := $(filter-out -MD -MP,$(HOST_CFLAGS))

$(MKFS): kernel/fs/tools/mkfs.c kernel/fs/fs_format.h | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@)
	$(Q)$(HOSTCC) $(FS_TOOL_CFLAGS) kernel/fs/tools/mkfs.c -o $@

FSCK_SRCS := kernel/fs/tools/fsck.c kernel/fs/tools/fsck_check.c
$(FSCK): $(FSCK_SRCS) kernel/fs/tools/fsck_check.h kernel/fs/fs_format.h | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@)
	$(Q)$(HOSTCC) $(FS_TOOL_CFLAGS) $(FSCK_SRCS) -o $@

fs-tools: $(MKFS) $(FSCK) $(FSUPDATE)

# The disk image: /bin holds every user program, /home a few samples.  It
# is made only when missing (what is written to it survives a rebuild);
# make fs-reset makes a fresh one.
FS_IMG_SIZE ?= 128M
$(FS_IMG): | $(MKFS) $(USTRIPPED)
	@mkdir -p $(dir $@)
	$(Q)$(MKFS) -s $(FS_IMG_SIZE) $@ $(USTRIPPED)

fs-image: $(FS_IMG)

# /bin of the image as the programs are now (make qemu runs this first).
# A damaged image, or one of another format, is left alone with fsck's
# report, and the boot goes on (the kernel says what it makes of it).
fs-update-bin: $(FS_IMG) $(FSUPDATE) $(USTRIPPED)
	@$(FSUPDATE) $(FS_IMG) $(USTRIPPED) || echo "*** $(FS_IMG) left as it is"

# The tests' image: what mkfs makes, remade whenever a program changes;
# each test boots on a copy of it.
FS_TEST_IMG := build/$(ARCH)/fs-test.img
$(FS_TEST_IMG): $(MKFS) $(USTRIPPED)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)$(MKFS) -s 32M $@ $(USTRIPPED)
shtest: $(FS_TEST_IMG)

# The guest's network driven from the host, on 127.0.0.1 only: a peer that
# exchanges raw frames with the card over -netdev dgram, and the restricted
# user-mode network (scripts/nettest.py, docs/net.md).
# The TCP part boots the default system on a copy of the tests' image
# (httpd serves a file it copies there) and needs curl on the host.
# NETTEST_ONLY=tcp runs the TCP part alone (make check's SMP=4 step).
NETTEST_ONLY ?= all
nettest: $(KERNEL) $(FS_TEST_IMG) | ensure-qemu ensure-curl
	@python3 scripts/nettest.py --arch $(ARCH) --smp $(SMP) --image $(FS_TEST_IMG) \
		--only $(NETTEST_ONLY) --log $(BUILD)/logs/nettest-smp$(SMP).log $(KERNEL)

# The TCP part alone at full size: NET_CYCLES connection set-up/teardowns
# (default 5000) and NET_CONNS connections open at once (default 1000,
# each echoing 10 KiB), then the leak check on the kernel's counters.
NET_CYCLES ?= 5000
NET_CONNS ?= 1000
net-load: $(KERNEL) $(FS_TEST_IMG) | ensure-qemu ensure-curl
	@python3 scripts/nettest.py --arch $(ARCH) --smp $(SMP) --image $(FS_TEST_IMG) \
		--only tcp --conns $(NET_CONNS) --cycles $(NET_CYCLES) \
		--log $(BUILD)/logs/net-load-smp$(SMP).log $(KERNEL)
# TCP through the loss injector (net_drop=10): make nettest's tcp_loss boot
# alone (docs/net.md, "Tests").
net-loss: $(KERNEL) $(FS_TEST_IMG) | ensure-qemu ensure-curl
	@python3 scripts/nettest.py --arch $(ARCH) --smp $(SMP) --image $(FS_TEST_IMG) \
		--only tcp_loss --log $(BUILD)/logs/net-loss-smp$(SMP).log $(KERNEL)

ensure-curl:
	@command -v curl >/dev/null 2>&1 || scripts/deps.sh host

# The file-system tests of the whole system: reboots, power cuts, many
# processes, limits (scripts/fssys.py, user/fssys.c): FSSYS=persist,crash,
# conc,fill,big picks some (default all), KILLS power cuts in crash.
KILLS ?= 20
FSSYS ?=
fssys: $(KERNEL) $(FS_TEST_IMG) $(FSCK) $(MKFS) | ensure-qemu
	@python3 scripts/fssys.py --arch $(ARCH) --smp $(SMP) --image $(FS_TEST_IMG) \
		--fsck $(FSCK) --mkfs $(MKFS) --progs "$(USTRIPPED)" --kills $(KILLS) \
		$(if $(FSSYS),--only $(FSSYS)) $(KERNEL)

# The long power-cut run: hundreds of kills (KILLS=n, default 300).
crash-fs: $(KERNEL) $(FS_TEST_IMG) $(FSCK) $(MKFS) | ensure-qemu
	@python3 scripts/fssys.py --arch $(ARCH) --smp $(SMP) --image $(FS_TEST_IMG) \
		--fsck $(FSCK) --mkfs $(MKFS) --kills $(if $(filter command line,$(origin KILLS)),$(KILLS),300) \
		--only crash $(KERNEL)

fs-reset: $(MKFS) $(USTRIPPED)
	$(Q)rm -f $(FS_IMG)
	$(Q)$(MKFS) -s $(FS_IMG_SIZE) $(FS_IMG) $(USTRIPPED)

fs-check: $(FSCK)
	$(FSCK) $(FS_IMG)

# The file-system syscalls and ring operations in the guest, on a fresh
# image, then fsck (user/fstests.c); NODISK=1: the same kernel without a
# disk (the archive fallback).
fstest: $(KERNEL) $(MKFS) $(FSCK) $(USTRIPPED) | ensure-qemu
	@SMP=$(SMP) NODISK=$(NODISK) scripts/fstest.sh $(ARCH) $(KERNEL) $(MKFS) $(FSCK) $(UBUILD)/stripped

# The file-system core (FS_CORE_SRCS, FS_KERNEL_SRCS) is listed with the
# kernel's sources above.
FS_HDRS := $(wildcard kernel/fs/*.h kernel/fs/tools/*.h kernel/fs/hosttest/*.h) lib/uapi/pollux.h \
	kernel/io.h kernel/file.h $(EXEC_HDRS)
# The executor pieces the core uses on the host (sync primitives, asserts).
FS_HOST_EXEC := $(EXEC_HOST_SRCS)
FS_TEST := $(HOSTBUILD)/fs_test
# fsupdate: /bin of an existing image brought up to date, through the
# file-system core over the image file (kernel/fs/tools/fsupdate.c).
FSUPDATE_SRCS := kernel/fs/tools/fsupdate.c kernel/fs/tools/filedev.c kernel/fs/tools/hostdev.c \
	kernel/fs/tools/fs_env_host.c kernel/fs/tools/fsck_check.c $(FS_CORE_SRCS) $(EXEC_HOST_SRCS)
$(FSUPDATE): $(FSUPDATE_SRCS) $(FS_HDRS) kernel/fs/tools/filedev.h | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@)
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) $(FSUPDATE_SRCS) -o $@ -lpthread

FSUPDATE_TEST := $(HOSTBUILD)/fsupdate_test
FSUPDATE_TEST_SRCS := kernel/fs/hosttest/fsupdate_test.c kernel/fs/tools/filedev.c \
	kernel/fs/tools/hostdev.c kernel/fs/tools/fs_env_host.c kernel/fs/tools/fsck_check.c \
	$(FS_CORE_SRCS) $(EXEC_HOST_SRCS)
$(FSUPDATE_TEST): $(FSUPDATE_TEST_SRCS) $(FS_HDRS) | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (ASan+UBSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) $(HOST_SAN) $(FSUPDATE_TEST_SRCS) -o $@ -lpthread

FS_TEST_SRCS := kernel/fs/hosttest/fs_test.c kernel/fs/hosttest/fakedisk.c kernel/fs/tools/hostdev.c \
	kernel/fs/tools/fs_env_host.c kernel/fs/tools/fsck_check.c $(FS_CORE_SRCS) $(FS_HOST_EXEC)
$(FS_TEST): $(FS_TEST_SRCS) $(FS_HDRS) | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (ASan+UBSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) $(HOST_SAN) $(FS_TEST_SRCS) -o $@ -lpthread

# Freestanding proof: the core with both cross compilers and the kernel
# CFLAGS, and nothing from the C library beyond the freestanding headers
# (plus string.h).
FS_XOBJS := $(foreach a,$(ARCHES),$(patsubst %.c,build/xcheck/$(a)/%.o,$(FS_CORE_SRCS) $(FS_KERNEL_SRCS)))
$(FS_XOBJS): $(FS_HDRS)
fs-cross-check: $(FS_XOBJS)
	@bad=$$(grep -Hn '^#include <' $(FS_CORE_SRCS) kernel/fs/fs*.h | grep -Ev '<(stdint|stddef|stdbool|string|stdatomic)\.h>'); \
	if [ -n "$$bad" ]; then echo "fs-cross-check: not freestanding:"; echo "$$bad"; exit 1; fi
	@echo "fs-cross-check: $(words $(FS_CORE_SRCS) $(FS_KERNEL_SRCS)) files x riscv64+aarch64 with kernel CFLAGS: OK"

# The same core on 4 executor threads and a device thread, under
# ThreadSanitizer: what 4 harts will do.
FS_STRESS := build/host-tsan/fs_stress
FS_STRESS_SRCS := kernel/fs/hosttest/fs_stress.c kernel/fs/hosttest/fakedisk.c kernel/fs/tools/hostdev.c \
	kernel/fs/tools/fs_env_host.c kernel/fs/tools/fsck_check.c $(FS_CORE_SRCS) $(EXEC_HOST_SRCS)
$(FS_STRESS): $(FS_STRESS_SRCS) $(FS_HDRS) | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (TSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) -DFS_RACE_POINTS -fsanitize=thread $(FS_STRESS_SRCS) -o $@ \
		-lpthread

# The struct file kinds (fs_file.c) with kernel/file.c, the kernel's
# allocator, user copies and executor played by the test.
FS_FILE_TEST := $(HOSTBUILD)/fs_file_test
FS_FILE_TEST_SRCS := kernel/fs/hosttest/fs_file_test.c kernel/fs/fs_file.c kernel/file.c \
	kernel/fs/hosttest/fakedisk.c kernel/fs/tools/hostdev.c kernel/fs/tools/fs_env_host.c \
	kernel/fs/tools/fsck_check.c $(FS_CORE_SRCS) $(EXEC_HOST_SRCS)
$(FS_FILE_TEST): $(FS_FILE_TEST_SRCS) $(FS_HDRS) kernel/ktask.h kernel/kalloc.h kernel/uaccess.h | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (ASan+UBSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) $(HOST_SAN) -Iarch/riscv64/include -DSMP_MAX=8 \
		$(FS_FILE_TEST_SRCS) -o $@ -lpthread

# Lab 9's checkpoints: the buffer cache alone, on a scripted disk that
# checks every request (kernel/hosttest/fs_cache_test.c); of the executor
# it needs only notify.c.
FS_CACHE_TEST := $(HOSTBUILD)/fs_cache_test
FS_CACHE_TEST_SRCS := kernel/hosttest/fs_cache_test.c kernel/fs/fs_cache.c executor/notify.c
$(FS_CACHE_TEST): $(FS_CACHE_TEST_SRCS) $(FS_HDRS) kernel/hosttest/lab_check.h | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (ASan+UBSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) $(HOST_SAN) $(FS_CACHE_TEST_SRCS) -o $@ -lpthread

# The same cache on 4 executor threads and a device thread, under
# ThreadSanitizer: a field touched without the cache's lock is a data race.
FS_CACHE_TSAN := build/host-tsan/fs_cache_tsan
FS_CACHE_TSAN_SRCS := kernel/hosttest/fs_cache_tsan_test.c kernel/fs/fs_cache.c $(EXEC_HOST_SRCS)
$(FS_CACHE_TSAN): $(FS_CACHE_TSAN_SRCS) $(FS_HDRS) | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (TSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) -fsanitize=thread $(FS_CACHE_TSAN_SRCS) -o $@ -lpthread

# Lab 10's checkpoints: the UDP socket's receive future and its waker on a
# fake stack (kernel/hosttest/udp_sock_test.c).
UDP_SOCK_TEST := $(HOSTBUILD)/udp_sock_test
UDP_SOCK_TEST_SRCS := kernel/hosttest/udp_sock_test.c kernel/net/udp_sock.c kernel/file.c \
	executor/notify.c
$(UDP_SOCK_TEST): $(UDP_SOCK_TEST_SRCS) kernel/net/udp_sock.h kernel/net/net.h kernel/file.h \
		kernel/io.h executor/sync.h executor/notify.h kernel/hosttest/lab_check.h | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (ASan+UBSan))
	$(Q)$(HOSTCC) $(EXEC_HOST_CFLAGS) $(HOST_SAN) -Iarch/riscv64/include -DSMP_MAX=8 \
		$(UDP_SOCK_TEST_SRCS) -o $@ -lpthread

host-test-udpsock: $(UDP_SOCK_TEST)
	$(UDP_SOCK_TEST)

host-test-fscache: $(FS_CACHE_TEST) $(FS_CACHE_TSAN)
	$(FS_CACHE_TEST)
	$(FS_CACHE_TSAN)

host-test-fs: fs-cross-check $(FS_TEST) $(FS_STRESS) $(FS_FILE_TEST) $(MKFS) $(FSCK) $(FSUPDATE) \
		$(FSUPDATE_TEST)
	@echo "== mkfs -> fsck on an image holding the host tools"
	$(Q)$(MKFS) -s 16M $(HOSTBUILD)/fs-tools.img $(MKFS) $(FSCK) > /dev/null
	$(Q)$(FSCK) $(HOSTBUILD)/fs-tools.img
	@echo "== fsck exits 1 on a damaged image"
	$(Q)printf '\000' | dd of=$(HOSTBUILD)/fs-tools.img bs=1 seek=0 conv=notrunc status=none
	$(Q)if $(FSCK) $(HOSTBUILD)/fs-tools.img; then echo "fsck passed a damaged image"; exit 1; fi
	@echo "== fsupdate: /bin of an existing image brought up to date"
	$(FSUPDATE_TEST) $(MKFS) $(FSUPDATE) $(HOSTBUILD)
	@echo "== file-system host tests (ASan+UBSan)"
	$(FS_TEST) $(MKFS)
	@echo "== regular files and directories as struct file (ASan+UBSan)"
	$(Q)$(MKFS) -s 4M $(HOSTBUILD)/fs-file.img > /dev/null
	$(FS_FILE_TEST) $(HOSTBUILD)/fs-file.img
	@echo "== file system on 4 threads: 8 tasks x 30 rounds (ThreadSanitizer)"
	$(Q)$(MKFS) -s 8M $(HOSTBUILD)/fs-stress.img > /dev/null
	$(FS_STRESS) $(HOSTBUILD)/fs-stress.img 30

# Coverage-guided fuzzing (libFuzzer, clang from Debian): the same core and
# fake disk, one target damaging the image, one running operations with
# crashes (kernel/fs/hosttest/fs_fuzz.c).  make check runs a bounded slice;
# make fuzz-fs runs longer (FUZZ_TIME seconds per target).
FUZZ_DIR := build/fuzz
FUZZ_TIME ?= 600
FS_FUZZ_SRCS := kernel/fs/hosttest/fs_fuzz.c kernel/fs/hosttest/fakedisk.c kernel/fs/tools/hostdev.c \
	kernel/fs/tools/fs_env_host.c kernel/fs/tools/fsck_check.c $(FS_CORE_SRCS) $(EXEC_HOST_SRCS)
FS_FUZZ_CFLAGS := -std=c11 -g -O1 $(WARN) -I. -Iexecutor -D_GNU_SOURCE -DEXEC_NO_IRQ \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
ensure-fuzz:
	@command -v clang >/dev/null 2>&1 && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 || scripts/deps.sh fuzz

$(FUZZ_DIR)/fs_fuzz_image: $(FS_FUZZ_SRCS) $(FS_HDRS) | ensure-fuzz
	@mkdir -p $(dir $@)
	$(call say,CLANG,$@ (libFuzzer+ASan+UBSan))
	$(Q)clang $(FS_FUZZ_CFLAGS) -DFS_FUZZ_IMAGE $(FS_FUZZ_SRCS) -o $@ -lpthread

$(FUZZ_DIR)/fs_fuzz_ops: $(FS_FUZZ_SRCS) $(FS_HDRS) | ensure-fuzz
	@mkdir -p $(dir $@)
	$(call say,CLANG,$@ (libFuzzer+ASan+UBSan))
	$(Q)clang $(FS_FUZZ_CFLAGS) -DFS_FUZZ_OPS $(FS_FUZZ_SRCS) -o $@ -lpthread

$(FUZZ_DIR)/base.img: $(MKFS)
	@mkdir -p $(dir $@)
	$(Q)$(MKFS) -s 512K $@ > /dev/null

FS_FUZZ_DEPS := $(FUZZ_DIR)/fs_fuzz_image $(FUZZ_DIR)/fs_fuzz_ops $(FUZZ_DIR)/base.img
host-test-fsfuzz: $(FS_FUZZ_DEPS)
	@scripts/fuzz-fs.sh 15 $(FUZZ_DIR)

fuzz-fs: $(FS_FUZZ_DEPS)
	@scripts/fuzz-fs.sh $(FUZZ_TIME) $(FUZZ_DIR)

.PHONY: fs-tools fs-image fs-update-bin fs-reset fs-check fstest fssys crash-fs fs-cross-check fuzz-fs ensure-fuzz
# ======================================================== end file system

# ================================================================ network
# The stack (kernel/net/, docs/net.md) on the host against a fake link:
# unit tests under ASan+UBSan, and a libFuzzer target over frame sequences
# (a bounded slice in make check; make fuzz-net runs FUZZ_TIME seconds).
NET_CORE_SRCS := kernel/net/eth.c kernel/net/arp.c kernel/net/ipv4.c kernel/net/icmp.c kernel/net/udp.c \
	kernel/net/tcp.c
NET_HDRS := $(wildcard kernel/net/*.h kernel/net/hosttest/*.h)
NET_TEST := $(HOSTBUILD)/net_test
NET_TEST_SRCS := kernel/net/hosttest/net_test.c kernel/net/hosttest/fakelink.c $(NET_CORE_SRCS)
$(NET_TEST): $(NET_TEST_SRCS) $(NET_HDRS) kernel/hosttest/check.h | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (ASan+UBSan))
	$(Q)$(HOSTCC) $(filter-out -MD -MP,$(HOST_CFLAGS)) $(HOST_SAN) $(NET_TEST_SRCS) -o $@

host-test-net: $(NET_TEST)
	$(NET_TEST)

TCP_TEST := $(HOSTBUILD)/tcp_test
TCP_TEST_SRCS := kernel/net/hosttest/tcp_test.c kernel/net/hosttest/fakelink.c $(NET_CORE_SRCS)
$(TCP_TEST): $(TCP_TEST_SRCS) $(NET_HDRS) kernel/hosttest/check.h | ensure-host
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$@ (ASan+UBSan))
	$(Q)$(HOSTCC) $(filter-out -MD -MP,$(HOST_CFLAGS)) $(HOST_SAN) $(TCP_TEST_SRCS) -o $@

host-test-tcp: $(TCP_TEST)
	$(TCP_TEST)

# The 1 MiB transfer at 0, 10, 20 and 30 % loss, SEEDS (default 8) seeds
# each: a sweep beyond make check's one run at 5 %.
tcp-loss: $(TCP_TEST)
	@for p in 0 10 20 30; do TCP_LOSS=$$p,$(or $(SEEDS),8) $(TCP_TEST) || exit 1; done

NET_FUZZ_SRCS := kernel/net/hosttest/net_fuzz.c kernel/net/hosttest/fakelink.c $(NET_CORE_SRCS)
$(FUZZ_DIR)/net_fuzz: $(NET_FUZZ_SRCS) $(NET_HDRS) | ensure-fuzz
	@mkdir -p $(dir $@)
	$(call say,CLANG,$@ (libFuzzer+ASan+UBSan))
	$(Q)clang -std=c11 -g -O1 $(WARN) -I. -D_GNU_SOURCE \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(NET_FUZZ_SRCS) -o $@

host-test-netfuzz: $(FUZZ_DIR)/net_fuzz
	@scripts/fuzz-net.sh 15 $(FUZZ_DIR)

fuzz-net: $(FUZZ_DIR)/net_fuzz
	@scripts/fuzz-net.sh $(FUZZ_TIME) $(FUZZ_DIR)

.PHONY: host-test-string host-test-net host-test-tcp tcp-loss host-test-netfuzz fuzz-net
# ============================================================ end network

# The one list of host test suites: `make host-test` runs every
# host-test-<name>, and scripts/check.sh makes a step of each
# (`make host-test-list` prints the names).
HOST_TESTS := fdt virtq string ring ring-tsan elf reactor exec fs fscache fsfuzz net tcp netfuzz
host-test: $(addprefix host-test-,$(HOST_TESTS))
host-test-list:
	@echo $(HOST_TESTS)

# ---------------------------------------------------------------- syscall fuzzing
# The syscall-and-ring fuzzer (user/fuzz.c, docs/kernel.md "Fuzzing the
# syscalls and the ring").  fuzz-sys-slice: 16 seeds for ARCH at SMP harts,
# then 4 seeds of "fuzz fs" on a fresh image and fsck of it (make check
# runs it on both arches at 1 and 4); fuzz-sys: a campaign, SEEDS seeds
# from SEED (default 1) on both arches at 1 and 4 harts, and 64 of "fuzz fs".
FUZZ_SEEDS := $(or $(SEEDS),2048)
fuzz-sys-slice: $(KERNEL) $(MKFS) $(FSCK) | ensure-qemu
	@scripts/fuzz-sys.sh --arch $(ARCH) --smp $(SMP) --seed 1 --seeds 16 --fs 4
fuzz-sys: $(MKFS) $(FSCK) | ensure-cross ensure-qemu
	@scripts/fuzz-sys.sh --arch all --smp "1 4" --seed $(or $(SEED),1) --seeds $(FUZZ_SEEDS) --fs 64 \
		$(if $(CALLS),--calls $(CALLS))
.PHONY: fuzz-sys fuzz-sys-slice

# ---------------------------------------------------------------- models
# SPIN models of the task state word, the mpsc channel and the ring, and
# their known-bad variants (docs/executor.md, "Model checking").
model:
	@scripts/model.sh
.PHONY: model

# ---------------------------------------------------------------- checking
# The one test command (README, .ci/run): host tests, then both arches'
# kernel self tests; scripts/check.sh prints the total "N passed, N failed".
check:
	@scripts/check.sh

# ------------------------------------------------------------------ labs
# The lab grader (docs/labs/, README "For teachers"): LAB=n grades one lab,
# TEST=name one of its checkpoints, ARCH=all both arches, TIME_SCALE=n
# stretches every checkpoint's time limit (or GRADE_TIME_SCALE);
# GRADE_TRUSTED=dir grades in the trusted mode (scripts/grade_trusted.py).
grade: | ensure-cross ensure-qemu
	@python3 scripts/grade.py --arch $(GRADE_ARCH) $(if $(LAB),--lab $(LAB)) $(if $(TEST),--test $(TEST)) \
		$(if $(TIME_SCALE),--time-scale $(TIME_SCALE))

# Teachers: after changing a test, a checkpoint file or the grader.
grade-manifest:
	@python3 scripts/grade.py --write-manifest

# A lab's starter tree: the solutions of lab LAB and later become stubs.
OUT ?= build/handout/lab$(LAB)
handout:
	@test -n "$(LAB)" || { echo "usage: make handout LAB=n [OUT=dir]"; exit 2; }
	@python3 scripts/handout.py $(LAB) $(OUT)

# Gradescope's autograder zip for lab LAB (README "For teachers").
autograder:
	@test -n "$(LAB)" || { echo "usage: make autograder LAB=n [ZIP=file.zip]"; exit 2; }
	@python3 scripts/grade.py --lab $(LAB) --write-autograder $(or $(ZIP),build/autograder/lab$(LAB).zip)

# make check: every lab's starter tree vs. the full tree vs. a tampered tree
# (LAB=n: lab n's starter tree, and lab n in the full tree).
grade-selftest: | ensure-cross ensure-qemu
	@python3 scripts/grade.py --selftest $(if $(LAB),--lab $(LAB)) $(if $(TIME_SCALE),--time-scale $(TIME_SCALE))

# Every lab's mutants (grade/mutants/labN/*.patch) must lose points:
# make mutants [LAB=n]; make check runs the few marked "Check: yes".
mutants: | ensure-cross ensure-qemu ensure-host
	@python3 scripts/mutants.py $(if $(LAB),--lab $(LAB))
mutants-check: | ensure-cross ensure-qemu ensure-host
	@python3 scripts/mutants.py --check

# make check: grade/run_autograder on a fake /autograder (scripts/grade_selftest.py).
grade-autograder-test: | ensure-cross ensure-qemu
	@python3 scripts/grade_selftest.py autograder

# Boot, user-level and idle figures on the normal kernel; the in-kernel
# benchmarks (kernel/kbench/) on the test kernel, which links them.
bench: $(KERNEL) $(MKFS) $(USTRIPPED)
	@$(MAKE) --no-print-directory KTEST=1 CHECK=0 ARCH=$(ARCH) all
	@SMP=$(SMP) scripts/bench.sh $(ARCH)
	@$(MAKE) --no-print-directory ARCH=$(ARCH) bench-trace

# The network figures of make bench alone (scripts/netbench.py: guest
# instructions per operation under -icount, then wrk and bulk MB/s).
bench-net: $(KERNEL) $(MKFS) $(USTRIPPED) | ensure-cross ensure-qemu
	@python3 scripts/netbench.py --arch $(ARCH) --kernel $(KERNEL) --mkfs $(MKFS) \
		--progs $(UBUILD)/stripped --out build/$(ARCH)/bench count
	@python3 scripts/netbench.py --arch $(ARCH) --kernel $(KERNEL) --mkfs $(MKFS) \
		--progs $(UBUILD)/stripped --out build/$(ARCH)/bench wall

# What tracing costs (scripts/bench-trace.sh): the tracing test kernel's
# kbench figures and the instructions of one trace record.
bench-trace: | ensure-cross ensure-qemu
	@$(MAKE) --no-print-directory KTEST=1 TRACE=1 ARCH=$(ARCH) all
	@scripts/bench-trace.sh $(ARCH)

clean:
	rm -rf build

help:
	@echo "make [ARCH=riscv64|aarch64]   build the kernel ($(KERNEL))"
	@echo "make qemu [SMP=n]             boot it; quit with Ctrl-A x"
	@echo "make qemu-gdb [APPEND=args] [DISK=img]  boot, wait for gdb (on a free port)"
	@echo "make gdb                      gdb-multiarch on it, with px tasks/harts/timers/procs"
	@echo "make gdb-test                 the px commands against a booted kernel, for ARCH"
	@echo "make ktest                    in-kernel self tests for ARCH"
	@echo "make utest                    user-mode tests (usertests as process 1) for ARCH"
	@echo "make test-user [PROG=name]    boot with a program as process 1 (default: every *_test)"
	@echo "make harness-check            the test harness's verdicts, checked from outside"
	@echo "make tutorial-check           docs/tutorial.md's blocks against the tree"
	@echo "make shtest                   the shell, scripted through the console, for ARCH"
	@echo "make trace [PROG=\"prog args\"] trace a run: build/<arch>/trace/<name>.json/.svg/.png"
	@echo "make trace-test               traces of scripted scenarios, checked, for ARCH"
	@echo "make boot-loop [BOOTS=n]      boot each arch n times (default 1000) at -smp 4, check each"
	@echo "make host-test                arch-neutral unit tests (ASan+UBSan)"
	@echo "make model                    SPIN models of the task word, mpsc and ring"
	@echo "make fuzz-sys [SEEDS=n SEED=s] the syscall-and-ring fuzzer, both arches, 1 and 4 harts"
	@echo "make check                    every test, both arches"
	@echo "make bench / bench-host       benchmarks (guest counters / callgrind)"
	@echo "make bench-net                make bench's network figures alone"
	@echo "make grade [LAB=n]            grade the labs (build/grade/results.json)"
	@echo "make handout LAB=n [OUT=dir]  write lab n's starter tree"
	@echo "make grade-manifest           re-checksum the test files (teachers)"
	@echo "make fs-image / fs-reset      the disk image build/<arch>/fs.img (made if missing / afresh)"
	@echo "make fs-update-bin            /bin of that image brought up to date (make qemu runs it first)"
	@echo "make fs-check                 fsck the disk image"
	@echo "make fssys [FSSYS=a,b]       reboot, power-cut, concurrency and limit tests of the file system"
	@echo "make crash-fs [KILLS=n]       the long power-cut run (default 300 kills)"
	@echo "make fuzz-fs [FUZZ_TIME=s]    fuzz the file system (libFuzzer), s seconds per target"
	@echo "make fuzz-net [FUZZ_TIME=s]   fuzz the network stack (libFuzzer) for s seconds"
	@echo "make tcp-loss [SEEDS=n]       1 MiB over TCP at 0..30 % loss, n seeds each (host)"
	@echo "make nettest [ARCH=...]       drive the guest's network from the host (127.0.0.1 only)"
	@echo "make net-load [ARCH=...]      TCP at full size: 5000 connection cycles, leak check"
	@echo "make net-loss [ARCH=...]      TCP through net_drop=10: curl fetches 240 KiB byte-exact"
	@echo "make mutants [LAB=n]          every mutant of the labs must lose points"
	@echo "make autograder LAB=n         Gradescope's autograder zip"
	@echo "make clean"

.PHONY: grade grade-manifest handout grade-selftest autograder grade-autograder-test mutants mutants-check
.PHONY: all qemu qemu-gdb gdb gdb-test ensure-gdb ktest utest shtest host-test host-test-list $(addprefix host-test-,$(HOST_TESTS)) check bench bench-net bench-trace bench-host clean help ensure-cross ensure-qemu ensure-host

-include $(KOBJS:.o=.d)
