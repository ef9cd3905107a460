/* test_threads.c — one loaded model shared read-only by 8 threads, each
 * with its own gc_session, all explaining different inputs at once. Every
 * thread's logits and maps must equal, bit for bit, what a single thread
 * computes for the same input before any concurrency starts.
 *
 * The model is the committed reduced-width ResNet-18 parity fixture; inputs
 * are 64x64 so the test stays quick, also under ThreadSanitizer (make test
 * builds and runs it in build-tsan, with OPENBLAS_NUM_THREADS=1 because
 * OpenBLAS's own worker threads are not instrumented). Checks run on the
 * main thread after join: cmocka's assertions are not thread-safe. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gradcam.h"
#include "test_util.h"

#define THREADS 8
#define ROUNDS 2 /* inputs per thread, so explains overlap in varied ways */
#define SIDE 64
#define NX (3 * SIDE * SIDE)

static const gc_method methods[] = {GC_METHOD_GRADCAM, GC_METHOD_LAYERCAM};
#define NMETHODS 2

typedef struct outcome {
    gc_status st;
    char msg[512];
    int classes, cam_h, cam_w, class_index;
    float *logits;              /* classes                      */
    float *maps[NMETHODS];      /* cam_h * cam_w each           */
    float *predicted;           /* gc_predict's logits          */
} outcome;

typedef struct work {
    const gc_model *m;
    int id;
    float *x[ROUNDS];
    outcome out[ROUNDS];
    pthread_barrier_t *start;
} work;

/* A deterministic input per (thread, round): xorshift noise in [-2, 2). */
static float *make_input(int id, int round)
{
    float *x = malloc(sizeof(float) * NX);
    uint32_t s = 2463534242u + (uint32_t)(id * 977 + round * 31);
    for (int i = 0; i < NX; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        x[i] = (float)(s >> 8) / 4194304.0f - 2.0f;
    }
    return x;
}

static void explain_one(const gc_model *m, const float *x, int round, outcome *o)
{
    gc_error err = {0};
    gc_session *s = NULL;
    memset(o, 0, sizeof *o);
    if ((o->st = gc_session_new(m, &s, &err)) == GC_OK) {
        const char *layer = "layer3.1";
        gc_request req = {.layers = &layer, .nlayers = round ? 1 : 0, .class_index = GC_CLASS_TOP1,
                          .methods = methods, .nmethods = NMETHODS};
        gc_result r;
        if ((o->st = gc_explain(s, x, 1, SIDE, SIDE, &req, &r, &err)) == GC_OK) {
            o->classes = r.classes, o->cam_h = r.cam_h, o->cam_w = r.cam_w;
            o->class_index = r.class_index[0];
            size_t cells = (size_t)r.cam_h * r.cam_w;
            o->logits = malloc(sizeof(float) * r.classes);
            memcpy(o->logits, r.logits, sizeof(float) * r.classes);
            for (int k = 0; k < NMETHODS; k++) {
                o->maps[k] = malloc(sizeof(float) * cells);
                memcpy(o->maps[k], r.maps[k], sizeof(float) * cells);
            }
            gc_result_free(&r);
            o->predicted = malloc(sizeof(float) * o->classes);
            o->st = gc_predict(s, x, 1, SIDE, SIDE, o->predicted, &err);
        }
    }
    snprintf(o->msg, sizeof o->msg, "%s", err.msg);
    gc_session_free(s);
}

static void outcome_free(outcome *o)
{
    free(o->logits);
    free(o->predicted);
    for (int k = 0; k < NMETHODS; k++)
        free(o->maps[k]);
}

static void *thread_main(void *arg)
{
    work *w = arg;
    pthread_barrier_wait(w->start); /* all threads begin together */
    for (int r = 0; r < ROUNDS; r++)
        explain_one(w->m, w->x[r], r, &w->out[r]);
    return NULL;
}

static void same(const outcome *ref, const outcome *got, int id, int round)
{
    if (got->st != GC_OK)
        fail_msg("thread %d round %d: %s", id, round, got->msg);
    assert_int_equal(got->classes, ref->classes);
    assert_int_equal(got->cam_h, ref->cam_h);
    assert_int_equal(got->cam_w, ref->cam_w);
    assert_int_equal(got->class_index, ref->class_index);
    assert_memory_equal(got->logits, ref->logits, sizeof(float) * ref->classes);
    assert_memory_equal(got->predicted, ref->predicted, sizeof(float) * ref->classes);
    for (int k = 0; k < NMETHODS; k++)
        assert_memory_equal(got->maps[k], ref->maps[k],
                            sizeof(float) * (size_t)ref->cam_h * ref->cam_w);
}

static void test_eight_threads_match_one(void **state)
{
    (void)state;
    gc_model *m = load_parity_fixture();

    static work w[THREADS];
    static outcome ref[THREADS][ROUNDS];
    for (int t = 0; t < THREADS; t++)
        for (int r = 0; r < ROUNDS; r++) {
            w[t].x[r] = make_input(t, r);
            explain_one(m, w[t].x[r], r, &ref[t][r]); /* single-threaded */
            if (ref[t][r].st != GC_OK)
                fail_msg("single-threaded run: %s", ref[t][r].msg);
            assert_true(ref[t][r].cam_h > 0 && ref[t][r].cam_w > 0);
        }
    /* The inputs must really differ, or the comparison proves little. */
    assert_memory_not_equal(ref[0][0].logits, ref[1][0].logits, sizeof(float) * ref[0][0].classes);

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    pthread_t tid[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t].m = m, w[t].id = t, w[t].start = &start;
        assert_int_equal(pthread_create(&tid[t], NULL, thread_main, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(tid[t], NULL);
    pthread_barrier_destroy(&start);

    for (int t = 0; t < THREADS; t++)
        for (int r = 0; r < ROUNDS; r++) {
            same(&ref[t][r], &w[t].out[r], t, r);
            outcome_free(&ref[t][r]);
            outcome_free(&w[t].out[r]);
            free(w[t].x[r]);
        }
    gc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eight_threads_match_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
