/* Small helpers the file programs share: short error messages, path joining. */
#ifndef USER_INCLUDE_PXUTIL_H
#define USER_INCLUDE_PXUTIL_H

#include <stddef.h>

/* A short lowercase message for errno value e, as the programs print it
 * ("rm: x: no such file"): strerror's wording is long and capitalised. */
const char *errstr(int e);

/* dir + "/" + name into out (n bytes); -1 if it does not fit. */
int path_join(char *out, size_t n, const char *dir, const char *name);

/* The last component of path (after the last '/', trailing slashes
 * ignored), copied into out (n bytes). */
void path_base(char *out, size_t n, const char *path);

#endif /* USER_INCLUDE_PXUTIL_H */
