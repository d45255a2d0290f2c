/* kmain: parse the device tree, bring up traps, the console and every hart, then run the executor. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/archive.h"
#include "kernel/console.h"
#include "kernel/fsys.h"
#include "kernel/irq.h"
#include "kernel/kalloc.h"
#include "kernel/ktask.h"
#include "kernel/kshell.h"
#include "kernel/machine.h"
#include "kernel/main.h"
#include "kernel/panic.h"
#include "kernel/proc.h"
#include "kernel/uart.h"
#include "kernel/virtio_blk.h"
#include "kernel/net/net_kernel.h"

struct machine machine;

/* At boot nothing tells us the blob's size before we read its header; the
 * parser trusts the header only up to this cap. */
#define FDT_MAX_SIZE (1u << 20)

/*
 * Per-hart thread-local storage.  picolibc keeps errno (and a few other
 * things) in TLS, and the kernel keeps per-hart variables there too:
 * riscv64's tp / aarch64's TPIDR_EL0 point at the hart's own block.
 */
#define TLS_BLOCK 256
extern char __tls_size[], __arm64_tls_tcb_offset[];
static _Alignas(64) char tls_blocks[SMP_MAX][TLS_BLOCK];
void _init_tls(void *tls);
void _set_tls(void *tls);

static void tls_init_hart(unsigned hart)
{
	/* Linker-script symbols: their addresses are the values. */
	if ((uintptr_t)__tls_size + (uintptr_t)__arm64_tls_tcb_offset > TLS_BLOCK)
		arch_power_off(EXIT_PANIC); /* too early to print */
	_init_tls(tls_blocks[hart]);
	_set_tls(tls_blocks[hart]);
}

static void uart_irq_handler(void *arg)
{
	(void)arg;
	uart_irq();
}

/* Instruction counter at kmain entry, for the "bootstat" report. */
uint64_t boot_instret_kmain;

bool bootarg(const char *key, char *out, size_t n)
{
	size_t klen = strlen(key);
	for (const char *p = machine.bootargs; *p; p += strcspn(p, " "), p += *p == ' ') {
		if (strncmp(p, key, klen) != 0 || p[klen] != '=')
			continue;
		const char *v = p + klen + 1;
		size_t len = strcspn(v, " ");
		if (n == 0)
			return true;
		if (len >= n)
			len = n - 1;
		memcpy(out, v, len);
		out[len] = '\0';
		return true;
	}
	return false;
}

/* main.h: the normal kernel has no tests; the test kernel overrides this. */
__attribute__((weak)) bool ktest_boot(void)
{
	return false;
}

/*
 * What runs first: the program named by "init=NAME" on the command line
 * (default "init") as process 1, with "initargs=A,B,..." as its
 * arguments, else, when the archive has no such program, the kernel's own
 * console shell.  Ctrl-T and Ctrl-C work in every case.
 */
static void start_first_task(void)
{
	char name[PX_PATH_MAX] = "init";
	bool named = bootarg("init", name, sizeof(name));
	const void *image;
	size_t size;

	kshell_keys_start();
	if (archive_find(name, &image, &size) == 0) {
		/* "initargs=a,b": its arguments (scripts/grade.py uses them). */
		static char args[256];
		bool has_args = bootarg("initargs", args, sizeof(args));
		int pid = proc_start_init(name, has_args ? args : NULL);
		if (pid < 0)
			panic("cannot start %s: error %d", name, -pid);
		return;
	}
	if (named)
		printf("no program '%s' in the archive; starting the kernel shell\n", name);
	kshell_start();
}

/*
 * The boot hart is hart 0 (kmain runs as worker 0), but the firmware may
 * have started any of them first (OpenSBI's boot lottery, a device tree
 * that lists the boot CPU later): move the boot hart's id into slot 0;
 * the others keep device-tree order.
 */
static void boot_hart_first(uint64_t boot_hwid)
{
	for (unsigned i = 1; i < machine.nharts; i++) {
		if (machine.hart_hwid[i] == boot_hwid) {
			machine.hart_hwid[i] = machine.hart_hwid[0];
			machine.hart_hwid[0] = boot_hwid;
			break;
		}
	}
}

_Static_assert(SMP_MAX <= ARCH_MAX_HARTS, "struct arch_machine cannot name every hart");

/* Tell the arch code what it needs of the machine (arch.h). */
static void describe_machine_to_arch(void)
{
	static const enum arch_irqc_kind irqc[] = {
		[IRQC_NONE] = ARCH_IRQC_NONE, [IRQC_PLIC] = ARCH_IRQC_PLIC,
		[IRQC_GICV2] = ARCH_IRQC_GICV2, [IRQC_GICV3] = ARCH_IRQC_GICV3,
	};
	static const enum arch_fw_conduit fw[] = {
		[PSCI_NONE] = ARCH_FW_NONE, [PSCI_HVC] = ARCH_FW_HVC, [PSCI_SMC] = ARCH_FW_SMC,
	};
	struct arch_machine m = {
		.mem_base = machine.mem_base,
		.mem_size = machine.mem_size,
		.timer_freq = machine.timer_freq,
		.timer_irq = machine.timer_irq,
		.timer_sstc = machine.timer_sstc,
		.irqc_kind = irqc[machine.irqc_kind],
		.irqc_base = machine.irqc.base,
		.irqc2_base = machine.irqc2.base,
		.irqc2_size = machine.irqc2.size,
		.nharts = machine.nharts < SMP_MAX ? machine.nharts : SMP_MAX,
		.fw = fw[machine.psci],
		.test_dev = machine.test_dev,
	};
	for (unsigned i = 0; i < m.nharts; i++)
		m.hart_hwid[i] = machine.hart_hwid[i];
	arch_machine_init(&m);
}

