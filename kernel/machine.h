/* What the machine looks like, as read from the flattened device tree. */
#ifndef KERNEL_MACHINE_H
#define KERNEL_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MACHINE_MAX_HARTS 8
#define MACHINE_MAX_VIRTIO 32

/* Interrupt-controller families the kernel knows. */
enum irqc_kind {
	IRQC_NONE = 0,
	IRQC_PLIC,   /* "riscv,plic0" / "sifive,plic-1.0.0" */
	IRQC_GICV2,  /* "arm,cortex-a15-gic" / "arm,gic-400" */
	IRQC_GICV3,  /* "arm,gic-v3" */
};

enum uart_kind {
	UART_NONE = 0,
	UART_NS16550A, /* "ns16550a" */
	UART_PL011,    /* "arm,pl011" */
};

enum psci_conduit {
	PSCI_NONE = 0,
	PSCI_HVC,
	PSCI_SMC,
};

struct mmio_dev {
	uint64_t base;
	uint64_t size;
	unsigned irq; /* controller's number: PLIC source or GIC INTID; 0 = none */
};

struct machine {
	uint64_t mem_base;         /* first /memory bank */
	uint64_t mem_size;

	enum uart_kind uart_kind;
	struct mmio_dev uart;
	uint32_t uart_clock;       /* Hz, 0 if absent */

	enum irqc_kind irqc_kind;
	struct mmio_dev irqc;      /* PLIC, or GIC distributor */
	struct mmio_dev irqc2;     /* GICv3 redistributors / GICv2 CPU interface */

	uint64_t timer_freq;       /* Hz: /cpus timebase-frequency or timer node */
	unsigned timer_irq;        /* aarch64: INTID of the EL1 timer used; 0 on riscv */
	bool timer_sstc;           /* riscv: every hart has Sstc (its own stimecmp) */

	unsigned nharts;
	uint64_t hart_hwid[MACHINE_MAX_HARTS]; /* riscv hartid / arm MPIDR affinity */

	unsigned nvirtio;
	struct mmio_dev virtio[MACHINE_MAX_VIRTIO];

	enum psci_conduit psci;
	uint64_t test_dev;         /* riscv "sifive,test0" finisher base; 0 = none */

	char bootargs[128];        /* /chosen/bootargs, "" if absent */
};

/* Errors from fdt_parse(); all negative. */
enum fdt_err {
	FDT_OK = 0,
	FDT_ERR_TRUNCATED = -1,  /* blob shorter than its header says */
	FDT_ERR_MAGIC = -2,      /* not a device tree */
	FDT_ERR_VERSION = -3,    /* version we cannot read */
	FDT_ERR_BOUNDS = -4,     /* a block or offset points outside the blob */
	FDT_ERR_STRUCT = -5,     /* malformed structure block */
	FDT_ERR_MISSING = -6,    /* a node the kernel cannot boot without */
};

/*
 * Parse the blob at `blob`.  `max_len` bounds every read: the parser never
 * looks past blob + max_len, whatever the header claims (pass the known
 * buffer size; at boot, where nothing better is known, a generous cap).
 * On success fills *mach and returns FDT_OK; otherwise returns an fdt_err
 * and *mach is unspecified.
 */
int fdt_parse(const void *blob, uint64_t max_len, struct machine *mach);

/* The blob's totalsize from its header (0 if blob is NULL or not a device
 * tree), so the memory it occupies can be kept out of the page allocator. */
uint64_t fdt_blob_size(const void *blob);

/* Short text for an fdt_err value. */
const char *fdt_strerror(int err);

/* Copy the value of "key=value" on the kernel command line (bootargs)
 * into out, NUL-terminated and truncated to n - 1 bytes.  The key must
 * start a word.  Returns false, leaving out untouched, if it is absent. */
bool bootarg(const char *key, char *out, size_t n);

/* The machine the kernel booted on (filled once by kmain). */
extern struct machine machine;

#endif /* KERNEL_MACHINE_H */
