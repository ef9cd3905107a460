/* test_scorecam_basis.c — Score-CAM's masked passes started after the
 * first convolution (a weighted sum of per-cell basis convolutions) must
 * give the weights that whole masked passes give, to float rounding: on
 * the committed reduced-width ResNet-18 fixture, at layers with 2x2 to
 * 6x8 maps, for two images at once and inputs that are not square, also
 * with every 3x3 convolution of the passes by Winograd F(4x4, 3x3); and
 * it must be declined where it would cost more than it saves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cam/methods.h"
#include "cam/scorecam_basis.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int layer_node(const gc_model *m, const char *name)
{
    for (int i = 0; i < m->graph.nlayers; i++)
        if (!strcmp(m->graph.layers[i].name, name))
            return m->graph.layers[i].node;
    return -1;
}

/* Whether the shortcut applies at the layer for inputs of h x w. */
static int shortcut_applies(gc_model *m, gc_session *s, const char *layer, int h, int w)
{
    gc_error err;
    gc_session *sub;
    scorecam_basis *b = NULL;
    const int node = layer_node(m, layer);
    assert_true(node > 0);
    assert_int_equal(gc_session_child(s, 16, h, w, &sub, &err), GC_OK);
    char *none = calloc((size_t)m->graph.count, 1);
    assert_int_equal(gc_session_keep(sub, none, &err), GC_OK);
    free(none);
    assert_int_equal(scorecam_basis_new(sub, s->shapes[node].h, s->shapes[node].w,
                                        s->shapes[node].c, &b, &err),
                     GC_OK);
    const int applies = b != NULL;
    scorecam_basis_free(b);
    return applies;
}

static void compare(gc_model *m, const char *layer, int n, int h, int w, int how)
{
    gc_error err;
    gc_session *s;
    assert_int_equal(gc_session_new(m, &s, &err), GC_OK);
    assert_int_equal(gc_session_plan(s, n, h, w, &err), GC_OK);
    assert_int_equal(gc_session_keep(s, NULL, &err), GC_OK);
    const size_t count = (size_t)n * 3 * h * w;
    float *x = malloc(sizeof(float) * count);
    unsigned r = 7;
    for (size_t i = 0; i < count; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = (float)((r >> 8) & 0xFFFF) / 16384.0f - 2.0f;
    }
    gc_session_forward(s, x);
    const int node = layer_node(m, layer);
    assert_true(node > 0);
    const int c = s->shapes[node].c;
    int classes[2] = {3, 7};
    double *fast = calloc((size_t)n * c, sizeof(double));
    double *whole = calloc((size_t)n * c, sizeof(double));
    /* The shortcut must apply here, or the test proves little. */
    assert_true(shortcut_applies(m, s, layer, h, w));
    assert_int_equal(weights_scorecam_passes(fast, s, node, classes, how, &err), GC_OK);
    assert_int_equal(weights_scorecam_passes(whole, s, node, classes, SCORECAM_EXACT, &err),
                     GC_OK);
    if (how == SCORECAM_FAST_ALL) { /* the passes really ran F(4x4, 3x3) */
        int used = 0;
        for (int i = 0; s->sub->wino4 && i < m->graph.count; i++)
            used += s->sub->wino4[i] != NULL;
        assert_true(used >= 8);
    }
    int active = 0;
    double worst = 0;
    for (int i = 0; i < n * c; i++) {
        double rel = fabs(fast[i] - whole[i]) / (fabs(whole[i]) + 1e-30);
        worst = rel > worst && whole[i] != 0.0 ? rel : worst;
        if (!(fabs(fast[i] - whole[i]) <= 2e-4 * fabs(whole[i]) + 1e-9))
            fail_msg("%s channel %d: %.9g with the shortcut, %.9g without", layer, i, fast[i], whole[i]);
        active += whole[i] != 0.0;
    }
    assert_true(active > c / 4); /* most channels really ran a pass */
    print_message("%s%s: largest relative difference %.2g\n", layer,
                  how == SCORECAM_FAST_ALL ? " with F(4x4)" : "", worst);
    free(fast), free(whole), free(x);
    gc_session_free(s);
}

static void test_basis_matches_whole_passes(void **state)
{
    (void)state;
    gc_model *m = load_parity_fixture();
    compare(m, "layer4", 2, 64, 64, SCORECAM_FAST);      /* 2x2 maps */
    compare(m, "layer3", 1, 96, 128, SCORECAM_FAST);     /* 6x8 */
    compare(m, "layer3.0.bn1", 1, 40, 72, SCORECAM_FAST); /* 3x5 */
    /* Every 3x3 stride-1 convolution of the passes by F(4x4, 3x3) too. */
    compare(m, "layer4", 2, 64, 64, SCORECAM_FAST_ALL);
    compare(m, "layer3", 1, 96, 128, SCORECAM_FAST_ALL);
    gc_model_free(m);
}

/* Fine maps of few channels: the basis would cost more than it saves. */
static void test_basis_declined_where_it_does_not_pay(void **state)
{
    (void)state;
    gc_error err;
    gc_model *m = load_parity_fixture();
    gc_session *s;
    assert_int_equal(gc_session_new(m, &s, &err), GC_OK);
    assert_int_equal(gc_session_plan(s, 1, 128, 128, &err), GC_OK);
    assert_false(shortcut_applies(m, s, "layer1", 128, 128)); /* 32x32 maps, 8 channels */
    assert_true(shortcut_applies(m, s, "layer4", 128, 128));  /* 4x4 maps, 64 channels */
    gc_session_free(s);
    gc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basis_matches_whole_passes),
        cmocka_unit_test(test_basis_declined_where_it_does_not_pay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
