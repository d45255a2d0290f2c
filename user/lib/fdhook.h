/* Hooks the reactor sets into the plain read/close stubs: bytes of dropped reads, kept per fd. */
#ifndef USER_LIB_FDHOOK_H
#define USER_LIB_FDHOOK_H

#include <stddef.h>

/*
 * Private to user/lib.  NULL until the reactor first keeps bytes of a
 * dropped READ (user/lib/reactor.c, "cancel-safe reads"), so a program
 * that never drops one pays one test of a pointer per call and links no
 * reactor code.  read_hook: > 0 bytes taken from what fd has kept, 0 if
 * nothing is kept.  close_hook: fd is being closed; forget its bytes.
 */
extern long (*px_fd_read_hook)(int fd, void *buf, size_t n);
extern void (*px_fd_close_hook)(int fd);

#endif /* USER_LIB_FDHOOK_H */
