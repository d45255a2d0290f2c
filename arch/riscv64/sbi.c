/* SBI calls into OpenSBI: the one place the kernel executes ecall. */
#include "arch/riscv64/machine.h"
#include "arch/riscv64/sbi.h"

struct sbiret sbi_call(uint64_t ext, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2)
{
	register uint64_t r0 __asm__("a0") = a0;
	register uint64_t r1 __asm__("a1") = a1;
	register uint64_t r2 __asm__("a2") = a2;
	register uint64_t r6 __asm__("a6") = fid;
	register uint64_t r7 __asm__("a7") = ext;
	__asm__ volatile("ecall"
			 : "+r"(r0), "+r"(r1)
			 : "r"(r2), "r"(r6), "r"(r7)
			 : "memory");
	struct sbiret ret = { (long)r0, (long)r1 };
	return ret;
}

struct sbiret sbi_call4(uint64_t ext, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2,
			uint64_t a3)
{
	register uint64_t r0 __asm__("a0") = a0;
	register uint64_t r1 __asm__("a1") = a1;
	register uint64_t r2 __asm__("a2") = a2;
	register uint64_t r3 __asm__("a3") = a3;
	register uint64_t r6 __asm__("a6") = fid;
	register uint64_t r7 __asm__("a7") = ext;
	__asm__ volatile("ecall"
			 : "+r"(r0), "+r"(r1)
			 : "r"(r2), "r"(r3), "r"(r6), "r"(r7)
			 : "memory");
	struct sbiret ret = { (long)r0, (long)r1 };
	return ret;
}

long sbi_spec_version(void)
{
	return sbi_call(SBI_EXT_BASE, 0, 0, 0, 0).value;
}

long sbi_probe(uint64_t ext)
{
	return sbi_call(SBI_EXT_BASE, 3, ext, 0, 0).value;
}

/* With Sstc the hart has its own stimecmp, which OpenSBI lets S-mode
 * write (menvcfg.STCE): the same effect as the TIME call, in one CSR
 * write instead of a trip through M-mode (some 280 instructions). */
void sbi_set_timer(uint64_t stime)
{
	if (rv_machine.timer_sstc) {
		__asm__ volatile("csrw 0x14d, %0" ::"r"(stime) : "memory"); /* stimecmp */
		return;
	}
	sbi_call(SBI_EXT_TIME, 0, stime, 0, 0);
}

long sbi_send_ipi(uint64_t hart_mask, uint64_t hart_mask_base)
{
	return sbi_call(SBI_EXT_IPI, 0, hart_mask, hart_mask_base, 0).error;
}

long sbi_hart_start(uint64_t hartid, uint64_t start_addr, uint64_t opaque)
{
	return sbi_call(SBI_EXT_HSM, 0, hartid, start_addr, opaque).error;
}

long sbi_hart_status(uint64_t hartid)
{
	struct sbiret r = sbi_call(SBI_EXT_HSM, 2, hartid, 0, 0);
	return r.error ? r.error : r.value;
}

/* RFENCE function 1: remote_sfence_vma(mask, base, start, size). */
long sbi_remote_sfence_vma(uint64_t hart_mask, uint64_t hart_mask_base,
			   uint64_t start, uint64_t size)
{
	return sbi_call4(SBI_EXT_RFENCE, 1, hart_mask, hart_mask_base, start, size).error;
}

long sbi_system_reset(uint32_t type, uint32_t reason)
{
	return sbi_call(SBI_EXT_SRST, 0, type, reason, 0).error;
}
