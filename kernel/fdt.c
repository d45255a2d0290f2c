/* Flattened device tree parser: fills struct machine, never reads outside the blob. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/machine.h"

/*
 * The flattened device tree (devicetree spec, chapter 5) in brief.
 *
 * The blob starts with a header of big-endian 32-bit words:
 *   magic 0xd00dfeed, totalsize, off_dt_struct, off_dt_strings,
 *   off_mem_rsvmap, version, last_comp_version, boot_cpuid_phys,
 *   size_dt_strings, size_dt_struct (the last one only from version 17).
 * The offsets locate three blocks inside the blob's totalsize bytes:
 *   - the memory reservation map: (address, size) pairs of 64-bit words,
 *     ended by a pair of zeros;
 *   - the structure block: a stream of 4-byte-aligned tokens,
 *       BEGIN_NODE name\0 (padded to 4)   opens a node
 *       PROP len nameoff value[len] (pad) a property of the open node
 *       END_NODE                          closes it
 *       NOP                               ignored
 *       END                               ends the block
 *     Properties come before a node's children; there is one root node,
 *     whose name is empty;
 *   - the strings block: the NUL-terminated property names, which PROP
 *     refers to by offset so that each name is stored once.
 * Cells in property values are big-endian 32-bit words; #address-cells and
 * #size-cells in a node say how many make up an address and a size in its
 * children's "reg" (defaults 2 and 1).
 *
 * Nothing in the blob is trusted: the header is checked against max_len,
 * every block against the header, every token and property against its
 * block, and every read of the structure block goes through fdt_next(),
 * which checks before it loads.  All loads are byte-wise, so the blob may sit at any alignment.
 */

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u

#define FDT_HDR_V16 36u      /* header bytes up to size_dt_strings */
#define FDT_HDR_V17 40u      /* ... plus size_dt_struct */
#define FDT_MAX_DEPTH 16     /* QEMU's trees are 4 deep */

/* The checked layout of one blob. */
struct fdt {
	const uint8_t *st;   /* structure block */
	uint32_t st_len;
	const uint8_t *str;  /* strings block */
	uint32_t str_len;
};

/* One token, as fdt_next() decoded it. */
struct fdt_tok {
	uint32_t tag;
	const char *name;    /* BEGIN_NODE: node name; PROP: property name */
	const uint8_t *val;  /* PROP: value */
	uint32_t len;
};

struct fdt_prop {
	const uint8_t *val;
	uint32_t len;
};

/* A node during a walk; parents stay valid while their children are visited. */
struct fdt_node {
	const char *name;
	unsigned depth;              /* root is 0 */
	uint32_t props;              /* offset of its first token after the name */
	const struct fdt_node *parent;
	uint32_t addr_cells;         /* for its children's reg */
	uint32_t size_cells;
	uint32_t ipar;               /* phandle of its interrupt parent, 0 none */
	// Asked of every node, so fetched once (val NULL when absent).
	struct fdt_prop compat, status, devtype;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Cells of 1 or 2 words as one number; callers check n <= 2. */
static uint64_t fdt_cells(const uint8_t *p, uint32_t n)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < n; i++)
		v = v << 32 | be32(p + 4 * i);
	return v;
}

