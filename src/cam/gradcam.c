/* gradcam.c — the Grad-CAM map from a layer's activations and gradients.
 * Sums run in double: a map is a difference of large terms at inner layers,
 * and float accumulation over hundreds of channels costs digits we promise. */
#include "cam/methods.h"

#include <stddef.h>

void cam_gradcam(float *cam, const float *act, const float *grad, int n, int c, int hw,
                 double *alpha)
{
    for (int i = 0; i < n; i++) {
        const float *a = act + (size_t)i * c * hw;
        const float *g = grad + (size_t)i * c * hw;
        for (int k = 0; k < c; k++) {
            double sum = 0.0;
            for (int p = 0; p < hw; p++)
                sum += g[(size_t)k * hw + p];
            alpha[k] = sum / hw;
        }
        for (int p = 0; p < hw; p++) {
            double sum = 0.0;
            for (int k = 0; k < c; k++)
                sum += alpha[k] * a[(size_t)k * hw + p];
            cam[(size_t)i * hw + p] = sum > 0.0 ? (float)sum : 0.0f;
        }
    }
}
