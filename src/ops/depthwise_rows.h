/* depthwise_rows.h — one plane of a depthwise convolution and its gradient,
 * as static inline bodies that each instruction set's file compiles with
 * its own flags (conv2d_depthwise.c for the portable tier,
 * x86/depthwise_avx2.c and x86/depthwise_avx512.c for the wide ones), so the
 * compiler vectorises the same C at the width the tier has.
 *
 * The method, chosen so that 7x7 and 14x14 planes vectorise as well as
 * 112x112 ones: the input plane is split into sh * sw phase planes
 * Q_ab[r][c] = x[r sh + a - ph][c sw + b - pw] (zero outside x), all with
 * row length wq = ceil(wp / sw). Then tap (i, j) of every output pixel reads
 * phase ((i dh) % sh, (j dw) % sw) at the fixed flat offset
 * ((i dh) / sh) wq + (j dw) / sw from the pixel's own index q = oy wq + ox,
 * so each tap is one axpy over the whole plane (a "wide" plane, with
 * wq - wo throw-away columns per row), with no bounds and no per-row work.
 * The gradient is the exact adjoint: the same axpys transposed, then the
 * phase planes scattered back. Deliberately no intrinsics: plain loops,
 * and for the forward pass GCC's generic vector type (dw_vec below), which
 * each tier's flags turn into its own registers. */
#ifndef GC_OPS_DEPTHWISE_ROWS_H
#define GC_OPS_DEPTHWISE_ROWS_H

#include "ops/epilogue_loops.h"
#include "ops/ops.h"

#include <string.h>

/* The first q >= 0 with x0 + q * stride >= bound (bound >= 0). */
static inline int dw_first_at_or_past(int x0, int stride, int bound)
{
    return x0 >= bound ? 0 : (bound - x0 + stride - 1) / stride;
}

/* The wide plane is computed DW_CHUNK floats at a time, all taps on one
 * chunk before the next, so that the partial sums stay in L1 (a 112x112
 * plane's wide form, 50 KiB, would not). */
#define DW_CHUNK 128

/* The forward pass keeps DW_ACC vectors of 16 partial sums in registers
 * through all taps of a block of wide-plane pixels, so that each tap costs
 * one load and one multiply-add per 16 pixels, with no store: 4 zmm
 * registers on AVX-512, 8 ymm on AVX2 (enough independent sums to hide the
 * multiply-add's latency). Kernels with more than DW_MAX_TAPS taps, and the
 * last partial block, take the chunked loop. */
typedef float dw_vec __attribute__((vector_size(64)));
#define DW_ACC 4
#define DW_BLOCK (DW_ACC * 16)
#define DW_MAX_TAPS 49

/* The phase planes' geometry: hq rows (plus one of slack, which the last
 * rows' throw-away columns read, and DW_BLOCK zeros, which the forward
 * pass's last block reads past the end) of wq floats each. */
typedef struct dw_geom {
    int hq, wq;
    size_t phase;   /* floats per phase plane, slack included */
    size_t wide;    /* floats of the wide output plane: ho * wq */
    size_t blocks;  /* wide rounded up to whole DW_BLOCKs */
} dw_geom;

static inline dw_geom dw_geometry(const gc_window *s)
{
    dw_geom g;
    const int hp = (s->ho - 1) * s->sh + (s->kh - 1) * s->dh + 1;
    const int wp = (s->wo - 1) * s->sw + (s->kw - 1) * s->dw + 1;
    g.hq = (hp + s->sh - 1) / s->sh;
    g.wq = (wp + s->sw - 1) / s->sw;
    g.phase = (size_t)(g.hq + 1) * g.wq + DW_BLOCK;
    g.wide = (size_t)s->ho * g.wq;
    g.blocks = (g.wide + DW_BLOCK - 1) / DW_BLOCK * DW_BLOCK;
    return g;
}

/* Floats of scratch one plane needs. */
static inline size_t dw_scratch(const gc_window *s)
{
    dw_geom g = dw_geometry(s);
    return (size_t)s->sh * s->sw * g.phase + g.blocks;
}

/* Short copies and fills as inline loops: most rows here are 7 to 56
 * floats, where a call into the C library's memcpy costs more than the
 * copy. (These files are compiled with -fno-tree-loop-distribute-patterns,
 * which keeps GCC from turning the loops back into such calls.) */
