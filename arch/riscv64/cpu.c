/* riscv64 CPU primitives: interrupt state, WFI, timer, harts and power off. */
#include <stdbool.h>
#include <stdio.h>

#include "arch/arch.h"
#include "arch/riscv64/csr.h"
#include "arch/riscv64/machine.h"
#include "arch/riscv64/sbi.h"
#include "arch/riscv64/trap.h"
#include "arch/riscv64/trapframe.h"

const char arch_name[] = "riscv64";

const char *arch_boot_note(void)
{
	return ""; /* always S-mode, under SBI */
}

/* Set by entry.S: the hartid OpenSBI booted us on. */
uint64_t rv_boot_hartid;
extern const char rv_fallback_dtb[];

const void *arch_fallback_dtb(void)
{
	return rv_fallback_dtb;
}

uint64_t arch_boot_hwid(void)
{
	return rv_boot_hartid;
}

struct arch_machine rv_machine;

void arch_machine_init(const struct arch_machine *m)
{
	rv_machine = *m;
}

void arch_irq_on(void)
{
	CSR_SET(sstatus, SSTATUS_SIE);
}

void arch_irq_off(void)
{
	CSR_CLEAR(sstatus, SSTATUS_SIE);
}

bool arch_irq_enabled(void)
{
	return r_sstatus() & SSTATUS_SIE;
}

static uint64_t wfi_instret[SMP_MAX];

/* wfi resumes when an interrupt enabled in sie is pending, even with
 * sstatus.SIE clear, which is what makes check-then-sleep race free. */
void arch_wait_for_interrupt(void)
{
	/* Under -icount instret is the virtual clock, which runs on while
	 * the hart sleeps: arch_wfi_instret keeps what passed inside the wfi
	 * so benchmarks can take it off.  With interrupts unmasked a handler
	 * may run before wfi returns; that span is not kept. */
	bool masked = !(r_sstatus() & SSTATUS_SIE);
	uint64_t t0 = r_instret();
	__asm__ volatile("wfi" ::: "memory");
	if (masked) {
		unsigned h = arch_hart_id();
		if (h < SMP_MAX)
			wfi_instret[h] += r_instret() - t0;
	}
}

/* The park's sleep in arch_idle_wait: from the stamp before it to the
 * vector's short path (rv_idle_trap_irq), which stamps the moment the
 * interrupt arrived; its handlers count as work.  No stamp: a spurious
 * wake-up, whose span is not kept.  A sleep is added up at the hart's
 * next park or arch_wfi_instret, off the wake-up path. */
static _Thread_local uint64_t idle_from, idle_woke;

static void idle_account(void)
{
	if (idle_woke > idle_from) {
		unsigned h = arch_hart_id();
		if (h < SMP_MAX)
			wfi_instret[h] += idle_woke - idle_from;
	}
	idle_woke = 0;
}

void arch_idle_account_begin(void)
{
	idle_account();
	idle_from = r_instret();
}

bool rv_idle_trap_irq(uint64_t cause, struct trap_frame *tf)
{
	idle_woke = r_instret();
	return rv_trap_irq(cause, tf);
}

uint64_t arch_wfi_instret(void)
{
	unsigned long f = arch_irq_save();
	idle_account();
	arch_irq_restore(f);
	uint64_t sum = 0;
	for (unsigned i = 0; i < SMP_MAX; i++)
		sum += __atomic_load_n(&wfi_instret[i], __ATOMIC_RELAXED);
	return sum;
}

void arch_io_barrier(void)
{
	__asm__ volatile("fence iorw, iorw" ::: "memory");
}

uint64_t arch_timer_freq(void)
{
	return rv_machine.timer_freq ? rv_machine.timer_freq : 10000000;
}

void arch_timer_set(uint64_t deadline)
{
	/* LAB 1 BEGIN */
	sbi_set_timer(deadline);
	/* LAB 1 STUB
	// LAB 1: arm the one-shot timer (docs/labs/lab1.md).  Until then no
	// timer interrupt ever arrives, so nothing that sleeps wakes up.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 1: implement arch_timer_set (arch/riscv64/cpu.c)\n");
	}
	(void)deadline;
	   LAB 1 END */
}

uint64_t arch_instret(void)
{
	return r_instret();
}

/* arch_trap_stamp (arch_cpu.h) reads the frame at this offset. */
_Static_assert(TF_STAMP == RV_CPU_TF_STAMP, "arch_cpu.h's stamp offset");

/* arch_hart_id (arch_cpu.h) reads it. */
_Thread_local unsigned rv_hart_index;

void arch_hart_init(unsigned hart)
{
	rv_hart_index = hart;
}

/* SBI IPI raises the supervisor software interrupt on the target; OpenSBI
 * sends it with its own fence, so our earlier stores are visible first. */
void arch_send_ipi(unsigned hart)
{
	uint64_t id = rv_machine.hart_hwid[hart];
	__asm__ volatile("fence rw, rw" ::: "memory");
	sbi_send_ipi(1, id);
}

extern char _start[];
/* entry.S, in .data: slot h holds secondary h's hartid once released. */
extern uint64_t rv_hart_release[SMP_MAX];

void arch_release_hart(unsigned hart, uint64_t hw_id)
{
	if (hart == 0 || hart >= SMP_MAX)
		return;
	/* Release: everything the boot hart wrote is visible first. */
	__atomic_store_n(&rv_hart_release[hart], hw_id, __ATOMIC_RELEASE);
}

/* HSM hart_start at _start (a physical address: the kernel is
 * identity-mapped); the entry finds the hart's index by its hartid in
 * rv_hart_release, so the opaque value is only informative. */
int arch_start_hart(unsigned hart, uint64_t hw_id, uintptr_t arg)
{
	if (hart == 0 || hart >= SMP_MAX)
		return SBI_ERR_INVALID_PARAM;
	if (!(arg & ARCH_START_EARLY))
		arch_release_hart(hart, hw_id);
	return (int)sbi_hart_start(hw_id, (uint64_t)(uintptr_t)_start, hart);
}

/* entry.S, on the secondary's own stack with interrupts masked. */
_Noreturn void rv_secondary_main(unsigned hart);
_Noreturn void rv_secondary_main(unsigned hart)
{
	rv_vm_init_hart();
	kmain_secondary(hart);
}

/*
 * QEMU's "sifive,test0" finisher: 0x5555 exits with status 0; (code << 16)
 * | 0x3333 exits with status `code`.  Without it, SBI SRST shutdown (which
 * cannot carry a status).
 */
_Noreturn void arch_power_off(int status)
{
	arch_irq_off();
	if (rv_machine.test_dev) {
		volatile uint32_t *fin = (volatile uint32_t *)(uintptr_t)rv_machine.test_dev;
		*fin = status == 0 ? 0x5555 : ((uint32_t)(status & 0xffff) << 16) | 0x3333;
	}
	sbi_system_reset(0, status == 0 ? 0 : 1);
	for (;;)
		__asm__ volatile("wfi");
}
