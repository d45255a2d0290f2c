/* riscv64 trap internals shared by the kernel trap path (trap.c) and the user path (user.c). */
#ifndef ARCH_RISCV64_TRAP_H
#define ARCH_RISCV64_TRAP_H

#include <stdbool.h>
#include <stdint.h>

struct trap_frame;

void rv_trap_vector(void);
void rv_trap(struct trap_frame *tf);

/* Handle interrupt `cause` (scause, interrupt bit set) the one way both
 * paths share: silence the source as the arch must, then call
 * trap_timer / trap_ipi / trap_irq.  False if the interrupt is unknown. */
bool rv_trap_irq(uint64_t cause, struct trap_frame *tf);
bool rv_idle_trap_irq(uint64_t cause, struct trap_frame *tf);

/* Per-hart setup of the user path (user.c); from arch_trap_init, after
 * the hart's TLS and index are set. */
void rv_user_init_hart(void);

/* Secondary harts (vm.c): switch this hart from bare mode to the kernel's
 * page table, which arch_vm_init built on the boot hart. */
void rv_vm_init_hart(void);

/* Print x1..x31 by ABI name, four per row (fault reports of kernel and
 * user contexts alike). */
void rv_dump_gprs(const uint64_t x[31]);

/* Human-readable name of exception `cause`, or "unknown trap". */
const char *rv_exc_name(uint64_t cause);
struct trap_info;
void rv_trap_detail(struct trap_info *info, uint64_t cause, uint64_t stval);

#endif /* ARCH_RISCV64_TRAP_H */
