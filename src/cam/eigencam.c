/* eigencam.c — Eigen-CAM (Muhammad & Yeasin 2020) and its gradient-weighted
 * variant: the first principal component of a layer's activations, through
 * LAPACK's divide-and-conquer SVD (dgesdd), in double precision. */
#include "cam/methods.h"
#include "core/error.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

gc_status cam_eigen(float *cam, const float *act, const float *grad, int n, int c, int hw,
                    gc_error *err)
{
    int k = hw < c ? hw : c;
    double *m = malloc(sizeof(double) * (size_t)hw * c);
    double *copy = malloc(sizeof(double) * (size_t)hw * c);
    double *sv = malloc(sizeof(double) * (size_t)k);
    double *u = malloc(sizeof(double) * (size_t)hw * k);
    double *vt = malloc(sizeof(double) * (size_t)k * c);
    gc_status st = GC_OK;
    if (!m || !copy || !sv || !u || !vt) {
        st = gc_fail(err, GC_ERR_NOMEM, "out of memory for Eigen-CAM's SVD");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const float *a = act + (size_t)i * c * hw;
        const float *g = grad ? grad + (size_t)i * c * hw : NULL;
        /* Rows are positions, columns channels, each column centred. */
        for (int ch = 0; ch < c; ch++) {
            double mean = 0.0;
            for (int p = 0; p < hw; p++) {
                size_t q = (size_t)ch * hw + p;
                double v = g ? (double)a[q] * g[q] : a[q];
                m[(size_t)p * c + ch] = v;
                mean += v;
            }
            mean /= hw;
            for (int p = 0; p < hw; p++)
                m[(size_t)p * c + ch] -= mean;
        }
        for (size_t q = 0; q < (size_t)hw * c; q++)
            copy[q] = m[q]; /* dgesdd destroys its input */
        lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', hw, c, copy, c, sv, u, k, vt, c);
        if (info != 0) {
            st = gc_fail(err, GC_ERR_INTERNAL, "Eigen-CAM: LAPACK dgesdd failed (info %d)",
                         (int)info);
            goto out;
        }
        double big = 0.0;
        float *out = cam + (size_t)i * hw;
        double *proj = u; /* reuse: u's first column is no longer needed */
        for (int p = 0; p < hw; p++) {
            double s = 0.0;
            for (int ch = 0; ch < c; ch++)
                s += m[(size_t)p * c + ch] * vt[ch];
            proj[p] = s;
            if (fabs(s) > fabs(big))
                big = s;
        }
        double sign = big < 0.0 ? -1.0 : 1.0;
        for (int p = 0; p < hw; p++) {
            double v = sign * proj[p];
            out[p] = v > 0.0 ? (float)v : 0.0f;
        }
    }
out:
    free(m), free(copy), free(sv), free(u), free(vt);
    return st;
}
