/* gradient_methods.c — the methods that need only A and G: Grad-CAM,
 * HiResCAM, element-wise Grad-CAM, XGrad-CAM, Grad-CAM++, LayerCAM, and the
 * random baseline's weights. */
#include "cam/methods.h"

#include <stddef.h>

void cam_weighted(float *cam, const float *act, const double *w, int n, int c, int hw)
{
    for (int i = 0; i < n; i++) {
        const float *a = act + (size_t)i * c * hw;
        const double *wi = w + (size_t)i * c;
        for (int p = 0; p < hw; p++) {
            double sum = 0.0;
            for (int k = 0; k < c; k++)
                sum += wi[k] * a[(size_t)k * hw + p];
            cam[(size_t)i * hw + p] = sum > 0.0 ? (float)sum : 0.0f;
        }
    }
}

void weights_gradcam(double *w, const float *grad, int n, int c, int hw)
{
    for (size_t ik = 0; ik < (size_t)n * c; ik++) {
        const float *g = grad + ik * hw;
        double sum = 0.0;
        for (int p = 0; p < hw; p++)
            sum += g[p];
        w[ik] = sum / hw;
    }
}

void weights_xgradcam(double *w, const float *act, const float *grad, int n, int c, int hw)
{
    for (size_t ik = 0; ik < (size_t)n * c; ik++) {
        const float *a = act + ik * hw, *g = grad + ik * hw;
        double ga = 0.0, sa = 0.0;
        for (int p = 0; p < hw; p++) {
            ga += (double)g[p] * a[p];
            sa += a[p];
        }
        w[ik] = ga / (sa + 1e-7);
    }
}

void weights_gradcampp(double *w, const float *act, const float *grad, int n, int c, int hw)
{
    for (size_t ik = 0; ik < (size_t)n * c; ik++) {
        const float *a = act + ik * hw, *g = grad + ik * hw;
        double sa = 0.0, sum = 0.0;
        for (int p = 0; p < hw; p++)
            sa += a[p];
        for (int p = 0; p < hw; p++) {
            double gp = g[p];
            if (gp == 0.0)
                continue;
            double g2 = gp * gp, alpha = g2 / (2.0 * g2 + sa * g2 * gp + 1e-6);
            if (gp > 0.0)
                sum += alpha * gp;
        }
        w[ik] = sum;
    }
}

void weights_random(double *w, int n, int c, unsigned seed)
{
    /* xorshift32: reproducible everywhere, no global state. */
    unsigned x = seed ? seed : 0x9E3779B9u;
    for (size_t ik = 0; ik < (size_t)n * c; ik++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        w[ik] = (double)x / 2147483648.0 - 1.0;
    }
}

typedef double (*pointwise_fn)(double a, double g);

static void cam_pointwise(float *cam, const float *act, const float *grad, int n, int c,
                          int hw, pointwise_fn f)
{
    for (int i = 0; i < n; i++) {
        const float *a = act + (size_t)i * c * hw, *g = grad + (size_t)i * c * hw;
        for (int p = 0; p < hw; p++) {
            double sum = 0.0;
            for (int k = 0; k < c; k++)
                sum += f(a[(size_t)k * hw + p], g[(size_t)k * hw + p]);
            cam[(size_t)i * hw + p] = sum > 0.0 ? (float)sum : 0.0f;
        }
    }
}

static double product(double a, double g) { return a * g; }
static double relu_product(double a, double g) { return a * g > 0.0 ? a * g : 0.0; }
static double relu_grad_times_act(double a, double g) { return g > 0.0 ? g * a : 0.0; }

void cam_hirescam(float *cam, const float *act, const float *grad, int n, int c, int hw)
{
    cam_pointwise(cam, act, grad, n, c, hw, product);
}

void cam_elementwise(float *cam, const float *act, const float *grad, int n, int c, int hw)
{
    cam_pointwise(cam, act, grad, n, c, hw, relu_product);
}

void cam_layercam(float *cam, const float *act, const float *grad, int n, int c, int hw)
{
    cam_pointwise(cam, act, grad, n, c, hw, relu_grad_times_act);
}
