/* outputs.h — the files `gradcam explain` writes per input: raw arrays for
 * checking, and for images the figure, the overlay and a JSON summary. */
#ifndef GC_CLI_OUTPUTS_H
#define GC_CLI_OUTPUTS_H

#include "cli/cli.h"

/* mkdir -p */
int cli_make_dir(const char *dir);
/* For each method DIR/STEM.METHOD.cam.npy [n,h,w] (image methods:
 * DIR/STEM.METHOD.npy [n,3,H,W]), and DIR/STEM.logits.npy [n,classes]. */
int cli_write_arrays(const char *dir, const char *stem, const gc_result *r);

typedef struct cli_visual {
    const char *dir, *stem, *image_path, *model_path, *layer;
    const gc_model *model;
    const gc_image *photo;
    const gc_preprocess *pre;
    const gc_result *result; /* one image */
    int counterfactual;
    double load_ms;
} cli_visual;

/* Per method a figure and an overlay PNG (image methods: one PNG of the
 * gradient picture), and one JSON summary for the image. */
int cli_write_visuals(const cli_visual *v);

#endif
