/* The console's keys and tasks: the kernel shell, the Ctrl-T reporter, what Ctrl-C kills. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/timer.h"
#include "kernel/console.h"
#include "kernel/ktask.h"
#include "kernel/kshell.h"
#include "kernel/ktimer.h"
#include "kernel/machine.h"
#include "kernel/net/net_kernel.h"
#include "kernel/panic.h"
#include "kernel/proc.h"

/*
 * A teaching console until user mode brings a real shell: it reads lines
 * (the console's cooked mode echoes and edits them), runs a few built-in
 * commands, and between keys the hart sleeps: the only thing that wakes
 * this task is the UART interrupt.
 */
struct kshell {
	struct future base;
	int state;
	char line[128];
	char out[160];
	struct console_read rd;
	struct console_write wr;
	struct sleep nap;
};

static void say(struct kshell *sh, const char *s)
{
	size_t n = strlen(s);
	if (n >= sizeof(sh->out))
		n = sizeof(sh->out) - 1;
	memcpy(sh->out, s, n);
	console_write_init(&sh->wr, sh->out, n);
}

static const char help[] =
	"commands: help, tasks (or Ctrl-T), net, uptime, sleep MS, poweroff\n";

static enum poll kshell_poll(struct future *f, struct context *cx)
{
	struct kshell *sh = (struct kshell *)f;

	ASYNC_BEGIN(sh);
	say(sh, "Type 'help'. Ctrl-T lists tasks. (QEMU: Ctrl-A x quits.)\n");
	AWAIT(sh, console_write_poll(&sh->wr, cx));
	for (;;) {
		say(sh, "pollux> ");
		AWAIT(sh, console_write_poll(&sh->wr, cx));
		console_read_init(&sh->rd, sh->line, sizeof(sh->line) - 1);
		AWAIT(sh, console_read_poll(&sh->rd, cx));
		if (sh->rd.result == 0) {
			say(sh, "\n(end of input)\n");
			AWAIT(sh, console_write_poll(&sh->wr, cx));
			continue;
		}
		sh->line[sh->rd.result] = '\0';
		sh->line[strcspn(sh->line, "\n")] = '\0';
		if (strcmp(sh->line, "help") == 0) {
			say(sh, help);
		} else if (strcmp(sh->line, "tasks") == 0) {
			ktask_print_table();
			say(sh, "");
		} else if (strcmp(sh->line, "net") == 0) {
			netk_print_stats();
			say(sh, "");
		} else if (strcmp(sh->line, "uptime") == 0) {
			uint64_t ms = ktimer_now_ns() / 1000000;
			snprintf(sh->out, sizeof(sh->out), "up %llu.%03llu s\n",
				 (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
			console_write_init(&sh->wr, sh->out, strlen(sh->out));
		} else if (strncmp(sh->line, "sleep ", 6) == 0) {
			sleep_for(&sh->nap, exec_wheel(&kernel_exec), ktimer_now_ns(),
				  strtoull(sh->line + 6, NULL, 10) * 1000000ull);
			AWAIT(sh, sleep_poll(&sh->nap, cx));
			say(sh, "(slept)\n");
		} else if (strcmp(sh->line, "poweroff") == 0) {
			console_write_sync("bye\n", 4);
			arch_power_off(EXIT_OK);
		} else if (sh->line[0]) {
			snprintf(sh->out, sizeof(sh->out), "%s: unknown command (try help)\n",
				 sh->line);
			console_write_init(&sh->wr, sh->out, strlen(sh->out));
		} else {
			say(sh, "");
		}
		AWAIT(sh, console_write_poll(&sh->wr, cx));
	}
	ASYNC_END(sh);
}

static void kshell_drop(struct future *f)
{
	struct kshell *sh = (struct kshell *)f;
	console_read_drop(&sh->rd);
	console_write_drop(&sh->wr);
}

static const struct future_vtable kshell_vtable = { kshell_poll, kshell_drop };

/* Ctrl-T: the console interrupt notifies; this task prints the table. */
struct kinfo {
	struct future base;
	int state;
	struct notified ev;
};

static enum poll kinfo_poll(struct future *f, struct context *cx)
{
	struct kinfo *k = (struct kinfo *)f;

	ASYNC_BEGIN(k);
	for (;;) {
		notified_init(&k->ev, &console_info);
		AWAIT(k, notified_poll(&k->ev, cx));
		console_write_sync("\n", 1);
		ktask_print_table();
	}
	ASYNC_END(k);
}

static void kinfo_drop(struct future *f)
{
	notified_drop(&((struct kinfo *)f)->ev);
}

static const struct future_vtable kinfo_vtable = { kinfo_poll, kinfo_drop };

/*
 * Ctrl-C with a foreground process group: the console's receive
 * interrupt calls this (console.c, intr_rx).  It kills in interrupt
 * context, with proc_kill's machinery, which only marks and wakes: each
 * process is marked killed, its task woken (a syscall it waits in,
 * ring_enter included, is dropped at its next poll), and a hart running
 * it in user mode gets an IPI (on this hart the interrupt itself already
 * took the hart from user code).  A task woken by the interrupt would be
 * too late: a busy hart looks at its injection queue only every
 * EXEC_INJECT_INTERVAL polls, and a process's poll may last a whole
 * slice, so behind busy loops the kill would wait some 0.6 s.
 */
static void intr_kill(int pgid)
{
	proc_kill_group(pgid, PX_KILL_INTR);
}

void kshell_start(void)
{
	struct kshell sh = { .base = { &kshell_vtable }, .state = ASYNC_INIT };
	if (KSPAWN(sh, "shell", NULL) != TASK_OK)
		panic("cannot spawn the shell");
}

void kshell_keys_start(void)
{
	struct kinfo info = { .base = { &kinfo_vtable }, .state = ASYNC_INIT };
	if (KSPAWN(info, "ctrl-t", NULL) != TASK_OK)
		panic("cannot spawn the Ctrl-T task");
	console_set_intr_handler(intr_kill);
}
