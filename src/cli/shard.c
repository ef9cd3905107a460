/* shard.c — `--shard K/N`: which images of a data set this process takes. */
#include "cli/shard.h"

#include <stdio.h>
#include <stdlib.h>

int cli_parse_shard(const char *text, int *k, int *n)
{
    *k = 0, *n = 1;
    if (!text)
        return 0;
    char *end;
    long a = strtol(text, &end, 10);
    if (end == text || *end != '/')
        return -1;
    const char *rest = end + 1;
    long b = strtol(rest, &end, 10);
    if (end == rest || *end || b < 1 || b > 100000 || a < 0 || a >= b)
        return -1;
    *k = (int)a, *n = (int)b;
    return 0;
}

int cli_in_shard(int index, int k, int n)
{
    return index % n == k;
}
