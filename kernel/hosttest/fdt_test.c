/* Host tests of the device-tree parser: QEMU's real trees, malformed blobs, a fuzz loop. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/hosttest/check.h"
#include "kernel/machine.h"

/*
 * Usage: fdt_test RISCV64.dtb AARCH64.dtb [RISCV64-SMP4.dtb AARCH64-SMP4.dtb]
 * The first two are QEMU virt's trees with the project's options
 * (scripts/dumpdtb.sh).  Without the last two the test dumps them itself,
 * with SMP=4 and bootargs, next to the first file.
 *
 * Every blob is parsed from a malloc'd buffer of exactly its size, so
 * AddressSanitizer reports any read past its end.
 */

struct blob {
	uint8_t *b;
	size_t len;
};

static struct blob rv, a64, rv4, a644;

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static struct blob copy(const struct blob *src)
{
	struct blob c = {malloc(src->len ? src->len : 1), src->len};
	if (c.b == NULL) {
		perror("malloc");
		exit(2);
	}
	memcpy(c.b, src->b, src->len);
	return c;
}

static int parse(const struct blob *x, struct machine *p)
{
	return fdt_parse(x->b, x->len, p);
}

static int load(const char *path, struct blob *x)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	x->len = n > 0 ? (size_t)n : 0;
	x->b = malloc(x->len ? x->len : 1);
	size_t got = x->b ? fread(x->b, 1, x->len, f) : 0;
	fclose(f);
	return x->b && got == x->len && x->len > 0 ? 0 : -1;
}

/* Offsets of header fields. */
enum { H_TOTAL = 4, H_OFF_ST = 8, H_OFF_STR = 12, H_OFF_RSV = 16, H_VERSION = 20,
       H_LAST_COMP = 24, H_SIZE_STR = 32, H_SIZE_ST = 36 };

/* Blob offset of the n-th structure token with this tag (n counts from 0); trusts the blob. */
static size_t find_tok(const struct blob *x, uint32_t tag, int n)
{
	size_t o = get32(x->b + H_OFF_ST);
	for (;;) {
		uint32_t t = get32(x->b + o);
		if (t == tag && n-- == 0)
			return o;
		if (t == 9)
			return 0;
		if (t == 1)
			o += 4 + ((strlen((const char *)x->b + o + 4) + 1 + 3) & ~(size_t)3);
		else if (t == 3)
			o += 12 + ((get32(x->b + o + 4) + 3) & ~3u);
		else
			o += 4;
	}
}

/* ------------------------------------------------- QEMU's own trees */

static void test_riscv64_values(void)
{
	struct machine p;
	CHECK_EQ(parse(&rv, &p), FDT_OK);
	CHECK_EQ(p.mem_base, 0x80000000);
	CHECK_EQ(p.mem_size, 128u << 20);
	CHECK_EQ(p.uart_kind, UART_NS16550A);
	CHECK_EQ(p.uart.base, 0x10000000);
	CHECK_EQ(p.uart.size, 0x100);
	CHECK_EQ(p.uart.irq, 10);
	CHECK_EQ(p.uart_clock, 3686400);
	CHECK_EQ(p.irqc_kind, IRQC_PLIC);
	CHECK_EQ(p.irqc.base, 0xc000000);
	CHECK_EQ(p.irqc.size, 0x600000);
	CHECK_EQ(p.irqc2.base, 0);
	CHECK_EQ(p.timer_freq, 10000000);
	CHECK_EQ(p.timer_irq, 0);
	CHECK(p.timer_sstc);                 /* riscv,isa ends in "_sstc" */
	CHECK_EQ(p.nharts, 1);
	CHECK_EQ(p.hart_hwid[0], 0);
	CHECK_EQ(p.nvirtio, 8);
	for (unsigned i = 0; i < p.nvirtio && i < 8; i++) {
		CHECK_EQ(p.virtio[i].base, 0x10001000 + 0x1000 * i);
		CHECK_EQ(p.virtio[i].size, 0x1000);
		CHECK_EQ(p.virtio[i].irq, 1 + i);
	}
	CHECK_EQ(p.psci, PSCI_NONE);
	CHECK_EQ(p.test_dev, 0x100000);
	CHECK(strcmp(p.bootargs, "") == 0);
}

