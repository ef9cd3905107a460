/* file.c — opening a user's input file, with the checks every loader
 * shares. */
#include "core/file.h"
#include "core/limits.h"

#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

gc_status gc_file_open(const char *path, const char *what, uint64_t max_bytes, int *fd,
                       size_t *len, gc_error *err)
{
    *fd = open(path, O_RDONLY);
    if (*fd < 0)
        return gc_fail(err, GC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    gc_status st = GC_OK;
    if (fstat(*fd, &sb))
        st = gc_fail(err, GC_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        st = gc_fail(err, GC_ERR_IO, "%s: is a directory, not a %s", path, what);
    else if (!S_ISREG(sb.st_mode))
        st = gc_fail(err, GC_ERR_IO, "%s: not a regular file", path);
    else if ((uint64_t)sb.st_size > max_bytes || (uint64_t)sb.st_size > SIZE_MAX / 2)
        st = gc_fail(err, GC_ERR_LIMIT, "%s: %llu bytes, more than the %llu allowed", path,
                     (unsigned long long)sb.st_size, (unsigned long long)max_bytes);
    if (st) {
        close(*fd);
        *fd = -1;
        return st;
    }
    *len = (size_t)sb.st_size;
    return GC_OK;
}

gc_status gc_file_open_model(const char *path, const char *what, const gc_limits *lim,
                             gc_limits *resolved, int *fd, size_t *len, gc_error *err)
{
    gc_status st = gc_limits_resolve(lim, path, resolved, err);
    return st ? st : gc_file_open(path, what, gc_limits_file_bytes(resolved), fd, len, err);
}
