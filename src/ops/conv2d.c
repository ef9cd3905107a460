/* conv2d.c — 2-D convolution as im2col + one BLAS GEMM per image and group,
 * and its gradient with respect to the input as GEMM + col2im.
 *
 * A 1x1 stride-1 unpadded convolution skips im2col: the input plane already
 * is the column matrix. Depthwise convolutions go to conv2d_depthwise.c;
 * other grouped ones run one (image, group) pair per thread. Where our own GEMM kernel runs, the forward pass
 * goes to conv2d_blocked.c instead. Deliberately not here: weight gradients, Winograd or
 * other fast algorithms (they belong beside this file, chosen by the graph). */
#include "ops/ops.h"
#include "ops/gemm.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

int gc_window_out(int in, int k, int stride, int pad_begin, int pad_end, int dilation,
                  int ceil_mode)
{
    int span = in + pad_begin + pad_end - dilation * (k - 1) - 1;
    if (span < 0)
        return 0;
    int out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    /* In ceil mode the last window must start inside the input or the
     * begin padding, never wholly in the end padding. */
    if (ceil_mode && (out - 1) * stride >= in + pad_begin)
        out--;
    return out;
}

int conv2d_is_pointwise(const gc_window *s)
{
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->ph == 0 &&
           s->pw == 0 && s->ho == s->h && s->wo == s->w;
}

/* Grouped convolutions run one (image, group) pair per thread, each with
 * its own im2col slice; an ungrouped one shares one slice between threads
 * (its im2col and GEMM are parallel inside). */
static int group_tasks(const gc_window *s)
{
    return s->groups > 1 && s->n * s->groups > 1;
}

static size_t plain_slice(const gc_window *s)
{
    return conv2d_is_pointwise(s) ? 0 : (size_t)(s->c / s->groups) * s->kh * s->kw * s->ho * s->wo;
}

size_t conv2d_workspace(const gc_window *s)
{
    if (conv2d_depthwise_applies(s))
        return conv2d_depthwise_workspace(s);
    size_t plain = plain_slice(s) * (group_tasks(s) ? (size_t)omp_get_max_threads() : 1);
    size_t blocked = conv2d_blocked_applies(s) ? conv2d_blocked_workspace(s) : 0;
    return plain > blocked ? plain : blocked;
}

/* The output columns [*lo, *hi) whose input column ox*sw - pw + j*dw lies
 * inside the row; outside it im2col writes zeros. */
static void valid_columns(const gc_window *s, int j, int *lo, int *hi)
{
    int off = j * s->dw - s->pw;
    *lo = 0;
    while (*lo < s->wo && *lo * s->sw + off < 0)
        (*lo)++;
    *hi = s->wo;
    while (*hi > *lo && (*hi - 1) * s->sw + off >= s->w)
        (*hi)--;
}

/* col[(c*kh + i)*kw + j][oy*wo + ox] = in[c][oy*sh - ph + i*dh][ox*sw - pw + j*dw] */
static void im2col(float *col, const float *in, int c, const gc_window *s)
{
    const int hw_out = s->ho * s->wo, taps = s->kh * s->kw;
    /* One row (channel, tap) per iteration: a 3-channel input still gives
     * every thread a share (unless the caller already runs in threads). */
    #pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (int r = 0; r < c * taps; r++) {
        const int ch = r / taps, i = r % taps / s->kw, j = r % s->kw;
        const float *plane = in + (size_t)ch * s->h * s->w;
        float *row = col + (size_t)r * hw_out;
        int lo, hi;
        valid_columns(s, j, &lo, &hi);
        const int off = j * s->dw - s->pw;
        for (int oy = 0; oy < s->ho; oy++) {
            int y = oy * s->sh - s->ph + i * s->dh;
            float *dst = row + (size_t)oy * s->wo;
            if (y < 0 || y >= s->h) {
                memset(dst, 0, sizeof(float) * s->wo);
                continue;
            }
            const float *src = plane + (size_t)y * s->w + off;
            for (int ox = 0; ox < lo; ox++)
                dst[ox] = 0.0f;
            if (s->sw == 1)
                memcpy(dst + lo, src + lo, sizeof(float) * (hi - lo));
            else
                for (int ox = lo; ox < hi; ox++)
                    dst[ox] = src[ox * s->sw];
            for (int ox = hi; ox < s->wo; ox++)
                dst[ox] = 0.0f;
        }
    }
}

