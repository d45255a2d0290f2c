/* The test harness's core: the list of tests, assertions, one test run in this process, the command line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"
#include "px_async.h"
#include "px_test.h"
#include "px_test_int.h"

#define NFD 32          /* descriptors the leak check looks at: a leaked fd is
                           the lowest free one, so it is among the first few */
#define WHY_MAX 320     /* the verdict line's reason */
#define ALSO_MAX 4      /* later failures kept to print after the verdict */

static struct px_test *tests, **tests_tail = &tests;
static unsigned ntests;

void px_test_register(struct px_test *t)
{
	t->next = NULL;
	*tests_tail = t;
	tests_tail = &t->next;
	ntests++;
}

unsigned px_test_count(void)
{
	return ntests;
}

const struct px_test *px_test_at(unsigned i)
{
	const struct px_test *t = tests;

	while (t && i--)
		t = t->next;
	return t;
}

/* ---- failures ----------------------------------------------------------------*/

/* The test running in this process and how it is going. */
static struct {
	const struct px_test *test;
	unsigned failures;
	char why[WHY_MAX];      /* the first failure */
	char also[ALSO_MAX][WHY_MAX];
} cur;

bool px_test_failed(void)
{
	return cur.failures != 0;
}

static void vfail(const char *file, int line, const char *fmt, va_list ap)
{
	char msg[WHY_MAX];
	int k = snprintf(msg, sizeof(msg), "%s:%d: ", file, line);

	vsnprintf(msg + k, sizeof(msg) - (size_t)k, fmt, ap);
	if (!cur.test) {
		fprintf(stderr, "px_test: a check failed outside a test: %s\n", msg);
		return;
	}
	if (cur.failures == 0)
		memcpy(cur.why, msg, sizeof(msg));
	else if (cur.failures <= ALSO_MAX)
		memcpy(cur.also[cur.failures - 1], msg, sizeof(msg));
	cur.failures++;
}

void px_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(file, line, fmt, ap);
	va_end(ap);
}

static const char *const op_names[] = { "EQ", "NE", "LT", "LE", "GT", "GE" };

/* "PX_ASSERT_EQ(n, 3): n = 2": each side's value, unless its text
 * already says it (a literal). */
static void cmp_failed(const char *file, int line, const char *which, const char *ea,
                       const char *eb, const char *va, const char *vb)
{
	char vals[WHY_MAX / 2] = "";
	int k = 0;

	if (strcmp(ea, va) != 0)
		k = snprintf(vals, sizeof(vals), ": %s = %s", ea, va);
	if (strcmp(eb, vb) != 0 && k >= 0 && (size_t)k < sizeof(vals))
		snprintf(vals + k, sizeof(vals) - (size_t)k, "%s%s = %s", k ? ", " : ": ", eb, vb);
	px_test_fail(file, line, "PX_ASSERT_%s(%s, %s)%s", which, ea, eb, vals);
}

static bool holds(enum px_test_op op, int sign)
{
	switch (op) {
	case PX_TEST_EQ: return sign == 0;
	case PX_TEST_NE: return sign != 0;
	case PX_TEST_LT: return sign < 0;
	case PX_TEST_LE: return sign <= 0;
	case PX_TEST_GT: return sign > 0;
	default: return sign >= 0;
	}
}

bool px_test_cmp_i(const char *file, int line, enum px_test_op op, const char *ea,
                   const char *eb, long long a, long long b)
{
	char va[24], vb[24];

	if (holds(op, (a > b) - (a < b)))
		return true;
	snprintf(va, sizeof(va), "%lld", a);
	snprintf(vb, sizeof(vb), "%lld", b);
	cmp_failed(file, line, op_names[op], ea, eb, va, vb);
	return false;
}

bool px_test_cmp_u(const char *file, int line, enum px_test_op op, const char *ea,
                   const char *eb, unsigned long long a, unsigned long long b)
{
	char va[24], vb[24];

	if (holds(op, (a > b) - (a < b)))
		return true;
	snprintf(va, sizeof(va), "%llu", a);
	snprintf(vb, sizeof(vb), "%llu", b);
	cmp_failed(file, line, op_names[op], ea, eb, va, vb);
	return false;
}

