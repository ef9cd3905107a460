/* layout.c — operators that only move data: Transpose, Slice (and Split,
 * which the loader turns into slices), Pad with a constant, Concat and
 * Gather with constant indices. Each gradient sends every output element's
 * gradient back to the input element it came from. */
#include "ops/ops.h"

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
