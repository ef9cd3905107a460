/* gemm_units.c — the threads' share of a product for our own GEMM kernels
 * (gemm_units.h). Plain C: the kernels' vector code stays in their files.
 * Deliberately not here: choosing a kernel (gemm.c) or blocking sizes
 * (each kernel has its own). */
#include "ops/gemm_units.h"

#include <omp.h>

/* Unit u: column block u / parts, row part u % parts. */
static void unit_of(const gemm_args *g, gemm_unit_fn *unit, int u, int parts, int micro_rows,
                    int mr, int nr)
{
    const int j = u / parts, q = u % parts;
    const int n0 = j * nr, width = g->n - n0 < nr ? g->n - n0 : nr;
    const int m0 = mr * (int)((long)micro_rows * q / parts);
    const int m1 = mr * (int)((long)micro_rows * (q + 1) / parts);
    unit(g, m0, m1 < g->m ? m1 : g->m, n0, width);
}

void gemm_units_run(const gemm_args *g, gemm_unit_fn *unit, int mr, int nr, int mc)
{
    const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    const int nblocks = (g->n + nr - 1) / nr, micro_rows = (g->m + mr - 1) / mr;
    /* Row parts of about mc rows; with few column blocks, a multiple of
     * the thread count, so every thread gets the same number of rows
     * (to within one micro-kernel row). */
    int parts = (g->m + mc - 1) / mc;
    if (nblocks < 4 * threads)
        parts = (parts + threads - 1) / threads * threads;
    if (parts > micro_rows)
        parts = micro_rows;
    const int units = nblocks * parts;
    /* Called inside the Winograd driver's region, a serialised nested
     * region per call cost 9% of a 56x56 convolution at batch 1. */
    if (threads == 1 || units == 1) {
        for (int u = 0; u < units; u++)
            unit_of(g, unit, u, parts, micro_rows, mr, nr);
        return;
    }
    /* Column-block-major order: a thread's consecutive units share the
     * B block, which stays in its L2 while A streams past. */
    #pragma omp parallel for schedule(static)
    for (int u = 0; u < units; u++)
        unit_of(g, unit, u, parts, micro_rows, mr, nr);
}