static void test_aarch64_values(void)
{
	struct machine p;
	CHECK_EQ(parse(&a64, &p), FDT_OK);
	CHECK_EQ(p.mem_base, 0x40000000);
	CHECK_EQ(p.mem_size, 128u << 20);
	CHECK_EQ(p.uart_kind, UART_PL011);
	CHECK_EQ(p.uart.base, 0x9000000);
	CHECK_EQ(p.uart.size, 0x1000);
	CHECK_EQ(p.uart.irq, 33);            /* SPI 1 */
	CHECK_EQ(p.uart_clock, 24000000);    /* apb-pclk, through "clocks" */
	CHECK_EQ(p.irqc_kind, IRQC_GICV3);
	CHECK_EQ(p.irqc.base, 0x8000000);
	CHECK_EQ(p.irqc.size, 0x10000);
	CHECK_EQ(p.irqc2.base, 0x80a0000);
	CHECK_EQ(p.irqc2.size, 0xf60000);
	CHECK_EQ(p.timer_freq, 0);           /* QEMU leaves it to CNTFRQ_EL0 */
	CHECK_EQ(p.timer_irq, 30);           /* non-secure physical: PPI 14 */
	CHECK(!p.timer_sstc);
	CHECK_EQ(p.nharts, 1);
	CHECK_EQ(p.hart_hwid[0], 0);
	CHECK_EQ(p.nvirtio, 32);
	for (unsigned i = 0; i < p.nvirtio && i < 32; i++) {
		CHECK_EQ(p.virtio[i].base, 0xa000000 + 0x200 * i);
		CHECK_EQ(p.virtio[i].size, 0x200);
		CHECK_EQ(p.virtio[i].irq, 48 + i);   /* SPI 16 + i */
	}
	CHECK_EQ(p.psci, PSCI_HVC);
	CHECK_EQ(p.test_dev, 0);
	CHECK(strcmp(p.bootargs, "") == 0);
}

#define SMP4_BOOTARGS "console=ttyS0 pollux.test=1"

static void test_smp4(const struct blob *x, unsigned uart_irq, enum irqc_kind irqc)
{
	struct machine p;
	CHECK_EQ(parse(x, &p), FDT_OK);
	CHECK_EQ(p.nharts, 4);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(p.hart_hwid[i], i);
	CHECK_EQ(p.timer_sstc, irqc == IRQC_PLIC); /* every riscv hart has Sstc */
	CHECK_EQ(p.uart.irq, uart_irq);
	CHECK_EQ(p.irqc_kind, irqc);
	CHECK(strcmp(p.bootargs, SMP4_BOOTARGS) == 0);
}

static void test_riscv64_smp4(void)
{
	test_smp4(&rv4, 10, IRQC_PLIC);
}

/* Its phandles differ from the 1-CPU tree: a check that they are followed, not assumed. */
static void test_aarch64_smp4(void)
{
	test_smp4(&a644, 33, IRQC_GICV3);
	struct machine p;
	parse(&a644, &p);
	CHECK_EQ(p.timer_irq, 30);
	CHECK_EQ(p.virtio[31].irq, 79);
}

static void check_same_dev(const struct mmio_dev *a, const struct mmio_dev *b)
{
	CHECK_EQ(a->base, b->base);
	CHECK_EQ(a->size, b->size);
	CHECK_EQ(a->irq, b->irq);
}

/* Field by field: struct copies inside the parser may leave padding undefined. */
static void check_same_machine(const struct machine *a, const struct machine *b)
{
	CHECK_EQ(a->mem_base, b->mem_base);
	CHECK_EQ(a->mem_size, b->mem_size);
	CHECK_EQ(a->uart_kind, b->uart_kind);
	check_same_dev(&a->uart, &b->uart);
	CHECK_EQ(a->uart_clock, b->uart_clock);
	CHECK_EQ(a->irqc_kind, b->irqc_kind);
	check_same_dev(&a->irqc, &b->irqc);
	check_same_dev(&a->irqc2, &b->irqc2);
	CHECK_EQ(a->timer_freq, b->timer_freq);
	CHECK_EQ(a->timer_irq, b->timer_irq);
	CHECK_EQ(a->nharts, b->nharts);
	for (unsigned i = 0; i < a->nharts && i < MACHINE_MAX_HARTS; i++)
		CHECK_EQ(a->hart_hwid[i], b->hart_hwid[i]);
	CHECK_EQ(a->nvirtio, b->nvirtio);
	for (unsigned i = 0; i < a->nvirtio && i < MACHINE_MAX_VIRTIO; i++)
		check_same_dev(&a->virtio[i], &b->virtio[i]);
	CHECK_EQ(a->psci, b->psci);
	CHECK_EQ(a->test_dev, b->test_dev);
	CHECK(strcmp(a->bootargs, b->bootargs) == 0);
}

/* The same blob at an odd address parses to the same machine (byte loads only). */
static void test_unaligned(void)
{
	const struct blob *xs[] = {&rv, &a64};
	for (int i = 0; i < 2; i++) {
		struct machine p1, p2;
		uint8_t *buf = malloc(xs[i]->len + 1);
		memcpy(buf + 1, xs[i]->b, xs[i]->len);
		CHECK_EQ(parse(xs[i], &p1), FDT_OK);
		CHECK_EQ(fdt_parse(buf + 1, xs[i]->len, &p2), FDT_OK);
		check_same_machine(&p1, &p2);
		free(buf);
	}
}

