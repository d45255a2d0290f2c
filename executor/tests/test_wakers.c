/* Counting test wakers for the leaf-future tests: record wakes, clones, drops. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_wakers.h"

#define TW_LOG_MAX 4096

/* Wakes may come from several threads: the log has its own lock. */
static pthread_mutex_t tw_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char tw_log_buf[TW_LOG_MAX];
static char tw_log_copy[TW_LOG_MAX];
static size_t tw_log_used;

static void tw_log_append(int id)
{
	char item[16];
	pthread_mutex_lock(&tw_log_lock);
	int len = snprintf(item, sizeof(item), tw_log_used ? ",%d" : "%d", id);
	if (len > 0 && tw_log_used + (size_t)len + 1 <= TW_LOG_MAX) {
		memcpy(tw_log_buf + tw_log_used, item, (size_t)len + 1);
		tw_log_used += (size_t)len;
	}
	pthread_mutex_unlock(&tw_log_lock);
}

void tw_log_reset(void)
{
	pthread_mutex_lock(&tw_log_lock);
	tw_log_used = 0;
	tw_log_buf[0] = '\0';
	pthread_mutex_unlock(&tw_log_lock);
}

/* A snapshot, valid until the next call. */
const char *tw_log(void)
{
	pthread_mutex_lock(&tw_log_lock);
	memcpy(tw_log_copy, tw_log_buf, tw_log_used + 1);
	pthread_mutex_unlock(&tw_log_lock);
	return tw_log_copy;
}

static struct raw_waker tw_clone(const void *data);
static void tw_wake(const void *data);
static void tw_wake_by_ref(const void *data);
static void tw_drop(const void *data);

static const struct raw_waker_vtable tw_vtable = {
	tw_clone, tw_wake, tw_wake_by_ref, tw_drop,
};

static struct tw *tw_of(const void *data)
{
	return (struct tw *)(uintptr_t)data;
}

static struct raw_waker tw_clone(const void *data)
{
	atomic_fetch_add(&tw_of(data)->clones, 1);
	return (struct raw_waker){ data, &tw_vtable };
}

static void tw_wake(const void *data)
{
	struct tw *t = tw_of(data);
	atomic_fetch_add(&t->wakes, 1);
	tw_log_append(t->id);
}

static void tw_wake_by_ref(const void *data)
{
	struct tw *t = tw_of(data);
	atomic_fetch_add(&t->wake_by_refs, 1);
	tw_log_append(t->id);
}

static void tw_drop(const void *data)
{
	atomic_fetch_add(&tw_of(data)->drops, 1);
}

void tw_init(struct tw *t, int id)
{
	atomic_init(&t->clones, 0);
	atomic_init(&t->wakes, 0);
	atomic_init(&t->wake_by_refs, 0);
	atomic_init(&t->drops, 0);
	t->id = id;
	t->w.raw.data = t;
	t->w.raw.vtable = &tw_vtable;
	t->cx.waker = &t->w;
}

int tw_live(struct tw *t)
{
	return atomic_load(&t->clones) - atomic_load(&t->wakes) -
	       atomic_load(&t->drops);
}

int tw_woken(struct tw *t)
{
	return atomic_load(&t->wakes) + atomic_load(&t->wake_by_refs);
}