typedef float dw_vec8 __attribute__((vector_size(32)));
typedef float dw_vec4 __attribute__((vector_size(16)));
#define DW_MOVE(type, d, s)                                                                 \
    do {                                                                                    \
        type v_;                                                                            \
        memcpy(&v_, (s), sizeof v_);                                                        \
        memcpy((d), &v_, sizeof v_);                                                        \
    } while (0)

/* n floats, as whole vectors where n allows: the last vector ends at n and
 * may overlap the one before it, which rewrites the same values. */
static inline void dw_copy(float *restrict dst, const float *restrict src, int n)
{
    if (n >= 16) {
        for (int c = 0; c + 16 < n; c += 16)
            DW_MOVE(dw_vec, dst + c, src + c);
        DW_MOVE(dw_vec, dst + n - 16, src + n - 16);
    } else if (n >= 8) {
        DW_MOVE(dw_vec8, dst, src);
        DW_MOVE(dw_vec8, dst + n - 8, src + n - 8);
    } else if (n >= 4) {
        DW_MOVE(dw_vec4, dst, src);
        DW_MOVE(dw_vec4, dst + n - 4, src + n - 4);
    } else {
        for (int c = 0; c < n; c++)
            dst[c] = src[c];
    }
}

static inline void dw_zero(float *restrict dst, int n)
{
    for (int c = 0; c < n; c++)
        dst[c] = 0.0f;
}

/* The phase planes of input plane x. */
static inline void dw_pack(float *restrict q, const float *restrict x, const gc_window *s,
                           const dw_geom *g)
{
    for (int a = 0; a < s->sh; a++)
        for (int b = 0; b < s->sw; b++) {
            float *restrict ph = q + (size_t)(a * s->sw + b) * g->phase;
            /* [c0, c1): the columns c whose x = c sw + b - pw is inside the row */
            const int x0 = b - s->pw;
            int c0 = dw_first_at_or_past(x0, s->sw, 0), c1 = dw_first_at_or_past(x0, s->sw, s->w);
            c0 = c0 < g->wq ? c0 : g->wq;
            c1 = c1 < c0 ? c0 : c1 < g->wq ? c1 : g->wq;
            for (int r = 0; r <= g->hq; r++) {
                float *restrict dst = ph + (size_t)r * g->wq;
                const int y = r * s->sh + a - s->ph;
                if (r == g->hq || y < 0 || y >= s->h) {
                    dw_zero(dst, g->wq);
                    continue;
                }
                const float *row = x + (size_t)y * s->w + x0; /* row[c sw]: column c */
                dw_zero(dst, c0);
                if (s->sw == 1)
                    dw_copy(dst + c0, row + c0, c1 - c0);
                else if (s->sw == 2) /* a constant stride, which vectorises */
                    for (int c = c0; c < c1; c++)
                        dst[c] = row[2 * c];
                else
                    for (int c = c0; c < c1; c++)
                        dst[c] = row[c * s->sw];
                dw_zero(dst + c1, g->wq - c1);
            }
            if (g->wide < DW_BLOCK) /* the one block reads past the end */
                dw_zero(ph + (size_t)(g->hq + 1) * g->wq, DW_BLOCK);
        }
}

/* Where tap (i, j) reads: its phase plane and the offset into it. */
static inline const float *dw_tap(const float *q, int i, int j, const gc_window *s,
                                  const dw_geom *g)
{
    const int ri = i * s->dh, cj = j * s->dw;
    return q + (size_t)((ri % s->sh) * s->sw + cj % s->sw) * g->phase +
           (size_t)(ri / s->sh) * g->wq + cj / s->sw;
}

/* y[ho][wo] = b + sum over taps of w[i][j] x[oy sh - ph + i dh][ox sw - pw + j dw],
 * then the epilogue e of output channel c (NULL: none; res: the residual's
 * values for this plane, or NULL); scratch holds dw_scratch(s) floats. */
