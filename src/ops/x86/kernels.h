/* x86/kernels.h — the x86 kernels' entry points, each defined in a file of
 * this folder that is compiled for its instruction set (CMakeLists.txt
 * sets the flags by file name: *_avx512.c, *_avx2.c). Only cpu.c puts them
 * in its tables; calling one on a CPU without its instructions is
 * undefined, so nothing else should call them directly. */
#ifndef GC_OPS_X86_KERNELS_H
#define GC_OPS_X86_KERNELS_H

#include "ops/ops.h"
#include "ops/winograd_tiles.h"

/* gemm_avx512.c: 6 x 64 register blocks of C, 16-float vectors. */
void gemm_nn_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                    float *c, int ldc, int accumulate);
void gemm_tn_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                    float *c, int ldc, int accumulate);
/* gemm_avx2.c: 6 x 16 register blocks of C, 8-float vectors. */
void gemm_nn_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                  float *c, int ldc, int accumulate);
void gemm_tn_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                  float *c, int ldc, int accumulate);

/* winograd_avx512.c, winograd_avx2.c: F(2x2, 3x3) transforms. */
extern const wino_kind winograd2_avx512, winograd2_avx2;
/* winograd4_avx512.c, winograd4_avx2.c: F(4x4, 3x3) transforms. */
extern const wino_kind winograd4_avx512, winograd4_avx2;

/* pool_avx512.c, pool_avx2.c: max pooling, 3x3 windows, stride 2, pad 1. */
void maxpool_stem_avx512(float *out, const float *in, const gc_window *s);
void maxpool_stem_avx2(float *out, const float *in, const gc_window *s);

/* gather_avx512.c, gather_avx2.c: dst[q] = src[2q] for q < len, reading
 * no float past src[2 len - 2]. */
void gather2_avx512(float *dst, const float *src, int len);
void gather2_avx2(float *dst, const float *src, int len);

/* depthwise_avx512.c, depthwise_avx2.c: one plane of a depthwise
 * convolution and its gradient (depthwise_rows.h's loops). */
void depthwise_plane_avx512(float *y, const float *x, const float *w, float b,
                            const gc_epilogue *e, int c, const float *res, const gc_window *s,
                            float *scratch);
void depthwise_plane_avx2(float *y, const float *x, const float *w, float b,
                          const gc_epilogue *e, int c, const float *res, const gc_window *s,
                          float *scratch);
void depthwise_plane_back_avx512(float *dx, const float *dy, const float *w, const gc_window *s,
                            float *scratch);
void depthwise_plane_back_avx2(float *dx, const float *dy, const float *w, const gc_window *s,
                           float *scratch);

/* unary_avx512.c, unary_avx2.c: the activations' forward loops
 * (unary_loops.h). */
void unary_map_avx512(int kind, float alpha, float beta, float *y, const float *x, size_t count);
void unary_map_avx2(int kind, float alpha, float beta, float *y, const float *x, size_t count);

/* epilogue_avx512.c, epilogue_avx2.c: the convolution epilogue's pass
 * (epilogue_loops.h). */
void epilogue_avx512(float *y, const float *res, size_t n, const float *bias,
                     const gc_epilogue *e, int c, int use_scale);
void epilogue_avx2(float *y, const float *res, size_t n, const float *bias,
                   const gc_epilogue *e, int c, int use_scale);

#endif
