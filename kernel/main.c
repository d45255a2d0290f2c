/* kmain: parse the device tree, bring up traps and the console, then idle in WFI. */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/console.h"
#include "kernel/archive.h"
#include "kernel/irq.h"
#include "kernel/kalloc.h"
#include "kernel/kbench.h"
#include "kernel/kexec.h"
#include "kernel/kshell.h"
#include "kernel/ktest.h"
#include "kernel/panic.h"
#include "kernel/platform.h"
#include "kernel/proc.h"
#include "kernel/uart.h"
#include "kernel/virtio_blk.h"

struct platform platform;

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

/*
 * What runs first: the benchmarks ("kbench"), else the program named by
 * "init=NAME" on the command line (default "init") as process 1, else,
 * when the archive has no such program, the kernel's own console shell.
 */
static void start_first_task(void)
{
	char name[PX_PATH_MAX] = "init";
	const char *arg = strstr(platform.bootargs, "init=");
	const void *image;
	size_t size;

	if (strstr(platform.bootargs, "kbench")) {
		kbench_start();
		return;
	}
	if (arg) {
		arg += 5;
		size_t n = strcspn(arg, " ");
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, arg, n);
		name[n] = '\0';
	}
	if (archive_find(name, &image, &size) == 0) {
		int pid = proc_start_init(name);
		if (pid < 0)
			panic("cannot start %s: error %d", name, -pid);
		return;
	}
	if (arg)
		printf("no program '%s' in the archive; starting the kernel shell\n", name);
	kshell_start();
}

void kmain(const void *dtb)
{
	int err, fallback_err = FDT_OK;

	boot_instret_kmain = arch_instret();

	tls_init_hart(0);

	err = dtb ? fdt_parse(dtb, FDT_MAX_SIZE, &platform) : FDT_ERR_MISSING;
	if (err != FDT_OK) {
		fallback_err = err;
		if (fdt_parse(arch_fallback_dtb(), FDT_MAX_SIZE, &platform) != FDT_OK)
			arch_power_off(EXIT_PANIC); /* no console to complain on */
	}
	if (uart_init(&platform) != 0)
		arch_power_off(EXIT_PANIC);
	kalloc_init(&platform, fallback_err == FDT_OK ? dtb : NULL, fdt_blob_size(dtb));
	if (arch_vm_init(&platform) != 0)
		panic("vm init failed");
	if (fallback_err != FDT_OK)
		printf("warning: boot device tree unusable (%s); using the built-in "
		       "QEMU virt layout\n", fdt_strerror(fallback_err));

	console_init();
	arch_trap_init();
	arch_irqc_init(&platform);
	arch_irqc_init_hart();
	if (irq_register(platform.uart.irq, uart_irq_handler, NULL, 0) != 0)
		panic("cannot register UART interrupt %u", platform.uart.irq);
	blk_init(&platform); /* a missing disk is fine: it says so */

	printf("\nPollux on %s: %u hart%s, %llu MiB RAM at %#llx, timer %llu Hz\n",
	       arch_name, platform.nharts, platform.nharts == 1 ? "" : "s",
	       (unsigned long long)(platform.mem_size >> 20),
	       (unsigned long long)platform.mem_base,
	       (unsigned long long)arch_timer_freq());
	printf("console %s at %#llx irq %u, %u virtio-mmio slots\n",
	       platform.uart_kind == UART_PL011 ? "pl011" : "ns16550a",
	       (unsigned long long)platform.uart.base, platform.uart.irq,
	       platform.nvirtio);

	kexec_init(1);
	if (archive_init() != 0)
		printf("warning: the program archive is corrupt; no user programs\n");
	arch_irq_on();
#ifdef KTEST
	ktest_main();
#endif
	start_first_task();
	kexec_run();
}
