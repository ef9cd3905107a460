/* metrics_run.h — the metrics of one image of a data set run (--metrics):
 * faithfulness (gc_evaluate_map) of every map method's map, localisation
 * against the manifest's box or mask, and with --baselines the same for a
 * random and a centred Gaussian map. */
#ifndef GC_CLI_METRICS_RUN_H
#define GC_CLI_METRICS_RUN_H

#include "cli/dataset.h"

#include <cjson/cJSON.h>

/* *out: {"METHOD": {"deletion": ..., ...}, "baseline_random": ..., ...}. */
/* eval: a session of its own for the batches of perturbed images. */
gc_status cli_metrics_for_image(const cli_set_run *run, gc_session *eval, const cli_item *in,
                                int index,
                                const gc_image *photo, const float *x, const gc_result *r,
                                cJSON **out, gc_error *err);

/* --sanity LIST: one randomised copy of the model per listed layer
 * (gc_model_randomise from that layer up), each with its session. */
#define CLI_MAX_SANITY 16
typedef struct cli_sanity {
    int n;
    char names[CLI_MAX_SANITY][128];
    gc_model *models[CLI_MAX_SANITY];
    gc_session *sessions[CLI_MAX_SANITY];
} cli_sanity;
int cli_sanity_open(const cli_args *a, const gc_model *m, cli_sanity *s);
void cli_sanity_close(cli_sanity *s);
/* The first method's map from each randomised model, for the class r
 * explained: *maps (n x map size) and *out {"LAYER": Spearman rho, ...}. */
gc_status cli_sanity_for_image(const cli_sanity *s, const gc_request *req, const float *x,
                               int size, const gc_result *r, cJSON **out, float **maps,
                               gc_error *err);
/* DIR/NAME: the maps as float32 [n, h, w]. */
int cli_sanity_write(const cli_sanity *s, const char *dir, const char *name, const gc_result *r,
                     const float *maps);

#endif
