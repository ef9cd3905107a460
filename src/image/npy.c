/* npy.c — NumPy .npy arrays: read float32/float64 (also float16 and uint8,
 * converted to float32), write float32.
 *
 * The header is a Python dict literal; we parse exactly the three keys NumPy
 * writes and nothing else, with every number bounds- and overflow-checked and
 * the element count checked against the file size before allocating. Does
 * not handle: Fortran order, big-endian data, structured or object dtypes,
 * pickles. Writes version 1.0 only (enough for GC_MAX_DIMS dimensions). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image_internal.h"

#define NPY_MAX_HEADER (1 << 20) /* NumPy itself writes < 64 KiB */

int64_t gc_array_numel(const gc_array *a)
{
    int64_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= a->shape[i];
    return n;
}

void gc_array_free(gc_array *a)
{
    if (!a)
        return;
    free(a->data);
    a->data = NULL;
    a->ndim = 0;
}

/* ---- header parsing ---------------------------------------------------- */

typedef struct hdr {
    const char *p, *end;
    const char *path;
    gc_error *err;
} hdr;

static void skip_ws(hdr *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static gc_status bad(hdr *h, const char *what)
{
    return gc_fail(h->err, GC_ERR_FORMAT, "%s: bad .npy header: %s", h->path, what);
}

static gc_status expect(hdr *h, char c, const char *what)
{
    skip_ws(h);
    if (h->p >= h->end || *h->p != c)
        return bad(h, what);
    h->p++;
    return GC_OK;
}

/* A quoted Python string without escapes (NumPy never writes any). */
static gc_status parse_str(hdr *h, char *buf, size_t cap)
{
    skip_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
        return bad(h, "expected a string");
    char q = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != q) {
        /* Printable ASCII only: the string may end up in a message. */
        if (*h->p == '\\' || *h->p < ' ' || *h->p > '~' || n + 1 >= cap)
            return bad(h, "unexpected string");
        buf[n++] = *h->p++;
    }
    if (h->p >= h->end)
        return bad(h, "unterminated string");
    h->p++;
    buf[n] = '\0';
    return GC_OK;
}

static gc_status parse_shape(hdr *h, gc_array *a)
{
    gc_status st = expect(h, '(', "shape is not a tuple");
    if (st)
        return st;
    a->ndim = 0;
    for (;;) {
        skip_ws(h);
        if (h->p < h->end && *h->p == ')') {
            h->p++;
            return GC_OK;
        }
        if (h->p >= h->end || *h->p < '0' || *h->p > '9')
            return bad(h, "shape entry is not a non-negative integer");
        int64_t v = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return bad(h, "shape entry too large");
            v = v * 10 + (*h->p++ - '0');
        }
        if (a->ndim >= GC_MAX_DIMS)
            return gc_fail(h->err, GC_ERR_UNSUPPORTED, "%s: more than %d dimensions",
                           h->path, GC_MAX_DIMS);
        a->shape[a->ndim++] = v;
        skip_ws(h);
        if (h->p < h->end && *h->p == ',')
            h->p++;
        else if (h->p >= h->end || *h->p != ')')
            return bad(h, "malformed shape");
    }
}

