/* download.c — torchvision's pretrained weights, fetched once into a cache.
 *
 * A download streams through libcurl into a private temporary file while
 * OpenSSL hashes it; only a file whose SHA-256 matches the prefix in its
 * published name is renamed into the cache. Files already in the cache are
 * trusted without re-hashing (they were verified when written, and hashing
 * 100+ MB on every run costs more than the run). Deliberately absent: retries,
 * resuming, progress reporting, a second cache location, reading environment
 * variables (the CLI picks the cache directory), and weights other than
 * torchvision's ImageNet V1 ResNets.
 *
 * libcurl initialises itself on first use; Debian's 7.88 does that thread-
 * safely, so the library calls neither curl_global_init nor _cleanup.
 */
#include "net/download.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/error.h"

/* IMAGENET1K_V1 of torchvision's ResNet*_Weights (torchvision/models/
 * resnet.py, 0.14). V1 because it is what pretrained=True always meant and
 * what the Python Grad-CAM examples use; V2 exists only for 50/101/152. */
static const struct {
    const char *arch, *file;
} gc_pretrained[] = {
    {"resnet18", "resnet18-f37072fd.pth"},
    {"resnet34", "resnet34-b627a593.pth"},
    {"resnet50", "resnet50-0676ba61.pth"},
    {"resnet101", "resnet101-63fe2227.pth"},
    {"resnet152", "resnet152-394f9c45.pth"},
};
#define GC_NPRETRAINED (sizeof gc_pretrained / sizeof gc_pretrained[0])

const char *gc_pretrained_file(const char *arch)
{
    for (size_t i = 0; arch && i < GC_NPRETRAINED; i++)
        if (strcmp(gc_pretrained[i].arch, arch) == 0)
            return gc_pretrained[i].file;
    return NULL;
}

const char *gc_pretrained_archs(void)
{
    return "resnet18, resnet34, resnet50, resnet101, resnet152";
}

gc_status gc_mkdirs(const char *dir, gc_error *err)
{
    if (!dir || !*dir)
        return gc_fail(err, GC_ERR_USAGE, "cannot create a directory with an empty name");
    size_t n = strlen(dir);
    char *p = malloc(n + 1);
    if (!p)
        return gc_fail(err, GC_ERR_NOMEM, "out of memory creating %s", dir);
    memcpy(p, dir, n + 1);
    /* Create each prefix ending before a '/', then the whole path; EEXIST is
     * fine at every step (also when another process races us). */
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        if (p[i - 1] == '/')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            gc_status s = gc_fail(err, GC_ERR_IO, "cannot create directory %s: %s", p,
                                  strerror(errno));
            free(p);
            return s;
        }
        p[i] = c;
    }
    free(p);
    struct stat st;
    if (stat(dir, &st) != 0)
        return gc_fail(err, GC_ERR_IO, "cannot create directory %s: %s", dir,
                       strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return gc_fail(err, GC_ERR_IO, "%s exists and is not a directory", dir);
    return GC_OK;
}

/* Where the body goes while it arrives. */
typedef struct gc_sink {
    FILE *f;
    EVP_MD_CTX *md;
    uint64_t bytes, max_bytes;
    int too_big, write_errno, hash_failed;
} gc_sink;

static size_t gc_on_data(char *data, size_t size, size_t nmemb, void *user)
{
    gc_sink *s = user;
    size_t len = size * nmemb;
    /* Returning anything but len makes libcurl abort with CURLE_WRITE_ERROR;
     * the flags say why. */
    if (len > s->max_bytes - s->bytes) {
        s->too_big = 1;
        return 0;
    }
    if (fwrite(data, 1, len, s->f) != len) {
        s->write_errno = errno ? errno : EIO;
        return 0;
    }
    if (EVP_DigestUpdate(s->md, data, len) != 1) {
        s->hash_failed = 1;
        return 0;
    }
    s->bytes += len;
    return len;
}

static int gc_is_hex_prefix(const char *p)
{
    size_t n = 0;
    for (; p[n]; n++)
        if (!isxdigit((unsigned char)p[n]))
            return 0;
    return n <= 64;
}

