/* figure.c — the seed's matplotlib figure, drawn with cairo: a title line,
 * then three panels side by side — the photo, the jet heat map, and the
 * photo blacked out where heat <= threshold. Panels keep the photo's aspect
 * and are shrunk (never enlarged) to fit GC_FIG_PANEL_MAX_H x _MAX_W.
 * Written as PNG to a temporary name, then renamed into place.
 * Not drawn: axes, ticks, colour bar. */
#include "render/colormap.h"
#include "render/figure.h"
#include "render/surface.h"

#include <cairo.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "image/image_internal.h"

void gc_figure_layout_for(int photo_w, int photo_h, gc_figure_layout *l)
{
    double s = 1.0;
    if (photo_h * s > GC_FIG_PANEL_MAX_H)
        s = (double)GC_FIG_PANEL_MAX_H / photo_h;
    if (photo_w * s > GC_FIG_PANEL_MAX_W)
        s = (double)GC_FIG_PANEL_MAX_W / photo_w;
    l->scale = s;
    l->panel_w = (int)lround(photo_w * s);
    l->panel_h = (int)lround(photo_h * s);
    if (l->panel_w < 1)
        l->panel_w = 1;
    if (l->panel_h < 1)
        l->panel_h = 1;
    l->panel_y = GC_FIG_MARGIN + GC_FIG_TITLE_H;
    for (int i = 0; i < 3; i++)
        l->panel_x[i] = GC_FIG_MARGIN + i * (l->panel_w + GC_FIG_GAP);
    l->width = 2 * GC_FIG_MARGIN + 3 * l->panel_w + 2 * GC_FIG_GAP;
    l->height = l->panel_y + l->panel_h + GC_FIG_MARGIN;
}

/* Fills a cairo RGB24 surface from a per-pixel function of the photo. */
enum { PANEL_PHOTO, PANEL_HEAT, PANEL_MASK };

static cairo_surface_t *panel_surface(const gc_image *photo, const float *heat, int kind,
                                      float threshold)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, photo->width,
                                                    photo->height);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    unsigned char lut[256][3];
    gc_colormap_jet_table(lut);
    for (int y = 0; y < photo->height; y++) {
        uint32_t *row = (uint32_t *)(data + (size_t)y * stride);
        for (int x = 0; x < photo->width; x++) {
            size_t i = (size_t)y * photo->width + x;
            const unsigned char *p = photo->pixels + 3 * i;
            unsigned char rgb[3] = {p[0], p[1], p[2]};
            if (kind == PANEL_HEAT)
                memcpy(rgb, lut[gc_colormap_jet_index(heat[i])], 3);
            else if (kind == PANEL_MASK && !(heat[i] > threshold))
                rgb[0] = rgb[1] = rgb[2] = 0;
            row[x] = (uint32_t)rgb[0] << 16 | (uint32_t)rgb[1] << 8 | rgb[2];
        }
    }
    cairo_surface_mark_dirty(s);
    return s;
}

gc_status gc_render_figure(const char *path, const gc_image *photo, const float *heat,
                           const char *title, float threshold, gc_error *err)
{
    if (!path || !photo || !photo->pixels || photo->width <= 0 || photo->height <= 0 || !heat)
        return gc_fail(err, GC_ERR_USAGE, "figure: missing path, photo or heat map");
    gc_figure_layout L;
    gc_figure_layout_for(photo->width, photo->height, &L);

    cairo_surface_t *fig = cairo_image_surface_create(CAIRO_FORMAT_RGB24, L.width, L.height);
    cairo_t *cr = cairo_create(fig);
    cairo_set_source_rgb(cr, 0.96, 0.96, 0.96); /* light background */
    cairo_paint(cr);

    if (title && title[0]) {
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                               CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr, 20);
        cairo_text_extents_t te;
        cairo_text_extents(cr, title, &te);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_move_to(cr, (L.width - te.width) / 2 - te.x_bearing,
                      GC_FIG_MARGIN + GC_FIG_TITLE_H / 2.0 - te.height / 2 - te.y_bearing);
        cairo_show_text(cr, title);
    }

    for (int k = 0; k < 3 && cairo_status(cr) == CAIRO_STATUS_SUCCESS; k++) {
        cairo_surface_t *p = panel_surface(photo, heat, k, threshold);
        cairo_save(cr);
        cairo_rectangle(cr, L.panel_x[k], L.panel_y, L.panel_w, L.panel_h);
        cairo_clip(cr);
        cairo_translate(cr, L.panel_x[k], L.panel_y);
        cairo_scale(cr, (double)L.panel_w / photo->width, (double)L.panel_h / photo->height);
        cairo_set_source_surface(cr, p, 0, 0);
        /* GOOD filters (box-averages) when shrinking; exact copy at scale 1. */
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
        cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
        cairo_paint(cr);
        cairo_restore(cr);
        cairo_surface_destroy(p);
    }

    gc_status st = GC_OK;
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    if (cs != CAIRO_STATUS_SUCCESS) {
        st = gc_fail(err, cs == CAIRO_STATUS_NO_MEMORY ? GC_ERR_NOMEM : GC_ERR_INTERNAL,
                     "%s: drawing the figure failed: %s", path, cairo_status_to_string(cs));
    } else {
        st = gc_surface_write_png(path, fig, err);
    }
    cairo_surface_destroy(fig);
    if (st == GC_OK)
        gc_ok(err);
    return st;
}
