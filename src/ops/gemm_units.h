/* gemm_units.h — how our own GEMM kernels (src/ops/x86/gemm_*.c) share a
 * product among the OpenMP threads: C is cut into units of one column
 * block by a part of the rows, and the units are dealt out. The kernels
 * differ in their register blocks; this schedule is the same for all.
 * Deliberately not here: anything that touches the matrices. */
#ifndef GC_OPS_GEMM_UNITS_H
#define GC_OPS_GEMM_UNITS_H

/* One product: C (=|+=) A B, or A^T B where ta is set (A stored k x m). */
typedef struct gemm_args {
    int ta, m, n, k;
    const float *a, *b;
    float *c;
    int lda, ldb, ldc, accumulate;
} gemm_args;

/* Computes rows [m0, m1) of columns [n0, n0 + nr) of C. */
typedef void gemm_unit_fn(const gemm_args *g, int m0, int m1, int n0, int nr);

/* Runs unit over all of C: micro-kernels of mr rows, column blocks of nr,
 * row parts of about mc rows; on the calling thread when called inside a
 * parallel region. */
void gemm_units_run(const gemm_args *g, gemm_unit_fn *unit, int mr, int nr, int mc);

#endif
