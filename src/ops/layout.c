/* layout.c — operators that only move data: Transpose, Slice (and Split,
 * which the loader turns into slices), Pad with a constant, Concat and
 * Gather with constant indices. Each gradient sends every output element's
 * gradient back to the input element it came from. */
#include "ops/ops.h"

#include <math.h>

#include <string.h>

/* Row-major strides of a shape. */
int64_t gc_nd_numel(const gc_nd *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->d[i];
    return n;
}

static void contiguous(const gc_nd *s, int64_t *st)
{
    int64_t m = 1;
    for (int k = s->ndim - 1; k >= 0; k--) {
        st[k] = m;
        m *= s->d[k];
    }
}

/* For each element of `walk` (in order, index e), the offset o into the
 * other tensor given by strides st and base offset. */
#define FOR_WALK(walk, st, base, ...)                                                 \
    do {                                                                               \
        int idx_[GC_ND] = {0};                                                         \
        int64_t total_ = gc_nd_numel(walk), o_ = (base);                               \
        for (int64_t e_ = 0; e_ < total_; e_++) {                                      \
            __VA_ARGS__;                                                                   \
            for (int k_ = (walk)->ndim - 1; k_ >= 0; k_--) {                           \
                o_ += (st)[k_];                                                        \
                if (++idx_[k_] < (walk)->d[k_])                                        \
                    break;                                                             \
                o_ -= (st)[k_] * (walk)->d[k_];                                        \
                idx_[k_] = 0;                                                          \
            }                                                                          \
        }                                                                              \
    } while (0)

static void transposed(const gc_nd *in, const int *perm, gc_nd *out, int64_t *st)
{
    int64_t ist[GC_ND];
    contiguous(in, ist);
    out->ndim = in->ndim;
    for (int k = 0; k < in->ndim; k++) {
        out->d[k] = in->d[perm[k]];
        st[k] = ist[perm[k]];
    }
}

void transpose_forward(float *out, const float *in, int n, const gc_nd *s, const int *perm)
{
    gc_nd o;
    int64_t st[GC_ND];
    transposed(s, perm, &o, st);
    int64_t len = gc_nd_numel(s);
    for (int i = 0; i < n; i++) {
        const float *x = in + i * len;
        float *y = out + i * len;
        FOR_WALK(&o, st, 0, { y[e_] = x[o_]; });
    }
}

void transpose_backward_input(float *din, const float *dout, int n, const gc_nd *s,
                              const int *perm)
{
    gc_nd o;
    int64_t st[GC_ND];
    transposed(s, perm, &o, st);
    int64_t len = gc_nd_numel(s);
    for (int i = 0; i < n; i++) {
        float *dx = din + i * len;
        const float *dy = dout + i * len;
        FOR_WALK(&o, st, 0, { dx[o_] += dy[e_]; });
    }
}

static int64_t sliced(const gc_nd *in, const int64_t *start, const int64_t *step, int64_t *st)
{
    int64_t ist[GC_ND], base = 0;
    contiguous(in, ist);
    for (int k = 0; k < in->ndim; k++) {
        st[k] = ist[k] * step[k];
        base += ist[k] * start[k];
    }
    return base;
}

void slice_forward(float *out, const float *in, int n, const gc_nd *s, const gc_nd *os,
                   const int64_t *start, const int64_t *step)
{
    int64_t st[GC_ND], base = sliced(s, start, step, st);
    int64_t il = gc_nd_numel(s), ol = gc_nd_numel(os);
    for (int i = 0; i < n; i++) {
        const float *x = in + i * il;
        float *y = out + i * ol;
        FOR_WALK(os, st, base, { y[e_] = x[o_]; });
    }
}

void slice_backward_input(float *din, const float *dout, int n, const gc_nd *s, const gc_nd *os,
                          const int64_t *start, const int64_t *step)
{
    int64_t st[GC_ND], base = sliced(s, start, step, st);
    int64_t il = gc_nd_numel(s), ol = gc_nd_numel(os);
    for (int i = 0; i < n; i++) {
        float *dx = din + i * il;
        const float *dy = dout + i * ol;
        FOR_WALK(os, st, base, { dx[o_] += dy[e_]; });
    }
}

