/* init: the first process; keeps a shell running and reaps every child. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "px.h"

/*
 * Starts sh and waits.  wait(-1) also collects children that other
 * processes left behind (if the kernel hands orphans to init).  When sh
 * ends, init says how and starts a new one; if sh cannot be started at
 * all, it retries once a second rather than spinning.
 */
int main(void)
{
	static const char *const argv[] = { "sh", NULL };

	for (;;) {
		int pid = spawn("sh", argv);

		if (pid < 0) {
			fprintf(stderr, "init: cannot start sh: %s\n", strerror(errno));
			sleep_ms(1000);
			continue;
		}
		for (;;) {
			int status, w = wait(-1, &status);

			if (w < 0) {
				fprintf(stderr, "init: wait: %s\n", strerror(errno));
				break;
			}
			if (w != pid)
				continue; /* some other child: reaped */
			if (PX_WAS_KILLED(status))
				printf("init: sh (pid %d) %s; restarting\n", pid,
				       px_kill_reason_name(PX_KILL_REASON(status)));
			else
				printf("init: sh (pid %d) exited with status %d; restarting\n",
				       pid, PX_EXIT_CODE(status));
			break;
		}
	}
}
