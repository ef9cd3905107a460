/* targets.h — gradient seeds beyond one output score (targets.c). */
#ifndef GC_CAM_TARGETS_H
#define GC_CAM_TARGETS_H

#include "core/graph.h"
#include "gradcam.h"

/* The segmentation target of req (gradcam.h, gc_request.segment) for n
 * images whose output map has per-image shape out: sign at the chosen
 * class's selected pixels in dlogits (n x K*H*W, zeroed by the caller),
 * each image's class in class_index. */
gc_status gc_segment_targets(const gc_shape *out, const float *logits, int n,
                             const gc_request *req, float sign, float *dlogits,
                             int *class_index, gc_error *err);

/* The detection target of req (gc_request.detect) for n images whose
 * output has per-image shape out ([boxes, 5 + K]); likewise. */
gc_status gc_detect_targets(const gc_shape *out, const float *logits, int n,
                            const gc_request *req, float sign, float *dlogits, int *class_index,
                            gc_error *err);

#endif
