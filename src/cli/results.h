/* results.h — OUT/results.jsonl: one JSON record per image of a data set
 * run, each appended with a single write and an fsync, so that a killed run
 * leaves only whole records behind (a torn last line is ignored); at the end
 * of a run (and by `gradcam merge`) the file is rewritten in manifest order,
 * the last record of each image winning. */
#ifndef GC_CLI_RESULTS_H
#define GC_CLI_RESULTS_H

#include <cjson/cJSON.h>

#define CLI_RESULTS_FILE "results.jsonl"

/* Records read back, by manifest index ("index" in each). */
typedef struct cli_records {
    char **line; /* per index: the last record read for it, or NULL */
    int n;       /* indices covered: 0 .. n-1 */
} cli_records;

/* Reads every whole record of a results.jsonl (a missing file is empty)
 * into r, growing it as needed; returns -1 only when out of memory. */
int cli_records_read(const char *path, cli_records *r);
/* Writes r's records in index order to path (via a temporary file that is
 * fsynced and renamed). 0 on success; prints why not. */
int cli_records_write(const char *path, const cli_records *r);
void cli_records_free(cli_records *r);

/* Appends one record as a single line: one write(2), then fsync. */
int cli_results_append(int fd, const cJSON *record);

#endif
