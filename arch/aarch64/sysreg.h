/* AArch64 system-register accessors and the bit fields Pollux uses (arch-private). */
#ifndef ARCH_AARCH64_SYSREG_H
#define ARCH_AARCH64_SYSREG_H

/* Constants below are shared with assembly, which has no UL suffix. */
#ifdef __ASSEMBLY__
#define A64_UL(x) x
#else
#define A64_UL(x) x##UL
#endif

#ifndef __ASSEMBLY__
#include <stdint.h>

/*
 * One static inline reader and writer per register, spelled r_<reg>() and
 * w_<reg>(v) after xv6's riscv.h.  The macros only stamp out the mrs/msr
 * pair; every register Pollux touches is listed below by name so a reader
 * can grep for it.  None of these implies an isb: callers that need the
 * write to take effect before the next instruction add a64_isb().
 */
#define A64_SYSREG_RO(name)                                             \
	static inline uint64_t r_##name(void)                           \
	{                                                               \
		uint64_t v;                                             \
		__asm__ volatile("mrs %0, " #name : "=r"(v));           \
		return v;                                               \
	}
#define A64_SYSREG_WO(name)                                             \
	static inline void w_##name(uint64_t v)                         \
	{                                                               \
		__asm__ volatile("msr " #name ", %0" : : "r"(v) : "memory"); \
	}
#define A64_SYSREG_RW(name) A64_SYSREG_RO(name) A64_SYSREG_WO(name)

/* Identification and control */
A64_SYSREG_RO(currentel)
A64_SYSREG_RO(mpidr_el1)
A64_SYSREG_RO(id_aa64mmfr0_el1)
A64_SYSREG_RO(ctr_el0)
A64_SYSREG_RW(sctlr_el1)
A64_SYSREG_RW(cpacr_el1)
A64_SYSREG_RW(vbar_el1)
A64_SYSREG_RW(tpidr_el1)

/* Exception state */
A64_SYSREG_RO(esr_el1)
A64_SYSREG_RO(far_el1)
A64_SYSREG_RW(elr_el1)
A64_SYSREG_RW(spsr_el1)
A64_SYSREG_RW(daif)

/* MMU */
A64_SYSREG_RW(mair_el1)
A64_SYSREG_RW(tcr_el1)
A64_SYSREG_RW(ttbr0_el1)
A64_SYSREG_RW(ttbr1_el1)

/* Generic timer (EL1 physical timer, accessed through its EL0 names) */
A64_SYSREG_RO(cntfrq_el0)
A64_SYSREG_RO(cntpct_el0)
A64_SYSREG_RW(cntp_ctl_el0)
A64_SYSREG_RW(cntp_cval_el0)
A64_SYSREG_RW(cntkctl_el1)

/* PMU */
A64_SYSREG_RW(pmcr_el0)
A64_SYSREG_RO(pmceid0_el0)
A64_SYSREG_WO(pmcntenset_el0)
A64_SYSREG_RW(pmovsclr_el0)
A64_SYSREG_RW(pmccntr_el0)
A64_SYSREG_RW(pmccfiltr_el0)
A64_SYSREG_WO(pmselr_el0)
A64_SYSREG_RW(pmxevtyper_el0)
A64_SYSREG_RW(pmxevcntr_el0)
A64_SYSREG_RO(pmevcntr0_el0)
A64_SYSREG_RW(pmuserenr_el0)

/* GICv3 CPU interface */
A64_SYSREG_RW(icc_sre_el1)
A64_SYSREG_RW(icc_pmr_el1)
A64_SYSREG_RW(icc_bpr1_el1)
A64_SYSREG_RW(icc_ctlr_el1)
A64_SYSREG_RW(icc_igrpen1_el1)
A64_SYSREG_RO(icc_iar1_el1)
A64_SYSREG_WO(icc_eoir1_el1)
A64_SYSREG_WO(icc_sgi1r_el1)

static inline void a64_isb(void)
{
	__asm__ volatile("isb" : : : "memory");
}

static inline void a64_dsb_sy(void)
{
	__asm__ volatile("dsb sy" : : : "memory");
}
#endif /* !__ASSEMBLY__ */

/* DAIF: the I bit masks IRQs; daifset/daifclr take the D,A,I,F nibble. */
#define DAIF_I (A64_UL(1) << 7)

/* CurrentEL: the exception level sits in bits [3:2]. */
#define CURRENTEL_EL(v) (((v) >> 2) & 3)

/* CPACR_EL1.FPEN = 0b11: no FP/SIMD traps at EL1 or EL0.  0b01: EL0's
 * FP/SIMD accesses trap (EC 0x07), EL1's do not (a user without an FP
 * area: uentry.S). */
#define CPACR_FPEN_ALL (A64_UL(3) << 20)
#define CPACR_FPEN_EL1 (A64_UL(1) << 20)

/* MPIDR_EL1 affinity fields: Aff0-2 in [23:0], Aff3 in [39:32]. */
#define MPIDR_AFF_MASK A64_UL(0xff00ffffff)
#define MPIDR_AFF0(m)  ((m) & 0xff)
#define MPIDR_AFF1(m)  (((m) >> 8) & 0xff)
#define MPIDR_AFF2(m)  (((m) >> 16) & 0xff)
#define MPIDR_AFF3(m)  (((m) >> 32) & 0xff)

/* CNTKCTL_EL1 */
#define CNTKCTL_EL0PCTEN (A64_UL(1) << 0) /* EL0 reads CNTPCT_EL0, CNTFRQ_EL0 */
#define CNTKCTL_EL0VCTEN (A64_UL(1) << 1) /* EL0 reads CNTVCT_EL0, CNTFRQ_EL0 */

/* SCTLR_EL1 */
#define SCTLR_M        (A64_UL(1) << 0)   /* MMU on */
#define SCTLR_A        (A64_UL(1) << 1)   /* alignment checking (we leave it off) */
#define SCTLR_C        (A64_UL(1) << 2)   /* data cacheable */
#define SCTLR_SA       (A64_UL(1) << 3)   /* EL1 SP alignment check */
#define SCTLR_SA0      (A64_UL(1) << 4)   /* EL0 SP alignment check */
#define SCTLR_I        (A64_UL(1) << 12)  /* instruction cacheable */
#define SCTLR_DZE      (A64_UL(1) << 14)  /* EL0 may use DC ZVA */
#define SCTLR_UCT      (A64_UL(1) << 15)  /* EL0 may read CTR_EL0 */
#define SCTLR_RES1     ((A64_UL(1) << 11) | (A64_UL(1) << 20) | (A64_UL(1) << 22) | \
			(A64_UL(1) << 23) | (A64_UL(1) << 28) | (A64_UL(1) << 29))

/* CTR_EL0: DminLine in [19:16], log2 of the smallest D-cache line in words. */
#define CTR_DMINLINE(c) (((c) >> 16) & 0xf)

/* CNTP_CTL_EL0 */
#define CNT_CTL_ENABLE  (A64_UL(1) << 0)
#define CNT_CTL_IMASK   (A64_UL(1) << 1)
#define CNT_CTL_ISTATUS (A64_UL(1) << 2)

/* PMU */
#define PMCR_E          (A64_UL(1) << 0)   /* enable all counters */
#define PMCR_P          (A64_UL(1) << 1)   /* reset event counters */
#define PMCR_C          (A64_UL(1) << 2)   /* reset cycle counter */
#define PMCR_LC         (A64_UL(1) << 6)   /* 64-bit cycle-counter overflow */
#define PMCNTEN_C       (A64_UL(1) << 31)  /* cycle counter enable */
#define PMU_EV_INST_RETIRED 0x08
/* PMUSERENR_EL0: EL0 may read the cycle counter (CR) and the event
 * counters (ER); EN (full access, writes included) stays off. */
#define PMUSERENR_CR (1u << 2)
#define PMUSERENR_ER (1u << 3)

/* ESR_EL1: exception class in [31:26], IL in 25, ISS in [24:0]. */
#define ESR_EC(esr)     (((esr) >> 26) & 0x3f)
#define ESR_ISS(esr)    ((esr) & 0x1ffffff)
#define ESR_FSC(esr)    ((esr) & 0x3f)     /* DFSC / IFSC of an abort */
#define ESR_WNR         (A64_UL(1) << 6)         /* data abort: write not read */

#define EC_UNKNOWN      0x00
#define EC_WFX          0x01
#define EC_FP_ACCESS    0x07
#define EC_ILLEGAL      0x0e
#define EC_SVC64        0x15
#define EC_HVC64        0x16
#define EC_SMC64        0x17
#define EC_SYSREG       0x18
#define EC_IABT_LOWER   0x20
#define EC_IABT_CUR     0x21
#define EC_PC_ALIGN     0x22
#define EC_DABT_LOWER   0x24
#define EC_DABT_CUR     0x25
#define EC_SP_ALIGN     0x26
#define EC_FP_EXC64     0x2c
#define EC_SERROR       0x2f
#define EC_BRK_LOWER    0x30    /* breakpoint (debug hardware), lower EL */
#define EC_BRK_CUR      0x31
#define EC_SSTEP_LOWER  0x32
#define EC_SSTEP_CUR    0x33
#define EC_WATCH_LOWER  0x34
#define EC_WATCH_CUR    0x35
#define EC_BRK64        0x3c    /* BRK instruction */

#endif /* ARCH_AARCH64_SYSREG_H */
