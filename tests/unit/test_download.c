/* test_download.c — verified downloads against a loopback HTTP server.
 *
 * A tiny HTTP/1.0 server runs in a thread on 127.0.0.1 (ephemeral port) and
 * serves fixed bodies; nothing leaves the machine. Expected digests are the
 * FIPS 180-2 SHA-256 test vectors ("abc" and one million 'a'), not values
 * produced by our code. The real weight file names (resnet18-f37072fd.pth
 * ...) come from torchvision's models/resnet.py; download.cmake checks the
 * table in download.c against the installed torchvision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gradcam.h"
#include "net/download.h"

/* FIPS 180-2, appendix B.1 and B.3. */
#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define MILLION_A_SHA256 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

/* ---- A loopback HTTP server ------------------------------------------- */

typedef struct route {
    const char *path;
    const char *body;
    size_t len;
    int no_length; /* body delimited by closing the connection */
} route;

typedef struct server {
    int fd, port;
    pthread_t thread;
    atomic_int stop, requests;
    route routes[5];
    int nroutes;
    char last_path[256];
} server;

static void send_all(int c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(c, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return; /* the client gave up (e.g. the size cap): fine */
        p += k;
        n -= (size_t)k;
    }
}

static void serve_one(server *s, int c)
{
    char req[2048] = "";
    size_t got = 0;
    while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t k = recv(c, req + got, sizeof req - 1 - got, 0);
        if (k <= 0)
            break;
        got += (size_t)k;
        req[got] = '\0';
    }
    req[got] = '\0';
    char path[256] = "";
    sscanf(req, "GET %255s", path);
    snprintf(s->last_path, sizeof s->last_path, "%s", path);
    atomic_fetch_add(&s->requests, 1);
    for (int i = 0; i < s->nroutes; i++) {
        if (strcmp(s->routes[i].path, path) == 0) {
            char head[128];
            int n = s->routes[i].no_length
                        ? snprintf(head, sizeof head, "HTTP/1.0 200 OK\r\n\r\n")
                        : snprintf(head, sizeof head,
                                   "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n",
                                   s->routes[i].len);
            send_all(c, head, (size_t)n);
            send_all(c, s->routes[i].body, s->routes[i].len);
            return;
        }
    }
    const char *nf = "HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found";
    send_all(c, nf, strlen(nf));
}

static void *serve(void *arg)
{
    server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(s, c);
        close(c);
    }
    return NULL;
}

/* Binds 127.0.0.1:0 and returns the listening socket; *port gets the port. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t n = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(server *s)
{
    s->fd = listen_loopback(&s->port);
    atomic_store(&s->stop, 0);
    atomic_store(&s->requests, 0);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

/* A port on which nothing listens: bound, then closed. */
static int dead_port(void)
{
    int port;
    close(listen_loopback(&port));
    return port;
}

/* ---- Scratch directories ---------------------------------------------- */

static void make_tmpdir(char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/gc_download_XXXXXX", GC_BINARY_DIR);
    if (!mkdtemp(dir)) { /* the build dir may be read-only in odd setups */
        snprintf(dir, cap, "/tmp/gc_download_XXXXXX");
        assert_non_null(mkdtemp(dir));
    }
}

/* Removes dir and everything below it (our trees are shallow). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* ---- Fixture: a server with two bodies and a scratch dir ----------------- */

typedef struct fixture {
    server srv;
    char dir[512];
    char *million_a;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->million_a = malloc(1000000);
    memset(f->million_a, 'a', 1000000);
    f->srv.routes[0] = (route){"/files/abc.bin", "abc", 3, 0};
    f->srv.routes[1] = (route){"/files/a.bin", f->million_a, 1000000, 0};
    /* A "checkpoint" under the real published name, with the wrong bytes. */
    f->srv.routes[2] = (route){"/models/resnet18-f37072fd.pth", "abc", 3, 0};
    f->srv.routes[3] = (route){"/files/a-stream.bin", f->million_a, 1000000, 1};
    f->srv.nroutes = 4;
    server_start(&f->srv);
    make_tmpdir(f->dir, sizeof f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!atomic_load(&f->srv.stop))
        server_stop(&f->srv);
    remove_tree(f->dir);
    free(f->million_a);
    free(f);
    return 0;
}

static void url_of(const fixture *f, const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "http://127.0.0.1:%d%s", f->srv.port, path);
}

/* Downloads the server's file `path` to `name` in the test folder, url
 * and dest (of 256 and 1024 bytes) receiving the two. */
static gc_status fetch(const fixture *f, const char *path, const char *name, const char *sha,
                       long cap, char *url, char *dest, gc_error *err)
{
    url_of(f, path, url, 256);
    snprintf(dest, 1024, "%s/%s", f->dir, name);
    return gc_download_verified(url, dest, sha, cap, NULL, err);
}

/* ---- Tests ------------------------------------------------------------- */

