/* test_tables.c — the three tables the engine dispatches through: the
 * operator table (every operator has a shape and a forward pass, and the
 * .pth builder emits the ONNX loader's operators for the same network),
 * the method table (every method a row, in order, names unique and parsed
 * back), and the layer lookup (gc_model_find_layer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cam/methods.h"
#include "core/model.h"
#include "core/op_table.h"
#include "gradcam.h"

/* The same seeded width-1 ResNet, saved by torch.save and exported to
 * ONNX (fuzz/make_corpus.py). */
#define W1_PTH GC_SOURCE_DIR "/fuzz/corpus/pth/resnet_w1.pth"
#define W1_ONNX GC_SOURCE_DIR "/fuzz/corpus/onnx/resnet_w1.onnx"

static gc_model *load(const char *path)
{
    gc_error err;
    gc_model *m = NULL;
    if (gc_model_load(path, &m, &err) != GC_OK)
        fail_msg("%s", err.msg);
    return m;
}

static void test_every_operator_has_an_entry(void **state)
{
    for (int op = 0; op < GC_OP_COUNT; op++) {
        const gc_op_def *d = gc_op_def_of((gc_op)op);
        assert_non_null(d);
        assert_non_null(d->name);
        assert_non_null(d->shape);
        assert_non_null(d->forward);
        /* every other one passes gradients on; those two have no inputs */
        if (op != GC_OP_INPUT && op != GC_OP_CONSTANT)
            assert_non_null(d->backward);
    }
    assert_null(gc_op_def_of(GC_OP_COUNT));
}

/* The graph's operators in order, leaving out one kind. */
static int ops_without(const gc_graph *g, gc_op skip, gc_op *out)
{
    int n = 0;
    for (int i = 0; i < g->count; i++)
        if (g->nodes[i].op != skip)
            out[n++] = g->nodes[i].op;
    return n;
}

/* ONNX's export folds each BatchNorm into its convolution and flattens the
 * pooled vector before Gemm; apart from that the two graphs must be the
 * same operators in the same order: residual additions as Add of two
 * nodes, pooling as a global ReduceMean. */
static void test_pth_builder_emits_onnx_operators(void **state)
{
    gc_model *pth = load(W1_PTH), *onnx = load(W1_ONNX);
    gc_op a[512], b[512];
    assert_true(pth->graph.count <= 512 && onnx->graph.count <= 512);
    int na = ops_without(&pth->graph, GC_OP_AFFINE, a);
    int nb = ops_without(&onnx->graph, GC_OP_RESHAPE, b);
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++)
        assert_int_equal(a[i], b[i]);
    int adds = 0, pools = 0, blocks = 0;
    for (int i = 0; i < pth->graph.count; i++) {
        adds += pth->graph.nodes[i].op == GC_OP_BINARY;
        pools += gc_graph_is_global_mean(&pth->graph, i);
    }
    for (int i = 0; i < pth->graph.nlayers; i++) { /* "layerS.K", one per block */
        int s, k, end = 0;
        const char *name = pth->graph.layers[i].name;
        blocks += sscanf(name, "layer%d.%d%n", &s, &k, &end) == 2 && name[end] == 0;
    }
    assert_true(blocks > 0);
    assert_int_equal(adds, blocks); /* one residual addition per block */
    assert_int_equal(pools, 1);
    gc_model_free(pth);
    gc_model_free(onnx);
}

static void test_method_table_in_order(void **state)
{
    for (int m = 0; m < GC_METHOD_COUNT; m++) {
        const method_def *d = method_def_of((gc_method)m);
        assert_non_null(d);
        assert_int_equal(d->id, m);
        for (int k = 0; k < m; k++)
            assert_string_not_equal(d->name, method_def_of((gc_method)k)->name);
        gc_method back;
        gc_error err;
        assert_int_equal(gc_method_parse(d->name, &back, &err), GC_OK);
        assert_int_equal(back, m);
        /* A map at a layer needs a contribution; an image-valued method is
         * computed at the input's resolution. */
        if (!(d->flags & METHOD_INPUT_RESOLUTION))
            assert_int_not_equal(d->contribution, CONTRIB_NONE);
        if (d->flags & METHOD_IMAGE)
            assert_true(d->flags & METHOD_INPUT_RESOLUTION);
    }
    assert_null(method_def_of(GC_METHOD_COUNT));
}

static void test_method_parse_lists_every_name(void **state)
{
    gc_method m;
    gc_error err;
    assert_int_equal(gc_method_parse("gradcam+", &m, &err), GC_ERR_USAGE);
    for (int k = 0; k < GC_METHOD_COUNT; k++)
        assert_non_null(strstr(err.msg, gc_method_name((gc_method)k)));
    assert_int_equal(gc_method_parse("", &m, &err), GC_ERR_USAGE);
}

static void test_duplicate_method_refused(void **state)
{
    gc_model *m = load(W1_PTH);
    gc_session *s;
    gc_error err;
    assert_int_equal(gc_session_new(m, &s, &err), GC_OK);
    float x[3 * 32 * 32] = {0};
    const gc_method twice[2] = {GC_METHOD_LAYERCAM, GC_METHOD_LAYERCAM};
    gc_request req = {.class_index = GC_CLASS_TOP1, .methods = twice, .nmethods = 2};
    gc_result r;
    assert_int_equal(gc_explain(s, x, 1, 32, 32, &req, &r, &err), GC_ERR_USAGE);
    assert_non_null(strstr(err.msg, "'layercam' is requested twice"));
    const gc_method once[2] = {GC_METHOD_LAYERCAM, GC_METHOD_GRADCAM};
    req.methods = once;
    assert_int_equal(gc_explain(s, x, 1, 32, 32, &req, &r, &err), GC_OK);
    gc_result_free(&r);
    gc_session_free(s);
    gc_model_free(m);
}

static void test_find_layer(void **state)
{
    gc_model *m = load(W1_PTH);
    gc_error err;
    int i = -1;
    assert_int_equal(gc_model_find_layer(m, "layer2.0.bn2", &i, &err), GC_OK);
    assert_string_equal(gc_model_layer_name(m, i), "layer2.0.bn2");
    int shape[3], nd;
    assert_int_equal(gc_model_layer_shape(m, i, 64, 64, shape, &nd, &err), GC_OK);
    assert_int_equal(nd, 3);
    assert_int_equal(shape[1], 8); /* 64 / 8 after the stem and layer2's stride */
    assert_int_equal(gc_model_find_layer(m, "layer2.0.bn3", &i, &err), GC_ERR_USAGE);
    assert_non_null(strstr(err.msg, "no layer named 'layer2.0.bn3'; closest: 'layer2.0.bn"));
    /* torchvision's blocks call one ReLU module twice: no single output. */
    assert_int_equal(gc_model_find_layer(m, "layer1.0.relu", &i, &err), GC_ERR_USAGE);
    assert_non_null(strstr(err.msg, "cannot be used"));
    assert_int_equal(gc_model_find_layer(m, NULL, &i, &err), GC_ERR_USAGE);
    gc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_operator_has_an_entry),
        cmocka_unit_test(test_pth_builder_emits_onnx_operators),
        cmocka_unit_test(test_method_table_in_order),
        cmocka_unit_test(test_method_parse_lists_every_name),
        cmocka_unit_test(test_duplicate_method_refused),
        cmocka_unit_test(test_find_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
