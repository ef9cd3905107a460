/* report_svg.h — the summary at the top of `gradcam report`'s page: counts
 * and three plots drawn as inline SVG (no script, no network). */
#ifndef GC_CLI_REPORT_SVG_H
#define GC_CLI_REPORT_SVG_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* data: {"records": [...]} as the page embeds it. */
void cli_report_summary(FILE *f, const cJSON *data);

#endif