/* Check the header and the three blocks; max_len bounds even the header. */
static int fdt_open(struct fdt *f, const uint8_t *b, uint64_t max_len)
{
	if (max_len < 4)
		return FDT_ERR_TRUNCATED;
	if (be32(b) != FDT_MAGIC)
		return FDT_ERR_MAGIC;
	if (max_len < FDT_HDR_V17)
		return FDT_ERR_TRUNCATED;
	uint32_t total = be32(b + 4);
	uint32_t off_st = be32(b + 8), off_str = be32(b + 12);
	uint32_t off_rsv = be32(b + 16);
	uint32_t version = be32(b + 20), last_comp = be32(b + 24);
	// Version 17 readers can read anything compatible back to 16.
	if (version < 16 || last_comp > 17)
		return FDT_ERR_VERSION;
	if (total > max_len)
		return FDT_ERR_TRUNCATED;
	uint32_t hdr = version >= 17 ? FDT_HDR_V17 : FDT_HDR_V16;
	if (total < hdr)
		return FDT_ERR_BOUNDS;
	uint32_t str_len = be32(b + 32);
	// Version 16 has no struct size: give the block everything up to the
	// strings or the end, and let its END token bound it.
	uint32_t st_len;
	if (version >= 17) {
		st_len = be32(b + 36);
	} else {
		uint32_t lim = off_str > off_st && off_str < total ? off_str : total;
		st_len = off_st < lim ? lim - off_st : 0;
	}

	// 64-bit sums cannot wrap, so an offset near 2^32 cannot sneak past.
	if (off_st < hdr || (uint64_t)off_st + st_len > total || off_st % 4 != 0)
		return FDT_ERR_BOUNDS;
	if (off_str < hdr || (uint64_t)off_str + str_len > total)
		return FDT_ERR_BOUNDS;
	if (off_st < (uint64_t)off_str + str_len && off_str < (uint64_t)off_st + st_len)
		return FDT_ERR_BOUNDS;   // the blocks overlap
	// The reservation map is unused here, but a blob whose map runs off
	// its end is not one to trust with the rest.
	if (off_rsv < hdr || off_rsv % 8 != 0)
		return FDT_ERR_BOUNDS;
	for (uint64_t o = off_rsv;; o += 16) {
		if (o + 16 > total)
			return FDT_ERR_BOUNDS;
		if (fdt_cells(b + o, 2) == 0 && fdt_cells(b + o + 8, 2) == 0)
			break;
	}
	f->st = b + off_st;
	f->st_len = st_len;
	f->str = b + off_str;
	f->str_len = str_len;
	return FDT_OK;
}

/*
 * Decode the token at *off (an offset into the structure block), skipping
 * NOPs, and advance *off past it.  Every byte it hands out lies inside its
 * block and every name it hands out is NUL-terminated there.
 */
static int fdt_next(const struct fdt *f, uint32_t *off, struct fdt_tok *t)
{
	for (;;) {
		uint32_t o = *off;
		if (o > f->st_len || f->st_len - o < 4)
			return FDT_ERR_STRUCT;   // ran off the block with no END
		t->tag = be32(f->st + o);
		o += 4;
		switch (t->tag) {
		case FDT_BEGIN_NODE: {
			const uint8_t *nul = memchr(f->st + o, 0, f->st_len - o);
			if (nul == NULL)
				return FDT_ERR_STRUCT;
			t->name = (const char *)(f->st + o);
			o = (uint32_t)(nul - f->st) + 1;
			break;
		}
		case FDT_PROP: {
			if (f->st_len - o < 8)
				return FDT_ERR_STRUCT;
			uint32_t len = be32(f->st + o), nameoff = be32(f->st + o + 4);
			o += 8;
			if (len > f->st_len - o)
				return FDT_ERR_STRUCT;
			if (nameoff >= f->str_len ||
			    memchr(f->str + nameoff, 0, f->str_len - nameoff) == NULL)
				return FDT_ERR_BOUNDS;
			t->name = (const char *)(f->str + nameoff);
			t->val = f->st + o;
			t->len = len;
			o += len;
			break;
		}
		case FDT_NOP:
			*off = o;
			continue;
		case FDT_END_NODE:
		case FDT_END:
			break;
		default:
			return FDT_ERR_STRUCT;
		}
		// Pad to the next token; a block that ends inside the padding
		// fails on the next call, when no token fits.
		uint64_t next = ((uint64_t)o + 3) & ~(uint64_t)3;
		*off = next < f->st_len ? (uint32_t)next : f->st_len;
		return FDT_OK;
	}
}

