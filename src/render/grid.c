/* grid.c — several pictures of one photo side by side, each captioned
 * (one per CAM method), under a title line: the comparison figure. Cells
 * share one height; up to GRID_COLUMNS per row. */
#include "render/surface.h"

#include <math.h>

#include "core/error.h"

#define GRID_COLUMNS 5
#define GRID_CELL_H 200
#define GRID_MARGIN 16
#define GRID_CAPTION_H 28
#define GRID_TITLE_H 40

gc_status gc_render_grid(const char *path, const gc_image *tiles, const char *const *captions,
                         int count, const char *title, gc_error *err)
{
    if (count < 1 || !tiles[0].pixels)
        return gc_fail(err, GC_ERR_USAGE, "%s: nothing to put in the grid", path);
    const double scale = (double)GRID_CELL_H / tiles[0].height;
    const int cell_w = (int)lround(tiles[0].width * scale) > 0 ? (int)lround(tiles[0].width * scale) : 1;
    const int cols = count < GRID_COLUMNS ? count : GRID_COLUMNS;
    const int rows = (count + cols - 1) / cols;
    const int width = GRID_MARGIN + cols * (cell_w + GRID_MARGIN);
    const int height = GRID_TITLE_H + rows * (GRID_CELL_H + GRID_CAPTION_H + GRID_MARGIN) + GRID_MARGIN;
    cairo_surface_t *fig = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(fig);
    cairo_set_source_rgb(cr, 0.96, 0.96, 0.96);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_font_size(cr, 20);
    cairo_text_extents_t te;
    cairo_text_extents(cr, title, &te);
    cairo_move_to(cr, (width - te.width) / 2 - te.x_bearing, GRID_TITLE_H - 12);
    cairo_show_text(cr, title);
    cairo_set_font_size(cr, 16);
    for (int k = 0; k < count; k++) {
        const int x = GRID_MARGIN + (k % cols) * (cell_w + GRID_MARGIN);
        const int y = GRID_TITLE_H + (k / cols) * (GRID_CELL_H + GRID_CAPTION_H + GRID_MARGIN);
        cairo_surface_t *tile = gc_surface_from_image(&tiles[k]);
        cairo_save(cr);
        cairo_rectangle(cr, x, y, cell_w, GRID_CELL_H);
        cairo_clip(cr);
        cairo_translate(cr, x, y);
        cairo_scale(cr, (double)cell_w / tiles[k].width, (double)GRID_CELL_H / tiles[k].height);
        cairo_set_source_surface(cr, tile, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
        cairo_paint(cr);
        cairo_restore(cr);
        cairo_surface_destroy(tile);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_text_extents(cr, captions[k], &te);
        cairo_move_to(cr, x + (cell_w - te.width) / 2 - te.x_bearing, y + GRID_CELL_H + 20);
        cairo_show_text(cr, captions[k]);
    }
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    gc_status st = cs == CAIRO_STATUS_SUCCESS
                       ? gc_surface_write_png(path, fig, err)
                       : gc_fail(err, cs == CAIRO_STATUS_NO_MEMORY ? GC_ERR_NOMEM : GC_ERR_INTERNAL,
                                 "%s: drawing the grid failed: %s", path, cairo_status_to_string(cs));
    cairo_surface_destroy(fig);
    if (st == GC_OK)
        gc_ok(err);
    return st;
}