/* At boot the kernel passes a 1 MiB cap: totalsize must bound the reads (ASan watches). */
static void test_boot_cap(void)
{
	struct machine p;
	CHECK_EQ(fdt_parse(rv.b, 1 << 20, &p), FDT_OK);
	CHECK_EQ(p.uart.base, 0x10000000);
	CHECK_EQ(fdt_parse(a64.b, 1 << 20, &p), FDT_OK);
	CHECK_EQ(p.uart.base, 0x9000000);
}

/* ------------------------------------------------------ malformed blobs */

/* Every prefix of the blob, in a buffer of exactly that size. */
static void truncate_all(const struct blob *x)
{
	for (size_t len = 0; len < x->len; len += len < 256 ? 1 : 1 + len % 13) {
		struct blob t = {malloc(len ? len : 1), len};
		memcpy(t.b, x->b, len);
		struct machine p;
		CHECK_EQ(parse(&t, &p), FDT_ERR_TRUNCATED);
		// Also lie in the header, as if the blob were complete.
		if (len >= 40) {
			put32(t.b + H_TOTAL, (uint32_t)len);
			CHECK(parse(&t, &p) < 0);
		}
		free(t.b);
	}
}

static void test_truncated(void)
{
	struct machine p;
	CHECK_EQ(fdt_parse(NULL, 0, &p), FDT_ERR_TRUNCATED);
	truncate_all(&rv);
	truncate_all(&a64);
}

/* Copy x, set the header word at off to v, parse: the error code. */
static int with_word(const struct blob *x, size_t off, uint32_t v)
{
	struct blob c = copy(x);
	struct machine p;
	put32(c.b + off, v);
	int err = parse(&c, &p);
	free(c.b);
	return err;
}

static void test_header(void)
{
	const struct blob *xs[] = {&rv, &a64};
	for (int i = 0; i < 2; i++) {
		const struct blob *x = xs[i];
		uint32_t total = get32(x->b + H_TOTAL);
		uint32_t off_st = get32(x->b + H_OFF_ST), off_str = get32(x->b + H_OFF_STR);
		uint32_t size_st = get32(x->b + H_SIZE_ST), size_str = get32(x->b + H_SIZE_STR);

		CHECK_EQ(with_word(x, 0, 0xfeedd00d), FDT_ERR_MAGIC);
		CHECK_EQ(with_word(x, 0, 0), FDT_ERR_MAGIC);
		CHECK_EQ(with_word(x, H_VERSION, 15), FDT_ERR_VERSION);
		CHECK_EQ(with_word(x, H_LAST_COMP, 18), FDT_ERR_VERSION);
		CHECK_EQ(with_word(x, H_TOTAL, total + 1), FDT_ERR_TRUNCATED);
		CHECK_EQ(with_word(x, H_TOTAL, 0xffffffff), FDT_ERR_TRUNCATED);
		CHECK_EQ(with_word(x, H_TOTAL, 39), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_TOTAL, 0), FDT_ERR_BOUNDS);

		CHECK_EQ(with_word(x, H_OFF_ST, 0xffffffff), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_ST, 0xfffffffc), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_ST, 0), FDT_ERR_BOUNDS);       /* on the header */
		CHECK_EQ(with_word(x, H_OFF_ST, 36), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_ST, off_st + 2), FDT_ERR_BOUNDS); /* misaligned */
		CHECK_EQ(with_word(x, H_OFF_ST, total - size_st + 4), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_SIZE_ST, 0xffffffff), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_SIZE_ST, total), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_STR, 0xffffffff), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_STR, total), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_STR, 8), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_STR, off_st), FDT_ERR_BOUNDS);  /* overlaps struct */
		CHECK_EQ(with_word(x, H_SIZE_STR, 0xffffffff), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_SIZE_STR, total - off_str + 1), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_RSV, 0xfffffff8), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_RSV, total - 8), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_RSV, 0), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, H_OFF_RSV, 44), FDT_ERR_BOUNDS);      /* misaligned */
		// The struct block without its END token.
		CHECK_EQ(with_word(x, H_SIZE_ST, size_st - 4), FDT_ERR_STRUCT);
		// The strings block cut so that the last name has no NUL.
		CHECK_EQ(with_word(x, H_SIZE_STR, size_str - 1), FDT_ERR_BOUNDS);
		// Version 16 (no size_dt_struct) still reads.
		CHECK_EQ(with_word(x, H_VERSION, 16), FDT_OK);
	}
}

