/* test_class_per_image.c — gc_request.class_per_image: one batch whose
 * images each name their own class (or their own top-1) must give, image by
 * image, the logits, class and maps of explaining that image alone with
 * class_index; out-of-range entries and segment/detect targets are refused.
 *
 * The model is the committed demo model (models/shapes.pth, ten classes),
 * on 64x64 noise so the test stays quick. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gradcam.h"

#define N 3
#define SIDE 64
#define NX (3 * SIDE * SIDE)

static const gc_method methods[] = {GC_METHOD_GRADCAM, GC_METHOD_LAYERCAM};
#define NMETHODS 2

static gc_model *model;
static gc_session *session;
static float x[N * NX];

static int setup(void **state)
{
    gc_error err;
    if (gc_model_load(GC_SOURCE_DIR "/models/shapes.pth", &model, &err) ||
        gc_session_new(model, &session, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    uint32_t s = 2463534242u; /* xorshift noise in [-2, 2) */
    for (int i = 0; i < N * NX; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        x[i] = (float)(s >> 8) / 4194304.0f - 2.0f;
    }
    return 0;
}

static int teardown(void **state)
{
    gc_session_free(session);
    gc_model_free(model);
    return 0;
}

/* Explains image i alone with class_index = c, into r. */
static void explain_alone(int i, int c, gc_result *r)
{
    gc_error err;
    gc_session *s;
    assert_int_equal(gc_session_new(model, &s, &err), GC_OK);
    const char *layer = "layer3";
    gc_request req = {.layers = &layer, .nlayers = 1, .class_index = c,
                      .methods = methods, .nmethods = NMETHODS};
    assert_int_equal(gc_explain(s, x + (size_t)i * NX, 1, SIDE, SIDE, &req, r, &err), GC_OK);
    gc_session_free(s);
}

static void test_each_image_its_own_class(void **state)
{
    /* Image 1 asks for its own top-1; the others for classes that are not
     * their top-1, so a batch using one class for all would fail. */
    gc_result alone[N];
    explain_alone(1, GC_CLASS_TOP1, &alone[1]);
    int want[N];
    want[1] = GC_CLASS_TOP1;
    for (int i = 0; i < N; i += 2) {
        gc_result probe;
        explain_alone(i, GC_CLASS_TOP1, &probe);
        want[i] = (probe.class_index[0] + 3 + i) % probe.classes;
        gc_result_free(&probe);
        explain_alone(i, want[i], &alone[i]);
    }

    gc_error err;
    const char *layer = "layer3";
    gc_request req = {.layers = &layer, .nlayers = 1, .class_per_image = want,
                      .methods = methods, .nmethods = NMETHODS};
    gc_result r;
    assert_int_equal(gc_explain(session, x, N, SIDE, SIDE, &req, &r, &err), GC_OK);
    for (int i = 0; i < N; i++) {
        const gc_result *a = &alone[i];
        assert_int_equal(r.class_index[i], a->class_index[0]);
        if (want[i] != GC_CLASS_TOP1)
            assert_int_equal(r.class_index[i], want[i]);
        const size_t cells = (size_t)a->cam_h * a->cam_w;
        assert_int_equal(r.cam_h * r.cam_w, (int)cells);
        double worst = 0.0, peak = 0.0;
        for (int k = 0; k < NMETHODS; k++)
            for (size_t q = 0; q < cells; q++) {
                double d = r.maps[k][i * cells + q] - a->maps[k][q];
                worst = d < 0 ? (-d > worst ? -d : worst) : (d > worst ? d : worst);
                peak = a->maps[k][q] > peak ? a->maps[k][q] : peak;
            }
        assert_true(peak > 0.0);
        assert_true(worst <= 1e-4 * peak);
    }
    gc_result_free(&r);
    for (int i = 0; i < N; i++)
        gc_result_free(&alone[i]);
}

static void test_refusals(void **state)
{
    gc_error err;
    gc_result r;
    int bad[N] = {0, 10, GC_CLASS_TOP1};
    gc_request req = {.class_per_image = bad};
    assert_int_equal(gc_explain(session, x, N, SIDE, SIDE, &req, &r, &err), GC_ERR_USAGE);
    assert_non_null(strstr(err.msg, "class 10 (a per-image class) is out of range"));
    int neg[N] = {0, 1, -5};
    req.class_per_image = neg;
    assert_int_equal(gc_explain(session, x, N, SIDE, SIDE, &req, &r, &err), GC_ERR_USAGE);
    assert_non_null(strstr(err.msg, "class -5"));
    int ok[N] = {0, 1, 2};
    req.class_per_image = ok;
    req.detect = GC_DETECT_BEST;
    assert_int_equal(gc_explain(session, x, N, SIDE, SIDE, &req, &r, &err), GC_ERR_USAGE);
    assert_non_null(strstr(err.msg, "per-image classes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_image_its_own_class),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
