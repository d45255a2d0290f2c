# Pollux: one flat Makefile.  `make help` lists the targets.

ARCH ?= riscv64
SMP ?= 1
MEM ?= 128M
# KTEST=1 builds the in-kernel self-test image (make ktest does it for you).
KTEST ?= 0
# IDLE=spin builds a deliberately busy-polling idle loop, for comparison.
IDLE ?= wfi

ifeq ($(KTEST),1)
BUILD := build/$(ARCH)-ktest
else ifeq ($(IDLE),spin)
BUILD := build/$(ARCH)-spin
else
BUILD := build/$(ARCH)
endif
HOSTBUILD := build/host

# ---------------------------------------------------------------- toolchains
ifeq ($(ARCH),riscv64)
CROSS := riscv64-unknown-elf-
# -misa-spec=2.2 keeps CSR and fence.i in the base ISA and selects picolibc's
# rv64imac/lp64 multilib (spelling _zicsr would fall back to lp64d).
ARCH_CFLAGS := -march=rv64imac -misa-spec=2.2 -mabi=lp64 -mcmodel=medany
ARCH_CFLAGS += -mno-relax
QEMU := qemu-system-riscv64
else ifeq ($(ARCH),aarch64)
CROSS := aarch64-linux-gnu-
ARCH_CFLAGS := -march=armv8-a -mgeneral-regs-only
QEMU := qemu-system-aarch64
else
$(error ARCH must be riscv64 or aarch64, not '$(ARCH)')
endif

CC := $(CROSS)gcc
OBJCOPY := $(CROSS)objcopy
OBJDUMP := $(CROSS)objdump
HOSTCC ?= gcc

# Every tool a target needs is checked first; scripts/deps.sh installs what
# is missing (Debian packages), so the first `make` on a fresh machine works.
DEPS_STAMP = $(shell command -v $(CC) >/dev/null 2>&1 && test -d /usr/lib/picolibc/$(patsubst %-,%,$(CROSS)) || echo missing)
ensure-cross:
	@if [ "$(DEPS_STAMP)" = missing ]; then scripts/deps.sh cross; fi
ensure-qemu:
	@command -v $(QEMU) >/dev/null 2>&1 && test -f /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin || scripts/deps.sh qemu
ensure-host:
	@command -v $(HOSTCC) >/dev/null 2>&1 && command -v valgrind >/dev/null 2>&1 && command -v dtc >/dev/null 2>&1 || scripts/deps.sh host

# ------------------------------------------------------------------- flags
WARN := -Wall -Wextra -Werror
WARN += -Wshadow -Wundef -Wmissing-prototypes -Wstrict-prototypes
WARN += -Wpointer-arith -Wcast-align -Wwrite-strings -Wvla

CFLAGS := -std=c11 -O2 -g
CFLAGS += $(WARN)
CFLAGS += $(ARCH_CFLAGS)
CFLAGS += --specs=picolibc.specs
CFLAGS += -ffreestanding -fno-common -fno-stack-protector -fno-pie -fno-omit-frame-pointer
CFLAGS += -ffunction-sections -fdata-sections
CFLAGS += -MD -MP
CFLAGS += -I. -Iexecutor
CFLAGS += -DSMP_MAX=8
ifeq ($(KTEST),1)
CFLAGS += -DKTEST=1
endif
ifeq ($(IDLE),spin)
CFLAGS += -DIDLE_SPIN=1
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
	kernel/uart.c \
	kernel/uart_ns16550.c \
	kernel/uart_pl011.c \
	kernel/trap.c \
	kernel/irq.c \
	kernel/ktimer.c \
	kernel/panic.c \
	kernel/stdio.c \
	kernel/ktest.c

# arch/<arch>: the arch contract's implementation (explicit lists)
ARCH_SRCS_riscv64 := \
	arch/riscv64/entry.S \
	arch/riscv64/trapvec.S \
	arch/riscv64/trap.c \
	arch/riscv64/sbi.c \
	arch/riscv64/plic.c \
	arch/riscv64/cpu.c \
	arch/riscv64/fallback_dtb.S

ARCH_SRCS_aarch64 := \
	arch/aarch64/entry.S \
	arch/aarch64/vectors.S \
	arch/aarch64/trap.c \
	arch/aarch64/psci.c \
	arch/aarch64/gic.c \
	arch/aarch64/cpu.c \
	arch/aarch64/mmu.c \
	arch/aarch64/fallback_dtb.S