/* Walks the INPUT; o is the output offset where it lands. */
static int64_t padded(const gc_nd *os, const int64_t *begin, int64_t *st, int ndim)
{
    int64_t base = 0;
    contiguous(os, st);
    for (int k = 0; k < ndim; k++)
        base += st[k] * begin[k];
    return base;
}

void pad_forward(float *out, const float *in, int n, const gc_nd *s, const gc_nd *os,
                 const int64_t *begin, float value)
{
    int64_t st[GC_ND], base = padded(os, begin, st, s->ndim);
    int64_t il = gc_nd_numel(s), ol = gc_nd_numel(os);
    for (int i = 0; i < n; i++) {
        const float *x = in + i * il;
        float *y = out + i * ol;
        for (int64_t e = 0; e < ol; e++)
            y[e] = value;
        FOR_WALK(s, st, base, { y[o_] = x[e_]; });
    }
}

void pad_backward_input(float *din, const float *dout, int n, const gc_nd *s, const gc_nd *os,
                        const int64_t *begin)
{
    int64_t st[GC_ND], base = padded(os, begin, st, s->ndim);
    int64_t il = gc_nd_numel(s), ol = gc_nd_numel(os);
    for (int i = 0; i < n; i++) {
        float *dx = din + i * il;
        const float *dy = dout + i * ol;
        FOR_WALK(s, st, base, { dx[e_] += dy[o_]; });
    }
}

void concat_forward(float *out, const float *const *in, const int *len, int k, size_t outer,
                    size_t inner)
{
    size_t total = 0;
    for (int j = 0; j < k; j++)
        total += (size_t)len[j];
    for (size_t o = 0; o < outer; o++) {
        float *y = out + o * total * inner;
        for (int j = 0; j < k; j++) {
            size_t l = (size_t)len[j] * inner;
            memcpy(y, in[j] + o * l, sizeof(float) * l);
            y += l;
        }
    }
}

void concat_backward_input(float *const *din, const float *dout, const int *len, int k,
                           size_t outer, size_t inner)
{
    size_t total = 0;
    for (int j = 0; j < k; j++)
        total += (size_t)len[j];
    for (size_t o = 0; o < outer; o++) {
        const float *dy = dout + o * total * inner;
        for (int j = 0; j < k; j++) {
            size_t l = (size_t)len[j] * inner;
            if (din[j]) {
                float *dx = din[j] + o * l;
                for (size_t e = 0; e < l; e++)
                    dx[e] += dy[e];
            }
            dy += l;
        }
    }
}

void gather_forward(float *out, const float *in, size_t outer, int len, size_t inner,
                    const int64_t *idx, int nidx)
{
    for (size_t o = 0; o < outer; o++)
        for (int j = 0; j < nidx; j++)
            memcpy(out + (o * nidx + j) * inner,
                   in + (o * len + (idx[j] < 0 ? idx[j] + len : idx[j])) * inner,
                   sizeof(float) * inner);
}

void gather_backward_input(float *din, const float *dout, size_t outer, int len, size_t inner,
                           const int64_t *idx, int nidx)
{
    for (size_t o = 0; o < outer; o++)
        for (int j = 0; j < nidx; j++) {
            float *dx = din + (o * len + (idx[j] < 0 ? idx[j] + len : idx[j])) * inner;
            const float *dy = dout + (o * nidx + j) * inner;
            for (size_t e = 0; e < inner; e++)
                dx[e] += dy[e];
        }
}

/* ---- resizing (ONNX Resize, PyTorch's interpolate) ---- */

/* Output coordinate d's source coordinate along an axis of `in` values
 * resized to `out`: half_pixel (PyTorch's align_corners=False, clamped at
 * 0 as PyTorch does), align_corners, or asymmetric (d * in / out). */
static double resize_source(int d, int in, int out, int coord)
{
    if (coord == GC_RESIZE_ALIGN_CORNERS)
        return out > 1 ? (double)d * (in - 1) / (out - 1) : 0.0;
    if (coord == GC_RESIZE_ASYMMETRIC)
        return (double)d * in / out;
    const double s = ((double)d + 0.5) * in / out - 0.5;
    return s < 0.0 ? 0.0 : s;
}