static void test_download_ok(void **state)
{
    fixture *f = *state;
    char url[256], dest[1024];
    gc_error err;
    /* One million bytes arrive in many chunks: the digest must be streamed. */
    assert_int_equal(fetch(f, "/files/a.bin", "a.bin", MILLION_A_SHA256, 1 << 30, url, dest,
                           &err),
                     GC_OK);
    size_t n;
    char *got = read_all(dest, &n);
    assert_int_equal(n, 1000000);
    assert_memory_equal(got, f->million_a, n);
    free(got);
    assert_int_equal(count_entries(f->dir), 1); /* no partial file left over */

    /* A short, upper-case prefix is accepted too. */
    assert_int_equal(fetch(f, "/files/abc.bin", "abc.bin", "BA7816BF", 100, url, dest, &err),
                     GC_OK);
    got = read_all(dest, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(got, "abc", 3);
    free(got);
    assert_int_equal(count_entries(f->dir), 2);
}

static void test_hash_mismatch(void **state)
{
    fixture *f = *state;
    char url[256], dest[1024];
    gc_error err;
    assert_int_equal(fetch(f, "/files/abc.bin", "abc.bin", "ba7816bf00", 100, url, dest, &err),
                     GC_ERR_NETWORK);
    assert_non_null(strstr(err.msg, "expected prefix ba7816bf00"));
    assert_non_null(strstr(err.msg, "got ba7816bf8f"));
    assert_int_equal(count_entries(f->dir), 0); /* neither final nor partial */
}

static void test_http_404(void **state)
{
    fixture *f = *state;
    char url[256], dest[1024];
    gc_error err;
    assert_int_equal(fetch(f, "/files/missing.bin", "missing.bin", NULL, 100, url, dest, &err),
                     GC_ERR_NETWORK);
    assert_non_null(strstr(err.msg, "HTTP status 404"));
    assert_non_null(strstr(err.msg, url));
    assert_int_equal(count_entries(f->dir), 0);
}

static void test_size_cap(void **state)
{
    fixture *f = *state;
    char url[256], dest[1024];
    gc_error err;
    assert_int_equal(fetch(f, "/files/a.bin", "a.bin", NULL, 999999, url, dest, &err),
                     GC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "999999"));
    assert_int_equal(count_entries(f->dir), 0);

    /* Without a Content-Length the cap is enforced while the body streams. */
    url_of(f, "/files/a-stream.bin", url, sizeof url);
    assert_int_equal(gc_download_verified(url, dest, NULL, 999999, NULL, &err),
                     GC_ERR_LIMIT);
    assert_int_equal(count_entries(f->dir), 0);
    /* ... and a body of exactly the cap passes. */
    assert_int_equal(gc_download_verified(url, dest, MILLION_A_SHA256, 1000000, NULL, &err),
                     GC_OK);
    assert_int_equal(count_entries(f->dir), 1);
}

