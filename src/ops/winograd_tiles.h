/* winograd_tiles.h — what winograd.c shares with its vector transforms
 * (src/ops/x86/winograd_*.c): the run of tiles one transform call covers,
 * and the two transforms. The F(2x2) ones compute exactly what the
 * portable loops in winograd.c compute, in the same order, so any tier
 * gives the same bits. Also the driver every Winograd kind runs on
 * (winograd_driver.c). */
#ifndef GC_OPS_WINOGRAD_TILES_H
#define GC_OPS_WINOGRAD_TILES_H

#include "ops/ops.h"

#include <stddef.h>

/* A run of tiles in one tile row: image n, row ty, columns [tx, tx + len),
 * len at most 64. */
typedef struct wino_segment {
    int n, ty, tx, len;
} wino_segment;

/* The portable transforms (winograd.c). Input: V[xi][ch][col + k] =
 * (B^T d B)[xi] of tile k's 4x4 input patch, zero outside the image; ldv
 * is the length of V's rows; rows and eo are scratch of 4 x (2 len + 2)
 * and 8 x (len + 1) floats. Output: out = epi(A^T m A + bias) (or out +=
 * A^T m A when accumulate is set) for output channels [k0, k0 + kn); M
 * holds 16 x kn x ldm products. */
void winograd_input_portable(float *V, size_t ldv, int col, const float *in, const gc_window *s,
                             wino_segment g, float *rows, float *eo);
void winograd_output_portable(float *out, const float *M, size_t ldm, int col, const float *bias,
                              const gc_epilogue *epi, const gc_window *s, wino_segment g, int k0,
                              int kn, int accumulate);

/* One Winograd algorithm F(m x m, 3x3) as winograd.c's driver runs it:
 * m outputs per tile side, points = (m + 2)^2 products per tile, and the
 * two transforms (input takes scratch(tb) floats of its own for a block of
 * tb tiles; output as winograd_output_portable). U holds points x oc x c
 * transformed filters. */
typedef struct wino_kind {
    int m, points;
    size_t (*scratch)(int tb);
    void (*input)(float *V, size_t ldv, int col, const float *in, const gc_window *s,
                  wino_segment g, float *scratch);
    void (*output)(float *out, const float *M, size_t ldm, int col, const float *bias,
                   const gc_epilogue *epi, const gc_window *s, wino_segment g, int k0, int kn,
                   int accumulate);
    /* Optional, for maps of fewer than short_rows tiles a row, where a
     * segment would leave most vector lanes idle: the same transforms for
     * `count` (at most 16) consecutive tiles of the batch from tile t on,
     * across tile rows and images (th x tw tiles an image). */
    int short_rows;
    void (*input_any)(float *V, size_t ldv, int col, const float *in, const gc_window *s, int t,
                      int count, int th, int tw);
    void (*output_any)(float *out, const float *M, size_t ldm, int col, const float *bias,
                       const gc_epilogue *epi, const gc_window *s, int t, int count, int th,
                       int tw, int k0, int kn, int accumulate);
} wino_kind;

/* The portable kinds, F(2x2, 3x3) (winograd.c) and F(4x4, 3x3)
 * (winograd4.c); the CPU tier's own are in its table (cpu.h). */
const wino_kind *winograd2_portable_kind(void);
const wino_kind *winograd4_portable_kind(void);

/* The forward pass's workspace, in floats. */
size_t wino_workspace(const wino_kind *k, const gc_window *s);

/* U[xi][q] for kc filters of `points` transformed values each (at most
 * WINO_MAX_POINTS), in parallel, WINO_FILTERS at a time: block(out, q0,
 * nq, ctx) puts value xi of filter q0 + f at out[xi * WINO_FILTERS + f]. */
#define WINO_MAX_POINTS 36
#define WINO_FILTERS 64
void wino_transform_filters(float *U, int points, size_t kc,
                            void (*block)(float *out, size_t q0, size_t nq, const void *ctx),
                            const void *ctx);
void wino_forward(const wino_kind *k, float *out, const float *in, const float *U,
                  const float *bias, const gc_epilogue *epi, const gc_window *s, float *work);
/* The backward pass of the forward window s (F(2x2, 3x3) only): din +=
 * conv^T(dout); work holds wino_backward_workspace(k, s) floats. */
size_t wino_backward_workspace(const wino_kind *k, const gc_window *s);
void wino_backward(const wino_kind *k, float *din, const float *dout, const float *U,
                   const gc_window *s, float *work);

#endif
