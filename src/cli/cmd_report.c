/* cmd_report.c — `gradcam report DIR`: DIR/index.html from a data set
 * run's results.jsonl. */
#include "cli/cli.h"

int cmd_report(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "gradcam report: not built yet\n");
    return EXIT_INTERNAL;
}