static bool fdt_getprop(const struct fdt *f, const struct fdt_node *n, const char *name,
			struct fdt_prop *p)
{
	uint32_t off = n->props;
	struct fdt_tok t;
	while (fdt_next(f, &off, &t) == FDT_OK && t.tag == FDT_PROP) {
		if (strcmp(t.name, name) == 0) {
			p->val = t.val;
			p->len = t.len;
			return true;
		}
	}
	return false;
}

/* A 32- or 64-bit number property. */
static bool fdt_getnum(const struct fdt *f, const struct fdt_node *n, const char *name, uint64_t *v)
{
	struct fdt_prop p;
	if (!fdt_getprop(f, n, name, &p) || (p.len != 4 && p.len != 8))
		return false;
	*v = fdt_cells(p.val, p.len / 4);
	return true;
}

/* Does the string (list) property hold `want` as one of its strings? */
static bool fdt_str_in(const struct fdt_prop *p, const char *want)
{
	if (p->val == NULL)
		return false;
	size_t wlen = strlen(want);
	const char *s = (const char *)p->val, *end = s + p->len;
	while (s < end) {
		const char *nul = memchr(s, 0, (size_t)(end - s));
		size_t len = nul ? (size_t)(nul - s) : (size_t)(end - s);
		if (len == wlen && memcmp(s, want, len) == 0)
			return true;
		s += len + 1;
	}
	return false;
}

static bool fdt_has_str(const struct fdt *f, const struct fdt_node *n, const char *name,
			const char *want)
{
	struct fdt_prop p;
	return fdt_getprop(f, n, name, &p) && fdt_str_in(&p, want);
}

/* Does the "riscv,isa" string (rv64imac_zicsr_sstc...) name the
 * multi-letter extension `ext`?  Those follow the first '_', one per
 * '_'-separated word; the property's bounds bound the search. */
static bool fdt_isa_has(const struct fdt_prop *p, const char *ext)
{
	size_t elen = strlen(ext);
	const char *s = (const char *)p->val, *end = s + p->len;
	const char *nul = memchr(s, 0, p->len);
	if (nul)
		end = nul;
	s = memchr(s, '_', (size_t)(end - s));
	while (s && s < end) {
		s++; /* past the '_' */
		const char *us = memchr(s, '_', (size_t)(end - s));
		size_t len = (size_t)((us ? us : end) - s);
		if (len == elen && memcmp(s, ext, len) == 0)
			return true;
		s = us;
	}
	return false;
}

static bool fdt_compat(const struct fdt_node *n, const char *want)
{
	return fdt_str_in(&n->compat, want);
}

/* status absent, "okay" or "ok": the device is there to use. */
static bool fdt_enabled(const struct fdt_node *n)
{
	return n->status.val == NULL || fdt_str_in(&n->status, "okay") ||
	       fdt_str_in(&n->status, "ok");
}

/*
 * Entry i of a node's reg, in its parent's cells.  Addresses are not
 * translated through the parents' "ranges": QEMU virt's buses map 1:1.
 */
static bool fdt_reg(const struct fdt *f, const struct fdt_node *n, uint32_t i, struct mmio_dev *d)
{
	struct fdt_prop p;
	uint32_t ac = n->parent ? n->parent->addr_cells : 2;
	uint32_t sc = n->parent ? n->parent->size_cells : 1;
	if (ac == 0 || ac > 2 || sc > 2 || !fdt_getprop(f, n, "reg", &p))
		return false;
	uint32_t entry = 4 * (ac + sc);
	if (p.len / entry <= i)
		return false;
	d->base = fdt_cells(p.val + i * entry, ac);
	d->size = fdt_cells(p.val + i * entry + 4 * ac, sc);
	d->irq = 0;
	return true;
}

/*
 * Fill a node's cached and inherited fields once all its properties are
 * known, in one pass over them (this runs for every node on every walk).
 */
