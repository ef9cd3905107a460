/* shard.h — splitting a data set between processes: shard K of N takes the
 * images whose manifest index i has i % N == K (the order is the manifest's,
 * or the sorted folder listing), so N processes cover each image once, and
 * `gradcam merge` puts their results back in manifest order. */
#ifndef GC_CLI_SHARD_H
#define GC_CLI_SHARD_H

/* "K/N" with 0 <= K < N; NULL gives 0/1. -1 if malformed. */
int cli_parse_shard(const char *text, int *k, int *n);
int cli_in_shard(int index, int k, int n);

#endif
