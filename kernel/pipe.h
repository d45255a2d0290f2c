/* Pipes: a one-page ring between writers and readers, as a kind of file. */
#ifndef KERNEL_PIPE_H
#define KERNEL_PIPE_H

struct file;

#define PIPE_SIZE 4096

/*
 * pipe(): two new files, the read end and the write end of a fresh pipe.
 * Returns 0, or -PX_ENOMEM with nothing allocated.
 *
 * Read end: read completes with 1..n bytes as soon as any are queued, or
 * 0 once no writer is left and the ring is empty.  Write end: write
 * completes once all n bytes are in the ring (waiting for room as
 * needed), with n; -PX_EPIPE if no reader is left before anything was
 * written, else the bytes written so far.  Neither end can seek; fstat
 * says PX_S_FIFO with the bytes queued.
 */
int pipe_files(struct file **rd, struct file **wr);

#endif /* KERNEL_PIPE_H */