static void test_struct(void)
{
	const struct blob *xs[] = {&rv, &a64};
	for (int i = 0; i < 2; i++) {
		const struct blob *x = xs[i];
		size_t prop = find_tok(x, 3, 0), node = find_tok(x, 1, 1);
		size_t end = find_tok(x, 9, 0), last_end_node = end - 4;
		size_t st_end = get32(x->b + H_OFF_ST) + get32(x->b + H_SIZE_ST);
		uint32_t size_str = get32(x->b + H_SIZE_STR);
		CHECK(prop != 0 && node != 0 && end != 0);
		CHECK_EQ(get32(x->b + last_end_node), 2);

		// Property lengths running past the block.
		CHECK_EQ(with_word(x, prop + 4, 0xffffffff), FDT_ERR_STRUCT);
		CHECK_EQ(with_word(x, prop + 4, 0xfffffffd), FDT_ERR_STRUCT);
		// ... or wrapping round to this same token: a loop, if unchecked.
		CHECK_EQ(with_word(x, prop + 4, 0xfffffff4), FDT_ERR_STRUCT);
		CHECK_EQ(with_word(x, prop + 4, (uint32_t)(st_end - prop)), FDT_ERR_STRUCT);
		// Name offsets outside the strings block.
		CHECK_EQ(with_word(x, prop + 8, size_str), FDT_ERR_BOUNDS);
		CHECK_EQ(with_word(x, prop + 8, 0xffffffff), FDT_ERR_BOUNDS);
		// Unbalanced nodes: the root never closed, or closed twice.
		CHECK_EQ(with_word(x, last_end_node, 4), FDT_ERR_STRUCT);
		CHECK_EQ(with_word(x, end, 2), FDT_ERR_STRUCT);
		CHECK_EQ(with_word(x, find_tok(x, 1, 0), 2), FDT_ERR_STRUCT);
		// A property after the END token's place, outside any node.
		CHECK_EQ(with_word(x, end, 3), FDT_ERR_STRUCT);
		// Unknown tokens.
		for (uint32_t t = 5; t <= 8; t++)
			CHECK_EQ(with_word(x, last_end_node, t), FDT_ERR_STRUCT);
		CHECK_EQ(with_word(x, last_end_node, 0x77777777), FDT_ERR_STRUCT);
		// BEGIN_NODE turned into NOP: its name is read as tokens.
		CHECK(with_word(x, node, 4) < 0);

		// A node name with no NUL before the block's end.
		struct blob c = copy(x);
		struct machine p;
		memset(c.b + node + 4, 'A', st_end - node - 4);
		CHECK_EQ(parse(&c, &p), FDT_ERR_STRUCT);
		free(c.b);
	}
}

/* ---------------------------------------------- a small blob builder */

struct fb {
	uint8_t st[8192];
	size_t st_len;
	char str[4096];
	size_t str_len;
};

static void fb_u32(struct fb *b, uint32_t v)
{
	put32(b->st + b->st_len, v);
	b->st_len += 4;
}

static void fb_bytes(struct fb *b, const void *p, size_t n)
{
	memcpy(b->st + b->st_len, p, n);
	b->st_len += n;
	while (b->st_len % 4)
		b->st[b->st_len++] = 0;
}

static void fb_begin(struct fb *b, const char *name)
{
	fb_u32(b, 1);
	fb_bytes(b, name, strlen(name) + 1);
}

static void fb_end(struct fb *b)
{
	fb_u32(b, 2);
}

static void fb_prop(struct fb *b, const char *name, const void *val, size_t len)
{
	fb_u32(b, 3);
	fb_u32(b, (uint32_t)len);
	fb_u32(b, (uint32_t)b->str_len);
	memcpy(b->str + b->str_len, name, strlen(name) + 1);
	b->str_len += strlen(name) + 1;
	fb_bytes(b, val, len);
}

static void fb_str(struct fb *b, const char *name, const char *s)
{
	fb_prop(b, name, s, strlen(s) + 1);
}

/* A property of n 32-bit cells. */
static void fb_cells(struct fb *b, const char *name, int n, ...)
{
	uint8_t v[64];
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		put32(v + 4 * i, va_arg(ap, uint32_t));
	va_end(ap);
	fb_prop(b, name, v, 4 * (size_t)n);
}