static void fdt_finish(const struct fdt *f, struct fdt_node *n)
{
	uint32_t off = n->props;
	struct fdt_tok t;

	n->addr_cells = 2;
	n->size_cells = 1;
	// An interrupt-parent is inherited from the nearest ancestor with one.
	n->ipar = n->parent ? n->parent->ipar : 0;
	while (fdt_next(f, &off, &t) == FDT_OK && t.tag == FDT_PROP) {
		struct fdt_prop p = {t.val, t.len};
		bool cell = t.len == 4;
		if (strcmp(t.name, "compatible") == 0)
			n->compat = p;
		else if (strcmp(t.name, "status") == 0)
			n->status = p;
		else if (strcmp(t.name, "device_type") == 0)
			n->devtype = p;
		else if (cell && strcmp(t.name, "#address-cells") == 0 && be32(t.val) <= 4)
			n->addr_cells = be32(t.val);
		else if (cell && strcmp(t.name, "#size-cells") == 0 && be32(t.val) <= 4)
			n->size_cells = be32(t.val);
		else if (cell && strcmp(t.name, "interrupt-parent") == 0)
			n->ipar = be32(t.val);
	}
}

typedef void fdt_visit_fn(const struct fdt *f, const struct fdt_node *n, void *arg);

/*
 * Walk the whole structure block, calling visit on each node, parents
 * before children, once its properties are all known.  Checks the block's
 * shape on the way: one root, balanced nodes, bounded depth, properties
 * before subnodes, END last.
 */
static int fdt_walk(const struct fdt *f, fdt_visit_fn *visit, void *arg)
{
	struct fdt_node stack[FDT_MAX_DEPTH];
	struct fdt_tok t;
	uint32_t off = 0;
	int depth = -1;        // index of the open node in stack
	bool seen_root = false;
	bool pending = false;  // stack[depth] not yet visited

	for (;;) {
		int err = fdt_next(f, &off, &t);
		if (err != FDT_OK)
			return err;
		if (pending && t.tag != FDT_PROP) {
			fdt_finish(f, &stack[depth]);
			visit(f, &stack[depth], arg);
			pending = false;
		}
		switch (t.tag) {
		case FDT_BEGIN_NODE:
			if (depth + 1 >= FDT_MAX_DEPTH || (depth < 0 && seen_root))
				return FDT_ERR_STRUCT;
			depth++;
			seen_root = true;
			stack[depth] = (struct fdt_node){
				.name = t.name,
				.depth = (unsigned)depth,
				.props = off,
				.parent = depth > 0 ? &stack[depth - 1] : NULL,
			};
			pending = true;
			break;
		case FDT_END_NODE:
			if (depth < 0)
				return FDT_ERR_STRUCT;
			depth--;
			break;
		case FDT_PROP:
			if (!pending)
				return FDT_ERR_STRUCT;  // outside a node, or after subnodes
			break;
		case FDT_END:
			return depth < 0 && seen_root ? FDT_OK : FDT_ERR_STRUCT;
		}
	}
}

/* Does node name `name` match path component c[0..len)?  "serial" matches "serial@1000". */
static bool fdt_name_is(const char *name, const char *c, size_t len)
{
	if (strncmp(name, c, len) != 0)
		return false;
	return name[len] == '\0' || (name[len] == '@' && memchr(c, '@', len) == NULL);
}

/* Is n the node at absolute path p[0..len)? */
static bool fdt_path_is(const struct fdt_node *n, const char *p, size_t len)
{
	for (; n->depth > 0; n = n->parent) {
		size_t s = len;
		while (s > 0 && p[s - 1] != '/')
			s--;
		if (s == 0 || !fdt_name_is(n->name, p + s, len - s))
			return false;
		len = s - 1;
	}
	return len == 0;
}

/* What the walks collect besides struct machine itself. */
struct fdt_scan {
	struct machine *mach;
	uint32_t irqc_phandle;    /* the one interrupt controller we use */
	uint32_t irqc_cells;      /* its #interrupt-cells */
	const char *stdout_path;  /* from /chosen, maybe an alias; no ":options" */
	size_t stdout_len;
	struct fdt_prop aliases_path; /* stdout-path alias resolved through /aliases */
	bool uart_is_stdout;      /* mach->uart came from stdout-path */
	uint32_t uart_clk_phandle;/* "clocks" of the UART, resolved in a third walk */
	uint64_t clk_freq;
};

