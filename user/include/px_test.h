/* The test harness for user programs: PX_TEST and PX_ASYNC_TEST, assertions, a runner with time limits and crash isolation. */
#ifndef USER_INCLUDE_PX_TEST_H
#define USER_INCLUDE_PX_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "px.h"
#include "px_async.h"

/*
 * A test program is a file user/NAME_test.c (or a folder user/NAME_test/)
 * with tests and no main: the library supplies main.
 *
 *     #include "px_test.h"
 *
 *     PX_TEST(adds_up)                       a plain test: a function body
 *     {
 *             PX_ASSERT_EQ(1 + 1, 2);
 *     }
 *
 *     struct naps {                          an async test: its state ...
 *             struct future base;            (first, as in every future)
 *             int state;                     (for ASYNC_BEGIN and AWAIT)
 *             struct sleep nap;
 *             uint64_t t0;
 *     };
 *
 *     PX_ASYNC_TEST(sleep_is_never_early, struct naps, n)   ... and its poll
 *     {
 *             ASYNC_BEGIN(n);
 *             n->t0 = px_now();
 *             px_sleep_for(&n->nap, TIMER_MS(20));
 *             AWAIT(n, sleep_poll(&n->nap, cx));
 *             PX_ASSERT_GE(px_now() - n->t0, TIMER_MS(20));
 *             ASYNC_END(n);
 *     }
 *
 * An async test is the body of a poll function: n points at the test's
 * state (zeroed, base.vtable set), cx is the context.  It runs as a task
 * of its own on the program's executor, so it may spawn tasks, await
 * timers, channels and ring operations; it ends when it returns Ready.
 *
 * Options follow the name, as designated initializers of struct px_test:
 *
 *     PX_TEST(slow_one, .time_limit_ms = 60000)
 *     PX_ASYNC_TEST(an_hour_of_ticks, struct ticks, t, .virtual_time = true)
 *     PX_TEST(may_crash, .isolate = true)
 *
 * Running: `NAME_test [-l] [-i] [-n] [-s N] [FILTER...]` (a boot with
 * init=NAME_test: `make test-user PROG=NAME_test`).  It prints one line
 * per test, "test NAME: OK" or "test NAME: FAILED: why", then
 * "N passed, N failed", and exits with the number of failures (at most
 * 99).
 *   FILTER  run only the tests whose name contains FILTER (any of them);
 *           a FILTER that matches no test counts as one failure
 *   -l      list the tests (those the filters select) and exit
 *   -i      every test in a process of its own (as .isolate does)
 *   -s N    multiply every time limit by N (slow machines)
 *   -n      no runner process: run the tests right here, with no time
 *           limit and no protection from crashes (for a debugger)
 *
 * How a run works (px_test.c, px_test_runner.c).  The program becomes a
 * runner that starts one child process, the same program, which runs the
 * tests one after another and tells the runner over a pipe when each
 * begins and ends.  The runner waits for those messages with a timeout:
 *   - a test that outlives its time limit (guest time, default
 *     PX_TEST_TIME_LIMIT_MS) is killed, whatever it was doing: spinning,
 *     blocked in a syscall, awaiting something that never comes;
 *   - a test that crashes (a fault, an executor assertion, exit() or the
 *     reactor's deadlock exit) fails alone;
 * in both cases the runner reports it and starts a new child for the
 * tests after it.  An isolated test (.isolate, or -i for all) gets a
 * child of its own, so nothing it does to the process (fds, the heap,
 * static variables) reaches another test.
 *
 * Each test starts on a fresh executor (px_async_reset).  When it ends,
 * whatever it left is a failure, reported and then cleaned up: tasks
 * still alive, timers still queued, ring operations still in flight
 * (px_async_inflight), and file descriptors it opened and did not close.
 *
 * Assertions print the file, the line and the values:
 *   test counts: FAILED: user/count_test.c:12: PX_ASSERT_EQ(n, 3): n = 2
 * A failed assertion ends the test: it returns from the function it is
 * written in, a test body (PX_TEST or PX_ASYNC_TEST; an async one returns
 * Ready).  Elsewhere an assertion does not compile, unless the function
 * says what it is (its first line):
 *     PX_TEST_HELPER;          a function returning void
 *     PX_TEST_ASYNC_HELPER;    a poll function (a future the test awaits)
 * Then a failure returns from the helper, and the test goes on after the
 * call (or the AWAIT), already failed: px_test_failed() says so.
 */

