/* riscv64 CSR accessors and bit names: one static inline per register. */
#ifndef ARCH_RISCV64_CSR_H
#define ARCH_RISCV64_CSR_H

#include <stdint.h>

#define SSTATUS_SIE (1UL << 1)
#define SSTATUS_SPIE (1UL << 5)
#define SSTATUS_SPP (1UL << 8)

#define SIE_SSIE (1UL << 1) /* software (IPI) */
#define SIE_STIE (1UL << 5) /* timer */
#define SIE_SEIE (1UL << 9) /* external (PLIC) */

#define SCAUSE_IRQ (1UL << 63)
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9

#define EXC_BREAKPOINT 3

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

#endif /* ARCH_RISCV64_CSR_H */
