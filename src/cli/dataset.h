/* dataset.h — the images of a data set run (`explain --manifest FILE`, or
 * folders given as inputs): each with its own optional target class and
 * ground truth (a box or a mask) for the localisation metrics. */
#ifndef GC_CLI_DATASET_H
#define GC_CLI_DATASET_H

typedef struct cli_item {
    char *path;        /* resolved: relative to the manifest's folder      */
    char *target;      /* class index or name as written; NULL: top-1     */
    int has_box;
    double box[4];     /* x0, y0, x1, y1 in image pixels, inclusive        */
    char *mask;        /* resolved mask PNG path, or NULL                  */
} cli_item;

typedef struct cli_dataset {
    cli_item *items;
    int n, cap;
} cli_dataset;

/* Appends a manifest's images: CSV with a header naming its columns
 * (path; optional target, box "x0,y0,x1,y1" or x0,y0,x1,y1 columns, mask),
 * or JSON Lines ({"path", "target", "box": [4], "mask"}), told apart by the
 * first non-blank character ('{': JSON Lines). Prints what is wrong
 * (file:line) and returns an exit code. */
int cli_manifest_read(const char *path, cli_dataset *d);
/* Appends every file under dir (recursively, sorted by path) whose path
 * relative to dir matches glob (fnmatch; NULL: *.png, *.jpg, *.jpeg in any
 * case). */
int cli_folder_read(const char *dir, const char *glob, cli_dataset *d);
/* Appends one image with no target. */
int cli_dataset_add(cli_dataset *d, const char *path);
void cli_dataset_free(cli_dataset *d);

#include "cli/cli.h"

/* A data set run of `gradcam explain`: what cmd_explain set up. */
typedef struct cli_set_run {
    const cli_args *a;
    const gc_model *m;
    gc_session *s;
    const gc_request *req; /* layers, methods, flags; the class is per image */
    int class_index;       /* --class, or GC_CLASS_TOP1: for images without a target */
    const gc_preprocess *pre;
    const char *out, *layer;
} cli_set_run;

/* Whether the arguments ask for a data set run: --manifest, a folder among
 * the inputs, or an option that only such a run has. */
int cli_is_set_run(const cli_args *a);
/* The images of --manifest and the inputs (folders expanded), in order. */
int cli_dataset_from_args(const cli_args *a, cli_dataset *d);
/* Explains the data set's images (this shard's share, less those --resume
 * finds done), one record each in OUT/results.jsonl. */
int cli_explain_set(const cli_set_run *run);

#endif
