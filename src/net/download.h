/* download.h — fetching a file over HTTP(S) and verifying its SHA-256.
 *
 * Internal to the library (the public entry point is gc_pretrained_fetch in
 * gradcam.h); the CLI and the tests use it to learn a checkpoint's file name
 * and to download a file whose hash they know. No retries, no resuming of
 * partial downloads, no proxy configuration of our own (libcurl's defaults
 * apply), no reading of the environment.
 */
#ifndef GC_NET_DOWNLOAD_H
#define GC_NET_DOWNLOAD_H

#include <stdint.h>

#include "gradcam.h"

/* Where torchvision publishes its weights (the trailing slash matters). */
#define GC_PRETRAINED_BASE_URL "https://download.pytorch.org/models/"

/* Refuse anything larger: ResNet-152, the largest, is ~241 MB. */
#define GC_DOWNLOAD_MAX_BYTES ((uint64_t)1 << 30)

/* Give up on a host that does not answer within this (DNS included). */
#define GC_DOWNLOAD_CONNECT_TIMEOUT_S 10L

/* The published file name for arch, e.g. "resnet18-f37072fd.pth", or NULL
 * for an unknown arch. The hex run after the last '-' is the SHA-256 prefix. */
const char *gc_pretrained_file(const char *arch);

/* Comma-separated list of the archs gc_pretrained_file knows, for messages. */
const char *gc_pretrained_archs(void);

/* Downloads url into dest. The body streams into a private temporary file
 * next to dest (dest.part.<pid>.XXXXXX) while its SHA-256 is computed; it is
 * renamed onto dest only when the lowercase hex digest starts with
 * sha256_prefix (NULL or "": no check) and at most max_bytes arrived.
 * Otherwise nothing is left behind. `what` names the download in messages
 * ("resnet18 weights"); NULL uses dest's base name. dest's directory must
 * exist. Fails with GC_ERR_NETWORK (no connection, HTTP status >= 400, hash
 * mismatch), GC_ERR_LIMIT (too large), GC_ERR_IO (local file trouble). */
gc_status gc_download_verified(const char *url, const char *dest,
                               const char *sha256_prefix, uint64_t max_bytes,
                               const char *what, gc_error *err);

/* Returns cache_dir/file in path_out if that file exists (not re-hashed:
 * only verified files ever get that name), else downloads base_url + file
 * there with gc_download_verified, creating cache_dir first. On a download
 * failure the message ends with how to place the file by hand. */
gc_status gc_fetch_cached(const char *cache_dir, const char *base_url, const char *file,
                          const char *sha256_prefix, const char *what, char *path_out,
                          size_t cap, gc_error *err);

/* mkdir -p: creates dir and its missing parents (mode 0755 before umask). */
gc_status gc_mkdirs(const char *dir, gc_error *err);

#endif
