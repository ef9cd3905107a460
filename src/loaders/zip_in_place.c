/* zip_in_place.c — see zip_in_place.h. Field offsets are those of the zip
 * specification (APPNOTE 4.3.7, 4.3.12, 4.3.16); all little-endian. */
#include "loaders/zip_in_place.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define EOCD_SIG 0x06054b50u
#define CDIR_SIG 0x02014b50u
#define LOCAL_SIG 0x04034b50u
#define EOCD_SIZE 22
#define CDIR_SIZE 46
#define LOCAL_SIZE 30

static uint32_t u16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t u32(const uint8_t *p) { return u16(p) | u16(p + 2) << 16; }

/* Finds the end record (the last one, after at most a 65535-byte comment)
 * and every central directory record; zip64 archives are left to libzip. */
static int read_directory(zip_directory *d)
{
    if (d->len < EOCD_SIZE)
        return -1;
    size_t at = d->len - EOCD_SIZE, stop = at > 65535 ? at - 65535 : 0;
    while (u32(d->buf + at) != EOCD_SIG) {
        if (at == stop)
            return -1;
        at--;
    }
    const uint8_t *e = d->buf + at;
    const uint64_t count = u16(e + 10), size = u32(e + 12), start = u32(e + 16);
    if (count == 0xFFFF || size == 0xFFFFFFFFu || start == 0xFFFFFFFFu)
        return -1; /* zip64 */
    if (start > at || size > at - start)
        return -1;
    if (!(d->records = malloc(sizeof *d->records * (count ? count : 1))))
        return -1;
    uint64_t pos = start;
    const uint64_t end = start + size;
    for (uint64_t i = 0; i < count; i++) {
        if (end - pos < CDIR_SIZE || u32(d->buf + pos) != CDIR_SIG)
            return -1;
        const uint8_t *r = d->buf + pos;
        const uint64_t len = CDIR_SIZE + (uint64_t)u16(r + 28) + u16(r + 30) + u16(r + 32);
        if (len > end - pos)
            return -1;
        d->records[i] = pos;
        pos += len;
    }
    d->count = count;
    return 1;
}

/* zlib's crc32 takes an unsigned int length. */
static uint32_t crc_of(const uint8_t *p, uint64_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n) {
        const uInt part = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, part);
        p += part, n -= part;
    }
    return (uint32_t)crc;
}

const uint8_t *zip_stored_entry(zip_directory *d, zip_t *zip, zip_int64_t index, uint64_t size)
{
    if (!d->state)
        d->state = read_directory(d);
    if (d->state < 0 || index < 0 || (uint64_t)index >= d->count)
        return NULL;
    const uint8_t *r = d->buf + d->records[index];
    const uint32_t flags = u16(r + 8), method = u16(r + 10), crc = u32(r + 16);
    const uint64_t name_len = u16(r + 28), local = u32(r + 42), whole = u32(r + 24);
    if ((flags & 1) || method != 0 || u32(r + 20) != whole || whole < size)
        return NULL; /* encrypted, compressed, or too short */
    zip_stat_t sb;
    const char *name = zip_get_name(zip, (zip_uint64_t)index, ZIP_FL_ENC_RAW);
    if (!name || strlen(name) != name_len || memcmp(name, r + CDIR_SIZE, name_len) ||
        zip_stat_index(zip, (zip_uint64_t)index, 0, &sb) || !(sb.valid & ZIP_STAT_SIZE) ||
        !(sb.valid & ZIP_STAT_CRC) || !(sb.valid & ZIP_STAT_COMP_METHOD) || sb.size != whole ||
        sb.crc != crc || sb.comp_method != ZIP_CM_STORE)
        return NULL; /* not the entry libzip knows by that index */
    if (local > d->len || d->len - local < LOCAL_SIZE || u32(d->buf + local) != LOCAL_SIG)
        return NULL;
    const uint64_t data = local + LOCAL_SIZE + u16(d->buf + local + 26) + u16(d->buf + local + 28);
    if (data > d->len || d->len - data < whole || crc_of(d->buf + data, whole) != crc)
        return NULL;
    return d->buf + data;
}

void zip_directory_free(zip_directory *d)
{
    free(d->records);
    d->records = NULL;
    d->count = 0;
    d->state = 0;
}
