/* zip_in_place.h — the bytes of a stored (uncompressed) zip entry where
 * they lie in an archive held in memory, so that a mapped checkpoint's
 * weights need not be copied out (pth.c).
 *
 * libzip has opened and checked the archive but does not say where an
 * entry's bytes start; this reads the central directory for that, and
 * trusts nothing it finds: the record's name, sizes, method and CRC must
 * agree with what libzip reports for the same index, the bytes must lie
 * inside the buffer and their CRC must match. Anything else (zip64, a
 * compressed or encrypted entry, a disagreement) answers NULL, and the
 * caller reads the entry through libzip as before. */
#ifndef GC_LOADERS_ZIP_IN_PLACE_H
#define GC_LOADERS_ZIP_IN_PLACE_H

#include <stddef.h>
#include <stdint.h>
#include <zip.h>

typedef struct zip_directory {
    const uint8_t *buf;
    size_t len;
    uint64_t *records; /* offset of each central directory record */
    uint64_t count;
    int state; /* 0: not read yet, 1: read, -1: unusable */
} zip_directory;

/* Entry `index` of zip (opened on buf, len) if it is stored and at least
 * `size` bytes long, checked as above (the CRC over the whole entry);
 * else NULL. */
const uint8_t *zip_stored_entry(zip_directory *d, zip_t *zip, zip_int64_t index,
                                uint64_t size);

void zip_directory_free(zip_directory *d);

#endif
