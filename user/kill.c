/* kill: end processes: `kill PID...` one process each, `kill -PGID` every process of a group (a job). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"

/*
 * The shell prints a background job's number, [7]: that is its process
 * group, so `kill -7` ends the whole pipeline.  Each process ends with
 * the status PX_KILLED | PX_KILL_SIGNAL ("killed").
 */
int main(int argc, char **argv)
{
	int failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: kill PID... | kill -PGID...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		char *end;
		long id = strtol(argv[i], &end, 10);
		if (*end || end == argv[i] || id == 0) {
			fprintf(stderr, "kill: %s: not a process or group number\n", argv[i]);
			failed = 1;
		} else if (kill((int)id) < 0) {
			fprintf(stderr, "kill: %s: %s\n", argv[i],
				errno == ESRCH ? "no such process" : strerror(errno));
			failed = 1;
		}
	}
	return failed;
}
