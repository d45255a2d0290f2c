/* SBI calls into OpenSBI: base, TIME, IPI, HSM, RFENCE and SRST extensions. */
#ifndef ARCH_RISCV64_SBI_H
#define ARCH_RISCV64_SBI_H

#include <stdint.h>

/* Extension IDs (the SBI spec's ASCII mnemonics). */
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45 /* "TIME" */
#define SBI_EXT_IPI 0x735049    /* "sPI" */
#define SBI_EXT_HSM 0x48534D    /* "HSM" */
#define SBI_EXT_SRST 0x53525354 /* "SRST" */
#define SBI_EXT_RFENCE 0x52464E43 /* "RFNC" */

#define SBI_SUCCESS 0
#define SBI_ERR_NOT_SUPPORTED (-2)
#define SBI_ERR_INVALID_PARAM (-3)

struct sbiret {
	long error;
	long value;
};

struct sbiret sbi_call(uint64_t ext, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2);
struct sbiret sbi_call4(uint64_t ext, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2,
			uint64_t a3);

/* base */
long sbi_spec_version(void);
long sbi_probe(uint64_t ext); /* nonzero if the extension is present */
/* TIME: one-shot; UINT64_MAX cancels and clears the pending interrupt. */
void sbi_set_timer(uint64_t stime);
/* IPI: supervisor software interrupt on the harts in mask (<< base). */
long sbi_send_ipi(uint64_t hart_mask, uint64_t hart_mask_base);
/* HSM */
long sbi_hart_start(uint64_t hartid, uint64_t start_addr, uint64_t opaque);
long sbi_hart_status(uint64_t hartid);
/* RFENCE: sfence.vma of [start, start + size) on the harts in mask
 * (all address spaces); returns once they are done. */
long sbi_remote_sfence_vma(uint64_t hart_mask, uint64_t hart_mask_base,
			   uint64_t start, uint64_t size);
/* SRST: type 0 shutdown, 1 cold reboot; reason 0 none, 1 system failure. */
long sbi_system_reset(uint32_t type, uint32_t reason);

#endif /* ARCH_RISCV64_SBI_H */