/* s as a C string literal, shortened to fit n bytes ("..." at the end). */
static void quote(char *out, size_t n, const char *s)
{
	size_t k = 0;

	if (!s) {
		snprintf(out, n, "NULL");
		return;
	}
	out[k++] = '"';
	for (; *s && k + 8 < n; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
		                : c == '"' ? "\\\"" : c == '\\' ? "\\\\" : NULL;
		if (esc)
			k += (size_t)snprintf(out + k, n - k, "%s", esc);
		else if (c < 0x20 || c >= 0x7f)
			k += (size_t)snprintf(out + k, n - k, "\\x%02x", c);
		else
			out[k++] = (char)c;
	}
	snprintf(out + k, n - k, *s ? "\"..." : "\"");
}

bool px_test_str_eq(const char *file, int line, const char *ea, const char *eb,
                    const char *a, const char *b)
{
	char va[WHY_MAX / 4], vb[WHY_MAX / 4];

	if (a && b && strcmp(a, b) == 0)
		return true;
	quote(va, sizeof(va), a);
	quote(vb, sizeof(vb), b);
	cmp_failed(file, line, "STR_EQ", ea, eb, va, vb);
	return false;
}

/* ---- one test, in this process -----------------------------------------------*/

static unsigned open_fds(void)
{
	struct px_stat st;
	unsigned m = 0;

	for (int fd = 0; fd < NFD; fd++)
		if (px_fstat(fd, &st) == 0)
			m |= 1u << fd;
	return m;
}

/* An async test runs as a task of its own, so that whatever it leaves
 * holding its waker (a timer, an op) keeps only the task alive, never a
 * stack frame: block_on waits for the join handle. */
static void run_async(const struct px_test *t)
{
	struct future *proto = calloc(1, t->size);
	struct join_handle jh;
	int err;

	if (!proto) {
		px_test_fail(t->file, t->line, "no memory for the test's state (%zu bytes)", t->size);
		return;
	}
	proto->vtable = t->vtable;
	struct task_desc d = { .name = t->name, .future = proto, .future_size = t->size };
	err = px_task_spawn(&d, &jh);
	free(proto);                    /* the task has its own copy */
	if (err != TASK_OK) {
		px_test_fail(t->file, t->line, "cannot spawn the test's task (%d)", err);
		return;
	}
	exec_block_on(px_executor(), &jh.base);
}

static void report_inflight(const struct px_test *t, const struct px_async_inflight *in)
{
	char what[96];
	int k = 0;

	if (in->tasks)
		k += snprintf(what + k, sizeof(what) - (size_t)k, "%zu task%s, ", in->tasks,
		              in->tasks == 1 ? "" : "s");
	if (in->timers)
		k += snprintf(what + k, sizeof(what) - (size_t)k, "%u timer%s, ", in->timers,
		              in->timers == 1 ? "" : "s");
	if (in->ops)
		k += snprintf(what + k, sizeof(what) - (size_t)k, "%u ring operation%s, ",
		              in->ops, in->ops == 1 ? "" : "s");
	what[k - 2] = '\0';
	px_test_fail(t->file, t->line, "left in flight: %s", what);
}

static void report_fds(const struct px_test *t, unsigned fds)
{
	char what[96];
	int k = 0, n = 0;

	for (int fd = 0; fd < NFD; fd++)
		if (fds & (1u << fd)) {
			k += snprintf(what + k, sizeof(what) - (size_t)k, "%s%d", k ? ", " : "", fd);
			px_close(fd);
			n++;
		}
	px_test_fail(t->file, t->line, "left open: file descriptor%s %s", n > 1 ? "s" : "",
	             what);
}

bool px_test_run_here(unsigned i)
{
	const struct px_test *t = px_test_at(i);
	unsigned fds = open_fds();
	struct px_async_inflight in;

	cur.test = t;
	cur.failures = 0;
	cur.why[0] = '\0';
	px_async_reset();
	if (t->virtual_time)
		px_async_virtual_time(1);
	if (t->fn)
		t->fn(NULL);
	else
		run_async(t);
	px_async_inflight(&in);
	if (in.tasks || in.timers || in.ops)
		report_inflight(t, &in);
	px_async_reset();
	fds = open_fds() & ~fds;
	if (fds)
		report_fds(t, fds);
	if (cur.failures) {
		printf("test %s: FAILED: %s\n", t->name, cur.why);
		for (unsigned k = 1; k < cur.failures && k <= ALSO_MAX; k++)
			printf("  also %s\n", cur.also[k - 1]);
		if (cur.failures > ALSO_MAX + 1)
			printf("  and %u more\n", cur.failures - ALSO_MAX - 1);
	} else {
		printf("test %s: OK\n", t->name);
	}
	fflush(stdout);
	cur.test = NULL;
	return cur.failures == 0;
}