/* Header, empty reservation map, struct (with END), strings: exactly sized. */
static struct blob fb_finish(struct fb *b)
{
	fb_u32(b, 9);
	size_t off_st = 40 + 16, off_str = off_st + b->st_len, total = off_str + b->str_len;
	struct blob x = {calloc(1, total), total};
	put32(x.b, 0xd00dfeed);
	put32(x.b + H_TOTAL, (uint32_t)total);
	put32(x.b + H_OFF_ST, (uint32_t)off_st);
	put32(x.b + H_OFF_STR, (uint32_t)off_str);
	put32(x.b + H_OFF_RSV, 40);
	put32(x.b + H_VERSION, 17);
	put32(x.b + H_LAST_COMP, 16);
	put32(x.b + H_SIZE_STR, (uint32_t)b->str_len);
	put32(x.b + H_SIZE_ST, (uint32_t)b->st_len);
	memcpy(x.b + off_st, b->st, b->st_len);
	memcpy(x.b + off_str, b->str, b->str_len);
	return x;
}

enum { NO_MEM = 1, NO_UART = 2, NO_IRQC = 4 };

/* A tiny riscv-like machine: 32-bit cells, two UARTs, a PLIC. */
static void fb_machine(struct fb *b, int omit)
{
	memset(b, 0, sizeof *b);
	fb_begin(b, "");
	fb_cells(b, "#address-cells", 1, 1);
	fb_cells(b, "#size-cells", 1, 1);
	fb_cells(b, "interrupt-parent", 1, 7);
	if (!(omit & NO_MEM)) {
		fb_begin(b, "memory@1000000");
		fb_str(b, "device_type", "memory");
		fb_cells(b, "reg", 2, 0x1000000, 0x200000);
		fb_end(b);
	}
	if (!(omit & NO_UART)) {
		fb_begin(b, "uart@2000");
		fb_str(b, "compatible", "ns16550a");
		fb_cells(b, "reg", 2, 0x2000, 0x100);
		fb_cells(b, "interrupts", 1, 3);
		fb_end(b);
		fb_begin(b, "uart@3000");
		fb_prop(b, "compatible", "vendor,x\0ns16550a", 18);
		fb_cells(b, "reg", 2, 0x3000, 0x100);
		fb_cells(b, "interrupts", 1, 4);
		fb_cells(b, "clock-frequency", 1, 1843200);
		fb_end(b);
	}
	if (!(omit & NO_IRQC)) {
		fb_begin(b, "plic@c000000");
		fb_str(b, "compatible", "riscv,plic0");
		fb_prop(b, "interrupt-controller", "", 0);
		fb_cells(b, "#interrupt-cells", 1, 1);
		fb_cells(b, "phandle", 1, 7);
		fb_cells(b, "reg", 2, 0xc000000, 0x4000000);
		fb_end(b);
	}
}

/* Build the machine plus `extra` nodes at the root, parse, free. */
static int fb_parse(int omit, void (*extra)(struct fb *), struct machine *p)
{
	static struct fb b;
	fb_machine(&b, omit);
	if (extra)
		extra(&b);
	fb_end(&b);
	struct blob x = fb_finish(&b);
	int err = parse(&x, p);
	free(x.b);
	return err;
}

static void test_built_minimal(void)
{
	struct machine p;
	CHECK_EQ(fb_parse(0, NULL, &p), FDT_OK);
	CHECK_EQ(p.mem_base, 0x1000000);
	CHECK_EQ(p.mem_size, 0x200000);
	CHECK_EQ(p.uart.base, 0x2000);       /* first compatible, no stdout-path */
	CHECK_EQ(p.uart.irq, 3);
	CHECK_EQ(p.uart_clock, 0);
	CHECK_EQ(p.irqc_kind, IRQC_PLIC);
	CHECK_EQ(p.irqc.base, 0xc000000);
	CHECK_EQ(p.nharts, 0);
	CHECK_EQ(p.nvirtio, 0);
}

static void test_built_missing(void)
{
	struct machine p;
	CHECK_EQ(fb_parse(NO_MEM, NULL, &p), FDT_ERR_MISSING);
	CHECK_EQ(fb_parse(NO_UART, NULL, &p), FDT_ERR_MISSING);
	CHECK_EQ(fb_parse(NO_IRQC, NULL, &p), FDT_ERR_MISSING);
	CHECK_EQ(fb_parse(NO_MEM | NO_UART | NO_IRQC, NULL, &p), FDT_ERR_MISSING);
}

static void chosen_path(struct fb *b)
{
	fb_begin(b, "chosen");
	fb_str(b, "stdout-path", "/uart@3000:115200n8");
	fb_str(b, "bootargs", "quiet");
	fb_end(b);
}

static void chosen_alias(struct fb *b)
{
	fb_begin(b, "aliases");
	fb_str(b, "serial0", "/uart@2000");
	fb_str(b, "serial1", "/uart@3000");
	fb_end(b);
	fb_begin(b, "chosen");
	fb_str(b, "stdout-path", "serial1:115200n8");
	fb_end(b);
}

