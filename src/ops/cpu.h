/* cpu.h — which kernels this process runs: the CPU is probed once, GC_CPU
 * may force a tier (portable, avx2, avx512; unset or "auto": the best the
 * CPU has), and the answer is one read-only table of kernel pointers that
 * the ops call through. The wide-vector kernels themselves live in
 * src/ops/x86/, each file built for its own instruction set; nothing else
 * in the library is. Deliberately not here: timing-based choices (a tier
 * is taken whole), or any tier a CPU lacks. */
#ifndef GC_OPS_CPU_H
#define GC_OPS_CPU_H

#include "gradcam.h"
#include "ops/ops.h"

typedef enum gc_tier { GC_TIER_PORTABLE, GC_TIER_AVX2, GC_TIER_AVX512, GC_TIERS } gc_tier;

typedef void gc_gemm_fn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate);
typedef void gc_pool_fn(float *out, const float *in, const gc_window *s);
typedef void gc_gather2_fn(float *dst, const float *src, int len);
typedef void gc_dw_plane_fn(float *y, const float *x, const float *w, float b,
                            const gc_epilogue *e, int c, const float *res, const gc_window *s,
                            float *scratch);
typedef void gc_unary_fn(int kind, float alpha, float beta, float *y, const float *x,
                         size_t count);
typedef void gc_dw_back_fn(float *dx, const float *dy, const float *w, const gc_window *s,
                           float *scratch);
/* bias: the channel's bias or NULL; use_scale: whether e's map applies. */
typedef void gc_epilogue_fn(float *y, const float *res, size_t n, const float *bias,
                            const gc_epilogue *e, int c, int use_scale);
struct wino_kind;

/* One tier's kernels. A NULL entry means the portable code (OpenBLAS for
 * the products), so the portable tier's table is all NULLs. */
typedef struct gc_kernels {
    gc_tier tier;
    const char *name;
    gc_gemm_fn *gemm_nn, *gemm_tn;          /* C (=|+=) A B, A^T B (gemm.h)    */
    const struct wino_kind *wino2, *wino4;  /* F(2x2, 3x3), F(4x4, 3x3)       */
    gc_pool_fn *maxpool_stem;               /* 3x3 windows, stride 2, pad 1    */
    gc_gather2_fn *gather2;                 /* dst[q] = src[2q], q < len       */
    gc_dw_plane_fn *depthwise_plane;        /* one depthwise plane, epilogue   */
    gc_dw_back_fn *depthwise_plane_back;    /* its gradient, into one input    */
    gc_unary_fn *unary_map;                 /* unary_forward on one share      */
    gc_epilogue_fn *epilogue;               /* a convolution's epilogue pass   */
} gc_kernels;

/* The table this process runs on: probed and chosen once, thread-safe.
 * Where GC_CPU asks for something impossible, the portable table (and
 * gc_cpu_check says why). */
const gc_kernels *gc_kernels_active(void);

/* Tier t's table where this CPU can run it, else NULL: for tests that
 * compare the tiers with each other. */
const gc_kernels *gc_kernels_of(gc_tier t);

/* The best tier this CPU (and its operating system) supports. */
gc_tier gc_cpu_best(void);

/* GC_OK, or why GC_CPU cannot be honoured; called where a model is
 * loaded, so that the error reaches the caller before anything runs. */
gc_status gc_cpu_check(gc_error *err);

/* The rule gc_cpu_check applies, without the environment: the tier that
 * value (NULL or "" for auto) selects on a CPU whose best tier is best. */
gc_status gc_cpu_choose(const char *value, gc_tier best, gc_tier *out, gc_error *err);

/* The portable tier's activation loops (unary.c), for tests. */
void unary_map_portable(int kind, float alpha, float beta, float *y, const float *x,
                        size_t count);

#endif
