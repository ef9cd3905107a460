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

#endif
