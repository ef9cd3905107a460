/* colormap.c — matplotlib's "jet", byte for byte as cmap(v, bytes=True).
 *
 * jet is a LinearSegmentedColormap with 256 entries: entry i holds each
 * channel's piecewise-linear segment map evaluated at x = i / 255 (computed
 * as matplotlib does, in double), and the bytes are trunc(255 * value). A
 * value v selects entry min(trunc(v * 256), 255). Out-of-range values take
 * the end colours (matplotlib's default under/over); NaN takes entry 0
 * (matplotlib would make it transparent). */
#include <math.h>

#include "gradcam.h"
#include "render/colormap.h"

typedef struct seg {
    int n;
    double x[6], y[6]; /* jet's segments are continuous: y0 == y1 */
} seg;

/* matplotlib's _jet_data. */
static const seg JET[3] = {
    {5, {0.0, 0.35, 0.66, 0.89, 1.0}, {0.0, 0.0, 1.0, 1.0, 0.5}},
    {6, {0.0, 0.125, 0.375, 0.64, 0.91, 1.0}, {0.0, 0.0, 1.0, 1.0, 0.0, 0.0}},
    {5, {0.0, 0.11, 0.34, 0.65, 1.0}, {0.5, 1.0, 1.0, 0.0, 0.0}},
};

/* matplotlib's _create_lookup_table, for entry i of 256. */
static double lut_entry(const seg *s, int i)
{
    const int N = 256;
    if (i == 0)
        return s->y[0];
    if (i == N - 1)
        return s->y[s->n - 1];
    /* np.linspace(0, 1, N)[i] is i * (1 / (N - 1)); then scaled by N - 1. */
    double xi = (N - 1) * (i * (1.0 / (N - 1)));
    int k = 0;
    while (k < s->n && s->x[k] * (N - 1) < xi) /* np.searchsorted, side='left' */
        k++;
    double x0 = s->x[k - 1] * (N - 1), x1 = s->x[k] * (N - 1);
    double v = (xi - x0) / (x1 - x0) * (s->y[k] - s->y[k - 1]) + s->y[k - 1];
    return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

int gc_colormap_jet_index(float v)
{
    if (!(v >= 0.0f))
        return 0; /* negative or NaN */
    if (v >= 1.0f)
        return 255;
    int i = (int)(v * 256.0f);
    return i > 255 ? 255 : i;
}

void gc_colormap_jet_table(unsigned char lut[256][3])
{
    for (int i = 0; i < 256; i++)
        for (int c = 0; c < 3; c++)
            lut[i][c] = (unsigned char)(lut_entry(&JET[c], i) * 255.0);
}

void gc_colormap_jet(float v, unsigned char rgb[3])
{
    int i = gc_colormap_jet_index(v);
    for (int c = 0; c < 3; c++)
        rgb[c] = (unsigned char)(lut_entry(&JET[c], i) * 255.0);
}
