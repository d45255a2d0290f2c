/* Helpers the file programs share: short error messages, path joining. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pxutil.h"

const char *errstr(int e)
{
	switch (e) {
	case ENOENT: return "no such file";
	case EEXIST: return "file exists";
	case ENOTDIR: return "not a directory";
	case EISDIR: return "is a directory";
	case ENOTEMPTY: return "directory not empty";
	case ENOSPC: return "no space left";
	case ENAMETOOLONG: return "name too long";
	case EBADF: return "bad file descriptor";
	case EINVAL: return "invalid argument";
	case EMFILE: return "too many open files";
	case EROFS: return "read-only file system";
	case EFBIG: return "file too big";
	case EIO: return "i/o error";
	case ENOMEM: return "out of memory";
	case EFAULT: return "bad address";
	case EBUSY: return "busy";
	case EXDEV: return "cross-device link";
	case EMLINK: return "too many links";
	case ENOSYS: return "no file system";
	case ENODEV: return "no such device";
	case EPIPE: return "broken pipe";
	case ESPIPE: return "not seekable";
	case EACCES: return "permission denied";
	case EPERM: return "not permitted";
	default: return strerror(e);
	}
}

int path_join(char *out, size_t n, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	const char *sep = dl > 0 && dir[dl - 1] == '/' ? "" : "/";
	int r = snprintf(out, n, "%s%s%s", dir, sep, name);

	if (r < 0 || (size_t)r >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void path_base(char *out, size_t n, const char *path)
{
	size_t end = strlen(path);

	while (end > 1 && path[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	size_t len = end - start;
	if (len >= n)
		len = n - 1;
	memcpy(out, path + start, len);
	out[len] = '\0';
}
