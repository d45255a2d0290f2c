/* spin: a program that never ends by itself, for trying Ctrl-C (and the shell's tests). */
#include <stdio.h>
#include <string.h>

#include "px.h"
#include "px_ring.h"

/*
 *   spin         loops forever without a single syscall: only the time
 *                slice (or a kill's IPI) takes the hart back from it
 *   spin ring    waits forever in ring_enter, for a completion that
 *                never comes (no operation is submitted)
 *
 * Each says what it is about to do first, so a test knows when to press
 * Ctrl-C.  Both end only when killed.
 */
int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "ring") == 0) {
		struct px_ring r;
		long err = px_ring_init(&r, 1);
		if (err < 0) {
			printf("spin: ring_setup: error %ld\n", err);
			return 1;
		}
		printf("spin: waiting in ring_enter\n");
		fflush(stdout);
		for (;;)
			px_ring_enter(0, 1, PX_RING_FOREVER);
	}
	if (argc > 1) {
		fprintf(stderr, "usage: spin [ring]\n");
		return 2;
	}
	printf("spin: spinning\n");
	fflush(stdout);
	for (volatile unsigned long n = 0;; n++)
		;
}
