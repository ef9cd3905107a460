/* atomic_file.c — write to "<path>.tmp.<pid>", then rename() over path, so a
 * reader never sees a half-written file and a failed write leaves the old
 * file alone. Does not fsync: this guards against concurrent readers and
 * failed writes, not against power loss. */
#include "image/image_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

gc_status gc_atomic_tmp_name(const char *path, char *tmp, size_t cap, gc_error *err)
{
    int n = snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= cap)
        return gc_fail(err, GC_ERR_USAGE, "%s: path too long", path);
    return GC_OK;
}

gc_status gc_atomic_rename(const char *tmp, const char *path, gc_error *err)
{
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return gc_fail(err, GC_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp,
                       strerror(e));
    }
    return GC_OK;
}

gc_status gc_atomic_open(gc_atomic_file *af, const char *path, gc_error *err)
{
    af->f = NULL;
    gc_status st = gc_atomic_tmp_name(path, af->tmp, sizeof af->tmp, err);
    if (st != GC_OK)
        return st;
    af->f = fopen(af->tmp, "wb");
    if (!af->f)
        return gc_fail(err, GC_ERR_IO, "%s: cannot create %s: %s", path, af->tmp,
                       strerror(errno));
    return GC_OK;
}

gc_status gc_atomic_commit(gc_atomic_file *af, const char *path, gc_error *err)
{
    int bad = ferror(af->f);
    if (fclose(af->f) != 0)
        bad = 1;
    af->f = NULL;
    if (bad) {
        int e = errno;
        remove(af->tmp);
        return gc_fail(err, GC_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return gc_atomic_rename(af->tmp, path, err);
}

void gc_atomic_abort(gc_atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    af->f = NULL;
    remove(af->tmp);
}
