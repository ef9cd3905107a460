/* colormap.h — jet as a table, for renderers that colour every pixel of a
 * photo: gc_colormap_jet (gradcam.h) evaluates matplotlib's segments for one
 * value; the table holds all 256 entries, made once per picture. */
#ifndef GC_RENDER_COLORMAP_H
#define GC_RENDER_COLORMAP_H

/* The entry a value selects: min(trunc(v * 256), 255), 0 for v < 0 or NaN. */
int gc_colormap_jet_index(float v);
/* lut[i] = jet's entry i as bytes, what gc_colormap_jet gives for it. */
void gc_colormap_jet_table(unsigned char lut[256][3]);

#endif