/* The two source indices and the second one's weight, per output index. */
static void linear_taps(int in, int out, int coord, int *i0, int *i1, float *t)
{
    for (int d = 0; d < out; d++) {
        const double s = resize_source(d, in, out, coord);
        int a = (int)s;
        a = a > in - 1 ? in - 1 : a;
        i0[d] = a, i1[d] = a + 1 < in ? a + 1 : in - 1, t[d] = (float)(s - a);
        if (i1[d] == a)
            t[d] = 0.0f;
    }
}

/* Nearest: floor of the source coordinate (PyTorch's mode='nearest' is
 * asymmetric + floor), or rounded half down (ONNX's round_prefer_floor). */
static void nearest_taps(int in, int out, int coord, int round_half_down, int *i0)
{
    for (int d = 0; d < out; d++) {
        const double s = resize_source(d, in, out, coord);
        int a = round_half_down ? (int)ceil(s - 0.5) : (int)floor(s);
        i0[d] = a < 0 ? 0 : a > in - 1 ? in - 1 : a;
    }
}

/* Each output row's and column's source taps, on the caller's stack. */
typedef struct resize_taps {
    int y0[GC_RESIZE_MAX], y1[GC_RESIZE_MAX], x0[GC_RESIZE_MAX], x1[GC_RESIZE_MAX];
    float ty[GC_RESIZE_MAX], tx[GC_RESIZE_MAX];
} resize_taps;

static void fill_taps(resize_taps *k, int ih, int iw, int oh, int ow, const gc_resize *r)
{
    if (r->nearest) {
        nearest_taps(ih, oh, r->coord, r->round_half_down, k->y0);
        nearest_taps(iw, ow, r->coord, r->round_half_down, k->x0);
    } else {
        linear_taps(ih, oh, r->coord, k->y0, k->y1, k->ty);
        linear_taps(iw, ow, r->coord, k->x0, k->x1, k->tx);
    }
}

void resize_forward(float *out, const float *in, size_t planes, int ih, int iw, int oh, int ow,
                    const gc_resize *r)
{
    resize_taps k; /* oh, ow <= GC_RESIZE_MAX: the shape check saw to it */
    fill_taps(&k, ih, iw, oh, ow, r);
    const int *y0 = k.y0, *y1 = k.y1, *x0 = k.x0, *x1 = k.x1;
    const float *ty = k.ty, *tx = k.tx;
    #pragma omp parallel for schedule(static) if (planes * oh * ow >= OPS_PARALLEL_MIN)
    for (size_t p = 0; p < planes; p++) {
        const float *src = in + p * ih * iw;
        float *dst = out + p * oh * ow;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                if (r->nearest) {
                    dst[y * ow + x] = src[y0[y] * iw + x0[x]];
                    continue;
                }
                const float *a = src + (size_t)y0[y] * iw, *b = src + (size_t)y1[y] * iw;
                const float top = a[x0[x]] + tx[x] * (a[x1[x]] - a[x0[x]]);
                const float bot = b[x0[x]] + tx[x] * (b[x1[x]] - b[x0[x]]);
                dst[y * ow + x] = top + ty[y] * (bot - top);
            }
    }
}

void resize_backward_input(float *din, const float *dout, size_t planes, int ih, int iw, int oh,
                           int ow, const gc_resize *r)
{
    resize_taps k; /* oh, ow <= GC_RESIZE_MAX: the shape check saw to it */
    fill_taps(&k, ih, iw, oh, ow, r);
    const int *y0 = k.y0, *y1 = k.y1, *x0 = k.x0, *x1 = k.x1;
    const float *ty = k.ty, *tx = k.tx;
    #pragma omp parallel for schedule(static) if (planes * oh * ow >= OPS_PARALLEL_MIN)
    for (size_t p = 0; p < planes; p++) { /* each plane's scatter is its own */
        float *dst = din + p * ih * iw;
        const float *g = dout + p * oh * ow;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                const float v = g[y * ow + x];
                if (r->nearest) {
                    dst[y0[y] * iw + x0[x]] += v;
                    continue;
                }
                /* the adjoint of the two lerps above */
                const float top = v * (1.0f - ty[y]), bot = v * ty[y];
                float *a = dst + (size_t)y0[y] * iw, *b = dst + (size_t)y1[y] * iw;
                a[x0[x]] += top * (1.0f - tx[x]), a[x1[x]] += top * tx[x];
                b[x0[x]] += bot * (1.0f - tx[x]), b[x1[x]] += bot * tx[x];
            }
    }
}
