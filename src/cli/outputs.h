/* outputs.h — the files `gradcam explain` writes per input: raw arrays for
 * checking, and for images the figure, the overlay and a JSON summary. */
#ifndef GC_CLI_OUTPUTS_H
#define GC_CLI_OUTPUTS_H

#include "cli/cli.h"

/* mkdir -p */
int cli_make_dir(const char *dir);
/* DIR/STEM.METHOD.cam.npy [n,h,w] and DIR/STEM.logits.npy [n,classes]. */
int cli_write_arrays(const char *dir, const char *stem, const char *method,
                     const gc_result *r);

typedef struct cli_visual {
    const char *dir, *stem, *image_path, *model_path, *layer, *method;
    const gc_model *model;
    const gc_image *photo;
    const gc_result *result; /* one image */
    double load_ms;
} cli_visual;

/* Figure and overlay PNGs and the JSON summary for one image. */
int cli_write_visuals(const cli_visual *v);

#endif
