/* reduce.c — ReduceMean over any set of per-image axes (GlobalAveragePool
 * is the mean over H and W) and Softmax, with their gradients. */
#include "ops/ops.h"

#include <math.h>

/* Output offset of every input element: strides of the reduced shape with
 * the reduced axes' strides set to 0. */
static void strides(const gc_nd *in, int mask, int64_t *os, int64_t *count)
{
    int64_t m = 1, c = 1;
    for (int k = in->ndim - 1; k >= 0; k--) {
        if (mask >> k & 1) {
            os[k] = 0;
            c *= in->d[k];
        } else {
            os[k] = m;
            m *= in->d[k];
        }
    }
    *count = c;
}

/* Visits every element of one image in order with its output offset. */
#define FOR_ELEMS(in, os, ...)                                                          \
    do {                                                                                 \
        int idx_[GC_ND] = {0};                                                           \
        int64_t total_ = gc_nd_numel(in), o_ = 0;                                        \
        for (int64_t e_ = 0; e_ < total_; e_++) {                                        \
            __VA_ARGS__;                                                                     \
            for (int k_ = (in)->ndim - 1; k_ >= 0; k_--) {                               \
                o_ += (os)[k_];                                                          \
                if (++idx_[k_] < (in)->d[k_])                                            \
                    break;                                                               \
                o_ -= (os)[k_] * (in)->d[k_];                                            \
                idx_[k_] = 0;                                                            \
            }                                                                            \
        }                                                                                \
    } while (0)

void reduce_mean_forward(float *out, const float *in, int n, const gc_nd *s, int mask)
{
    int64_t os[GC_ND], cnt;
    strides(s, mask, os, &cnt);
    int64_t inn = gc_nd_numel(s), outn = inn / cnt;
    for (int i = 0; i < n; i++) {
        const float *x = in + i * inn;
        float *y = out + i * outn;
        for (int64_t j = 0; j < outn; j++)
            y[j] = 0.0f;
        /* Everything into one value (a vector's mean): sum in double. */
        if (outn == 1) {
            double t = 0.0;
            for (int64_t e = 0; e < inn; e++)
                t += x[e];
            y[0] = (float)(t / (double)cnt);
            continue;
        }
        FOR_ELEMS(s, os, { y[o_] += x[e_]; });
        for (int64_t j = 0; j < outn; j++)
            y[j] /= (float)cnt;
    }
}

void reduce_mean_backward_input(float *din, const float *dout, int n, const gc_nd *s, int mask)
{
    int64_t os[GC_ND], cnt;
    strides(s, mask, os, &cnt);
    int64_t inn = gc_nd_numel(s), outn = inn / cnt;
    float inv = 1.0f / (float)cnt;
    for (int i = 0; i < n; i++) {
        float *dx = din + i * inn;
        const float *dy = dout + i * outn;
        FOR_ELEMS(s, os, { dx[e_] += dy[o_] * inv; });
    }
}

void softmax_forward(float *y, const float *x, size_t outer, int len, size_t inner)
{
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const float *px = x + o * len * inner + i;
            float *py = y + o * len * inner + i;
            float mx = -INFINITY;
            for (int j = 0; j < len; j++)
                mx = px[j * inner] > mx ? px[j * inner] : mx;
            double sum = 0.0;
            for (int j = 0; j < len; j++) {
                py[j * inner] = expf(px[j * inner] - mx);
                sum += py[j * inner];
            }
            for (int j = 0; j < len; j++)
                py[j * inner] = (float)(py[j * inner] / sum);
        }
}

/* dx = y * (dy - sum(dy * y)) along the softmax axis. */
void softmax_backward_input(float *dx, const float *dy, const float *y, size_t outer, int len,
                            size_t inner)
{
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * len * inner + i;
            double dot = 0.0;
            for (int j = 0; j < len; j++)
                dot += (double)dy[base + j * inner] * y[base + j * inner];
            for (int j = 0; j < len; j++)
                dx[base + j * inner] += y[base + j * inner] * (float)(dy[base + j * inner] - dot);
        }
}

/* ---- layer normalisation ---- */

/* Each row's mean and 1 / sqrt(variance + eps), in double. */
static void layernorm_row_stats(const float *x, int len, float eps, double *mean, double *rstd)
{
    double s = 0.0, ss = 0.0;
    for (int j = 0; j < len; j++)
        s += x[j];
    const double mu = s / len;
    for (int j = 0; j < len; j++)
        ss += ((double)x[j] - mu) * ((double)x[j] - mu);
    *mean = mu;
    *rstd = 1.0 / sqrt(ss / len + (double)eps);
}

void layernorm_forward(float *y, const float *x, const float *scale, const float *shift,
                       size_t rows, int len, float eps)
{
    #pragma omp parallel for schedule(static) if (rows * (size_t)len >= OPS_PARALLEL_MIN)
    for (size_t r = 0; r < rows; r++) {
        const float *px = x + r * len;
        float *py = y + r * len;
        double mu, rstd;
        layernorm_row_stats(px, len, eps, &mu, &rstd);
        for (int j = 0; j < len; j++) {
            const double xhat = ((double)px[j] - mu) * rstd;
            py[j] = (float)(xhat * (scale ? scale[j] : 1.0f) + (shift ? shift[j] : 0.0f));
        }
    }
}

/* dx += rstd (g dy - mean(g dy) - xhat mean(g dy xhat)), g the scale. */
void layernorm_backward_input(float *dx, const float *dy, const float *x, const float *scale,
                              size_t rows, int len, float eps)
{
    #pragma omp parallel for schedule(static) if (rows * (size_t)len >= OPS_PARALLEL_MIN)
    for (size_t r = 0; r < rows; r++) {
        const float *px = x + r * len, *pg = dy + r * len;
        float *pd = dx + r * len;
        double mu, rstd, m1 = 0.0, m2 = 0.0;
        layernorm_row_stats(px, len, eps, &mu, &rstd);
        for (int j = 0; j < len; j++) {
            const double gdy = (double)pg[j] * (scale ? scale[j] : 1.0f);
            m1 += gdy;
            m2 += gdy * ((double)px[j] - mu) * rstd;
        }
        m1 /= len, m2 /= len;
        for (int j = 0; j < len; j++) {
            const double gdy = (double)pg[j] * (scale ? scale[j] : 1.0f);
            const double xhat = ((double)px[j] - mu) * rstd;
            pd[j] += (float)(rstd * (gdy - m1 - xhat * m2));
        }
    }
}
