/* memset/memcpy/memmove, word at a time, for the kernel and user programs. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Debian's picolibc is built for size, so its memset and memcpy move one
 * byte per iteration: zeroing a 4 KiB page took ~16,000 instructions, most
 * of a spawn.  These move 8 bytes per store once the pointers allow it.
 * Linked before libc, they replace picolibc's in the kernel and (through
 * the user library) in every user program.  This
 * file is built with -fno-tree-loop-distribute-patterns, or GCC would
 * turn the loops below back into calls to memset and memcpy.
 */

typedef uint64_t __attribute__((may_alias)) word_t;

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	uint64_t w = (unsigned char)c * 0x0101010101010101ull;

	while (n && ((uintptr_t)d & 7)) {
		*d++ = (unsigned char)c;
		n--;
	}
	for (; n >= 64; n -= 64, d += 64) {
		word_t *p = (word_t *)(void *)d;
		p[0] = w, p[1] = w, p[2] = w, p[3] = w;
		p[4] = w, p[5] = w, p[6] = w, p[7] = w;
	}
	for (; n >= 8; n -= 8, d += 8)
		*(word_t *)(void *)d = w;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
		/* Both can be aligned together: whole words, at any length. */
		while (n && ((uintptr_t)d & 7)) {
			*d++ = *s++;
			n--;
		}
		for (; n >= 64; n -= 64, d += 64, s += 64) {
			word_t *p = (word_t *)(void *)d;
			const word_t *q = (const word_t *)(const void *)s;
			p[0] = q[0], p[1] = q[1], p[2] = q[2], p[3] = q[3];
			p[4] = q[4], p[5] = q[5], p[6] = q[6], p[7] = q[7];
		}
		for (; n >= 8; n -= 8, d += 8, s += 8)
			*(word_t *)(void *)d = *(const word_t *)(const void *)s;
	} else if (n >= 16) {
		while ((uintptr_t)d & 7) {
			*d++ = *s++;
			n--;
		}
		/* The source is not aligned with the destination (a frame's
		 * payload sits 2 bytes off): aligned loads, each output word
		 * two of them shifted together (little-endian), the second
		 * holding the output word's last byte (off > 0).  A word is
		 * loaded only when it ends inside the source (n + off covers
		 * every load of the round): none reaches past the source. */
		unsigned off = (unsigned)((uintptr_t)s & 7);
		const word_t *q = (const word_t *)(const void *)(s - off);
		unsigned rs = 8 * off, ls = 64 - rs;
		uint64_t lo = q[0];
		/* Eight words a round, then four, then one at a time. */
		for (; n + off >= 72; n -= 64, d += 64, s += 64, q += 8) {
			uint64_t h1 = q[1], h2 = q[2], h3 = q[3], h4 = q[4];
			uint64_t h5 = q[5], h6 = q[6], h7 = q[7], h8 = q[8];
			word_t *p = (word_t *)(void *)d;
			p[0] = lo >> rs | h1 << ls;
			p[1] = h1 >> rs | h2 << ls;
			p[2] = h2 >> rs | h3 << ls;
			p[3] = h3 >> rs | h4 << ls;
			p[4] = h4 >> rs | h5 << ls;
			p[5] = h5 >> rs | h6 << ls;
			p[6] = h6 >> rs | h7 << ls;
			p[7] = h7 >> rs | h8 << ls;
			lo = h8;
		}
		if (n + off >= 40) {
			uint64_t h1 = q[1], h2 = q[2], h3 = q[3], h4 = q[4];
			word_t *p = (word_t *)(void *)d;
			p[0] = lo >> rs | h1 << ls;
			p[1] = h1 >> rs | h2 << ls;
			p[2] = h2 >> rs | h3 << ls;
			p[3] = h3 >> rs | h4 << ls;
			lo = h4;
			n -= 32, d += 32, s += 32, q += 4;
		}
		for (; n + off >= 16; n -= 8, d += 8, s += 8) {
			uint64_t hi = *++q;
			*(word_t *)(void *)d = lo >> rs | hi << ls;
			lo = hi;
		}
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n); /* forward copy is safe */
	while (n--)
		d[n] = s[n];
	return dst;
}