/* Fills a's shape, and the dtype's kind ('f' or 'u') and item size. */
static gc_status parse_header(hdr *h, gc_array *a, int *item, char *kind)
{
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    char key[32], descr[32];
    gc_status st = expect(h, '{', "not a dict");
    if (st)
        return st;
    for (;;) {
        skip_ws(h);
        if (h->p < h->end && *h->p == '}') {
            h->p++;
            break;
        }
        if ((st = parse_str(h, key, sizeof key)) || (st = expect(h, ':', "missing ':'")))
            return st;
        if (!strcmp(key, "descr") && !seen_descr) {
            seen_descr = 1;
            if ((st = parse_str(h, descr, sizeof descr)))
                return st;
        } else if (!strcmp(key, "fortran_order") && !seen_order) {
            seen_order = 1;
            skip_ws(h);
            if (h->end - h->p >= 5 && !memcmp(h->p, "False", 5)) {
                h->p += 5;
            } else if (h->end - h->p >= 4 && !memcmp(h->p, "True", 4)) {
                return gc_fail(h->err, GC_ERR_UNSUPPORTED,
                               "%s: Fortran-ordered arrays are not supported "
                               "(save with np.ascontiguousarray)", h->path);
            } else {
                return bad(h, "fortran_order is not True or False");
            }
        } else if (!strcmp(key, "shape") && !seen_shape) {
            seen_shape = 1;
            if ((st = parse_shape(h, a)))
                return st;
        } else {
            return bad(h, "unexpected or repeated key");
        }
        skip_ws(h);
        if (h->p < h->end && *h->p == ',')
            h->p++;
        else if (h->p >= h->end || *h->p != '}')
            return bad(h, "expected ',' or '}'");
    }
    if (!seen_descr || !seen_order || !seen_shape)
        return bad(h, "missing descr, fortran_order or shape");

    if (!strcmp(descr, "<f4")) *item = 4, *kind = 'f';
    else if (!strcmp(descr, "<f8")) *item = 8, *kind = 'f';
    else if (!strcmp(descr, "<f2")) *item = 2, *kind = 'f';
    else if (!strcmp(descr, "|u1") || !strcmp(descr, "<u1")) *item = 1, *kind = 'u';
    else
        return gc_fail(h->err, GC_ERR_UNSUPPORTED,
                       "%s: dtype '%s' not supported (need <f4, <f8, <f2 or |u1)", h->path,
                       descr);
    return GC_OK;
}

/* ---- element conversion ------------------------------------------------ */

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 0) {
        if (m == 0) {
            bits = sign;
        } else { /* subnormal half: renormalise */
            e = 113;
            while (!(m & 1024)) {
                m <<= 1;
                e--;
            }
            bits = sign | (e << 23) | ((m & 1023) << 13);
        }
    } else if (e == 31) {
        bits = sign | 0x7f800000u | (m << 13);
    } else {
        bits = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Converts n little-endian items in raw (item bytes each) to floats. */
static void convert(const unsigned char *raw, int64_t n, int item, char kind, float *out)
{
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *b = raw + i * item;
        if (kind == 'u') {
            out[i] = (float)b[0];
        } else if (item == 2) {
            out[i] = half_to_float((uint16_t)(b[0] | b[1] << 8));
        } else if (item == 4) {
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                         (uint32_t)b[3] << 24;
            memcpy(&out[i], &u, 4);
        } else {
            uint64_t u = 0;
            for (int k = 7; k >= 0; k--)
                u = u << 8 | b[k];
            double d;
            memcpy(&d, &u, 8);
            out[i] = (float)d;
        }
    }
}

/* ---- read -------------------------------------------------------------- */