static void chosen_bad(struct fb *b)
{
	fb_begin(b, "chosen");
	fb_str(b, "stdout-path", "/nowhere@1");
	fb_end(b);
}

/* stdout-path names a UART whose reg is unusable: keep the first one. */
static void chosen_broken_uart(struct fb *b)
{
	fb_begin(b, "uart@4000");
	fb_str(b, "compatible", "ns16550a");
	fb_cells(b, "reg", 1, 0x4000);
	fb_end(b);
	fb_begin(b, "chosen");
	fb_str(b, "stdout-path", "/uart@4000");
	fb_end(b);
}

static void chosen_no_unit(struct fb *b)
{
	fb_begin(b, "chosen");
	fb_str(b, "stdout-path", "/uart");   /* ambiguous, but the first of the name wins */
	fb_end(b);
}

static void test_built_stdout(void)
{
	struct machine p;
	CHECK_EQ(fb_parse(0, chosen_path, &p), FDT_OK);
	CHECK_EQ(p.uart.base, 0x3000);
	CHECK_EQ(p.uart.irq, 4);
	CHECK_EQ(p.uart_clock, 1843200);
	CHECK(strcmp(p.bootargs, "quiet") == 0);
	CHECK_EQ(fb_parse(0, chosen_alias, &p), FDT_OK);
	CHECK_EQ(p.uart.base, 0x3000);
	CHECK_EQ(fb_parse(0, chosen_bad, &p), FDT_OK);
	CHECK_EQ(p.uart.base, 0x2000);       /* falls back to the first */
	CHECK_EQ(fb_parse(0, chosen_broken_uart, &p), FDT_OK);
	CHECK_EQ(p.uart.base, 0x2000);
	CHECK_EQ(p.uart.irq, 3);
	CHECK_EQ(fb_parse(0, chosen_no_unit, &p), FDT_OK);
	CHECK_EQ(p.uart.base, 0x2000);
}

static void long_bootargs(struct fb *b)
{
	char s[300];
	memset(s, 'x', sizeof s - 1);
	s[sizeof s - 1] = '\0';
	fb_begin(b, "chosen");
	fb_prop(b, "bootargs", s, 299);      /* no NUL in the value at all */
	fb_end(b);
}

static void test_built_bootargs(void)
{
	struct machine p;
	CHECK_EQ(fb_parse(0, long_bootargs, &p), FDT_OK);
	CHECK_EQ(strlen(p.bootargs), sizeof p.bootargs - 1);
}

static void many_cpus(struct fb *b)
{
	fb_begin(b, "cpus");
	fb_cells(b, "#address-cells", 1, 1);
	fb_cells(b, "#size-cells", 1, 0);
	fb_cells(b, "timebase-frequency", 2, 0, 62500000);   /* 64-bit form */
	for (uint32_t i = 0; i < 12; i++) {
		char name[16];
		snprintf(name, sizeof name, "cpu@%u", i);
		fb_begin(b, name);
		fb_str(b, "device_type", "cpu");
		fb_cells(b, "reg", 1, 100 + i);
		if (i == 1)
			fb_str(b, "status", "disabled");
		fb_end(b);
	}
	fb_begin(b, "cpu-map");
	fb_end(b);
	fb_end(b);
}

static void test_built_cpus(void)
{
	struct machine p;
	CHECK_EQ(fb_parse(0, many_cpus, &p), FDT_OK);
	CHECK_EQ(p.timer_freq, 62500000);
	CHECK_EQ(p.nharts, MACHINE_MAX_HARTS);  /* capped */
	CHECK_EQ(p.hart_hwid[0], 100);
	CHECK_EQ(p.hart_hwid[1], 102);       /* cpu@1 is disabled */
	CHECK_EQ(p.hart_hwid[7], 108);
}

static void virtio_and_more(struct fb *b)
{
	for (uint32_t i = 0; i < 40; i++) {
		char name[32];
		uint32_t base = 0x10000 + 0x1000 * ((i * 7) % 40);   /* shuffled */
		snprintf(name, sizeof name, "virtio_mmio@%x", base);
		fb_begin(b, name);
		fb_str(b, "compatible", "virtio,mmio");
		fb_cells(b, "reg", 2, base, 0x1000);
		fb_cells(b, "interrupts", 1, 20 + (i * 7) % 40);
		if (i == 3)
			fb_cells(b, "interrupt-parent", 1, 99);   /* another controller: no irq */
		fb_end(b);
	}
	fb_begin(b, "test@100000");
	fb_prop(b, "compatible", "sifive,test1\0sifive,test0", 26);
	fb_cells(b, "reg", 2, 0x100000, 0x1000);
	fb_end(b);
	fb_begin(b, "psci");
	fb_str(b, "compatible", "arm,psci-1.0");
	fb_str(b, "method", "smc");
	fb_end(b);
}

