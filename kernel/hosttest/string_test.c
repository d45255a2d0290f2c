/* lib/string.c's memcpy, memset and memmove against byte-at-a-time references, at every
 * source and destination alignment and at lengths around each of their loops' edges;
 * lib/libgcc.c's count of leading zeros against the compiler's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/hosttest/check.h"

/* The file under test, renamed so that the host's own functions (which
 * the sanitizers and libc use) stay in place. */
#define memcpy px_memcpy
#define memset px_memset
#define memmove px_memmove
void *px_memcpy(void *restrict dst, const void *restrict src, size_t n);
void *px_memset(void *dst, int c, size_t n);
void *px_memmove(void *dst, const void *src, size_t n);
#include "lib/string.c"
#undef memcpy
#undef memset
#undef memmove
#include "lib/libgcc.c"

/* Large enough that no aligned word a copy loads leaves the object. */
static uint8_t src[4096 + 64], dst[4096 + 64], want[4096 + 64];

static const size_t lens[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 39, 40, 41,
			       47, 48, 55, 63, 64, 65, 71, 72, 95, 96, 97, 103, 127, 128, 129,
			       200, 1023, 1100, 4096 };

static void fill(void)
{
	uint32_t x = 777;
	for (size_t i = 0; i < sizeof(src); i++) {
		x = x * 1103515245u + 12345u;
		src[i] = (uint8_t)(x >> 16);
	}
}

static void test_memcpy(void)
{
	fill();
	for (unsigned so = 0; so < 8; so++)
		for (unsigned dof = 0; dof < 8; dof++)
			for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
				size_t n = lens[k];
				for (size_t i = 0; i < sizeof(dst); i++)
					dst[i] = want[i] = 0x5a;
				for (size_t i = 0; i < n; i++)
					want[8 + dof + i] = src[8 + so + i];
				void *r = px_memcpy(dst + 8 + dof, src + 8 + so, n);
				CHECK(r == dst + 8 + dof);
				if (memcmp(dst, want, sizeof(dst)) != 0) {
					printf("    memcpy so=%u do=%u n=%zu wrong\n", so, dof, n);
					failed_checks++;
				}
				/* Nothing read past the source's last byte (ASan:
				 * the heap block ends there). */
				uint8_t *tight = malloc(so + n ? so + n : 1);
				CHECK(tight != NULL);
				if (tight) {
					memcpy(tight, src + 8, so + n);
					memset(dst, 0x5a, sizeof(dst));
					px_memcpy(dst + 8 + dof, tight + so, n);
					CHECK(memcmp(dst, want, sizeof(dst)) == 0);
					free(tight);
				}
			}
}

static void test_memset(void)
{
	for (unsigned dof = 0; dof < 8; dof++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			size_t n = lens[k];
			for (size_t i = 0; i < sizeof(dst); i++)
				dst[i] = want[i] = 0x5a;
			for (size_t i = 0; i < n; i++)
				want[8 + dof + i] = 0xc3;
			CHECK(px_memset(dst + 8 + dof, 0x1c3, n) == dst + 8 + dof);
			if (memcmp(dst, want, sizeof(dst)) != 0) {
				printf("    memset do=%u n=%zu wrong\n", dof, n);
				failed_checks++;
			}
		}
}

/* Overlapping both ways: the result is as if through a temporary. */
static void test_memmove(void)
{
	fill();
	for (int shift = -9; shift <= 9; shift++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]) && lens[k] <= 1100; k++) {
			size_t n = lens[k];
			memcpy(dst, src, sizeof(dst));
			memcpy(want, src, sizeof(want));
			memmove(want + 32 + shift, src + 32, n);
			CHECK(px_memmove(dst + 32 + shift, dst + 32, n) == dst + 32 + shift);
			if (memcmp(dst, want, sizeof(dst)) != 0) {
				printf("    memmove shift=%d n=%zu wrong\n", shift, n);
				failed_checks++;
			}
		}
}

/* Every bit position, with everything below it set and clear, then
 * pseudo-random words. */
static void test_clz64(void)
{
	for (int b = 0; b < 64; b++) {
		unsigned long top = 1ul << b;
		CHECK_EQ(px_clz64(top), __builtin_clzll(top));
		CHECK_EQ(px_clz64(top | (top - 1)), __builtin_clzll(top | (top - 1)));
	}
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned long v = (unsigned long)(x >> (i & 63));
		if (v)
			CHECK_EQ(px_clz64(v), __builtin_clzll(v));
	}
}

int main(void)
{
	static const struct check_test tests[] = {
		{ test_memcpy, "memcpy" },
		{ test_memset, "memset" },
		{ test_memmove, "memmove" },
		{ test_clz64, "clz64" },
	};
	return check_run("string_test", tests, sizeof(tests) / sizeof(tests[0])) != 0;
}