static void test_cache_reuse(void **state)
{
    fixture *f = *state;
    char cache[1024], path[1024], again[1024];
    gc_error err;
    /* A nested, missing cache directory is created. */
    snprintf(cache, sizeof cache, "%s/x/y/cache/", f->dir);
    char base[256];
    url_of(f, "/files", base, sizeof base);
    assert_int_equal(gc_fetch_cached(cache, base, "abc.bin", "ba7816bf", NULL, path,
                                     sizeof path, &err),
                     GC_OK);
    char want[1024];
    snprintf(want, sizeof want, "%s/x/y/cache/abc.bin", f->dir);
    assert_string_equal(path, want);
    assert_int_equal(atomic_load(&f->srv.requests), 1);

    /* Server gone: the cached copy is returned without touching the network. */
    server_stop(&f->srv);
    assert_int_equal(gc_fetch_cached(cache, base, "abc.bin", "ba7816bf", NULL, again,
                                     sizeof again, &err),
                     GC_OK);
    assert_string_equal(again, want);
    size_t n;
    char *got = read_all(again, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(got, "abc", 3);
    free(got);
}

static void test_server_down(void **state)
{
    fixture *f = *state;
    char url[256], dest[1024];
    gc_error err;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/files/abc.bin", dead_port());
    snprintf(dest, sizeof dest, "%s/abc.bin", f->dir);
    double t0 = now_s();
    assert_int_equal(gc_download_verified(url, dest, NULL, 100, NULL, &err),
                     GC_ERR_NETWORK);
    assert_true(now_s() - t0 < 3.0); /* refused at once, no 10 s wait */
    assert_non_null(strstr(err.msg, url));
    assert_int_equal(count_entries(f->dir), 0);

    /* Through the public entry point the message says where to put the file. */
    char base[256], cache[1024], path[256] = "junk";
    snprintf(base, sizeof base, "http://127.0.0.1:%d/models/", dead_port());
    snprintf(cache, sizeof cache, "%s/cache", f->dir);
    t0 = now_s();
    assert_int_equal(gc_pretrained_fetch("resnet18", cache, base, path, sizeof path, &err),
                     GC_ERR_NETWORK);
    assert_true(now_s() - t0 < 3.0);
    assert_string_equal(path, "");
    assert_non_null(strstr(err.msg, "cannot download resnet18 weights from http://127.0.0.1"));
    char hint[1200];
    snprintf(hint, sizeof hint, "place resnet18-f37072fd.pth in %s", cache);
    assert_non_null(strstr(err.msg, hint));
    assert_int_equal(count_entries(cache), 0);
}

/* The real table is used: the request names torchvision's file, and the
 * wrong bytes behind it fail against torchvision's hash prefix. */
static void test_pretrained_wrong_bytes(void **state)
{
    fixture *f = *state;
    char base[256], cache[1024], path[1024];
    gc_error err;
    url_of(f, "/models", base, sizeof base); /* no trailing slash: one is added */
    snprintf(cache, sizeof cache, "%s/cache", f->dir);
    assert_int_equal(gc_pretrained_fetch("resnet18", cache, base, path, sizeof path, &err),
                     GC_ERR_NETWORK);
    assert_string_equal(f->srv.last_path, "/models/resnet18-f37072fd.pth");
    assert_non_null(strstr(err.msg, "expected prefix f37072fd, got ba7816bf"));
    assert_int_equal(count_entries(cache), 0);
}

static void test_pretrained_preplaced(void **state)
{
    fixture *f = *state;
    char base[256], path[1024], want[1024];
    gc_error err;
    /* Trusted as placed: the cache is not re-hashed on every run. */
    snprintf(want, sizeof want, "%s/resnet50-0676ba61.pth", f->dir);
    FILE *fp = fopen(want, "wb");
    assert_non_null(fp);
    fputs("placed by hand", fp);
    fclose(fp);
    snprintf(base, sizeof base, "http://127.0.0.1:%d/", dead_port());
    assert_int_equal(gc_pretrained_fetch("resnet50", f->dir, base, path, sizeof path, &err),
                     GC_OK);
    assert_string_equal(path, want);
    assert_int_equal(atomic_load(&f->srv.requests), 0);
}

static void test_usage_errors(void **state)
{
    fixture *f = *state;
    char path[1024];
    gc_error err;
    assert_int_equal(gc_pretrained_fetch("vgg16", f->dir, NULL, path, sizeof path, &err),
                     GC_ERR_USAGE);
    assert_non_null(strstr(err.msg, "vgg16"));
    assert_non_null(strstr(err.msg, "resnet18"));
    assert_non_null(strstr(err.msg, "resnet152"));
    assert_int_equal(gc_pretrained_fetch(NULL, f->dir, NULL, path, sizeof path, &err),
                     GC_ERR_USAGE);
    assert_int_equal(gc_pretrained_fetch("resnet18", "", NULL, path, sizeof path, &err),
                     GC_ERR_USAGE);
    char tiny[8];
    assert_int_equal(gc_pretrained_fetch("resnet18", f->dir, NULL, tiny, sizeof tiny, &err),
                     GC_ERR_USAGE);
    assert_string_equal(tiny, "");
    assert_int_equal(gc_download_verified("http://127.0.0.1:1/x", "/nonexistent/x",
                                          "not-hex", 100, NULL, &err),
                     GC_ERR_USAGE);
    assert_int_equal(atomic_load(&f->srv.requests), 0);
    assert_int_equal(count_entries(f->dir), 0);

    /* Only torchvision's V1 ResNets are known. */
    assert_string_equal(gc_pretrained_file("resnet18"), "resnet18-f37072fd.pth");
    assert_null(gc_pretrained_file("resnet"));
    assert_null(gc_pretrained_file(NULL));
}

static void test_local_write_error(void **state)
{
    fixture *f = *state;
    char url[256], dest[1024];
    gc_error err;
    assert_int_equal(fetch(f, "/files/abc.bin", "no/such/dir/abc.bin", NULL, 100, url, dest,
                           &err),
                     GC_ERR_IO);
    assert_non_null(strstr(err.msg, "abc.bin.part."));
    /* A cache path that is a file, not a directory. */
    char file[1024], path[1024];
    snprintf(file, sizeof file, "%s/plain", f->dir);
    FILE *fp = fopen(file, "wb");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(gc_pretrained_fetch("resnet18", file, url, path, sizeof path, &err),
                     GC_ERR_IO);
    assert_int_equal(atomic_load(&f->srv.requests), 0);
}

int main(void)
{
    /* Loopback must not go through a proxy configured in the environment. */
    setenv("no_proxy", "127.0.0.1", 1);
    setenv("NO_PROXY", "127.0.0.1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_download_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pretrained_wrong_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pretrained_preplaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_write_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