static void test_built_virtio(void)
{
	struct machine p;
	CHECK_EQ(fb_parse(0, virtio_and_more, &p), FDT_OK);
	CHECK_EQ(p.nvirtio, MACHINE_MAX_VIRTIO);
	for (unsigned i = 1; i < p.nvirtio; i++)
		CHECK(p.virtio[i - 1].base < p.virtio[i].base);
	for (unsigned i = 0; i < p.nvirtio; i++) {
		uint32_t k = (uint32_t)(p.virtio[i].base - 0x10000) / 0x1000;
		CHECK_EQ(p.virtio[i].irq, k == 21 ? 0 : 20 + k);  /* i == 3 placed base 21 */
	}
	CHECK_EQ(p.test_dev, 0x100000);
	CHECK_EQ(p.psci, PSCI_SMC);
}

static void gicv2(struct fb *b)
{
	fb_begin(b, "intc@8000000");
	fb_str(b, "compatible", "arm,cortex-a15-gic");
	fb_prop(b, "interrupt-controller", "", 0);
	fb_cells(b, "#interrupt-cells", 1, 3);
	fb_cells(b, "phandle", 1, 8);
	fb_cells(b, "reg", 4, 0x8000000, 0x10000, 0x8010000, 0x10000);
	fb_end(b);
	fb_begin(b, "pl011@9000000");
	fb_str(b, "compatible", "arm,pl011");
	fb_cells(b, "interrupt-parent", 1, 8);
	fb_cells(b, "reg", 2, 0x9000000, 0x1000);
	fb_cells(b, "interrupts", 3, 0, 1, 4);
	fb_end(b);
	fb_begin(b, "timer");
	fb_str(b, "compatible", "arm,armv8-timer");
	fb_cells(b, "interrupt-parent", 1, 8);
	fb_cells(b, "interrupts", 12, 1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4);
	fb_cells(b, "clock-frequency", 1, 62500000);
	fb_end(b);
}

static void test_built_gicv2(void)
{
	struct machine p;
	CHECK_EQ(fb_parse(NO_UART | NO_IRQC, gicv2, &p), FDT_OK);
	CHECK_EQ(p.irqc_kind, IRQC_GICV2);
	CHECK_EQ(p.irqc.base, 0x8000000);
	CHECK_EQ(p.irqc2.base, 0x8010000);
	CHECK_EQ(p.uart_kind, UART_PL011);
	CHECK_EQ(p.uart.irq, 33);
	CHECK_EQ(p.timer_irq, 30);
	CHECK_EQ(p.timer_freq, 62500000);
}

static void deep(struct fb *b, int levels)
{
	for (int i = 0; i < levels; i++)
		fb_begin(b, "d");
	for (int i = 0; i < levels; i++)
		fb_end(b);
}

static void deep_ok(struct fb *b)
{
	deep(b, 15);   /* with the root: 16 levels */
}

static void deep_bad(struct fb *b)
{
	deep(b, 16);
}

static void two_roots(struct fb *b)
{
	fb_end(b);
	fb_begin(b, "");
}

static void prop_after_child(struct fb *b)
{
	fb_str(b, "late", "x");
}

static void bad_cells(struct fb *b)
{
	fb_begin(b, "bus");
	fb_cells(b, "#address-cells", 1, 3);
	fb_begin(b, "memory@0");
	fb_str(b, "device_type", "memory");
	fb_cells(b, "reg", 4, 0, 0, 0x1000, 0x1000);
	fb_end(b);
	fb_end(b);
}

static void nops(struct fb *b)
{
	fb_u32(b, 4);
	fb_begin(b, "n");
	fb_u32(b, 4);
	fb_str(b, "p", "");
	fb_u32(b, 4);
	fb_end(b);
	fb_u32(b, 4);
}

static void test_built_structure(void)
{
	struct machine p;
	CHECK_EQ(fb_parse(0, nops, &p), FDT_OK);
	CHECK_EQ(fb_parse(0, deep_ok, &p), FDT_OK);
	CHECK_EQ(fb_parse(0, deep_bad, &p), FDT_ERR_STRUCT);
	CHECK_EQ(fb_parse(0, two_roots, &p), FDT_ERR_STRUCT);
	CHECK_EQ(fb_parse(0, prop_after_child, &p), FDT_ERR_STRUCT);
	// Three address cells do not fit 64 bits: that memory node is ignored.
	CHECK_EQ(fb_parse(NO_MEM, bad_cells, &p), FDT_ERR_MISSING);
}

