/* The syscall instruction for each arch: number and six arguments in, one result out. */
#ifndef USER_LIB_SYSC_H
#define USER_LIB_SYSC_H

/*
 * Calling convention (lib/uapi/pollux.h): riscv64 ecall, number in a7,
 * arguments a0..a5, result a0; aarch64 svc #0, number in x8, arguments
 * x0..x5, result x0.  The kernel preserves every other register.  Private
 * to user/lib/syscall.c; user code calls the px_* functions.
 */

#if defined(__riscv)

static inline long px_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long a0 __asm__("a0") = a;
	register long a1 __asm__("a1") = b;
	register long a2 __asm__("a2") = c;
	register long a3 __asm__("a3") = d;
	register long a4 __asm__("a4") = e;
	register long a5 __asm__("a5") = f;
	register long a7 __asm__("a7") = nr;

	__asm__ volatile("ecall"
			 : "+r"(a0)
			 : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7)
			 : "memory");
	return a0;
}

#elif defined(__aarch64__)

static inline long px_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;
	register long x8 __asm__("x8") = nr;

	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5), "r"(x8)
			 : "memory");
	return x0;
}

#else
#error "user/lib/sysc.h: unsupported architecture"
#endif

#define px_syscall0(n)             px_syscall6((n), 0, 0, 0, 0, 0, 0)
#define px_syscall1(n, a)          px_syscall6((n), (long)(a), 0, 0, 0, 0, 0)
#define px_syscall2(n, a, b)       px_syscall6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define px_syscall3(n, a, b, c)    px_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define px_syscall4(n, a, b, c, d) px_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

#endif /* USER_LIB_SYSC_H */
