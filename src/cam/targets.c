/* targets.c — what a gradient starts from beyond one output score: the
 * segmentation target, a class's scores summed over the pixels where it
 * wins (or over a given mask), as pytorch-grad-cam's
 * SemanticSegmentationTarget defines it: the gradient of
 * sum_p y[c][p] m[p] is m[p] at (c, p) and 0 elsewhere; and a detection
 * target, one box's score for one class in a raw detection head. */
#include "cam/targets.h"

#include "core/error.h"

#include <stdlib.h>

/* The class with the largest score at pixel p of an image's [K, hw] map
 * (the first of equals, as argmax). */
static int winner(const float *y, int k, size_t hw, size_t p)
{
    int best = 0;
    for (int c = 1; c < k; c++)
        if (y[(size_t)c * hw + p] > y[(size_t)best * hw + p])
            best = c;
    return best;
}

gc_status gc_segment_targets(const gc_shape *out, const float *logits, int n,
                             const gc_request *req, float sign, float *dlogits,
                             int *class_index, gc_error *err)
{
    if (!out->spatial)
        return gc_fail(err, GC_ERR_USAGE, "a segmentation target needs a model whose output is "
                       "a map [classes, H, W]; this one's is %d values", out->c);
    const int k = out->c;
    const size_t hw = (size_t)out->h * out->w;
    if (req->class_index != GC_CLASS_TOP1 && req->class_index >= k)
        return gc_fail(err, GC_ERR_USAGE, "class %d is out of range (the output map has %d "
                       "classes: 0-%d)", req->class_index, k, k - 1);
    if (req->mask && (req->mask_h < 1 || req->mask_w < 1))
        return gc_fail(err, GC_ERR_USAGE, "a mask of %d x %d pixels", req->mask_w, req->mask_h);
    if (req->rank >= k)
        return gc_fail(err, GC_ERR_USAGE, "rank %d is out of range (%d classes)", req->rank, k);
    size_t *count = calloc((size_t)k, sizeof *count);
    char *taken = calloc((size_t)k, 1);
    if (!count || !taken) {
        free(count), free(taken);
        return gc_fail(err, GC_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        const float *y = logits + (size_t)i * k * hw;
        int c = req->class_index;
        if (c == GC_CLASS_TOP1) { /* the rank-th class by pixels won */
            for (int j = 0; j < k; j++)
                count[j] = 0, taken[j] = 0;
            for (size_t p = 0; p < hw; p++)
                count[winner(y, k, hw, p)]++;
            for (int r = 0; r <= req->rank; r++) {
                c = -1;
                for (int j = 0; j < k; j++)
                    if (!taken[j] && (c < 0 || count[j] > count[c]))
                        c = j;
                taken[c] = 1;
            }
        }
        class_index[i] = c;
        float *d = dlogits + (size_t)i * k * hw + (size_t)c * hw;
        for (int py = 0; py < out->h; py++)
            for (int px = 0; px < out->w; px++) {
                const size_t p = (size_t)py * out->w + px;
                const int in = req->mask ? req->mask[(size_t)(py * req->mask_h / out->h) *
                                                         req->mask_w +
                                                     (size_t)px * req->mask_w / out->w] != 0
                                         : winner(y, k, hw, p) == c;
                if (in)
                    d[p] = sign;
            }
    }
    free(count), free(taken);
    return GC_OK;
}

gc_status gc_detect_targets(const gc_shape *out, const float *logits, int n,
                            const gc_request *req, float sign, float *dlogits, int *class_index,
                            gc_error *err)
{
    if (out->ndim != 2 || out->d[1] < 6)
        return gc_fail(err, GC_ERR_USAGE, "a detection target needs a model whose output is "
                       "[boxes, 5 + classes] per image (YOLO's raw head)");
    const int boxes = out->d[0], row = out->d[1], k = row - 5, c = req->class_index;
    if (c == GC_CLASS_TOP1 || c < 0 || c >= k)
        return gc_fail(err, GC_ERR_USAGE, "a detection target needs --class, one of the head's "
                       "%d classes (0-%d)", k, k - 1);
    if (req->detect == GC_DETECT_BOX && (req->box < 0 || req->box >= boxes))
        return gc_fail(err, GC_ERR_USAGE, "box %d is out of range (the head has %d boxes)",
                       req->box, boxes);
    for (int i = 0; i < n; i++) {
        const float *y = logits + (size_t)i * boxes * row;
        int b = req->detect == GC_DETECT_BOX ? req->box : -1;
        if (b < 0) { /* the box scoring c highest, the first of equals */
            b = 0;
            for (int j = 1; j < boxes; j++)
                if (y[(size_t)j * row + 5 + c] > y[(size_t)b * row + 5 + c])
                    b = j;
        }
        class_index[i] = c;
        dlogits[(size_t)i * boxes * row + (size_t)b * row + 5 + c] = sign;
    }
    return GC_OK;
}