/* The adjoint of im2col: scatter-add columns back into the input plane. */
static void col2im_add(float *in, const float *col, int c, const gc_window *s)
{
    const int hw_out = s->ho * s->wo;
    for (int ch = 0; ch < c; ch++) {
        float *plane = in + (size_t)ch * s->h * s->w;
        for (int i = 0; i < s->kh; i++) {
            for (int j = 0; j < s->kw; j++) {
                const float *row = col + ((size_t)(ch * s->kh + i) * s->kw + j) * hw_out;
                for (int oy = 0; oy < s->ho; oy++) {
                    int y = oy * s->sh - s->ph + i * s->dh;
                    if (y < 0 || y >= s->h)
                        continue;
                    float *dst = plane + (size_t)y * s->w;
                    const float *src = row + (size_t)oy * s->wo;
                    for (int ox = 0; ox < s->wo; ox++) {
                        int x = ox * s->sw - s->pw + j * s->dw;
                        if (x >= 0 && x < s->w)
                            dst[x] += src[ox];
                    }
                }
            }
        }
    }
}

/* One (image, group) pair of the plain path: im2col (unless pointwise),
 * GEMM, bias and epilogue. */
static void forward_group(float *out, const float *in, const float *weight, const float *bias,
                          const gc_epilogue *epi, const gc_window *s, float *col, int n, int gi)
{
    const int cg = s->c / s->groups, og = s->oc / s->groups;
    const int k = cg * s->kh * s->kw, hw_in = s->h * s->w, hw_out = s->ho * s->wo;
    const float *x = in + ((size_t)n * s->c + (size_t)gi * cg) * hw_in;
    float *y = out + ((size_t)n * s->oc + (size_t)gi * og) * hw_out;
    const float *b = x;
    if (!conv2d_is_pointwise(s)) {
        im2col(col, x, cg, s);
        b = col;
    }
    gemm_nn(og, hw_out, k, weight + (size_t)gi * og * k, k, b, hw_out, y, hw_out, 0);
    for (int o = 0; o < og; o++) {
        float *row = y + (size_t)o * hw_out;
        epilogue_bias_apply(row, epilogue_residual(epi, (size_t)(row - out)), (size_t)hw_out,
                            bias ? bias + gi * og + o : NULL, epi, gi * og + o);
    }
}

void conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                    const gc_epilogue *epi, const gc_window *s, float *col)
{
    if (conv2d_depthwise_applies(s)) {
        conv2d_depthwise_forward(out, in, weight, bias, epi, s, col);
        return;
    }
    if (conv2d_blocked_applies(s)) {
        conv2d_blocked_forward(out, in, weight, bias, epi, s, col);
        return;
    }
    const int tasks = s->n * s->groups, split = group_tasks(s);
    const size_t slice = plain_slice(s);
    #pragma omp parallel for schedule(static) if (split)
    for (int t = 0; t < tasks; t++)
        forward_group(out, in, weight, bias, epi, s, col + slice * omp_get_thread_num(),
                      t / s->groups, t % s->groups);
}

/* One (image, group) pair of the gradient: dcol = W^T dY, then col2im; a
 * pointwise conv accumulates straight into dx. */
static void backward_group(float *din, const float *dout, const float *weight,
                           const gc_window *s, float *col, int n, int gi, int threaded_gemm)
{
    const int cg = s->c / s->groups, og = s->oc / s->groups;
    const int k = cg * s->kh * s->kw, hw_in = s->h * s->w, hw_out = s->ho * s->wo;
    const int pointwise = conv2d_is_pointwise(s);
    float *dx = din + ((size_t)n * s->c + (size_t)gi * cg) * hw_in;
    const float *dy = dout + ((size_t)n * s->oc + (size_t)gi * og) * hw_out;
    const float *wg = weight + (size_t)gi * og * k;
    if (threaded_gemm) /* OpenBLAS's threads, for one big product */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, hw_out, og, 1.0f, wg, k, dy,
                    hw_out, pointwise ? 1.0f : 0.0f, pointwise ? dx : col, hw_out);
    else
        gemm_tn(k, hw_out, og, wg, k, dy, hw_out, pointwise ? dx : col, hw_out, pointwise);
    if (!pointwise)
        col2im_add(dx, col, cg, s);
}

void conv2d_backward_input(float *din, const float *dout, const float *weight,
                           const gc_window *s, float *col)
{
    if (conv2d_depthwise_applies(s)) {
        conv2d_depthwise_backward_input(din, dout, weight, s, col);
        return;
    }
    const int tasks = s->n * s->groups, split = group_tasks(s);
    const size_t slice = plain_slice(s);
    /* Split: one task per thread, each GEMM single-threaded; not split:
     * one big product at a time, on OpenBLAS's threads. */
    #pragma omp parallel for schedule(static) if (split)
    for (int t = 0; t < tasks; t++)
        backward_group(din, dout, weight, s, col + slice * omp_get_thread_num(),
                       t / s->groups, t % s->groups, !split);
}
