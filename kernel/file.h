/* Open files: what a file descriptor refers to (the console or a pipe end). */
#ifndef KERNEL_FILE_H
#define KERNEL_FILE_H

#include <stdatomic.h>
#include <stdbool.h>

struct pipe;

enum file_kind {
	FILE_CONSOLE,
	FILE_PIPE_READ,
	FILE_PIPE_WRITE,
};

/* Shared by every descriptor that dup() or spawn copied; freed (and the
 * pipe end closed) when the last reference goes. */
struct file {
	enum file_kind kind;
	atomic_int refs;
	struct pipe *pipe;
};

/* A new reference to the console. */
struct file *file_console(void);
/* New files for the two ends of a fresh pipe; false if out of memory. */
bool file_pipe(struct file **rd, struct file **wr);
/* Another reference (NULL stays NULL). */
struct file *file_dup(struct file *f);
/* Drop a reference (NULL is fine). */
void file_put(struct file *f);

#endif /* KERNEL_FILE_H */