/* -------------------------------------------------------------- fuzz */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Random byte, bit and word changes; the parser must return some fdt_err, sanely. */
static void fuzz(const struct blob *x, int rounds)
{
	struct blob c = copy(x);
	static const uint32_t words[] = {0, 1, 2, 3, 4, 9, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff};
	for (int r = 0; r < rounds; r++) {
		memcpy(c.b, x->b, x->len);
		int n = 1 + rnd() % 3;
		for (int k = 0; k < n; k++) {
			size_t o = rnd() % x->len;
			// Bias a third of the changes to the header, where offsets live.
			if (rnd() % 3 == 0)
				o = rnd() % 40;
			switch (rnd() % 4) {
			case 0: c.b[o] = (uint8_t)rnd(); break;
			case 1: c.b[o] ^= (uint8_t)(1u << rnd() % 8); break;
			case 2:
				o &= ~(size_t)3;
				if (o + 4 <= x->len)
					put32(c.b + o, words[rnd() % 10]);
				break;
			case 3:
				o &= ~(size_t)3;
				if (o + 4 <= x->len)
					put32(c.b + o, get32(c.b + o) + rnd() % 9 - 4);
				break;
			}
		}
		struct machine p;
		int err = parse(&c, &p);
		CHECK(err <= FDT_OK && err >= FDT_ERR_MISSING);
		if (err == FDT_OK) {
			CHECK(p.nharts <= MACHINE_MAX_HARTS);
			CHECK(p.nvirtio <= MACHINE_MAX_VIRTIO);
			CHECK(memchr(p.bootargs, 0, sizeof p.bootargs) != NULL);
		}
		if (failed_checks)
			break;
	}
	free(c.b);
}

static void test_fuzz(void)
{
	fuzz(&rv, 20000);
	fuzz(&a64, 20000);
}

static void test_strerror(void)
{
	for (int e = FDT_ERR_MISSING; e <= FDT_OK; e++) {
		CHECK(fdt_strerror(e) != NULL);
		for (int e2 = FDT_ERR_MISSING; e2 < e; e2++)
			CHECK(strcmp(fdt_strerror(e), fdt_strerror(e2)) != 0);
	}
	CHECK(fdt_strerror(-99) != NULL);
}

static const struct check_test tests[] = {
	{test_riscv64_values, "riscv64_values"},
	{test_aarch64_values, "aarch64_values"},
	{test_riscv64_smp4, "riscv64_smp4"},
	{test_aarch64_smp4, "aarch64_smp4"},
	{test_unaligned, "unaligned"},
	{test_boot_cap, "boot_cap"},
	{test_truncated, "truncated"},
	{test_header, "header"},
	{test_struct, "struct"},
	{test_built_minimal, "built_minimal"},
	{test_built_missing, "built_missing"},
	{test_built_stdout, "built_stdout"},
	{test_built_bootargs, "built_bootargs"},
	{test_built_cpus, "built_cpus"},
	{test_built_virtio, "built_virtio"},
	{test_built_gicv2, "built_gicv2"},
	{test_built_structure, "built_structure"},
	{test_fuzz, "fuzz"},
	{test_strerror, "strerror"},
};

/* Dump an SMP=4 tree with bootargs next to `like`, for when none was given. */
static int dump_smp4(const char *arch, const char *like, struct blob *x)
{
	char path[512], cmd[1200];
	const char *slash = strrchr(like, '/');
	int dir = slash ? (int)(slash - like) : 1;
	snprintf(path, sizeof path, "%.*s/virt-%s-smp4.dtb", dir, slash ? like : ".", arch);
	snprintf(cmd, sizeof cmd, "SMP=4 BOOTARGS='%s' scripts/dumpdtb.sh %s %s 2>/dev/null",
		 SMP4_BOOTARGS, arch, path);
	if (system(cmd) != 0) {
		fprintf(stderr, "fdt_test: could not run: %s\n", cmd);
		return -1;
	}
	return load(path, x);
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: %s RISCV64.dtb AARCH64.dtb [RISCV64-SMP4.dtb AARCH64-SMP4.dtb]\n", argv[0]);
		return 2;
	}
	if (load(argv[1], &rv) || load(argv[2], &a64)) {
		fprintf(stderr, "fdt_test: cannot read %s or %s\n", argv[1], argv[2]);
		return 2;
	}
	int smp4 = argc == 5 ? load(argv[3], &rv4) | load(argv[4], &a644)
			     : dump_smp4("riscv64", argv[1], &rv4) | dump_smp4("aarch64", argv[2], &a644);
	if (smp4 != 0) {
		fprintf(stderr, "fdt_test: no SMP=4 trees\n");
		return 2;
	}

	int fail = check_run("test", tests, sizeof tests / sizeof tests[0]);
	free(rv.b);
	free(a64.b);
	free(rv4.b);
	free(a644.b);
	return fail ? 1 : 0;
}
