/* gemm.c — chooses the implementation of gemm_nn() (see gemm.h): the CPU
 * tier's own kernel where it has one (cpu.h), OpenBLAS elsewhere, so one
 * portable binary is fast on new CPUs and still runs on old ones (and
 * under Valgrind, which hides AVX-512 from the program). Deliberately not
 * here: the kernels (src/ops/x86/). */
#include "ops/gemm.h"

#include "ops/cpu.h"

#include <cblas.h>
#include <string.h>

void gemm_nn_blas(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                  float *c, int ldc, int accumulate)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
                accumulate ? 1.0f : 0.0f, c, ldc);
}

void gemm_tn_blas(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                  float *c, int ldc, int accumulate)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
                accumulate ? 1.0f : 0.0f, c, ldc);
}

/* What both products do with an empty sum or an empty C; 1 if that was
 * all there was to do. */
static int trivial(int m, int n, int k, float *c, int ldc, int accumulate)
{
    if (m <= 0 || n <= 0)
        return 1;
    if (k > 0)
        return 0;
    if (!accumulate)
        for (int i = 0; i < m; i++)
            memset(c + (size_t)i * ldc, 0, sizeof(float) * n);
    return 1;
}

/* The empty cases, then the tier's kernel, else BLAS. */
static void dispatch(gc_gemm_fn *fast, gc_gemm_fn *blas, int m, int n, int k, const float *a,
                     int lda, const float *b, int ldb, float *c, int ldc, int accumulate)
{
    if (!trivial(m, n, k, c, ldc, accumulate))
        (fast ? fast : blas)(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void gemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
             int ldc, int accumulate)
{
    dispatch(gc_kernels_active()->gemm_nn, gemm_nn_blas, m, n, k, a, lda, b, ldb, c, ldc,
             accumulate);
}

void gemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
             int ldc, int accumulate)
{
    dispatch(gc_kernels_active()->gemm_tn, gemm_tn_blas, m, n, k, a, lda, b, ldb, c, ldc,
             accumulate);
}

int gemm_own_kernel(void) { return gc_kernels_active()->gemm_nn != NULL; }
