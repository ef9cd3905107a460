/* fuzz_description.c — libFuzzer target: the model description JSON. The
 * input is written as NAME.json beside NAME.pth in a scratch directory and
 * read by gc_description_load into a small ResNet (3 classes, built once in
 * memory, so no .pth parsing per input), as gc_model_load does. What the
 * description sets is reset between inputs. */
#include <stdio.h>
#include <stdlib.h>

#include "arch/resnet.h"
#include "loaders/description.h"
#include "fuzz_common.h"

static gc_model *model;

static void free_model(void) { gc_model_free(model); }

static void reset(gc_model *m)
{
    if (m->class_names)
        for (int i = 0; i < m->num_classes; i++)
            free(m->class_names[i]);
    free(m->class_names);
    m->class_names = NULL;
    snprintf(m->default_layer, sizeof m->default_layer, "layer4");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_error err;
    if (!model) {
        if (!(model = calloc(1, sizeof *model)) || fz_resnet_sd(&model->weights, 2, 3) ||
            gc_resnet_build(model, "m.pth", &err) != GC_OK)
            abort(); /* the synthetic model itself is valid */
        atexit(free_model);
    }
    gc_model *m = model;
    fz_write(fz_path("m.json"), data, size);
    gc_status st = gc_description_load(m, fz_path("m.pth"), &err);
    fz_check(st, &err);
    if (st == GC_OK) {
        for (int i = 0; i < m->num_classes; i++)
            (void)gc_model_class_name(m, i);
        gc_preprocess p = gc_model_preprocess(m);
        if (p.size < 8 || p.size > 4096 || !(p.std[0] > 0 && p.std[1] > 0 && p.std[2] > 0))
            abort();
        int node;
        if (gc_graph_find_layer(&m->graph, gc_model_default_layer(m), &node, &err) != GC_OK)
            abort(); /* an accepted default layer must exist */
    }
    reset(m);
    return 0;
}