#define PX_TEST_TIME_LIMIT_MS 10000     /* per test, unless .time_limit_ms */

struct px_test_plain;   /* never defined: they only tell the assertions */
struct px_test_async;   /* which kind of function they are in */

/* One test; PX_TEST and PX_ASYNC_TEST make and register them. */
struct px_test {
	const char *name;
	const char *file;
	int line;
	void (*fn)(struct px_test_plain *);     /* PX_TEST */
	const struct future_vtable *vtable;      /* PX_ASYNC_TEST, and the */
	size_t size;                             /* size of its state */
	/* Options */
	unsigned time_limit_ms;         /* 0: PX_TEST_TIME_LIMIT_MS */
	bool isolate;                   /* run in a process of its own */
	bool virtual_time;              /* px_async_virtual_time(1) for it */
	struct px_test *next;           /* the harness's list */
};

/* Called before main (the macros do it); tests run in this order. */
void px_test_register(struct px_test *t);

#define PX_TEST(id, ...)                                                      \
	static void px_test_fn_##id(struct px_test_plain *px_test_kind_);     \
	static struct px_test px_test_##id = {                                \
		.name = #id, .file = __FILE__, .line = __LINE__,              \
		.fn = px_test_fn_##id, __VA_ARGS__ };                         \
	__attribute__((constructor)) static void px_test_reg_##id(void)       \
	{                                                                     \
		px_test_register(&px_test_##id);                              \
	}                                                                     \
	static void px_test_fn_##id(                                          \
		struct px_test_plain *px_test_kind_ __attribute__((unused)))

/* type: the test's state, a struct that starts with `struct future base;
 * int state;`; var: the name the body gives the pointer to it. */
#define PX_ASYNC_TEST(id, type, var, ...)                                     \
	static enum poll px_test_body_##id(type *var, struct context *cx,     \
	                                   struct px_test_async *px_test_kind_); \
	static enum poll px_test_poll_##id(struct future *f,                  \
	                                   struct context *cx)                \
	{                                                                     \
		return px_test_body_##id((type *)f, cx, NULL);                \
	}                                                                     \
	static const struct future_vtable px_test_vt_##id = {                 \
		px_test_poll_##id, NULL };                                    \
	static struct px_test px_test_##id = {                                \
		.name = #id, .file = __FILE__, .line = __LINE__,              \
		.vtable = &px_test_vt_##id, .size = sizeof(type),             \
		__VA_ARGS__ };                                                \
	__attribute__((constructor)) static void px_test_reg_##id(void)       \
	{                                                                     \
		px_test_register(&px_test_##id);                              \
	}                                                                     \
	static enum poll px_test_body_##id(                                   \
		type *var, struct context *cx __attribute__((unused)),        \
		struct px_test_async *px_test_kind_ __attribute__((unused)))

/* ---- Assertions --------------------------------------------------------
 *
 * PX_ASSERT(cond)
 * PX_ASSERT_EQ(a, b), _NE, _LT, _LE, _GT, _GE     integers (not pointers)
 *     compared as C compares them (the usual arithmetic conversions), so
 *     unsigned values print as unsigned
 * PX_ASSERT_STR_EQ(a, b)                          NUL-terminated strings
 * PX_FAIL("format", ...)                          fail with a message
 *
 * How a failure leaves the function: `return` in a plain test (void),
 * `return POLL_READY` in an async one.  The hidden parameter
 * px_test_kind_ that both kinds of body have says which, through its
 * type (_Generic).  Returning a void expression from a void function, as
 * the plain case does, is a GNU C extension (GCC and Clang warn only
 * with -Wpedantic).
 */
#define PX_TEST_HELPER                                                        \
	struct px_test_plain *const px_test_kind_ __attribute__((unused)) = NULL
#define PX_TEST_ASYNC_HELPER                                                  \
	struct px_test_async *const px_test_kind_ __attribute__((unused)) = NULL

#define PX_TEST_BAIL_                                                         \
	return _Generic(px_test_kind_,                                        \
		struct px_test_plain *: (void)0,                              \
		struct px_test_async *: POLL_READY)

