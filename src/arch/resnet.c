/* resnet.c — torchvision's ResNet family (resnet18 ... resnet152, and the
 * wide / ResNeXt variants) built from a state_dict's names and shapes alone.
 *
 * The structure is fixed by torchvision: conv1 (7x7, stride 2) - bn1 - relu -
 * maxpool (3x3, stride 2) - layer1..layer4 - avgpool - fc, the first block of
 * layers 2-4 striding by 2. What varies is read from the keys: BasicBlock or
 * Bottleneck (conv3 present), blocks per stage, widths, groups, classes.
 * BatchNorm runs in eval mode and is folded into a per-channel affine map,
 * but stays its own node, so "layer2.1.bn2" keeps its exact value. */
#include "core/error.h"
#include "arch/resnet.h"
#include "ops/ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BN_EPS 1e-5

typedef struct builder {
    gc_model *m;
    const char *path;
    gc_error *err;
    size_t derived_used, derived_cap;
} builder;

static const gc_sd_tensor *need(builder *b, const char *key, int ndim,
                                const int64_t *shape)
{
    const gc_sd_tensor *t = gc_sd_find(&b->m->weights, key);
    if (!t) {
        gc_fail(b->err, GC_ERR_FORMAT, "%s: missing key '%s' (not a torchvision ResNet?)",
                b->path, key);
        return NULL;
    }
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = shape[i] < 0 || t->shape[i] == shape[i];
    if (!ok) {
        char want[96] = "", got[96] = "";
        size_t a = 0, g = 0;
        for (int i = 0; i < ndim && a < sizeof want; i++)
            a += (size_t)(shape[i] < 0 ? snprintf(want + a, sizeof want - a, "%s?", i ? "x" : "")
                                       : snprintf(want + a, sizeof want - a, "%s%lld",
                                                  i ? "x" : "", (long long)shape[i]));
        for (int i = 0; i < t->ndim && g < sizeof got; i++)
            g += (size_t)snprintf(got + g, sizeof got - g, "%s%lld", i ? "x" : "",
                                  (long long)t->shape[i]);
        gc_fail(b->err, GC_ERR_FORMAT, "%s: '%s' has shape [%s], expected [%s]", b->path,
                key, got, want);
        return NULL;
    }
    return t;
}

static int name_node(builder *b, int node, const char *name)
{
    return gc_graph_name(&b->m->graph, node, name, b->err) == GC_OK ? node : -1;
}

/* A convolution named prefix ("layer1.0.conv1") reading a tensor of in_c
 * channels. Kernel size and groups come from the weight's shape; padding is
 * torchvision's "same" choice k/2. */
static int add_conv(builder *b, const char *prefix, int input, int in_c, int stride)
{
    char key[160];
    snprintf(key, sizeof key, "%s.weight", prefix);
    const gc_sd_tensor *w = need(b, key, 4, (const int64_t[]){-1, -1, -1, -1});
    if (!w)
        return -1;
    int64_t oc = w->shape[0], cg = w->shape[1], kh = w->shape[2], kw = w->shape[3];
    if (cg <= 0 || oc <= 0 || in_c % cg != 0 || oc % (in_c / cg) != 0 || kh > 15 ||
        kw > 15 || kh <= 0 || kw <= 0) {
        gc_fail(b->err, GC_ERR_FORMAT,
                "%s: '%s' has shape [%lldx%lldx%lldx%lld], which does not fit an input "
                "of %d channels",
                b->path, key, (long long)oc, (long long)cg, (long long)kh, (long long)kw,
                in_c);
        return -1;
    }
    int n = gc_graph_add(&b->m->graph, GC_OP_CONV, input, -1);
    if (n < 0) {
        gc_fail(b->err, GC_ERR_NOMEM, "out of memory building the graph");
        return -1;
    }
    gc_node *nd = &b->m->graph.nodes[n];
    nd->weight = w->data;
    nd->out_channels = (int)oc;
    nd->groups = (int)(in_c / cg);
    nd->kh = (int)kh, nd->kw = (int)kw;
    nd->sh = nd->sw = stride;
    nd->pad[0] = nd->pad[2] = (int)kh / 2;
    nd->pad[1] = nd->pad[3] = (int)kw / 2;
    snprintf(key, sizeof key, "%s.bias", prefix);
    const gc_sd_tensor *bias = gc_sd_find(&b->m->weights, key);
    if (bias) {
        if (!need(b, key, 1, (const int64_t[]){oc}))
            return -1;
        nd->bias = bias->data;
    }
    return name_node(b, n, prefix);
}

/* Eval-mode BatchNorm: y = (x - mean) / sqrt(var + eps) * weight + bias,
 * folded into y = x * scale + shift. */
