/* gemm.h — the matrix product under the convolutions: C = A B, or C += A B,
 * all three row-major with leading dimensions, and C = A^T B. Where the
 * CPU tier has one (AVX2, AVX-512: cpu.h) it runs our own unpacked kernel
 * (src/ops/x86/gemm_*.c), elsewhere OpenBLAS's sgemm. Threads: OpenMP,
 * unless called inside a parallel region, where it runs on the calling
 * thread. */
#ifndef GC_OPS_GEMM_H
#define GC_OPS_GEMM_H

/* C[m x n] (=|+=) A[m x k] B[k x n]; accumulate selects +=. */
void gemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
             int ldc, int accumulate);

/* C[m x n] (=|+=) A^T B, where A is stored k x m. */
void gemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
             int ldc, int accumulate);

/* Whether gemm_nn runs our own kernel (small per-call cost) on this tier. */
int gemm_own_kernel(void);

/* OpenBLAS's forms, for tests that compare them with the tiers' kernels. */
void gemm_nn_blas(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                  float *c, int ldc, int accumulate);
void gemm_tn_blas(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                  float *c, int ldc, int accumulate);

#endif