static inline void depthwise_plane_body(float *restrict y, const float *restrict x,
                                        const float *restrict w, float b, const gc_epilogue *e,
                                        int c, const float *res, const gc_window *s,
                                        float *restrict scratch)
{
    const dw_geom g = dw_geometry(s);
    float *restrict q = scratch;
    float *restrict wide = scratch + (size_t)s->sh * s->sw * g.phase;
    dw_pack(q, x, s, &g);
    const int taps = s->kh * s->kw;
    size_t start = 0;
    if (taps <= DW_MAX_TAPS) {
        const float *src[DW_MAX_TAPS];
        for (int i = 0; i < s->kh; i++)
            for (int j = 0; j < s->kw; j++)
                src[i * s->kw + j] = dw_tap(q, i, j, s, &g);
        for (; start < g.wide; start += DW_BLOCK) {
            /* A last partial block moves back to end at g.wide (its first
             * lanes computed twice, to the same values) and so reads
             * nothing past the planes; a plane smaller than one block
             * reads the zero slack instead. */
            const size_t at = start + DW_BLOCK <= g.wide || g.wide < DW_BLOCK
                                  ? start : g.wide - DW_BLOCK;
            dw_vec acc[DW_ACC];
            for (int v = 0; v < DW_ACC; v++)
                acc[v] = (dw_vec){0} + b;
            for (int t = 0; t < taps; t++) {
                const float k = w[t];
                const float *from = src[t] + at;
                for (int v = 0; v < DW_ACC; v++) {
                    dw_vec in;
                    memcpy(&in, from + 16 * v, sizeof in); /* unaligned */
                    acc[v] += k * in;
                }
            }
            memcpy(wide + at, acc, sizeof acc);
        }
    }
    for (size_t p0 = start; p0 < g.wide; p0 += DW_CHUNK) {
        const size_t len = g.wide - p0 < DW_CHUNK ? g.wide - p0 : DW_CHUNK;
        float *restrict acc = wide + p0;
        for (size_t p = 0; p < len; p++)
            acc[p] = b;
        for (int i = 0; i < s->kh; i++)
            for (int j = 0; j < s->kw; j++) {
                const float k = w[i * s->kw + j];
                const float *restrict from = dw_tap(q, i, j, s, &g) + p0;
                for (size_t p = 0; p < len; p++)
                    acc[p] += k * from[p];
            }
    }
    /* Without a residual the epilogue runs on the wide plane, in one pass
     * (the throw-away columns too); a residual is laid out as y. */
    if (e && !res)
        epilogue_pass_body(wide, NULL, g.wide, NULL, e, c, 1);
    for (int oy = 0; oy < s->ho; oy++)
        dw_copy(y + (size_t)oy * s->wo, wide + (size_t)oy * g.wq, s->wo);
    if (e && res)
        epilogue_pass_body(y, res, (size_t)s->ho * s->wo, NULL, e, c, 1);
}

/* dx[h][w] += the gradient of that plane's output dy through the taps. */
static inline void depthwise_plane_back_body(float *restrict dx, const float *restrict dy,
                                             const float *restrict w, const gc_window *s,
                                             float *restrict scratch)
{
    const dw_geom g = dw_geometry(s);
    const size_t phases = (size_t)s->sh * s->sw * g.phase;
    float *restrict q = scratch;
    float *restrict wide = scratch + phases;
    for (int oy = 0; oy < s->ho; oy++) { /* the throw-away columns get 0 */
        float *restrict dst = wide + (size_t)oy * g.wq;
        dw_copy(dst, dy + (size_t)oy * s->wo, s->wo);
        dw_zero(dst + s->wo, g.wq - s->wo);
    }
    memset(q, 0, sizeof(float) * phases);
    for (size_t p0 = 0; p0 < g.wide; p0 += DW_CHUNK) {
        const size_t len = g.wide - p0 < DW_CHUNK ? g.wide - p0 : DW_CHUNK;
        const float *restrict src = wide + p0;
        for (int i = 0; i < s->kh; i++)
            for (int j = 0; j < s->kw; j++) {
                const float t = w[i * s->kw + j];
                float *restrict dst = (float *)dw_tap(q, i, j, s, &g) + p0;
                for (size_t p = 0; p < len; p++)
                    dst[p] += t * src[p];
            }
    }
    for (int a = 0; a < s->sh; a++) /* the adjoint of dw_pack */
        for (int b = 0; b < s->sw; b++) {
            const float *ph = q + (size_t)(a * s->sw + b) * g.phase;
            for (int r = 0; r < g.hq; r++) {
                const int yy = r * s->sh + a - s->ph;
                if (yy < 0 || yy >= s->h)
                    continue;
                float *restrict row = dx + (size_t)yy * s->w;
                const float *restrict src = ph + (size_t)r * g.wq;
                for (int c = 0; c < g.wq; c++) {
                    const int xx = c * s->sw + b - s->pw;
                    if (xx >= 0 && xx < s->w)
                        row[xx] += src[c];
                }
            }
        }
}

#endif
