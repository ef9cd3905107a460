/* state_dict.c — loading a mapped file, lookup and cleanup for
 * gc_state_dict, shared by every weight loader. Lookup is a linear scan:
 * a few hundred names, done once per parameter while building a network,
 * never in the inference path. */
#define _DEFAULT_SOURCE /* madvise(MADV_DONTNEED): posix_madvise's is a no-op in glibc */
#include "loaders/state_dict.h"
#include "core/error.h"
#include "core/file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const gc_sd_tensor *gc_sd_find(const gc_state_dict *sd, const char *name)
{
    if (!sd || !name)
        return NULL;
    for (int i = 0; i < sd->count; i++)
        if (sd->tensors[i].name && !strcmp(sd->tensors[i].name, name))
            return &sd->tensors[i];
    return NULL;
}

void gc_sd_drop_data(gc_sd_tensor *t)
{
    if (t->borrowed && t->data) {
        /* The whole pages inside the tensor: a private file mapping's
         * pages dropped this way leave the process's memory. */
        const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        const uintptr_t lo = ((uintptr_t)t->data + page - 1) / page * page;
        const uintptr_t hi = ((uintptr_t)(t->data + t->numel)) / page * page;
        if (hi > lo)
            madvise((void *)lo, hi - lo, MADV_DONTNEED);
    } else {
        free(t->data);
    }
    t->data = NULL;
    t->borrowed = 0;
}

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

void gc_sd_free(gc_state_dict *sd)
{
    if (!sd)
        return;
    for (int i = 0; i < sd->count; i++) {
        free(sd->tensors[i].name);
        if (!sd->tensors[i].borrowed)
            free(sd->tensors[i].data);
    }
    free(sd->tensors);
    if (sd->map)
        munmap(sd->map, sd->map_len);
    sd->tensors = NULL;
    sd->count = 0;
    sd->map = NULL;
    sd->map_len = 0;
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
