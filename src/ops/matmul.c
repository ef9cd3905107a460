/* matmul.c — matrix products: the fully connected classifier (PyTorch's
 * weight layout), MatMul of a computed tensor and a constant matrix (a
 * Linear layer exported without Gemm) or of two computed tensors
 * (attention), with the gradients to the computed operands. BLAS does the
 * work. */
#include "ops/ops.h"

#include <cblas.h>

void matmul_const_forward(float *y, const float *a, const float *w, size_t rows, int k, int m)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, m, k, 1.0f, a, k, w, m,
                0.0f, y, m);
}

void matmul_const_backward_input(float *da, const float *dy, const float *w, size_t rows, int k,
                                 int m)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, k, m, 1.0f, dy, m, w, m,
                1.0f, da, k);
}

void matmul_forward(float *y, const float *a, const float *b, size_t batch, int r, int k, int m)
{
    for (size_t i = 0; i < batch; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, m, k, 1.0f,
                    a + i * (size_t)r * k, k, b + i * (size_t)k * m, m, 0.0f,
                    y + i * (size_t)r * m, m);
}

void matmul_backward_input(float *da, float *db, const float *dy, const float *a, const float *b,
                           size_t batch, int r, int k, int m)
{
    for (size_t i = 0; i < batch; i++) {
        const float *g = dy + i * (size_t)r * m;
        if (da) /* dA = dY B^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r, k, m, 1.0f, g, m,
                        b + i * (size_t)k * m, m, 1.0f, da + i * (size_t)r * k, k);
        if (db) /* dB = A^T dY */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, m, r, 1.0f,
                        a + i * (size_t)r * k, k, g, m, 1.0f, db + i * (size_t)k * m, m);
    }
}

/* Up to this many images a classifier runs as one matrix-vector product
 * per image: sgemm would copy ("pack") the whole weight matrix first, which
 * for one image costs as much again as reading it (5 MB for a 1280 x 1000
 * head). */
#define LINEAR_GEMV_MAX 2

void linear_forward(float *out, const float *in, const float *weight, const float *bias,
                    int n, int in_features, int out_features)
{
    if (n <= LINEAR_GEMV_MAX)
        for (int i = 0; i < n; i++)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, out_features, in_features, 1.0f, weight,
                        in_features, in + (size_t)i * in_features, 1, 0.0f,
                        out + (size_t)i * out_features, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_features, in_features,
                    1.0f, in, in_features, weight, in_features, 0.0f, out, out_features);
    if (bias)
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out_features; o++)
                out[(size_t)i * out_features + o] += bias[o];
}

void linear_backward_input(float *din, const float *dout, const float *weight, int n,
                           int in_features, int out_features)
{
    if (n <= LINEAR_GEMV_MAX)
        for (int i = 0; i < n; i++)
            cblas_sgemv(CblasRowMajor, CblasTrans, out_features, in_features, 1.0f, weight,
                        in_features, dout + (size_t)i * out_features, 1, 1.0f,
                        din + (size_t)i * in_features, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in_features, out_features,
                    1.0f, dout, out_features, weight, in_features, 1.0f, din, in_features);
}