static int add_bn(builder *b, const char *prefix, int input, int c)
{
    const char *parts[4] = {"weight", "bias", "running_mean", "running_var"};
    const float *p[4];
    for (int i = 0; i < 4; i++) {
        char key[160];
        snprintf(key, sizeof key, "%s.%s", prefix, parts[i]);
        const gc_sd_tensor *t = need(b, key, 1, (const int64_t[]){c});
        if (!t)
            return -1;
        p[i] = t->data;
    }
    if (b->derived_used + 2 * (size_t)c > b->derived_cap) {
        gc_fail(b->err, GC_ERR_INTERNAL, "%s: BatchNorm storage miscounted", b->path);
        return -1;
    }
    float *scale = b->m->derived + b->derived_used, *shift = scale + c;
    b->derived_used += 2 * (size_t)c;
    for (int i = 0; i < c; i++) {
        double s = (double)p[0][i] / sqrt((double)p[3][i] + BN_EPS);
        scale[i] = (float)s;
        shift[i] = (float)((double)p[1][i] - (double)p[2][i] * s);
    }
    int n = gc_graph_add(&b->m->graph, GC_OP_AFFINE, input, -1);
    if (n < 0) {
        gc_fail(b->err, GC_ERR_NOMEM, "out of memory building the graph");
        return -1;
    }
    b->m->graph.nodes[n].weight = scale;
    b->m->graph.nodes[n].bias = shift;
    return name_node(b, n, prefix);
}

static int add_simple(builder *b, gc_op op, int in0, int in1)
{
    int n = gc_graph_add(&b->m->graph, op, in0, in1);
    if (n < 0)
        gc_fail(b->err, GC_ERR_NOMEM, "out of memory building the graph");
    return n;
}

/* A node with parameters: a residual addition (two nodes, no constant) or
 * global average pooling to a [C] vector, the operators an ONNX export of
 * the same network has there. */
static int add_with_params(builder *b, gc_op op, int in0, int in1)
{
    gc_params *p = gc_params_new(0);
    int n = p ? add_simple(b, op, in0, in1) : -1;
    if (!p)
        gc_fail(b->err, GC_ERR_NOMEM, "out of memory building the graph");
    if (n < 0) {
        free(p);
        return -1;
    }
    if (op == GC_OP_BINARY)
        p->kind = GC_B_ADD;
    else /* GC_OP_REDUCE_MEAN over every spatial axis, which it drops */
        p->ndim = -1, p->keepdims = 0;
    b->m->graph.nodes[n].params = p;
    return n;
}

static int has(builder *b, const char *fmt, int s, int k, const char *leaf)
{
    char key[160];
    snprintf(key, sizeof key, fmt, s, k, leaf);
    return gc_sd_find(&b->m->weights, key) != NULL;
}

/* One residual block; returns its output node. *c is the channel count in
 * and out. */
static int add_block(builder *b, int s, int k, int input, int *c, int bottleneck,
                     int stride)
{
    char pre[96], name[128], why[512];
    snprintf(pre, sizeof pre, "layer%d.%d", s, k);
    int convs = bottleneck ? 3 : 2;
    int x = input, ch = *c;
    for (int i = 1; i <= convs; i++) {
        /* torchvision strides the 3x3 conv: conv1 in BasicBlock, conv2 in
         * Bottleneck. */
        int st = (bottleneck ? i == 2 : i == 1) ? stride : 1;
        snprintf(name, sizeof name, "%s.conv%d", pre, i);
        if ((x = add_conv(b, name, x, ch, st)) < 0)
            return -1;
        ch = b->m->graph.nodes[x].out_channels;
        snprintf(name, sizeof name, "%s.bn%d", pre, i);
        if ((x = add_bn(b, name, x, ch)) < 0)
            return -1;
        if (i < convs && (x = add_simple(b, GC_OP_RELU, x, -1)) < 0)
            return -1;
    }
    int identity = input;
    if (has(b, "layer%d.%d.%s", s, k, "downsample.0.weight")) {
        snprintf(name, sizeof name, "%s.downsample.0", pre);
        if ((identity = add_conv(b, name, input, *c, stride)) < 0)
            return -1;
        if (b->m->graph.nodes[identity].out_channels != ch) {
            gc_fail(b->err, GC_ERR_FORMAT, "%s: '%s' gives %d channels, the block %d",
                    b->path, name, b->m->graph.nodes[identity].out_channels, ch);
            return -1;
        }
        snprintf(name, sizeof name, "%s.downsample.1", pre);
        if ((identity = add_bn(b, name, identity, ch)) < 0)
            return -1;
        snprintf(name, sizeof name, "%s.downsample", pre);
        if (name_node(b, identity, name) < 0)
            return -1;
    } else if (stride != 1 || ch != *c) {
        gc_fail(b->err, GC_ERR_FORMAT,
                "%s: block '%s' changes shape (%d -> %d channels, stride %d) but has no "
                "downsample",
                b->path, pre, *c, ch, stride);
        return -1;
    }
    int sum = add_with_params(b, GC_OP_BINARY, x, identity);
    int out = sum < 0 ? -1 : add_simple(b, GC_OP_RELU, sum, -1);
    if (out < 0 || name_node(b, out, pre) < 0)
        return -1;
    snprintf(name, sizeof name, "%s.relu", pre);
    snprintf(why, sizeof why,
             "torchvision calls this ReLU module %d times in the block, so it has no "
             "single output; use '%s' (the block's output) or one of its '%s.bnN' layers",
             convs, pre, pre);
    if (gc_graph_refuse(&b->m->graph, name, why, b->err))
        return -1;
    *c = ch;
    return out;
}

