/* overlay.c — the classic Grad-CAM overlay: each pixel is the average of the
 * photo and jet(heat), rounded half up. heat is expected in [0, 1]; values
 * outside are clamped by the colour map. */
#include "core/error.h"
#include "render/colormap.h"

gc_status gc_render_overlay(const gc_image *photo, const float *heat, gc_image *out,
                            gc_error *err)
{
    if (!photo || !photo->pixels || !heat || !out)
        return gc_fail(err, GC_ERR_USAGE, "overlay: missing photo, heat map or output");
    gc_status st = gc_image_alloc(out, photo->width, photo->height, err);
    if (st)
        return st;
    unsigned char lut[256][3];
    gc_colormap_jet_table(lut);
    size_t n = (size_t)photo->width * photo->height;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *j = lut[gc_colormap_jet_index(heat[i])];
        for (int c = 0; c < 3; c++)
            out->pixels[3 * i + c] = (unsigned char)((photo->pixels[3 * i + c] + j[c] + 1) / 2);
    }
    gc_ok(err);
    return GC_OK;
}
