/* metrics_run.c — see metrics_run.h. */
#include "cli/metrics_run.h"

gc_status cli_metrics_for_image(const cli_set_run *run, const cli_item *in, int index,
                                const gc_image *photo, const float *x, const gc_result *r,
                                cJSON **out, gc_error *err)
{
    (void)run, (void)in, (void)index, (void)photo, (void)x, (void)r, (void)err;
    *out = cJSON_CreateObject();
    return GC_OK;
}
