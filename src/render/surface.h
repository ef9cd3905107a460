/* surface.h — cairo surfaces to and from gc_images, for the renderers. */
#ifndef GC_RENDER_SURFACE_H
#define GC_RENDER_SURFACE_H

#include <cairo.h>

#include "gradcam.h"

/* An RGB24 copy of img (check cairo_surface_status). */
cairo_surface_t *gc_surface_from_image(const gc_image *img);
/* The opaque surface as an RGB PNG through gc_image_write_png (fast
 * compression, atomic rename). */
gc_status gc_surface_write_png(const char *path, cairo_surface_t *fig, gc_error *err);

#endif
