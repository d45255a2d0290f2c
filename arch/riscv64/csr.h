/* riscv64 CSR accessors and bit names: one static inline per register. */
#ifndef ARCH_RISCV64_CSR_H
#define ARCH_RISCV64_CSR_H

#include <stdint.h>

#define SSTATUS_SIE (1UL << 1)
#define SSTATUS_SPIE (1UL << 5)
#define SSTATUS_SPP (1UL << 8)
#define SSTATUS_FS (3UL << 13) /* FP state: 0 = off, FP instructions trap */
#define SSTATUS_SUM (1UL << 18) /* S-mode may access U pages */

/* satp (Sv39): MODE in 63:60, ASID in 59:44, root table PPN in 43:0. */
#define SATP_MODE_SV39 (8UL << 60)
#define SATP_MODE_MASK (15UL << 60)
#define SATP_ASID_SHIFT 44
#define SATP_ASID_MASK 0xffffUL
#define SATP_PPN_MASK ((1UL << 44) - 1)

/* scounteren: let user mode read cycle, time and instret. */
#define SCOUNTEREN_CY (1UL << 0)
#define SCOUNTEREN_TM (1UL << 1)
#define SCOUNTEREN_IR (1UL << 2)

#define SIE_SSIE (1UL << 1) /* software (IPI) */
#define SIE_STIE (1UL << 5) /* timer */
#define SIE_SEIE (1UL << 9) /* external (PLIC) */

#define SCAUSE_IRQ (1UL << 63)
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9

/* Exception codes (scause with the interrupt bit clear). */
#define EXC_INSN_MISALIGNED 0
#define EXC_INSN_ACCESS 1
#define EXC_ILLEGAL 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_ECALL_U 8
#define EXC_ECALL_S 9
#define EXC_INSN_PAGE 12
#define EXC_LOAD_PAGE 13
#define EXC_STORE_PAGE 15

#define CSR_READ(name)                                           \
	({                                                       \
		uint64_t v_;                                     \
		__asm__ volatile("csrr %0, " #name : "=r"(v_));  \
		v_;                                              \
	})
#define CSR_WRITE(name, v) __asm__ volatile("csrw " #name ", %0" ::"r"((uint64_t)(v)) : "memory")
#define CSR_SET(name, v) __asm__ volatile("csrs " #name ", %0" ::"r"((uint64_t)(v)) : "memory")
#define CSR_CLEAR(name, v) __asm__ volatile("csrc " #name ", %0" ::"r"((uint64_t)(v)) : "memory")

static inline uint64_t r_sstatus(void) { return CSR_READ(sstatus); }
static inline void w_sstatus(uint64_t v) { CSR_WRITE(sstatus, v); }
static inline uint64_t r_sie(void) { return CSR_READ(sie); }
static inline void w_stvec(uint64_t v) { CSR_WRITE(stvec, v); }
static inline uint64_t r_scause(void) { return CSR_READ(scause); }
static inline uint64_t r_stval(void) { return CSR_READ(stval); }
static inline uint64_t r_time(void) { return CSR_READ(time); }
static inline uint64_t r_instret(void) { return CSR_READ(instret); }
static inline uint64_t r_satp(void) { return CSR_READ(satp); }
static inline void w_satp(uint64_t v) { CSR_WRITE(satp, v); }
static inline uint64_t r_sscratch(void) { return CSR_READ(sscratch); }
static inline void w_sscratch(uint64_t v) { CSR_WRITE(sscratch, v); }
static inline uint64_t r_sepc(void) { return CSR_READ(sepc); }
static inline void w_scounteren(uint64_t v) { CSR_WRITE(scounteren, v); }

/* Inline arch_irq_save / arch_irq_restore for arch-internal fast paths. */
static inline uint64_t rv_irq_save(void)
{
	uint64_t old;
	__asm__ volatile("csrrci %0, sstatus, 2" : "=r"(old) : : "memory");
	return old & SSTATUS_SIE;
}

static inline void rv_irq_restore(uint64_t flags)
{
	if (flags)
		__asm__ volatile("csrsi sstatus, 2" ::: "memory");
}

/* TLB maintenance.  sfence.vma also orders this hart's earlier page-table
 * stores before its later implicit table walks. */
static inline void rv_sfence_all(void)
{
	__asm__ volatile("sfence.vma zero, zero" ::: "memory");
}

/* Make this hart's instruction fetches see its earlier stores. */
static inline void rv_fence_i(void)
{
	__asm__ volatile("fence.i" ::: "memory");
}

static inline void rv_sfence_va_asid(uint64_t va, uint64_t asid)
{
	__asm__ volatile("sfence.vma %0, %1" ::"r"(va), "r"(asid) : "memory");
}

#endif /* ARCH_RISCV64_CSR_H */
