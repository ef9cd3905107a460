/* progress.c — see progress.h. */
#include "cli/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void show(cli_progress *p, int final)
{
    const int todo = p->total - p->skipped, done = p->done;
    const double t = seconds() - p->t0, rate = t > 0 ? done / t : 0;
    const double eta = rate > 0 ? (todo - done) / rate : 0;
    char failed[48] = "";
    if (p->failed)
        snprintf(failed, sizeof failed, ", %d failed", p->failed);
    if (p->tty) {
        char bar[31];
        int fill = todo > 0 ? 30 * done / todo : 30;
        for (int k = 0; k < 30; k++)
            bar[k] = k < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %d/%d  %.1f img/s  ETA %d:%02d%s\033[K%s", bar,
                p->skipped + done, p->total, rate, (int)eta / 60, (int)eta % 60, failed,
                final ? "\n" : "");
    } else {
        fprintf(stderr, "gradcam: %d/%d images, %.1f img/s, ETA %d:%02d%s\n", p->skipped + done,
                p->total, rate, (int)eta / 60, (int)eta % 60, failed);
    }
    fflush(stderr);
    p->last = seconds();
    p->shown = p->done;
}

void cli_progress_start(cli_progress *p, int total, int skipped, int quiet)
{
    p->total = total, p->skipped = skipped, p->done = p->failed = 0;
    p->shown = -1;
    p->quiet = quiet;
    p->tty = isatty(2);
    p->t0 = p->last = seconds();
    if (!quiet && skipped)
        fprintf(stderr, "gradcam: %d of %d images already done or not in this shard\n", skipped,
                total);
}

void cli_progress_step(cli_progress *p, int failed)
{
    p->done++;
    p->failed += failed != 0;
    if (p->quiet)
        return;
    /* A terminal gets at most ten redraws a second; a log a line every
     * five seconds. */
    if (seconds() - p->last >= (p->tty ? 0.1 : 5.0))
        show(p, 0);
}

void cli_progress_end(cli_progress *p)
{
    if (!p->quiet && (p->tty || p->shown != p->done))
        show(p, 1);
}
