/* state_dict.c — loading a mapped file into a gc_state_dict, and the last
 * step of every weight loader. */
#include "loaders/state_dict.h"
#include "core/error.h"
#include "core/file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

gc_status gc_sd_finish(gc_state_dict *sd, gc_status st, const void *map, size_t len,
                       gc_error *err)
{
    if (st) {
        gc_sd_free(sd);
        return st;
    }
    for (int i = 0; i < sd->count; i++)
        if (sd->tensors[i].borrowed) {
            sd->map = (void *)(uintptr_t)map, sd->map_len = len;
            break;
        }
    gc_ok(err);
    return GC_OK;
}


gc_status gc_sd_load_file(const char *path, const char *what, const gc_limits *lim,
                          gc_from_memory from_memory, gc_state_dict *out, gc_error *err)
{
    if (!path || !out)
        return gc_fail(err, GC_ERR_USAGE, "loading a %s: no path or output", what);
    memset(out, 0, sizeof *out);
    int fd;
    size_t len;
    gc_limits l;
    gc_status st = gc_file_open_model(path, what, lim, &l, &fd, &len, err);
    if (st)
        return st;
    if (!len) {
        close(fd);
        return gc_fail(err, GC_ERR_FORMAT, "%s: empty file (0 bytes), not a %s", path, what);
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED)
        return gc_fail(err, GC_ERR_IO, "%s: cannot map: %s", path, strerror(e));
    st = from_memory(map, len, path, &l, 1, out, err);
    if (st || out->map != map)
        munmap(map, len);
    return st;
}