/* Runs the transfer into s; returns its status with err filled. */
static gc_status gc_transfer(const char *url, const char *what, const char *tmp,
                             gc_sink *s, gc_error *err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return gc_fail(err, GC_ERR_NOMEM, "cannot download %s: libcurl failed to start",
                       what);
    char curl_msg[CURL_ERROR_SIZE] = "";
    char agent[64];
    snprintf(agent, sizeof agent, "gradcam/%s", gc_version());

    int bad = 0;
    /* Any failing setopt means an unusable libcurl, so check them together. */
    bad |= curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_msg) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gc_on_data) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, s) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L) != CURLE_OK;
    /* No file://, ftp:// or the like, even via a redirect. */
    bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, GC_DOWNLOAD_CONNECT_TIMEOUT_S) != CURLE_OK;
    /* A stalled transfer (under 1 KB/s for a minute) fails instead of hanging;
     * there is no overall timeout because slow links are legitimate. */
    bad |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max_bytes) != CURLE_OK;
    /* Signals would be process-wide state; the library is used from threads. */
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, agent) != CURLE_OK;
    if (bad) {
        curl_easy_cleanup(c);
        return gc_fail(err, GC_ERR_INTERNAL,
                       "cannot download %s: this libcurl lacks a needed option", what);
    }

    CURLcode rc = curl_easy_perform(c);
    long http = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_cleanup(c);

    if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return gc_fail(err, GC_ERR_LIMIT,
                       "cannot download %s from %s: larger than the %llu-byte limit", what,
                       url, (unsigned long long)s->max_bytes);
    if (s->write_errno)
        return gc_fail(err, GC_ERR_IO, "cannot download %s: writing %s: %s", what, tmp,
                       strerror(s->write_errno));
    if (s->hash_failed)
        return gc_fail(err, GC_ERR_INTERNAL, "cannot download %s: SHA-256 update failed",
                       what);
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        return gc_fail(err, GC_ERR_NETWORK, "cannot download %s from %s: HTTP status %ld",
                       what, url, http);
    if (rc != CURLE_OK)
        return gc_fail(err, GC_ERR_NETWORK, "cannot download %s from %s: %s", what, url,
                       curl_msg[0] ? curl_msg : curl_easy_strerror(rc));
    return GC_OK;
}

gc_status gc_download_verified(const char *url, const char *dest,
                               const char *sha256_prefix, uint64_t max_bytes,
                               const char *what, gc_error *err)
{
    if (!url || !*url || !dest || !*dest)
        return gc_fail(err, GC_ERR_USAGE, "download needs a URL and a destination");
    if (!sha256_prefix)
        sha256_prefix = "";
    if (!gc_is_hex_prefix(sha256_prefix))
        return gc_fail(err, GC_ERR_USAGE, "%s: '%s' is not a SHA-256 hex prefix", dest,
                       sha256_prefix);
    if (!what) {
        const char *slash = strrchr(dest, '/');
        what = slash ? slash + 1 : dest;
    }

    /* Unique per process and per call: two threads or two processes fetching
     * the same file never write into each other's partial file. */
    size_t tn = strlen(dest) + 48;
    char *tmp = malloc(tn);
    if (!tmp)
        return gc_fail(err, GC_ERR_NOMEM, "out of memory downloading %s", what);
    snprintf(tmp, tn, "%s.part.%ld.XXXXXX", dest, (long)getpid());
    int fd = mkstemp(tmp);
    if (fd < 0) {
        gc_status st = gc_fail(err, GC_ERR_IO, "cannot download %s: cannot create %s: %s",
                               what, tmp, strerror(errno));
        free(tmp);
        return st;
    }
    gc_status st = GC_OK;
    gc_sink s = {.max_bytes = max_bytes};
    /* mkstemp makes the file private (0600); a cache is for sharing. */
    if (fchmod(fd, 0644) != 0) {
        st = gc_fail(err, GC_ERR_IO, "cannot download %s: chmod %s: %s", what, tmp,
                     strerror(errno));
        close(fd);
        goto out;
    }
    s.f = fdopen(fd, "wb");
    if (!s.f) {
        st = gc_fail(err, GC_ERR_IO, "cannot download %s: %s: %s", what, tmp,
                     strerror(errno));
        close(fd);
        goto out;
    }
    s.md = EVP_MD_CTX_new();
    if (!s.md || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
        st = gc_fail(err, GC_ERR_INTERNAL, "cannot download %s: SHA-256 unavailable", what);
        goto out;
    }

    st = gc_transfer(url, what, tmp, &s, err);
    if (st != GC_OK)
        goto out;

    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    if (EVP_DigestFinal_ex(s.md, digest, &dn) != 1 || dn != 32) {
        st = gc_fail(err, GC_ERR_INTERNAL, "cannot download %s: SHA-256 failed", what);
        goto out;
    }
    char hex[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    size_t pn = strlen(sha256_prefix);
    for (size_t i = 0; i < pn; i++) {
        if (tolower((unsigned char)sha256_prefix[i]) != hex[i]) {
            st = gc_fail(err, GC_ERR_NETWORK,
                         "cannot download %s from %s: SHA-256 mismatch, expected prefix "
                         "%s, got %.*s (%llu bytes discarded)",
                         what, url, sha256_prefix, (int)pn, hex,
                         (unsigned long long)s.bytes);
            goto out;
        }
    }

    /* Data on disk before the name appears: the cache trusts any file under
     * its final name, so a crash must never leave a short one there. */
    FILE *f = s.f;
    s.f = NULL;
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        st = gc_fail(err, GC_ERR_IO, "cannot download %s: writing %s: %s", what, tmp,
                     strerror(e));
        goto out;
    }
    if (rename(tmp, dest) != 0) {
        st = gc_fail(err, GC_ERR_IO, "cannot download %s: rename %s to %s: %s", what, tmp,
                     dest, strerror(errno));
        goto out;
    }
    gc_ok(err);
out:
    if (s.f)
        fclose(s.f);
    EVP_MD_CTX_free(s.md);
    if (st != GC_OK)
        unlink(tmp); /* after a successful rename tmp no longer exists */
    free(tmp);
    return st;
}