/* Walk 1: the interrupt controller and /chosen, which walk 2 depends on. */
static void fdt_scan_early(const struct fdt *f, const struct fdt_node *n, void *arg)
{
	struct fdt_scan *s = arg;
	struct machine *mach = s->mach;
	struct fdt_prop p;
	struct mmio_dev r0, r1 = {0, 0, 0};
	uint64_t v;

	if (n->depth == 1 && strcmp(n->name, "chosen") == 0) {
		if (fdt_getprop(f, n, "bootargs", &p)) {
			size_t len = p.len < sizeof mach->bootargs ? p.len : sizeof mach->bootargs - 1;
			memcpy(mach->bootargs, p.val, len);
			mach->bootargs[len] = '\0';  // the copy stops at the value's own NUL too
		}
		if (fdt_getprop(f, n, "stdout-path", &p) && p.len > 0) {
			const char *sp = (const char *)p.val;
			size_t len = 0;
			while (len < p.len && sp[len] != '\0' && sp[len] != ':')
				len++;
			s->stdout_path = sp;
			s->stdout_len = len;
		}
	}

	if (mach->irqc_kind != IRQC_NONE)
		return;
	enum irqc_kind kind = IRQC_NONE;
	if (fdt_compat(n, "riscv,plic0") || fdt_compat(n, "sifive,plic-1.0.0"))
		kind = IRQC_PLIC;
	else if (fdt_compat(n, "arm,gic-v3"))
		kind = IRQC_GICV3;
	else if (fdt_compat(n, "arm,cortex-a15-gic") || fdt_compat(n, "arm,gic-400"))
		kind = IRQC_GICV2;
	if (kind == IRQC_NONE || !fdt_enabled(n) || !fdt_getprop(f, n, "interrupt-controller", &p) ||
	    !fdt_reg(f, n, 0, &r0))
		return;
	if (kind != IRQC_PLIC && !fdt_reg(f, n, 1, &r1))
		return;   // a GIC without its second region is no use
	if (!fdt_getnum(f, n, "#interrupt-cells", &v) || v == 0 || v > 4)
		return;
	s->irqc_cells = (uint32_t)v;
	s->irqc_phandle = fdt_getnum(f, n, "phandle", &v) ? (uint32_t)v : 0;
	mach->irqc_kind = kind;
	mach->irqc = r0;
	mach->irqc2 = r1;
}

/*
 * Entry i of a node's "interrupts", as the controller's number: a PLIC
 * source, or a GIC INTID (SPI n is 32 + n, PPI n is 16 + n).  0 if the
 * node's interrupts go to some other controller or cannot be decoded.
 */
static unsigned fdt_irq(const struct fdt *f, const struct fdt_scan *s, const struct fdt_node *n,
			uint32_t i)
{
	struct fdt_prop p;
	uint32_t cells = s->irqc_cells;
	if (s->irqc_phandle == 0 || n->ipar != s->irqc_phandle || !fdt_getprop(f, n, "interrupts", &p))
		return 0;
	if (p.len / (4 * cells) <= i)
		return 0;
	const uint8_t *c = p.val + 4 * cells * i;
	if (cells == 1)
		return be32(c);
	if (s->mach->irqc_kind == IRQC_PLIC || cells < 3)
		return 0;
	uint32_t type = be32(c), num = be32(c + 4);
	if (type == 0 && num < 988)
		return 32 + num;
	if (type == 1 && num < 16)
		return 16 + num;
	return 0;
}

