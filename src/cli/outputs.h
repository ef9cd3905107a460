/* outputs.h — the files `gradcam explain` writes per input: raw arrays for
 * checking, and for images the figure, the overlay and a JSON summary. */
#ifndef GC_CLI_OUTPUTS_H
#define GC_CLI_OUTPUTS_H

#include "cli/cli.h"

/* The stem each input's outputs are named by. An input keeps its file's
 * stem ("a/cat.png" -> "cat") unless an earlier input has the same one;
 * then it gets STEM-2, STEM-3, ...: the lowest number that makes a name no
 * input has as its own stem and no earlier input was given. The names
 * depend only on the order of the inputs, so a rerun writes the same files. */
typedef struct cli_stems {
    char **name;  /* per input */
    int *same_as; /* per input: the first input with its file stem, or -1 */
    int n;
} cli_stems;
int cli_name_outputs(const char *const *paths, int n, cli_stems *s);
void cli_stems_free(cli_stems *s);

/* mkdir -p */
int cli_make_dir(const char *dir);
/* For each method DIR/STEM.METHOD.cam.npy [n,h,w] (image methods:
 * DIR/STEM.METHOD.npy [n,3,H,W]), and DIR/STEM.logits.npy [n,classes]. */
int cli_write_arrays(const char *dir, const char *stem, const gc_result *r);

typedef struct cli_visual {
    const char *dir, *stem, *image_path, *model_path, *layer;
    const char *same_stem_as; /* the input whose file stem made this one renamed */
    const gc_model *model;
    const gc_image *photo;
    const gc_preprocess *pre;
    const gc_result *result; /* one image */
    int counterfactual;
    int segment;             /* a segmentation target: "probabilities" are the
                                share of the output's pixels each class wins */
    double load_ms;
} cli_visual;

/* Per method a figure and an overlay PNG (image methods: one PNG of the
 * gradient picture), with several methods a grid of them, and one JSON
 * summary for the image that lists every file written for it. */
int cli_write_visuals(const cli_visual *v);
/* Adds "files": the names cli_write_arrays and cli_write_visuals write. */
struct cJSON;
void cli_file_list(struct cJSON *root, const cli_visual *v);

#endif
