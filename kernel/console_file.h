/* The console as a kind of file (what fds 0, 1 and 2 of the first process name). */
#ifndef KERNEL_CONSOLE_FILE_H
#define KERNEL_CONSOLE_FILE_H

struct file;

/* A new reference to the one console file.  Read: the console's cooked
 * or raw read (console.h) into the program's memory; write: its bytes
 * through the transmit ring; fstat: PX_S_CHR.  It cannot seek. */
struct file *console_file_open(void);

#endif /* KERNEL_CONSOLE_FILE_H */