/* Make n the console UART, unless its reg is unusable. */
static bool fdt_take_uart(const struct fdt *f, struct fdt_scan *s, const struct fdt_node *n,
			  enum uart_kind kind)
{
	struct machine *mach = s->mach;
	struct mmio_dev d;
	uint64_t v;
	if (!fdt_reg(f, n, 0, &d))
		return false;
	mach->uart_kind = kind;
	mach->uart = d;
	mach->uart.irq = fdt_irq(f, s, n, 0);
	mach->uart_clock = fdt_getnum(f, n, "clock-frequency", &v) && v <= UINT32_MAX ? (uint32_t)v : 0;
	// PL011 names its clock by phandle ("clocks"); the first is uartclk.
	struct fdt_prop p;
	s->uart_clk_phandle = 0;
	if (mach->uart_clock == 0 && fdt_getprop(f, n, "clocks", &p) && p.len >= 4)
		s->uart_clk_phandle = be32(p.val);
	return true;
}

/* Walk 2: everything else. */
static void fdt_scan_main(const struct fdt *f, const struct fdt_node *n, void *arg)
{
	struct fdt_scan *s = arg;
	struct machine *mach = s->mach;
	struct mmio_dev d;
	uint64_t v;

	if (!fdt_enabled(n))
		return;

	if (mach->mem_size == 0 && fdt_str_in(&n->devtype, "memory") && fdt_reg(f, n, 0, &d)) {
		mach->mem_base = d.base;
		mach->mem_size = d.size;
	}

	if (n->depth == 1 && strcmp(n->name, "cpus") == 0 && fdt_getnum(f, n, "timebase-frequency", &v))
		mach->timer_freq = v;
	if (n->depth == 2 && strcmp(n->parent->name, "cpus") == 0 &&
	    fdt_str_in(&n->devtype, "cpu") && fdt_reg(f, n, 0, &d)) {
		// More harts than MACHINE_MAX_HARTS: the rest are not used, so not counted.
		if (mach->nharts < MACHINE_MAX_HARTS) {
			// Sstc only if every hart used has it (riscv,isa).
			struct fdt_prop isa;
			bool sstc = fdt_getprop(f, n, "riscv,isa", &isa) && fdt_isa_has(&isa, "sstc");
			mach->timer_sstc = (mach->nharts == 0 || mach->timer_sstc) && sstc;
			mach->hart_hwid[mach->nharts++] = d.base;
		}
	}

	if (fdt_compat(n, "arm,armv8-timer")) {
		if (mach->timer_freq == 0 && fdt_getnum(f, n, "clock-frequency", &v))
			mach->timer_freq = v;
		// Its PPIs are secure, non-secure, virtual, hypervisor: we run
		// at EL1 on the non-secure physical timer.
		mach->timer_irq = fdt_irq(f, s, n, 1);
	}

	if (fdt_compat(n, "arm,psci") || fdt_compat(n, "arm,psci-0.2") ||
	    fdt_compat(n, "arm,psci-1.0")) {
		if (fdt_has_str(f, n, "method", "hvc"))
			mach->psci = PSCI_HVC;
		else if (fdt_has_str(f, n, "method", "smc"))
			mach->psci = PSCI_SMC;
	}

	if (mach->test_dev == 0 && fdt_compat(n, "sifive,test0") && fdt_reg(f, n, 0, &d))
		mach->test_dev = d.base;

	if (fdt_compat(n, "virtio,mmio") && mach->nvirtio < MACHINE_MAX_VIRTIO && fdt_reg(f, n, 0, &d)) {
		d.irq = fdt_irq(f, s, n, 0);
		// Insert sorted by base address (QEMU riscv lists them in
		// descending order, aarch64 ascending): slot 0 is the lowest.
		unsigned i = mach->nvirtio++;
		for (; i > 0 && mach->virtio[i - 1].base > d.base; i--)
			mach->virtio[i] = mach->virtio[i - 1];
		mach->virtio[i] = d;
	}

	enum uart_kind kind = UART_NONE;
	if (fdt_compat(n, "ns16550a"))
		kind = UART_NS16550A;
	else if (fdt_compat(n, "arm,pl011"))
		kind = UART_PL011;
	if (kind != UART_NONE && !s->uart_is_stdout) {
		bool is_stdout = false;
		if (s->aliases_path.val != NULL)
			is_stdout = fdt_path_is(n, (const char *)s->aliases_path.val, s->aliases_path.len);
		else if (s->stdout_path != NULL)
			is_stdout = fdt_path_is(n, s->stdout_path, s->stdout_len);
		// The stdout-path node wins; until it is seen, the first UART.
		if ((is_stdout || mach->uart_kind == UART_NONE) && fdt_take_uart(f, s, n, kind))
			s->uart_is_stdout = is_stdout;
	}
}

