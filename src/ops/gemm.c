/* gemm.c — chooses the implementation of gemm_nn() (see gemm.h): our AVX-512
 * kernel where the CPU has it, OpenBLAS elsewhere. The choice is made per
 * call from the CPU's feature bits, so one portable binary is fast on new
 * CPUs and still runs on old ones (and under Valgrind, which hides
 * AVX-512 from the program). */
#include "ops/gemm.h"

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

typedef void gemm_fn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate);

/* The empty cases, then our kernel where the CPU has AVX-512, else BLAS. */
static void dispatch(gemm_fn *fast, gemm_fn *blas, int m, int n, int k, const float *a, int lda,
                     const float *b, int ldb, float *c, int ldc, int accumulate)
{
    if (!trivial(m, n, k, c, ldc, accumulate))
        (gemm_avx512_available() ? fast : blas)(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void gemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
             int ldc, int accumulate)
{
    dispatch(gemm_avx512, gemm_nn_blas, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void gemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
             int ldc, int accumulate)
{
    dispatch(gemm_avx512_tn, gemm_tn_blas, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}
