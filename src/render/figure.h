/* figure.h — the geometry of gc_render_figure's PNG, shared with its test so
 * the test can find the panels. */
#ifndef GC_RENDER_FIGURE_H
#define GC_RENDER_FIGURE_H

#define GC_FIG_MARGIN 20   /* around everything, px */
#define GC_FIG_GAP 20      /* between panels */
#define GC_FIG_TITLE_H 40  /* the title line */
#define GC_FIG_PANEL_MAX_H 400
#define GC_FIG_PANEL_MAX_W 600

typedef struct gc_figure_layout {
    int width, height;   /* of the whole figure */
    int panel_w, panel_h;
    int panel_x[3], panel_y; /* top-left corner of each panel */
    double scale;        /* panel pixels per photo pixel (<= 1) */
} gc_figure_layout;

void gc_figure_layout_for(int photo_w, int photo_h, gc_figure_layout *l);

#endif