#define PX_ASSERT(cond)                                                       \
	do {                                                                  \
		if (!(cond)) {                                                \
			px_test_fail(__FILE__, __LINE__, "PX_ASSERT(%s)", #cond); \
			PX_TEST_BAIL_;                                        \
		}                                                             \
	} while (0)

#define PX_FAIL(...)                                                          \
	do {                                                                  \
		px_test_fail(__FILE__, __LINE__, __VA_ARGS__);                \
		PX_TEST_BAIL_;                                                \
	} while (0)

enum px_test_op { PX_TEST_EQ, PX_TEST_NE, PX_TEST_LT, PX_TEST_LE, PX_TEST_GT, PX_TEST_GE };

/* The comparison in the type C would compare a and b in.  The texts are
 * taken where the reader wrote them (macros not yet expanded). */
#define PX_TEST_CMP_(op, a, b, ta, tb)                                        \
	do {                                                                  \
		if (!_Generic((a) + (b),                                      \
			unsigned int: px_test_cmp_u,                          \
			unsigned long: px_test_cmp_u,                         \
			unsigned long long: px_test_cmp_u,                    \
			default: px_test_cmp_i)(__FILE__, __LINE__, op, ta, tb, (a), (b))) \
			PX_TEST_BAIL_;                                        \
	} while (0)

#define PX_ASSERT_EQ(a, b) PX_TEST_CMP_(PX_TEST_EQ, a, b, #a, #b)
#define PX_ASSERT_NE(a, b) PX_TEST_CMP_(PX_TEST_NE, a, b, #a, #b)
#define PX_ASSERT_LT(a, b) PX_TEST_CMP_(PX_TEST_LT, a, b, #a, #b)
#define PX_ASSERT_LE(a, b) PX_TEST_CMP_(PX_TEST_LE, a, b, #a, #b)
#define PX_ASSERT_GT(a, b) PX_TEST_CMP_(PX_TEST_GT, a, b, #a, #b)
#define PX_ASSERT_GE(a, b) PX_TEST_CMP_(PX_TEST_GE, a, b, #a, #b)

#define PX_ASSERT_STR_EQ(a, b)                                                \
	do {                                                                  \
		if (!px_test_str_eq(__FILE__, __LINE__, #a, #b, (a), (b)))    \
			PX_TEST_BAIL_;                                        \
	} while (0)

/* Behind the macros: each returns true if the check held, else records
 * the failure (the first one is the test's verdict; later ones are
 * printed as they happen). */
bool px_test_cmp_i(const char *file, int line, enum px_test_op op, const char *ea,
                   const char *eb, long long a, long long b);
bool px_test_cmp_u(const char *file, int line, enum px_test_op op, const char *ea,
                   const char *eb, unsigned long long a, unsigned long long b);
bool px_test_str_eq(const char *file, int line, const char *ea, const char *eb,
                    const char *a, const char *b);
void px_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True once the running test has failed. */
bool px_test_failed(void);

/* ---- Waiting for a condition, with a deadline ----------------------------
 *
 * Something another task or process will make true, soon: check it
 * until it holds or the time is up, after 1 ms, then 2, 4, ... at most
 * 64 ms apart (so a long wait on virtual time costs few checks).
 *
 *   async:  struct px_wait w;   in the test's state
 *           px_wait_init(&t->w, TIMER_MS(500));
 *           AWAIT(t, px_wait_until(&t->w, t->got == 3, cx));
 *           PX_ASSERT(t->w.ok);
 *   (AWAIT evaluates the condition again at every poll; between checks
 *   the task sleeps on the wheel.)
 *
 *   plain:  PX_ASSERT_WITHIN(TIMER_MS(500), child_done());
 *   (between checks the process sleeps: px_sleep.)
 */
struct px_wait {
	struct sleep nap;
	uint64_t deadline;      /* px_now() */
	uint64_t step;          /* the next nap */
	bool napping;
	bool ok;                /* once Ready: the condition held */
};

void px_wait_init(struct px_wait *w, uint64_t timeout_ns);
/* Ready when cond is true (ok) or the time is up (!ok). */
enum poll px_wait_until(struct px_wait *w, bool cond, struct context *cx);
/* For a future that holds a px_wait and is dropped while it waits. */
void px_wait_drop(struct px_wait *w);
/* Blocking: sleep a step (px_sleep); false once the time is up. */
bool px_wait_tick(struct px_wait *w);

#define PX_ASSERT_WITHIN(timeout_ns, cond)                                    \
	do {                                                                  \
		struct px_wait px_w_;                                         \
		bool px_ok_;                                                  \
		(void)_Generic(px_test_kind_, struct px_test_plain *: 0);     \
		px_wait_init(&px_w_, timeout_ns);                             \
		while (!(px_ok_ = (cond)) && px_wait_tick(&px_w_))            \
			;                                                     \
		if (!px_ok_)                                                  \
			PX_FAIL("PX_ASSERT_WITHIN(%s, %s): still false after %llu ms", \
			        #timeout_ns, #cond,                           \
			        (unsigned long long)(timeout_ns) / 1000000);  \
	} while (0)

/* ---- A waker that counts -------------------------------------------------
 *
 * To poll a future by hand and see what it does with the waker:
 *
 *   struct px_test_waker w;
 *   px_test_waker_init(&w);
 *   PX_ASSERT_EQ(future_poll(&f.base, &w.cx), POLL_PENDING);
 *   ... make it ready ...
 *   PX_ASSERT_EQ(w.wakes + w.wakes_by_ref, 1);
 *   PX_ASSERT_EQ(px_test_waker_live(&w), 0);   every clone consumed
 *
 * w.waker itself belongs to the test: futures only borrow it (cx) and
 * clone it; each clone must be consumed once, by wake or drop.
 */
struct px_test_waker {
	struct waker waker;
	struct context cx;              /* { &waker } */
	unsigned clones;
	unsigned wakes;                 /* consuming: waker_wake on a clone */
	unsigned wakes_by_ref;
	unsigned drops;
};

void px_test_waker_init(struct px_test_waker *w);
/* Clones not yet consumed by a wake or a drop. */
int px_test_waker_live(const struct px_test_waker *w);

/* ---- Testing a program as a child process ----------------------------------
 *
 * px_child_spawn starts argv[0] from the archive with its stdin and
 * stdout on pipes (stderr stays the console; the child inherits no
 * other fd): write its input to c->in, read its output from c->out.
 * px_child_wait closes both (so the child sees the end of its input)
 * and returns its exit status (PX_EXIT_CODE, PX_WAS_KILLED ...).
 */
struct px_child {
	int pid;
	int in;                 /* write end of the child's stdin; -1 once closed */
	int out;                /* read end of the child's stdout; -1 once closed */
};

/* 0, or -PX_Exxx (nothing left open). */
long px_child_spawn(struct px_child *c, const char *const argv[]);
int px_child_wait(struct px_child *c);
/* Blocking: read fd until the end of input or until buf (n bytes, NUL
 * included) is full; NUL-terminates.  Bytes read, or -PX_Exxx. */
long px_read_all(int fd, char *buf, size_t n);

/* ---- Reading lines, asynchronously ----------------------------------------
 *
 * A child's output (or any pipe), one line at a time, so a test can
 * await it under a timeout:
 *
 *   px_lines_init(&t->lines, t->child.out);
 *   px_timeout_for(&t->lim, &t->lines.base, TIMER_SEC(2));
 *   AWAIT(t, timeout_poll(&t->lim, cx));
 *   PX_ASSERT_EQ(t->lim.result, TIMEOUT_OK);
 *   PX_ASSERT_STR_EQ(t->lines.line, "tick 1 s");
 *
 * A stream: each Ready is one line (in line, without its '\n'; a longer
 * line comes in parts of PX_LINE_MAX bytes), or the end of input (eof,
 * line empty); poll again,
 * or wrap it in a new timeout, for the next.  Dropping it (a timeout that
 * elapsed does) cancels the read in flight; nothing read is lost.
 */
#define PX_LINE_MAX 256

struct px_lines {
	struct future base;
	int fd;
	bool reading;           /* rd in flight */
	bool eof;               /* once Ready: the end of input */
	size_t len;             /* bytes in buf */
	struct px_io rd;
	char buf[PX_LINE_MAX];
	char line[PX_LINE_MAX + 1];
};

void px_lines_init(struct px_lines *l, int fd);
enum poll px_lines_next(struct px_lines *l, struct context *cx);
void px_lines_drop(struct px_lines *l);

/* ---- The runner ----------------------------------------------------------*/

/* What the library's main does; a program with a main of its own may call
 * it.  Returns the exit status (failures, at most 99; 2 for bad usage). */
int px_test_main(int argc, char **argv);

#endif /* USER_INCLUDE_PX_TEST_H */
