/* eigencam.c — the eigen reduction behind Eigen-CAM (Muhammad & Yeasin
 * 2020), Eigen-Grad-CAM and --eigen-smooth: the first principal component
 * of a [positions x channels] matrix, through LAPACK's divide-and-conquer
 * SVD (dgesdd) in double precision. LAPACK comes with OpenBLAS; it is
 * called through its Fortran interface, declared here. */
#include "cam/methods.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>

/* Fortran LAPACK: every argument by reference; gfortran passes the length
 * of each character argument as a trailing size_t. */
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda,
             double *s, double *u, const int *ldu, double *vt, const int *ldvt,
             double *work, const int *lwork, int *iwork, int *info, size_t jobz_len);

/* Thin SVD of the column-major hw x c matrix a (destroyed). */
static int svd(double *a, int hw, int c, double *sv, double *u, double *vt, gc_error *err,
               gc_status *st)
{
    int r = hw < c ? hw : c, lwork = -1, info = 0;
    int *iwork = malloc(sizeof(int) * 8 * (size_t)r);
    double query = 0.0, *work = NULL;
    if (iwork)
        dgesdd_("S", &hw, &c, a, &hw, sv, u, &hw, vt, &r, &query, &lwork, iwork, &info, 1);
    lwork = (int)query;
    if (iwork && info == 0 && (work = malloc(sizeof(double) * (size_t)(lwork > 1 ? lwork : 1))))
        dgesdd_("S", &hw, &c, a, &hw, sv, u, &hw, vt, &r, work, &lwork, iwork, &info, 1);
    if (!iwork || !work)
        *st = gc_fail(err, GC_ERR_NOMEM, "out of memory for the SVD of a %dx%d matrix", hw, c);
    else if (info != 0)
        *st = gc_fail(err, GC_ERR_INTERNAL, "LAPACK dgesdd failed (info %d)", info);
    free(iwork);
    free(work);
    return *st == GC_OK;
}

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
    if (!svd(P, hw, c, sv, u, vt, err, &st))
        goto out;
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
