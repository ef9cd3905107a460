/* binary.c — the plain addition of two tensors of one shape (a residual
 * connection, alone or with its ReLU), and Add, Sub, Mul, Div with NumPy
 * broadcasting, between two
 * computed tensors (an SE block's [C,1,1] gate times its [C,H,W] input) or a
 * tensor and a constant. The gradient of a broadcast operand is summed over
 * the axes it was repeated along. Deliberately simple: one odometer loop
 * with a contiguous innermost axis, which is what these shapes have. */
#include "ops/ops.h"

#include <string.h>


void add_forward(float *out, const float *a, const float *b, size_t count)
{
    #pragma omp parallel for schedule(static) if (count >= OPS_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++)
        out[i] = a[i] + b[i];
}

void add_backward_input(float *din, const float *dout, size_t count)
{
    #pragma omp parallel for schedule(static) if (count >= OPS_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++)
        din[i] += dout[i];
}

void add_relu_forward(float *out, const float *a, const float *b, size_t count)
{
    #pragma omp parallel for schedule(static) if (count >= OPS_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        float y = a[i] + b[i];
        out[i] = y > 0.0f ? y : 0.0f;
    }
}


/* Calls body(i_out, i_a, i_b, len, sa, sb) for each innermost row. */
typedef struct iter {
    int nd;
    int d[GC_ND];
    int64_t sa[GC_ND], sb[GC_ND]; /* strides, 0 where broadcast */
} iter;

static void setup(const gc_bcast *s, iter *it)
{
    int64_t ma = 1, mb = 1;
    it->nd = s->out.ndim;
    for (int k = s->out.ndim - 1; k >= 0; k--) {
        it->d[k] = s->out.d[k];
        it->sa[k] = s->a.d[k] == 1 && s->out.d[k] != 1 ? 0 : ma;
        it->sb[k] = s->b.d[k] == 1 && s->out.d[k] != 1 ? 0 : mb;
        ma *= s->a.d[k];
        mb *= s->b.d[k];
    }
    /* Merge each axis into the next one where both operands step through
     * the pair as through one axis (contiguous, or broadcast along both),
     * so an SE gate [C,1,1] x [C,H,W] becomes C rows of H*W, and two equal
     * shapes one row: long innermost rows, which the loops vectorise. */
    int nd = 0;
    for (int k = 0; k < it->nd; k++) {
        if (nd > 0 && it->sa[nd - 1] == it->sa[k] * it->d[k] &&
            it->sb[nd - 1] == it->sb[k] * it->d[k]) {
            it->d[nd - 1] *= it->d[k];
            it->sa[nd - 1] = it->sa[k];
            it->sb[nd - 1] = it->sb[k];
            continue;
        }
        it->d[nd] = it->d[k];
        it->sa[nd] = it->sa[k];
        it->sb[nd] = it->sb[k];
        nd++;
    }
    it->nd = nd;
}

/* Walks one image: for each output row (all but the last axis) the offsets
 * into a and b. rank-0 outputs are a single element. */
#define FOR_ROWS(it, ...)                                                                  \
    do {                                                                                    \
        int nd_ = (it).nd;                                                                  \
        int last_ = nd_ ? (it).d[nd_ - 1] : 1;                                              \
        int64_t la_ = nd_ ? (it).sa[nd_ - 1] : 0, lb_ = nd_ ? (it).sb[nd_ - 1] : 0;         \
        int idx_[GC_ND] = {0};                                                              \
        int64_t rows_ = 1;                                                                  \
        for (int k_ = 0; k_ + 1 < nd_; k_++)                                                \
            rows_ *= (it).d[k_];                                                            \
        for (int64_t r_ = 0; r_ < rows_; r_++) {                                            \
            int64_t oa_ = 0, ob_ = 0;                                                       \
            for (int k_ = 0; k_ + 1 < nd_; k_++)                                            \
                oa_ += idx_[k_] * (it).sa[k_], ob_ += idx_[k_] * (it).sb[k_];               \
            int64_t oo_ = r_ * last_;                                                       \
            __VA_ARGS__;                                                                        \
            for (int k_ = nd_ - 2; k_ >= 0; k_--) {                                         \
                if (++idx_[k_] < (it).d[k_])                                                \
                    break;                                                                  \
                idx_[k_] = 0;                                                               \
            }                                                                               \
        }                                                                                   \
    } while (0)

