/* progress.h — how far a data set run is, on stderr: a bar redrawn in
 * place on a terminal (done/total, images per second, time left), plain
 * lines every few seconds otherwise, nothing with --quiet. */
#ifndef GC_CLI_PROGRESS_H
#define GC_CLI_PROGRESS_H

typedef struct cli_progress {
    int total, done, failed, skipped, quiet, tty;
    int shown; /* done at the last line printed */
    double t0, last;
} cli_progress;

/* skipped: images already done (--resume) or in another shard's share. */
void cli_progress_start(cli_progress *p, int total, int skipped, int quiet);
void cli_progress_step(cli_progress *p, int failed);
void cli_progress_end(cli_progress *p);

#endif