/* Between walks 1 and 2: resolve a stdout-path alias ("serial0") through /aliases. */
static void fdt_scan_aliases(const struct fdt *f, const struct fdt_node *n, void *arg)
{
	struct fdt_scan *s = arg;
	struct fdt_tok t;
	uint32_t off = n->props;
	if (n->depth != 1 || strcmp(n->name, "aliases") != 0)
		return;
	while (fdt_next(f, &off, &t) == FDT_OK && t.tag == FDT_PROP) {
		if (strlen(t.name) == s->stdout_len && memcmp(t.name, s->stdout_path, s->stdout_len) == 0 &&
		    t.len > 0 && t.val[t.len - 1] == '\0') {
			s->aliases_path.val = t.val;
			s->aliases_path.len = (uint32_t)strlen((const char *)t.val);
		}
	}
}

/* Walk 3: the frequency of the UART's clock node. */
static void fdt_scan_clock(const struct fdt *f, const struct fdt_node *n, void *arg)
{
	struct fdt_scan *s = arg;
	uint64_t v;
	if (fdt_getnum(f, n, "phandle", &v) && v == s->uart_clk_phandle &&
	    fdt_getnum(f, n, "clock-frequency", &v))
		s->clk_freq = v;
}

int fdt_parse(const void *blob, uint64_t max_len, struct machine *mach)
{
	struct fdt f;
	struct fdt_scan s = {.mach = mach};
	int err;

	memset(mach, 0, sizeof *mach);
	if (blob == NULL)
		return FDT_ERR_TRUNCATED;
	if ((err = fdt_open(&f, blob, max_len)) != FDT_OK)
		return err;
	// The first walk also checks the whole structure block, so the later
	// ones cannot fail (they would stop at the same error if they did).
	if ((err = fdt_walk(&f, fdt_scan_early, &s)) != FDT_OK)
		return err;
	if (s.stdout_path != NULL && s.stdout_len > 0 && s.stdout_path[0] != '/')
		fdt_walk(&f, fdt_scan_aliases, &s);
	fdt_walk(&f, fdt_scan_main, &s);
	if (s.uart_clk_phandle != 0) {
		fdt_walk(&f, fdt_scan_clock, &s);
		mach->uart_clock = s.clk_freq <= UINT32_MAX ? (uint32_t)s.clk_freq : 0;
	}
	if (mach->mem_size == 0 || mach->uart_kind == UART_NONE || mach->irqc_kind == IRQC_NONE)
		return FDT_ERR_MISSING;
	return FDT_OK;
}

const char *fdt_strerror(int err)
{
	switch (err) {
	case FDT_OK: return "ok";
	case FDT_ERR_TRUNCATED: return "device tree truncated";
	case FDT_ERR_MAGIC: return "not a device tree (bad magic)";
	case FDT_ERR_VERSION: return "unsupported device tree version";
	case FDT_ERR_BOUNDS: return "device tree offset out of bounds";
	case FDT_ERR_STRUCT: return "malformed device tree structure";
	case FDT_ERR_MISSING: return "device tree lacks memory, UART or interrupt controller";
	default: return "unknown device tree error";
	}
}

uint64_t fdt_blob_size(const void *blob)
{
	const uint8_t *b = blob;
	if (!b || be32(b) != FDT_MAGIC)
		return 0;
	return be32(b + 4);
}
