/* aarch64 firmware interface: PSCI over HVC/SMC, semihosting exit, power off, hart start. */
#include <stdint.h>

#include "arch/arch.h"
#include "arch/aarch64/machine.h"
#include "arch/aarch64/psci.h"
#include "arch/aarch64/sysreg.h"

/*
 * PSCI is reached through the conduit the device tree's /psci "method"
 * names: "hvc" on QEMU virt without EL2/EL3 firmware (QEMU itself answers),
 * "smc" under TF-A.  Arguments go in x1-x3, the function ID and result in
 * x0 (SMC Calling Convention); the callee may clobber x0-x17.
 */
int64_t a64_psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	switch (a64_machine.fw) {
	case ARCH_FW_HVC:
		__asm__ volatile("hvc #0"
				 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
				 :
				 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
				   "x12", "x13", "x14", "x15", "x16", "x17", "memory");
		break;
	case ARCH_FW_SMC:
		__asm__ volatile("smc #0"
				 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
				 :
				 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
				   "x12", "x13", "x14", "x15", "x16", "x17", "memory");
		break;
	default:
		return PSCI_E_NOT_SUPPORTED;
	}
	return (int64_t)x0;
}

int64_t a64_psci_version(void)
{
	return a64_psci_call(PSCI_FN_VERSION, 0, 0, 0);
}

int64_t a64_psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t ctx)
{
	return a64_psci_call(PSCI_FN_CPU_ON, mpidr, entry, ctx);
}

/*
 * Semihosting (Arm "Semihosting for AArch32 and AArch64"): operation in
 * w0, parameter pointer in x1, trap with hlt #0xf000.  SYS_EXIT (0x18)
 * takes a two-word block {reason, subcode}; for the reason
 * ADP_Stopped_ApplicationExit QEMU exits with subcode as its status.
 *
 * noinline: the hlt carries a global label (a64_semihost_insn) that the
 * trap code recognises, so it must exist exactly once.
 */
#define SEMIHOST_SYS_EXIT            0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

__attribute__((noinline)) void a64_semihost_exit(int status)
{
	volatile uint64_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint64_t)(int64_t)status };
	register uint64_t x0 __asm__("x0") = SEMIHOST_SYS_EXIT;
	register uint64_t x1 __asm__("x1") = (uint64_t)(uintptr_t)block;

	__asm__ volatile(".globl a64_semihost_insn\n"
			 "a64_semihost_insn:\n\t"
			 "hlt #0xf000"
			 : "+r"(x0)
			 : "r"(x1)
			 : "memory");
}

/*
 * Power off: semihosting first, because only it carries the exit status to
 * the host; PSCI SYSTEM_OFF also stops QEMU but always with status 0, so
 * it is the fallback when QEMU runs without -semihosting-config.  If both
 * fail, sleep forever with interrupts masked.
 */
_Noreturn void arch_power_off(int status)
{
	arch_irq_off();
	a64_semihost_exit(status);
	a64_psci_call(PSCI_FN_SYSTEM_OFF, 0, 0, 0);
	for (;;)
		__asm__ volatile("wfi");
}

extern const char _start[];
/* entry.S, in .data: slot h holds secondary h's MPIDR affinity once
 * released. */
extern uint64_t a64_hart_release[SMP_MAX];

/* The parked CPU reads with its MMU off, i.e. from memory, not from this
 * CPU's cache: store, then clean the line to the point of coherency. */
void arch_release_hart(unsigned hart, uint64_t hw_id)
{
	if (hart == 0 || hart >= SMP_MAX)
		return;
	__atomic_store_n(&a64_hart_release[hart], hw_id & MPIDR_AFF_MASK, __ATOMIC_RELEASE);
	__asm__ volatile("dc civac, %0\n\tdsb sy" : : "r"(&a64_hart_release[hart]) : "memory");
}

/* CPU_ON at _start (physical = virtual: the kernel is identity-mapped);
 * the entry finds the CPU's index by its MPIDR in a64_hart_release, so
 * the context argument is only informative. */
int arch_start_hart(unsigned hart, uint64_t hw_id, uintptr_t arg)
{
	if (hart == 0 || hart >= SMP_MAX)
		return PSCI_E_INVALID;
	if (!(arg & ARCH_START_EARLY))
		arch_release_hart(hart, hw_id);
	return (int)a64_psci_cpu_on(hw_id, (uint64_t)(uintptr_t)_start, hart);
}