gc_status gc_fetch_cached(const char *cache_dir, const char *base_url, const char *file,
                          const char *sha256_prefix, const char *what, char *path_out,
                          size_t cap, gc_error *err)
{
    if (!path_out || cap == 0)
        return gc_fail(err, GC_ERR_USAGE, "download: no room for the path");
    path_out[0] = '\0';
    if (!cache_dir || !*cache_dir || !file || !*file || !base_url)
        return gc_fail(err, GC_ERR_USAGE,
                       "download: need a cache directory, a file name and a base URL");
    if (!what)
        what = file;

    size_t dl = strlen(cache_dir);
    while (dl > 1 && cache_dir[dl - 1] == '/')
        dl--;
    const char *sep = cache_dir[dl - 1] == '/' ? "" : "/";
    int n = snprintf(path_out, cap, "%.*s%s%s", (int)dl, cache_dir, sep, file);
    if (n < 0 || (size_t)n >= cap) {
        path_out[0] = '\0';
        return gc_fail(err, GC_ERR_USAGE, "%s: path too long for a %zu-byte buffer",
                       cache_dir, cap);
    }

    gc_status st;
    struct stat sb;
    if (stat(path_out, &sb) == 0) {
        if (!S_ISREG(sb.st_mode)) {
            st = gc_fail(err, GC_ERR_IO, "%s exists and is not a file", path_out);
            goto fail;
        }
        /* An empty file was never written by us; download over it. */
        if (sb.st_size > 0) {
            gc_ok(err);
            return GC_OK;
        }
    } else if (errno != ENOENT) {
        st = gc_fail(err, GC_ERR_IO, "%s: %s", path_out, strerror(errno));
        goto fail;
    }

    st = gc_mkdirs(cache_dir, err);
    if (st != GC_OK)
        goto fail;

    size_t bl = strlen(base_url);
    const char *bsep = (bl && base_url[bl - 1] == '/') ? "" : "/";
    size_t un = bl + strlen(file) + 2;
    char *url = malloc(un);
    if (!url) {
        st = gc_fail(err, GC_ERR_NOMEM, "out of memory downloading %s", what);
        goto fail;
    }
    snprintf(url, un, "%s%s%s", base_url, bsep, file);
    st = gc_download_verified(url, path_out, sha256_prefix, GC_DOWNLOAD_MAX_BYTES, what,
                              err);
    free(url);
    if (st == GC_OK)
        return GC_OK;
    /* Offline machines are common: say how to get going without network. */
    if (err && (st == GC_ERR_NETWORK || st == GC_ERR_LIMIT)) {
        char inner[sizeof err->msg];
        memcpy(inner, err->msg, sizeof inner);
        gc_fail(err, st, "%s; with no network, place %s in %.*s", inner, file, (int)dl,
                cache_dir);
    }
fail:
    path_out[0] = '\0';
    return st;
}

gc_status gc_pretrained_fetch(const char *arch, const char *cache_dir,
                              const char *base_url, char *path_out, size_t cap,
                              gc_error *err)
{
    if (path_out && cap)
        path_out[0] = '\0';
    if (!arch)
        return gc_fail(err, GC_ERR_USAGE, "pretrained weights: no architecture given");
    const char *file = gc_pretrained_file(arch);
    if (!file)
        return gc_fail(err, GC_ERR_USAGE, "no pretrained weights for '%s' (known: %s)", arch,
                       gc_pretrained_archs());
    /* The hash prefix is the hex run between the last '-' and ".pth". */
    const char *dash = strrchr(file, '-'), *dot = strrchr(file, '.');
    char prefix[65];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(dot - dash - 1), dash + 1);
    char what[64];
    snprintf(what, sizeof what, "%s weights", arch);
    return gc_fetch_cached(cache_dir, base_url ? base_url : GC_PRETRAINED_BASE_URL, file,
                           prefix, what, path_out, cap, err);
}
