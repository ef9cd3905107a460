/* fuzz_model.c — libFuzzer target: the ResNet builder on structurally valid
 * state_dicts with hostile contents. The input is not a file but a recipe:
 * two bytes pick the width and class count of a synthetic BasicBlock ResNet
 * (fuzz_common.c), then each 4-byte group edits one tensor — a dimension
 * set to a small, zero or large value, a tensor removed, duplicated under
 * another's name, reshaped, filled with NaN/inf, or a key added that changes
 * the architecture (conv3 = Bottleneck, extra blocks, biases, downsample).
 * This is what a .pth that parses cleanly can still do to the builder.
 * When the builder accepts the result, every layer's shape is asked for and
 * one CAM method (picked by the input) runs on a 32x32 input, so a shape
 * the builder should have refused shows up as an out-of-bounds access. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/resnet.h"
#include "fuzz_common.h"

#define MAX_NUMEL (1 << 20)

static const char *extra_keys[] = {
    "layer1.0.conv3.weight", "layer1.1.conv1.weight",  "layer1.1.conv2.weight",
    "layer1.1.bn1.weight",   "layer1.0.downsample.0.weight", "layer1.0.downsample.1.weight",
    "conv1.bias",            "layer2.0.conv1.bias",    "layer4.1.conv1.weight",
    "fc.weight",             "module.fc.bias",         "layer2.0.downsample.1.running_var",
    "layer3.0.conv2.weight", "bn1.running_var",        "layer5.0.conv1.weight",
    "layer4.0.bn2.bias",
};

static int64_t pick_dim(uint8_t kind, uint8_t v)
{
    switch (kind & 3) {
    case 0: return v & 15;
    case 1: return v;
    case 2: return 0;
    default: return (int64_t)1 << (20 + (v & 31)); /* huge: too big to allocate */
    }
}

static void reshape(gc_state_dict *sd, int t, int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] && n > MAX_NUMEL / shape[i])
            return; /* a .pth that big would have to carry the bytes; skip */
        n *= shape[i];
    }
    char *name = strdup(sd->tensors[t].name);
    if (name && fz_sd_put(sd, name, ndim, shape))
        abort();
    free(name);
}

static void mutate(gc_state_dict *sd, const uint8_t *op)
{
    if (sd->count == 0)
        return;
    int t = op[0] % sd->count;
    gc_sd_tensor *x = &sd->tensors[t];
    int64_t shape[GC_MAX_DIMS];
    switch (op[1] % 7) {
    case 0: /* one dimension changed */
        if (x->ndim == 0)
            return;
        memcpy(shape, x->shape, sizeof shape);
        shape[op[2] % x->ndim] = pick_dim(op[2] >> 4, op[3]);
        reshape(sd, t, x->ndim, shape);
        return;
    case 1: /* removed */
        free(x->name);
        free(x->data);
        sd->tensors[t] = sd->tensors[--sd->count];
        return;
    case 2: { /* rank changed, sizes 1..4 */
        int nd = op[2] % 6;
        for (int i = 0; i < nd; i++)
            shape[i] = 1 + ((op[3] >> i) & 3);
        reshape(sd, t, nd, shape);
        return;
    }
    case 3: { /* duplicated under another tensor's name */
        char *dup = strdup(sd->tensors[op[2] % sd->count].name);
        if (dup) {
            free(x->name);
            x->name = dup;
        }
        return;
    }
    case 4: { /* filled with a special value */
        static const float vals[] = {NAN, INFINITY, -INFINITY, -1.0f, 0.0f, 1e30f, -1e-38f, 3.0f};
        for (int64_t i = 0; i < x->numel; i++)
            x->data[i] = vals[op[3] & 7];
        return;
    }
    case 5: { /* a key that changes the architecture */
        const char *key = extra_keys[op[2] % (sizeof extra_keys / sizeof *extra_keys)];
        int nd = 1 + op[3] % 4;
        for (int i = 0; i < nd; i++)
            shape[i] = 1 + ((op[3] >> (2 * i)) & 7);
        if (fz_sd_put(sd, key, nd, shape))
            abort();
        return;
    }
    default: /* renamed to a near-miss of itself */
        if (strlen(x->name) > 2)
            x->name[op[2] % strlen(x->name)] = (char)('0' + op[3] % 10);
        return;
    }
}

static void run_model(const gc_model *m, uint8_t pick, uint8_t how)
{
    gc_error err;
    for (int i = 0; i < gc_model_num_layers(m); i++) {
        int shape[3], nd;
        fz_check(gc_model_layer_shape(m, i, 32, 32, shape, &nd, &err), &err);
    }
    gc_session *s;
    if (gc_session_new(m, &s, &err) != GC_OK) {
        fz_check(err.status, &err);
        return;
    }
    float x[3 * 32 * 32];
    for (int i = 0; i < 3 * 32 * 32; i++)
        x[i] = (float)((i * 37 + pick) % 101) / 50.0f - 1.0f;
    int nl = gc_model_num_layers(m);
    gc_method method = (gc_method)(how % GC_METHOD_COUNT);
    const char *layer = (pick & 1) || !nl ? NULL : gc_model_layer_name(m, pick % nl);
    gc_request req = {.layers = &layer, .nlayers = 1, /* NULL: the default layer */
                      .class_index = (int)(pick >> 5) - 2,
                      .methods = &method, .nmethods = 1,
                      .counterfactual = how >> 7, .seed = pick};
    gc_result res;
    gc_status st = gc_explain(s, x, 1, 32, 32, &req, &res, &err);
    fz_check(st, &err);
    if (st == GC_OK) {
        if (res.classes != gc_model_num_classes(m) || res.n != 1 || res.nmethods != 1)
            abort();
        volatile float sink = res.logits[res.classes - 1];
        size_t cells = gc_method_is_image(method) ? (size_t)3 * res.in_h * res.in_w
                                                  : (size_t)res.cam_h * res.cam_w;
        if (cells)
            sink += res.maps[0][cells - 1];
        (void)sink;
        gc_result_free(&res);
    }
    gc_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    gc_model *m = calloc(1, sizeof *m);
    if (!m)
        return 0;
    if (fz_resnet_sd(&m->weights, 1 + (data[0] & 3), 1 + (data[1] & 7)))
        abort();
    size_t i = 2;
    for (; i + 4 <= size && i < 2 + 4 * 64; i += 4)
        mutate(&m->weights, data + i);
    gc_error err;
    gc_status st = gc_resnet_build(m, "fuzz.pth", &err);
    fz_check(st, &err);
    if (st == GC_OK)
        run_model(m, i < size ? data[i] : 0, i + 1 < size ? data[i + 1] : 0);
    gc_model_free(m);
    return 0;
}