static gc_status count_bn_floats(builder *b)
{
    size_t total = 0;
    const gc_state_dict *sd = &b->m->weights;
    for (int i = 0; i < sd->count; i++) {
        size_t len = strlen(sd->tensors[i].name);
        if (len > 12 && strcmp(sd->tensors[i].name + len - 12, "running_mean") == 0)
            total += 2 * (size_t)sd->tensors[i].numel;
    }
    b->derived_cap = total;
    b->m->derived = gc_calloc(total ? total : 1, sizeof(float), b->err);
    return b->m->derived ? GC_OK : GC_ERR_NOMEM;
}

gc_status gc_resnet_build(gc_model *m, const char *path, gc_error *err)
{
    builder b = {.m = m, .path = path, .err = err};
    if (!gc_sd_find(&m->weights, "conv1.weight") || !gc_sd_find(&m->weights, "fc.weight"))
        return gc_fail(err, GC_ERR_UNSUPPORTED,
                       "%s: not a torchvision ResNet state_dict (no 'conv1.weight' / "
                       "'fc.weight')",
                       path);
    if (count_bn_floats(&b))
        return err->status;
    gc_graph_init(&m->graph, 3);
    int x = add_simple(&b, GC_OP_INPUT, -1, -1);
    int c = 3;
    if (x < 0 || (x = add_conv(&b, "conv1", x, c, 2)) < 0)
        return err->status;
    c = m->graph.nodes[x].out_channels;
    if ((x = add_bn(&b, "bn1", x, c)) < 0 || (x = add_simple(&b, GC_OP_RELU, x, -1)) < 0 ||
        name_node(&b, x, "relu") < 0 || (x = add_simple(&b, GC_OP_MAXPOOL, x, -1)) < 0)
        return err->status;
    gc_node *mp = &m->graph.nodes[x];
    mp->kh = mp->kw = 3, mp->sh = mp->sw = 2;
    mp->pad[0] = mp->pad[1] = mp->pad[2] = mp->pad[3] = 1;
    if (name_node(&b, x, "maxpool") < 0)
        return err->status;

    int bottleneck = gc_sd_find(&m->weights, "layer1.0.conv3.weight") != NULL;
    int blocks[4];
    for (int s = 1; s <= 4; s++) {
        int k = 0;
        while (k < 1000 && has(&b, "layer%d.%d.%s", s, k, "conv1.weight"))
            k++;
        if (k == 0)
            return gc_fail(err, GC_ERR_FORMAT, "%s: missing key 'layer%d.0.conv1.weight'",
                           path, s);
        blocks[s - 1] = k;
        for (int i = 0; i < k; i++)
            if ((x = add_block(&b, s, i, x, &c, bottleneck, (s > 1 && i == 0) ? 2 : 1)) < 0)
                return err->status;
        char name[16];
        snprintf(name, sizeof name, "layer%d", s);
        if (name_node(&b, x, name) < 0)
            return err->status;
    }
    if ((x = add_with_params(&b, GC_OP_REDUCE_MEAN, x, -1)) < 0 || name_node(&b, x, "avgpool") < 0)
        return err->status;
    const gc_sd_tensor *fw = need(&b, "fc.weight", 2, (const int64_t[]){-1, c});
    if (!fw)
        return err->status;
    const gc_sd_tensor *fb = need(&b, "fc.bias", 1, (const int64_t[]){fw->shape[0]});
    if (!fb || (x = add_simple(&b, GC_OP_LINEAR, x, -1)) < 0)
        return err->status;
    m->graph.nodes[x].weight = fw->data;
    m->graph.nodes[x].bias = fb->data;
    m->graph.nodes[x].out_channels = (int)fw->shape[0];
    if (name_node(&b, x, "fc") < 0)
        return err->status;
    m->num_classes = (int)fw->shape[0];

    /* Name it as torchvision would when it is one of the standard five. */
    static const struct { const char *name; int bottleneck, blocks[4]; } known[] = {
        {"resnet18", 0, {2, 2, 2, 2}},  {"resnet34", 0, {3, 4, 6, 3}},
        {"resnet50", 1, {3, 4, 6, 3}},  {"resnet101", 1, {3, 4, 23, 3}},
        {"resnet152", 1, {3, 8, 36, 3}},
    };
    snprintf(m->arch, sizeof m->arch, "resnet (%s [%d,%d,%d,%d], width %d)",
             bottleneck ? "Bottleneck" : "BasicBlock", blocks[0], blocks[1], blocks[2],
             blocks[3], m->graph.nodes[1].out_channels);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].bottleneck == bottleneck && !memcmp(known[i].blocks, blocks, sizeof blocks) &&
            m->graph.nodes[1].out_channels == 64)
            snprintf(m->arch, sizeof m->arch, "%s", known[i].name);
    snprintf(m->default_layer, sizeof m->default_layer, "layer4");
    return GC_OK;
}
