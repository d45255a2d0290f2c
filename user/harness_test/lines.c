/* harness_test: px_lines, reading a pipe a line at a time under timeouts. */
#include <string.h>

#include "px_test.h"

struct reading {
	struct future base;
	int state;
	int fds[2];
	int n;
	struct px_lines lines;
	struct timeout lim;
	char got[4][PX_LINE_MAX + 1];
};

/* Await the next line (2 s at most) into r->got[r->n++]. */
#define NEXT_LINE(r, cx)                                                      \
	do {                                                                  \
		px_timeout_for(&(r)->lim, &(r)->lines.base, TIMER_SEC(2));    \
		AWAIT(r, timeout_poll(&(r)->lim, cx));                        \
		PX_ASSERT_EQ((r)->lim.result, TIMEOUT_OK);                    \
		strcpy((r)->got[(r)->n++], (r)->lines.line);                  \
	} while (0)

/* Lines come however the writes cut them; the last one may lack its
 * newline; then the end of input. */
PX_ASYNC_TEST(lines_across_writes, struct reading, r)
{
	ASYNC_BEGIN(r);
	PX_ASSERT_EQ(pipe(r->fds), 0);
	px_lines_init(&r->lines, r->fds[0]);
	PX_ASSERT_EQ(write(r->fds[1], "ab", 2), 2);
	PX_ASSERT_EQ(write(r->fds[1], "c\nd", 3), 3);
	PX_ASSERT_EQ(write(r->fds[1], "e\nlast", 6), 6);
	close(r->fds[1]);
	NEXT_LINE(r, cx);
	NEXT_LINE(r, cx);
	NEXT_LINE(r, cx);
	PX_ASSERT_STR_EQ(r->got[0], "abc");
	PX_ASSERT_STR_EQ(r->got[1], "de");
	PX_ASSERT_STR_EQ(r->got[2], "last");
	NEXT_LINE(r, cx);
	PX_ASSERT(r->lines.eof);
	PX_ASSERT_STR_EQ(r->got[3], "");
	close(r->fds[0]);
	ASYNC_END(r);
}

/* A line longer than the buffer comes in parts. */
PX_ASYNC_TEST(long_line_in_parts, struct reading, r)
{
	static char big[PX_LINE_MAX + 11];

	ASYNC_BEGIN(r);
	PX_ASSERT_EQ(pipe(r->fds), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\n';
	PX_ASSERT_EQ(write(r->fds[1], big, sizeof(big)), (ssize_t)sizeof(big));
	close(r->fds[1]);
	px_lines_init(&r->lines, r->fds[0]);
	NEXT_LINE(r, cx);
	NEXT_LINE(r, cx);
	PX_ASSERT_EQ(strlen(r->got[0]), PX_LINE_MAX);
	PX_ASSERT_EQ(strlen(r->got[1]), sizeof(big) - 1 - PX_LINE_MAX);
	close(r->fds[0]);
	ASYNC_END(r);
}

/* A timeout that elapses while a read waits cancels the read; what is
 * written afterwards is the next line, whole. */
PX_ASYNC_TEST(timeout_loses_nothing, struct reading, r)
{
	ASYNC_BEGIN(r);
	PX_ASSERT_EQ(pipe(r->fds), 0);
	px_lines_init(&r->lines, r->fds[0]);
	PX_ASSERT_EQ(write(r->fds[1], "he", 2), 2);
	px_timeout_for(&r->lim, &r->lines.base, TIMER_MS(30));
	AWAIT(r, timeout_poll(&r->lim, cx));
	PX_ASSERT_EQ(r->lim.result, TIMEOUT_ELAPSED);
	PX_ASSERT_EQ(write(r->fds[1], "llo\n", 4), 4);
	NEXT_LINE(r, cx);
	PX_ASSERT_STR_EQ(r->got[0], "hello");
	close(r->fds[0]);
	close(r->fds[1]);
	ASYNC_END(r);
}