KSRCS := $(ARCH_SRCS_$(ARCH)) $(KERNEL_SRCS)
KOBJS := $(patsubst %,$(BUILD)/%.o,$(KSRCS))

KERNEL := $(BUILD)/kernel.elf

.DEFAULT_GOAL := all
all: $(KERNEL)

$(BUILD)/%.c.o: %.c | ensure-cross
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.S.o: %.S | ensure-cross
	@mkdir -p $(dir $@)
	$(CC) $(ASFLAGS) -c $< -o $@

# The fallback device tree is QEMU virt's own, dumped once and embedded.
$(BUILD)/arch/$(ARCH)/fallback_dtb.S.o: $(BUILD)/virt.dtb
$(BUILD)/virt.dtb: scripts/dumpdtb.sh | ensure-qemu
	@mkdir -p $(dir $@)
	scripts/dumpdtb.sh $(ARCH) $@
ASFLAGS += -DFALLBACK_DTB='"$(BUILD)/virt.dtb"'

$(KERNEL): $(KOBJS) linker/$(ARCH).ld
	$(CC) $(CFLAGS) $(LDFLAGS) $(KOBJS) -o $@
	$(OBJCOPY) -O binary $@ $(BUILD)/kernel.bin

# ------------------------------------------------------------------ running
RUN := scripts/run-qemu.sh --arch $(ARCH) --smp $(SMP) --mem $(MEM)

qemu: $(KERNEL) | ensure-qemu
	@$(RUN) --interactive $(KERNEL)

qemu-gdb: $(KERNEL) | ensure-qemu
	@echo "*** waiting for gdb: gdb-multiarch -ex 'target remote :1234' $(KERNEL)"
	@$(RUN) --interactive --gdb $(KERNEL)

# In-kernel self tests for one arch (a KTEST=1 build in build/<arch>-ktest).
ktest: | ensure-cross ensure-qemu
	@$(MAKE) --no-print-directory KTEST=1 ARCH=$(ARCH) all
	@scripts/ktest.sh $(ARCH) build/$(ARCH)-ktest/kernel.elf

# ------------------------------------------------------------- host tests
# Arch-neutral code built for Linux under AddressSanitizer + UBSan.
HOST_CFLAGS := -std=c11 -O1 -g $(WARN) -I. -Iexecutor -D_GNU_SOURCE -MD -MP
HOST_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

FDT_TEST := $(HOSTBUILD)/fdt_test
$(FDT_TEST): kernel/tests/fdt_test.c kernel/fdt.c kernel/platform.h | ensure-host
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $(HOST_SAN) kernel/tests/fdt_test.c kernel/fdt.c -o $@

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

# ======================================================== executor (host)
# Section owned by the executor work: host library, tests, stress, bench.
EXEC_SRCS := $(filter-out executor/tests/%,$(wildcard executor/*.c))

host-test-exec:
	@echo "executor: no host tests yet"; echo "0 passed, 0 failed"

bench-host:
	@echo "bench-host: executor benchmarks not built yet"
# ==================================================== end executor (host)

host-test: host-test-fdt host-test-exec

# ---------------------------------------------------------------- checking
# The one test command (README, .ci/run): host tests, then both arches'
# kernel self tests; scripts/check.sh prints the total "N passed, N failed".
check:
	@scripts/check.sh

bench: $(KERNEL)
	@scripts/bench.sh $(ARCH)

clean:
	rm -rf build

help:
	@echo "make [ARCH=riscv64|aarch64]   build the kernel ($(KERNEL))"
	@echo "make qemu [SMP=n]             boot it; quit with Ctrl-A x"
	@echo "make qemu-gdb                 boot, wait for gdb on :1234"
	@echo "make ktest                    in-kernel self tests for ARCH"
	@echo "make host-test                arch-neutral unit tests (ASan+UBSan)"
	@echo "make check                    every test, both arches"
	@echo "make bench / bench-host       benchmarks (guest counters / callgrind)"
	@echo "make clean"

.PHONY: all qemu qemu-gdb ktest host-test host-test-fdt host-test-exec check bench bench-host clean help ensure-cross ensure-qemu ensure-host

-include $(KOBJS:.o=.d)
