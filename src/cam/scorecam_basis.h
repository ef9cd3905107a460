/* scorecam_basis.h — Score-CAM's masked passes started after the first
 * convolution (see scorecam_basis.c for why that is exact). */
#ifndef GC_CAM_SCORECAM_BASIS_H
#define GC_CAM_SCORECAM_BASIS_H

#include "core/session.h"

typedef struct scorecam_basis scorecam_basis;

/* For masks upsampled from mh x mw maps of `channels` channels, run in
 * the batched session sub (planned and with its kept nodes chosen). *out
 * stays NULL where the network does not start with one plain convolution,
 * or where the shortcut would not pay (fine maps of few channels); then
 * the caller runs whole passes. */
gc_status scorecam_basis_new(gc_session *sub, int mh, int mw, int channels,
                             scorecam_basis **out, gc_error *err);
void scorecam_basis_free(scorecam_basis *b);

/* The basis convolutions of one image x (c x H x W). */
void scorecam_basis_image(scorecam_basis *b, const float *x);

/* The masked passes for count channels (count <= sub's batch): slot s
 * holds the image masked by channel channels[s] of maps (c x mh x mw),
 * normalised by that channel's upsampled minimum lo and maximum hi. The
 * logits end up in sub's output as a whole forward pass leaves them. */
void scorecam_basis_batch(scorecam_basis *b, const float *maps, const int *channels, int count,
                          const float *lo, const float *hi);

#endif