/* One innermost row: y[j] = a[j la] op b[j lb], with the operator and the
 * common stride patterns (both contiguous, one operand a scalar) as
 * separate loops that vectorise. */
#define ROW_LOOP(OP)                                                                        \
    do {                                                                                    \
        if (la == 1 && lb == 1)                                                             \
            for (int j = 0; j < len; j++)                                                   \
                y[j] = a[j] OP b[j];                                                        \
        else if (la == 1 && lb == 0)                                                        \
            for (int j = 0; j < len; j++)                                                   \
                y[j] = a[j] OP b[0];                                                        \
        else if (la == 0 && lb == 1)                                                        \
            for (int j = 0; j < len; j++)                                                   \
                y[j] = a[0] OP b[j];                                                        \
        else                                                                                \
            for (int j = 0; j < len; j++)                                                   \
                y[j] = a[j * la] OP b[j * lb];                                              \
    } while (0)

static void row_forward(int kind, float *y, const float *a, const float *b, int len,
                        int64_t la, int64_t lb)
{
    switch (kind) {
    case GC_B_ADD: ROW_LOOP(+); break;
    case GC_B_SUB: ROW_LOOP(-); break;
    case GC_B_MUL: ROW_LOOP(*); break;
    default: ROW_LOOP(/); break;
    }
}

/* The offsets into a and b of innermost row r of one image. */
static void row_offsets(const iter *it, int64_t r, int64_t *oa, int64_t *ob)
{
    *oa = *ob = 0;
    for (int k = it->nd - 2; k >= 0; k--) {
        const int64_t q = r % it->d[k];
        r /= it->d[k];
        *oa += q * it->sa[k];
        *ob += q * it->sb[k];
    }
}

void binary_forward(int kind, const gc_bcast *s, float *y, const float *a, const float *b)
{
    iter it;
    setup(s, &it);
    const size_t on = (size_t)gc_nd_numel(&s->out), an = (size_t)gc_nd_numel(&s->a),
                 bn = (size_t)gc_nd_numel(&s->b);
    const int nd = it.nd, len = nd ? it.d[nd - 1] : 1;
    const int64_t la = nd ? it.sa[nd - 1] : 0, lb = nd ? it.sb[nd - 1] : 0;
    int64_t rows = 1;
    for (int k = 0; k + 1 < nd; k++)
        rows *= it.d[k];
    /* Rows of all images are independent: threads share them. */
    #pragma omp parallel for schedule(static) if (on * s->n >= OPS_PARALLEL_MIN)
    for (int64_t t = 0; t < rows * s->n; t++) {
        const int64_t i = t / rows, r = t % rows;
        int64_t oa, ob;
        row_offsets(&it, r, &oa, &ob);
        const float *pa = a + (s->a_batch ? i * an : 0) + oa;
        const float *pb = b + (s->b_batch ? i * bn : 0) + ob;
        row_forward(kind, y + i * on + r * len, pa, pb, len, la, lb);
    }
}

void binary_backward_input(int kind, const gc_bcast *s, const float *dy, const float *a,
                           const float *b, float *da, float *db)
{
    iter it;
    setup(s, &it);
    size_t on = (size_t)gc_nd_numel(&s->out), an = (size_t)gc_nd_numel(&s->a),
           bn = (size_t)gc_nd_numel(&s->b);
    for (int i = 0; i < s->n; i++) {
        const float *pa = a + (s->a_batch ? i * an : 0), *pb = b + (s->b_batch ? i * bn : 0);
        const float *g = dy + i * on;
        float *ga = da ? da + i * an : NULL, *gb = db ? db + i * bn : NULL;
        FOR_ROWS(it, {
            for (int j = 0; j < last_; j++) {
                float d = g[oo_ + j], x = pa[oa_ + j * la_], z = pb[ob_ + j * lb_];
                float dxa, dxb;
                switch (kind) {
                case GC_B_ADD: dxa = d, dxb = d; break;
                case GC_B_SUB: dxa = d, dxb = -d; break;
                case GC_B_MUL: dxa = d * z, dxb = d * x; break;
                default: dxa = d / z, dxb = -d * x / (z * z); break;
                }
                if (ga)
                    ga[oa_ + j * la_] += dxa;
                if (gb)
                    gb[ob_ + j * lb_] += dxb;
            }
        });
    }
}