/* Secondary harts that reached their executor loop (the boot hart: 1),
 * and which (bit h). */
static _Atomic unsigned harts_online = 1;
static _Atomic uint32_t harts_online_mask = 1;

/*
 * Secondary bring-up: ask the firmware to start every other hart the
 * device tree lists, then wait (bounded) until each has joined, so the
 * tests and benchmarks that follow see every worker.  A hart the
 * firmware refuses or that never arrives is reported and left out: its
 * worker's queue is still drained by stealing, so nothing hangs.
 *
 * "hartstart=early" on the command line tests the entry's parking (see
 * arch_start_hart): every secondary is started unreleased, must stay
 * parked for 20 ms, and only then is released.
 */
static void start_secondaries(void)
{
	char mode[8] = "";
	bool early = bootarg("hartstart", mode, sizeof(mode)) && strcmp(mode, "early") == 0;

	if (machine.nharts > SMP_MAX)
		machine.nharts = SMP_MAX;
	for (unsigned h = 1; h < machine.nharts; h++) {
		int err = arch_start_hart(h, machine.hart_hwid[h], early ? ARCH_START_EARLY : 0);
		if (err)
			printf("hart %u (id %#llx): firmware refused to start it (%d)\n", h,
			       (unsigned long long)machine.hart_hwid[h], err);
	}
	if (early) {
		uint64_t until = arch_timer_now() + arch_timer_freq() / 50; /* 20 ms */
		while (arch_timer_now() < until)
			;
		printf("hartstart=early: %u hart(s) ran before release\n",
		       atomic_load(&harts_online) - 1);
		for (unsigned h = 1; h < machine.nharts; h++)
			arch_release_hart(h, machine.hart_hwid[h]);
	}
	uint64_t limit = arch_timer_now() + arch_timer_freq(); /* 1 s */
	while (atomic_load(&harts_online) < machine.nharts && arch_timer_now() < limit)
		;
	if (machine.nharts > 1)
		printf("%u of %u harts online\n", atomic_load(&harts_online), machine.nharts);
	irq_harts_online(atomic_load(&harts_online_mask));
}

/* arch.h: a secondary hart, on its own stack with the kernel map on. */
_Noreturn void kmain_secondary(unsigned hart)
{
	const char *why;

	tls_init_hart(hart);
	arch_hart_init(hart);
	arch_trap_init();
	if (arch_irqc_init_hart(&why) != 0)
		panic("hart %u: interrupt controller: %s", hart, why);
	atomic_fetch_or(&harts_online_mask, 1u << hart);
	atomic_fetch_add(&harts_online, 1);
	arch_irq_on();
	ktask_run();
}

void kmain(const void *dtb)
{
	int err, fallback_err = FDT_OK;
	const char *why;

	boot_instret_kmain = arch_instret();

	tls_init_hart(0);
	arch_hart_init(0);

	err = dtb ? fdt_parse(dtb, FDT_MAX_SIZE, &machine) : FDT_ERR_MISSING;
	if (err != FDT_OK) {
		fallback_err = err;
		if (fdt_parse(arch_fallback_dtb(), FDT_MAX_SIZE, &machine) != FDT_OK)
			arch_power_off(EXIT_PANIC); /* no console to complain on */
	}
	boot_hart_first(arch_boot_hwid());
	describe_machine_to_arch();
	if (uart_init(&machine) != 0)
		arch_power_off(EXIT_PANIC);
	kalloc_init(&machine, fallback_err == FDT_OK ? dtb : NULL, fdt_blob_size(dtb));
	if (arch_vm_init() != 0)
		panic("vm init failed");
	if (fallback_err != FDT_OK)
		printf("warning: boot device tree unusable (%s); using the built-in "
		       "QEMU virt layout\n", fdt_strerror(fallback_err));

	console_init();
	arch_trap_init();
	if (arch_irqc_init(&why) != 0 || arch_irqc_init_hart(&why) != 0)
		panic("interrupt controller: %s", why);
	if (irq_register(machine.uart.irq, uart_irq_handler, NULL, IRQ_HART_ANY) != 0)
		panic("cannot register UART interrupt %u", machine.uart.irq);
	blk_init(&machine); /* a missing disk is fine: it says so */

	printf("\nPollux on %s%s: %u hart%s, %llu MiB RAM at %#llx, timer %llu Hz\n",
	       arch_name, arch_boot_note(), machine.nharts, machine.nharts == 1 ? "" : "s",
	       (unsigned long long)(machine.mem_size >> 20),
	       (unsigned long long)machine.mem_base,
	       (unsigned long long)arch_timer_freq());
	printf("console %s at %#llx irq %u, %u virtio-mmio slots\n",
	       machine.uart_kind == UART_PL011 ? "pl011" : "ns16550a",
	       (unsigned long long)machine.uart.base, machine.uart.irq,
	       machine.nvirtio);

	ktask_init(machine.nharts);
	netk_init(&machine); /* no network card is fine: nothing is printed */
	proc_init();
	if (archive_init() != 0)
		printf("warning: the program archive is corrupt; no user programs\n");
	start_secondaries();
	arch_irq_on();
	/* The disk is mounted as / first (or refused, in one line); then the
	 * first program starts.  The test kernel leaves the disk to its
	 * tests. */
	if (!ktest_boot())
		fsys_boot(start_first_task);
	ktask_run();
}
