/* Open files: reference-counted console and pipe ends shared by descriptors. */
#include <stddef.h>

#include "kernel/file.h"
#include "kernel/kalloc.h"
#include "kernel/pipe.h"

/* One console file for everyone; its count never reaches zero. */
static struct file console_file = { FILE_CONSOLE, 1, NULL };

struct file *file_console(void)
{
	return file_dup(&console_file);
}

struct file *file_dup(struct file *f)
{
	if (f)
		atomic_fetch_add(&f->refs, 1);
	return f;
}

bool file_pipe(struct file **rd, struct file **wr)
{
	struct pipe *p = pipe_create();
	struct file *r = kmalloc(sizeof(*r)), *w = kmalloc(sizeof(*w));
	if (!p || !r || !w) {
		if (p) {
			pipe_close(p, false);
			pipe_close(p, true);
		}
		kfree(r, sizeof(*r));
		kfree(w, sizeof(*w));
		return false;
	}
	*r = (struct file){ FILE_PIPE_READ, 1, p };
	*w = (struct file){ FILE_PIPE_WRITE, 1, p };
	*rd = r;
	*wr = w;
	return true;
}

void file_put(struct file *f)
{
	if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	if (f->kind == FILE_CONSOLE)
		return; /* not reached: console_file keeps its own reference */
	pipe_close(f->pipe, f->kind == FILE_PIPE_WRITE);
	kfree(f, sizeof(*f));
}
