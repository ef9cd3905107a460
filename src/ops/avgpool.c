/* avgpool.c — 2-D average pooling as PyTorch's avg_pool2d computes it, with
 * its gradient. The divisor: count_include_pad counts padded cells inside
 * the window clipped to [-pad, size + pad), otherwise only real cells. */
#include "ops/ops.h"
#include "ops/ops.h"

typedef struct span {
    int y0, y1, x0, x1; /* clipped to the input */
    float div;
} span;

static span window(const gc_window *s, int oy, int ox, int pb, int pr, int cip)
{
    span w;
    int ys = oy * s->sh - s->ph, xs = ox * s->sw - s->pw;
    int ye = ys + s->kh, xe = xs + s->kw;
    if (ye > s->h + pb)
        ye = s->h + pb;
    if (xe > s->w + pr)
        xe = s->w + pr;
    int pool = (ye - ys) * (xe - xs);
    w.y0 = ys < 0 ? 0 : ys, w.x0 = xs < 0 ? 0 : xs;
    w.y1 = ye > s->h ? s->h : ye, w.x1 = xe > s->w ? s->w : xe;
    int real = (w.y1 - w.y0) * (w.x1 - w.x0);
    int div = cip ? pool : real;
    w.div = div > 0 ? (float)div : 1.0f;
    return w;
}

void avgpool_forward(float *out, const float *in, const gc_window *s, int pb, int pr, int cip)
{
    for (int p = 0; p < s->n * s->c; p++) {
        const float *x = in + (size_t)p * s->h * s->w;
        float *y = out + (size_t)p * s->ho * s->wo;
        for (int oy = 0; oy < s->ho; oy++)
            for (int ox = 0; ox < s->wo; ox++) {
                span w = window(s, oy, ox, pb, pr, cip);
                float sum = 0.0f;
                for (int yy = w.y0; yy < w.y1; yy++)
                    for (int xx = w.x0; xx < w.x1; xx++)
                        sum += x[yy * s->w + xx];
                y[oy * s->wo + ox] = sum / w.div;
            }
    }
}

void avgpool_backward_input(float *din, const float *dout, const gc_window *s, int pb, int pr,
                            int cip)
{
    for (int p = 0; p < s->n * s->c; p++) {
        float *dx = din + (size_t)p * s->h * s->w;
        const float *dy = dout + (size_t)p * s->ho * s->wo;
        for (int oy = 0; oy < s->ho; oy++)
            for (int ox = 0; ox < s->wo; ox++) {
                span w = window(s, oy, ox, pb, pr, cip);
                float g = dy[oy * s->wo + ox] / w.div;
                for (int yy = w.y0; yy < w.y1; yy++)
                    for (int xx = w.x0; xx < w.x1; xx++)
                        dx[yy * s->w + xx] += g;
            }
    }
}