/* ---- selection and the command line -------------------------------------------*/

bool px_test_selected(const struct px_test_opts *o, unsigned i)
{
	const struct px_test *t = px_test_at(i);

	if (!t)
		return false;
	if (o->nfilters == 0)
		return true;
	for (int f = 0; f < o->nfilters; f++)
		if (strstr(t->name, o->filters[f]))
			return true;
	return false;
}

unsigned px_test_next(const struct px_test_opts *o, unsigned i)
{
	while (i < ntests && !px_test_selected(o, i))
		i++;
	return i;
}

unsigned px_test_limit_ms(const struct px_test_opts *o, const struct px_test *t)
{
	return (t->time_limit_ms ? t->time_limit_ms : PX_TEST_TIME_LIMIT_MS) * o->scale;
}

static int usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-l] [-i] [-n] [-s N] [FILTER...]\n", prog);
	return 2;
}

static int parse(struct px_test_opts *o, int argc, char **argv)
{
	int a = 1;

	memset(o, 0, sizeof(*o));
	o->scale = 1;
	if (argc >= 5 && strcmp(argv[1], "--px-child") == 0) {
		o->child = true;
		o->wfd = atoi(argv[2]);
		o->rfd = atoi(argv[3]);
		o->first = (unsigned)atoi(argv[4]);
		a = 5;
	}
	o->args = argv + a;
	o->nargs = argc - a;
	for (; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "-l") == 0)
			o->list = true;
		else if (strcmp(argv[a], "-i") == 0)
			o->isolate = true;
		else if (strcmp(argv[a], "-n") == 0)
			o->here = true;
		else if (strcmp(argv[a], "-s") == 0 && a + 1 < argc && atoi(argv[a + 1]) > 0)
			o->scale = (unsigned)atoi(argv[++a]);
		else
			return -1;
	}
	o->filters = argv + a;
	o->nfilters = argc - a;
	return 0;
}

int px_test_main(int argc, char **argv)
{
	struct px_test_opts o;
	const char *prog = argc > 0 ? argv[0] : "px_test";
	int passed = 0, failed = 0;

	if (parse(&o, argc, argv) < 0)
		return usage(prog);
	if (o.child)
		return px_test_child(&o);
	if (o.list) {
		for (unsigned i = 0; i < ntests; i++)
			if (px_test_selected(&o, i))
				printf("%s\n", px_test_at(i)->name);
		return 0;
	}
	if (ntests == 0)
		printf("%s: no tests (PX_TEST, PX_ASYNC_TEST) and no main\n", prog);
	/* A filter that selects nothing is a mistake, not a pass. */
	for (int f = 0; f < o.nfilters; f++) {
		unsigned i;
		for (i = 0; i < ntests && !strstr(px_test_at(i)->name, o.filters[f]); i++)
			;
		if (i == ntests) {
			printf("test %s: FAILED: no test matches this filter\n", o.filters[f]);
			failed++;
		}
	}
	if (!o.here && px_test_supervise(&o, prog, &passed, &failed) < 0) {
		printf("%s: cannot start a test process; running the tests here, "
		       "without time limits\n", prog);
		o.here = true;
	}
	if (o.here) {
		for (unsigned i = px_test_next(&o, 0); i < ntests; i = px_test_next(&o, i + 1)) {
			if (px_test_run_here(i))
				passed++;
			else
				failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed > 99 ? 99 : failed;
}

/* A test program has no main of its own: this one runs its tests.  Weak,
 * so that every other program's main wins (the library is linked into
 * all of them). */
__attribute__((weak)) int main(int argc, char **argv)
{
	return px_test_main(argc, argv);
}
