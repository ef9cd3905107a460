/* registry.c — the table of model formats and gc_model_load, which picks
 * one by content (never by file name), runs it, then reads the optional
 * description beside the file and prepares the weights for the kernels. */
#include "loaders/registry.h"

#include "arch/resnet.h"
#include "core/error.h"
#include "loaders/description.h"
#include "loaders/onnx.h"
#include "loaders/safetensors.h"
#include "loaders/pth.h"
#include "loaders/state_dict.h"
#include "ops/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A weight file that does not describe its network: the architecture is
 * inferred from its tensor names (arch/resnet.c). */
/* A format whose network has one output: a choice of output other than
 * the first is a mistake worth saying. */
static gc_status one_output(const char *path, const gc_load_options *opt, gc_error *err)
{
    if (opt->output && strcmp(opt->output, "0") != 0)
        return gc_fail(err, GC_ERR_USAGE, "%s: choosing an output ('%s') applies to ONNX "
                       "models; this model has one", path, opt->output);
    return GC_OK;
}

static gc_status load_safetensors(gc_model *m, const char *path, const gc_load_options *opt,
                                  gc_error *err)
{
    gc_status st = one_output(path, opt, err);
    st = st ? st : gc_safetensors_load(path, opt->limits, &m->weights, err);
    return st ? st : gc_resnet_build(m, path, err);
}

static gc_status load_pth(gc_model *m, const char *path, const gc_load_options *opt,
                          gc_error *err)
{
    gc_status st = one_output(path, opt, err);
    st = st ? st : gc_pth_load(path, opt->limits, &m->weights, err);
    return st ? st : gc_resnet_build(m, path, err);
}

static int anything(const unsigned char *head, size_t n) { return 1; }

static int onnx_sniff(const unsigned char *head, size_t n) { return gc_onnx_sniff(head, n); }

static int safetensors_sniff(const unsigned char *head, size_t n)
{
    return gc_safetensors_sniff(head, n);
}

/* In the order they are tried: safetensors first, since its length byte
 * may look like an ONNX field tag; .pth (zip or legacy pickle) last, its
 * loader naming what it found when the file is none of these. */
static const gc_loader loaders[] = {
    {"safetensors", safetensors_sniff, load_safetensors},
    {"ONNX", onnx_sniff, gc_onnx_load},
    {"PyTorch state_dict (.pth)", anything, load_pth},
};

const gc_loader *gc_loader_for(const unsigned char *head, size_t n)
{
    const size_t count = sizeof loaders / sizeof loaders[0];
    for (size_t i = 0; i + 1 < count; i++)
        if (loaders[i].sniff(head, n))
            return &loaders[i];
    return &loaders[count - 1];
}

gc_status gc_model_load(const char *path, gc_model **out, gc_error *err)
{
    return gc_model_load_limited(path, NULL, out, err);
}

gc_status gc_model_load_limited(const char *path, const gc_limits *lim, gc_model **out,
                                gc_error *err)
{
    const gc_load_options opt = {.limits = lim};
    return gc_model_load_with(path, &opt, out, err);
}

gc_status gc_model_load_with(const char *path, const gc_load_options *opt, gc_model **out,
                             gc_error *err)
{
    const gc_load_options none = {0};
    opt = opt ? opt : &none;
    *out = NULL;
    const gc_status cpu = gc_cpu_check(err); /* a GC_CPU this CPU cannot honour */
    if (cpu)
        return cpu;
    unsigned char head[GC_SNIFF_BYTES];
    FILE *f = path ? fopen(path, "rb") : NULL;
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f)
        fclose(f);
    gc_model *m = gc_calloc(1, sizeof *m, err);
    if (!m)
        return GC_ERR_NOMEM;
    /* An unreadable file goes to the last loader too, whose file checks
     * say what is wrong with it. */
    gc_status st = gc_loader_for(head, n)->load(m, path, opt, err);
    if (st == GC_OK)
        st = gc_description_load(m, path, err);
    if (st == GC_OK)
        st = gc_model_prepare(m, err);
    if (st) {
        gc_model_free(m);
        return st;
    }
    *out = m;
    return GC_OK;
}