gc_status gc_npy_read(const char *path, gc_array *out, gc_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return gc_fail(err, GC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));

    gc_status st = GC_OK;
    char *header = NULL;
    unsigned char *raw = NULL;
    float *data = NULL;
    gc_array a = {0};
    int item = 0;
    char kind = 0;

    if (fseek(f, 0, SEEK_END) != 0) {
        st = gc_fail(err, GC_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
        goto done;
    }
    long fsize = ftell(f);
    rewind(f);

    unsigned char pre[12];
    if (fsize < 10 || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        st = gc_fail(err, GC_ERR_FORMAT, "%s: not a .npy file", path);
        goto done;
    }
    int major = pre[6];
    uint32_t hlen;
    long data_off;
    if (major == 1) {
        hlen = pre[8] | (uint32_t)pre[9] << 8;
        data_off = 10;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            st = gc_fail(err, GC_ERR_FORMAT, "%s: truncated .npy header", path);
            goto done;
        }
        hlen = pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 |
               (uint32_t)pre[11] << 24;
        data_off = 12;
    } else {
        st = gc_fail(err, GC_ERR_UNSUPPORTED, "%s: .npy version %d.%d not supported", path,
                     major, pre[7]);
        goto done;
    }
    if (hlen > NPY_MAX_HEADER || (long)hlen > fsize - data_off) {
        st = gc_fail(err, GC_ERR_FORMAT, "%s: .npy header length %u is out of bounds", path,
                     hlen);
        goto done;
    }
    if (!(header = gc_calloc(hlen + 1, 1, err))) {
        st = GC_ERR_NOMEM;
        goto done;
    }
    if (fread(header, 1, hlen, f) != hlen) {
        st = gc_fail(err, GC_ERR_FORMAT, "%s: truncated .npy header", path);
        goto done;
    }
    data_off += hlen;

    hdr h = {header, header + hlen, path, err};
    if ((st = parse_header(&h, &a, &item, &kind)))
        goto done;

    /* numel * item must equal the bytes that follow; checked without overflow. */
    int64_t avail = (int64_t)(fsize - data_off), numel = 1;
    for (int i = 0; i < a.ndim; i++) {
        if (a.shape[i] != 0 && numel > avail / a.shape[i]) {
            numel = -1;
            break;
        }
        numel *= a.shape[i];
    }
    if (numel < 0 || numel * item != avail) {
        st = gc_fail(err, GC_ERR_FORMAT,
                     "%s: shape does not match the file size (%lld data bytes)", path,
                     (long long)avail);
        goto done;
    }
    if ((uint64_t)numel > SIZE_MAX / sizeof(float)) {
        st = gc_fail(err, GC_ERR_LIMIT, "%s: array too large", path);
        goto done;
    }
    if (!(data = gc_calloc((size_t)numel, sizeof(float), err)) ||
        !(raw = gc_calloc((size_t)numel, (size_t)item, err))) {
        st = GC_ERR_NOMEM;
        goto done;
    }
    if (fread(raw, (size_t)item, (size_t)numel, f) != (size_t)numel) {
        st = gc_fail(err, GC_ERR_IO, "%s: read failed", path);
        goto done;
    }
    convert(raw, numel, item, kind, data);
    a.data = data;
    data = NULL;
    *out = a;
    gc_ok(err);

done:
    free(header);
    free(raw);
    free(data);
    fclose(f);
    return st;
}

/* ---- write ------------------------------------------------------------- */

gc_status gc_npy_write(const char *path, const float *data, int ndim, const int64_t *shape,
                       gc_error *err)
{
    if (ndim < 0 || ndim > GC_MAX_DIMS)
        return gc_fail(err, GC_ERR_USAGE, "%s: cannot write %d dimensions", path, ndim);
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return gc_fail(err, GC_ERR_USAGE, "%s: negative dimension", path);
        numel *= shape[i];
        n += snprintf(dict + n, sizeof dict - n, "%lld%s", (long long)shape[i],
                      (ndim == 1 || i + 1 < ndim) ? ", " : "");
    }
    if (ndim == 1)
        n -= 1; /* "(5,)" rather than "(5, )" */
    n += snprintf(dict + n, sizeof dict - n, "), }");
    /* Pad with spaces so the data starts on a 64-byte boundary, as NumPy does. */
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    int hlen = n + pad + 1;

    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    gc_atomic_file af;
    gc_status st = gc_atomic_open(&af, path, err);
    if (st)
        return st;
    fwrite(pre, 1, 10, af.f);
    fwrite(dict, 1, (size_t)n, af.f);
    for (int i = 0; i < pad; i++)
        fputc(' ', af.f);
    fputc('\n', af.f);
    /* Little-endian on any host, converted in chunks to keep fwrite calls few. */
    unsigned char buf[4096 * 4];
    for (int64_t i = 0; i < numel;) {
        int64_t m = numel - i < 4096 ? numel - i : 4096;
        for (int64_t j = 0; j < m; j++) {
            uint32_t u;
            memcpy(&u, &data[i + j], 4);
            for (int k = 0; k < 4; k++)
                buf[4 * j + k] = (unsigned char)(u >> (8 * k));
        }
        if (fwrite(buf, 4, (size_t)m, af.f) != (size_t)m)
            break; /* ferror() is reported by gc_atomic_commit */
        i += m;
    }
    return gc_atomic_commit(&af, path, err);
}
