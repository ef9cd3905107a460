/* eigencam.c — the eigen reduction behind Eigen-CAM (Muhammad & Yeasin
 * 2020), Eigen-Grad-CAM and --eigen-smooth: the first principal component
 * of a [positions x channels] matrix, through LAPACK's divide-and-conquer
 * SVD (dgesdd) in double precision. */
#include "cam/methods.h"
#include "core/error.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

gc_status reduce_eigen(float *map, double *P, int c, int hw, gc_error *err)
{
    /* P is c rows of hw, i.e. the hw x c matrix M in column-major order. */
    for (int k = 0; k < c; k++) {
        double *col = P + (size_t)k * hw, mean = 0.0;
        for (int p = 0; p < hw; p++)
            mean += col[p];
        mean /= hw;
        for (int p = 0; p < hw; p++)
            col[p] -= mean;
    }
    int r = hw < c ? hw : c;
    double *sv = malloc(sizeof(double) * (size_t)r);
    double *u = malloc(sizeof(double) * (size_t)hw * r);
    double *vt = malloc(sizeof(double) * (size_t)r * c);
    gc_status st = GC_OK;
    if (!sv || !u || !vt) {
        st = gc_fail(err, GC_ERR_NOMEM, "out of memory for the SVD of a %dx%d matrix", hw, c);
        goto out;
    }
    lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', hw, c, P, hw, sv, u, hw, vt, r);
    if (info != 0) {
        st = gc_fail(err, GC_ERR_INTERNAL, "LAPACK dgesdd failed (info %d)", (int)info);
        goto out;
    }
    /* M v1 = s1 u1: the projection is the first left vector, scaled. */
    double big = 0.0;
    for (int p = 0; p < hw; p++)
        if (fabs(u[p]) > fabs(big))
            big = u[p];
    double scale = big < 0.0 ? -sv[0] : sv[0];
    for (int p = 0; p < hw; p++) {
        double v = scale * u[p];
        map[p] = v > 0.0 ? (float)v : 0.0f;
    }
out:
    free(sv), free(u), free(vt);
    return st;
}
