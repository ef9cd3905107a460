/* preprocess.c — photo to normalised network input (one CHW float image).
 * STRETCH is the seed's pipeline: cv2.resize to size x size (INTER_LINEAR),
 * then (v / 255 - mean) / std. CROP is torchvision's eval transform:
 * Resize(round(size * 256 / 224)) of the shorter side with PIL bilinear,
 * CenterCrop(size), ToTensor, Normalize. Arithmetic is float32 in the same
 * order as torchvision (divide by 255, subtract, divide), so results match
 * bit for bit given the same 8-bit pixels. */
#include <math.h>

#include "core/error.h"
#include "image/image_internal.h"

gc_preprocess gc_preprocess_imagenet(void)
{
    gc_preprocess p = {224, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f},
                       GC_PREPROCESS_STRETCH};
    return p;
}

/* Python's round() of d / 2 for an integer d: halves go to the even side. */
static int round_half_even_div2(int d)
{
    int q = d >> 1; /* floor for d >= 0 */
    if (d & 1)
        return (q & 1) ? q + 1 : q;
    return q;
}

/* Shorter side to s, longer side int(s * long / short), then the centred
 * size x size window, with torchvision's offsets. */
static gc_status resize_crop(const gc_image *img, int size, gc_image *out, gc_error *err)
{
    int w = img->width, h = img->height;
    int s = (int)lround(size * 256.0 / 224.0);
    int shrt = w <= h ? w : h, lng = w <= h ? h : w;
    int nl = (int)((double)((long long)s * lng) / shrt);
    int nw = w <= h ? s : nl, nh = w <= h ? nl : s;
    gc_image r;
    gc_status st;
    if (nw == w && nh == h) { /* PIL returns a copy; skip the work */
        r = *img;
    } else if ((st = gc_image_resize_pil(img, nw, nh, &r, err))) {
        return st;
    }
    if ((st = gc_image_alloc(out, size, size, err)) == GC_OK) {
        int top = round_half_even_div2(nh - size), left = round_half_even_div2(nw - size);
        for (int y = 0; y < size; y++)
            for (int i = 0; i < size * 3; i++)
                out->pixels[(size_t)y * size * 3 + i] =
                    r.pixels[((size_t)(y + top) * nw + left) * 3 + i];
    }
    if (r.pixels != img->pixels)
        gc_image_free(&r);
    return st;
}

gc_status gc_image_to_tensor(const gc_image *img, const gc_preprocess *p, float *out,
                             gc_error *err)
{
    if (!img || !img->pixels || img->width <= 0 || img->height <= 0 || !p || !out)
        return gc_fail(err, GC_ERR_USAGE, "preprocess: missing image or output");
    if (p->size <= 0 || p->size > 8192)
        return gc_fail(err, GC_ERR_USAGE, "preprocess: input size %d out of range", p->size);
    for (int c = 0; c < 3; c++)
        if (!(p->std[c] != 0.0f) || !isfinite(p->std[c]) || !isfinite(p->mean[c]))
            return gc_fail(err, GC_ERR_USAGE, "preprocess: bad mean/std for channel %d", c);

    gc_image r;
    gc_status st;
    if (p->mode == GC_PREPROCESS_STRETCH)
        st = gc_image_resize_cv(img, p->size, p->size, &r, err);
    else if (p->mode == GC_PREPROCESS_CROP)
        st = resize_crop(img, p->size, &r, err);
    else
        st = gc_fail(err, GC_ERR_USAGE, "preprocess: unknown mode %d", (int)p->mode);
    if (st)
        return st;
    size_t plane = (size_t)p->size * p->size;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) {
            float v = (float)r.pixels[3 * i + c] / 255.0f;
            out[c * plane + i] = (v - p->mean[c]) / p->std[c];
        }
    gc_image_free(&r);
    gc_ok(err);
    return GC_OK;
}
