/* The printf family for user programs: thin entry points, built without FP/SIMD, over picolibc's integer formatter. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/*
 * User programs link with -DPICOLIBC_INTEGER_PRINTF_SCANF, so
 * picolibc.specs maps vfprintf to __i_vfprintf and vfscanf to
 * __i_vfscanf: every integer, string and character conversion, no
 * floating point (%e, %f, %g print '?'; pass no doubles).  It touches no
 * FP/SIMD register, but picolibc's own variadic entry points are prebuilt
 * with FP/SIMD allowed: their prologues store q0-q7 for va_arg, and
 * vsnprintf copies its string stream with q registers.  On aarch64 the
 * first printf would then trap and give the process a 512-byte FP/SIMD
 * save area (docs/user.md, "Measured, and the targets").
 *
 * These replace them (the user library links before libc).  Built with
 * the rest of user/ with -mgeneral-regs-only, a variadic function saves
 * only x0-x7 and leaves va_list's FP part empty, which the integer
 * formatter never reads.  Only the glue is ours; the formatting is
 * picolibc's.
 */

int vprintf(const char *restrict fmt, va_list ap)
{
	return vfprintf(stdout, fmt, ap);
}

int printf(const char *restrict fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(stdout, fmt, ap);
	va_end(ap);
	return r;
}

int fprintf(FILE *restrict f, const char *restrict fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(f, fmt, ap);
	va_end(ap);
	return r;
}

/* A stream into a buffer: keeps the first `left` bytes, counts them all. */
struct str_stream {
	FILE file; /* first: put() gets &file */
	char *pos;
	size_t left;
};

static int str_put(char c, FILE *f)
{
	struct str_stream *s = (struct str_stream *)f;
	if (s->left > 0) {
		*s->pos++ = c;
		s->left--;
	}
	return (unsigned char)c;
}

int vsnprintf(char *restrict buf, size_t n, const char *restrict fmt, va_list ap)
{
	struct str_stream s = {
		.file = FDEV_SETUP_STREAM(str_put, NULL, NULL, _FDEV_SETUP_WRITE),
		.pos = buf,
		.left = n ? n - 1 : 0,
	};
	int r = vfprintf(&s.file, fmt, ap);
	if (n > 0)
		*s.pos = '\0';
	return r;
}

int snprintf(char *restrict buf, size_t n, const char *restrict fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

int vsprintf(char *restrict buf, const char *restrict fmt, va_list ap)
{
	return vsnprintf(buf, SIZE_MAX, fmt, ap);
}

int sprintf(char *restrict buf, const char *restrict fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, SIZE_MAX, fmt, ap);
	va_end(ap);
	return r;
}
