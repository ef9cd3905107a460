/* cmd_explain.c — `gradcam explain`: classify, back-propagate the class
 * score to a layer, and write the maps (and, for images, the figures). */
#include "cli/dataset.h"
#include "cli/inputs.h"
#include "cli/outputs.h"
#include "cli/pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: gradcam explain --model M [options] IMAGE...\n"
    "       gradcam explain --model M --input-npy X.npy [options] [IMAGE...]\n"
    "       gradcam explain --model M [options] --manifest FILE | FOLDER...\n"
    "\n"
    "  --model M        a model file, recognised by its content: ONNX, safetensors\n"
    "                   or a torchvision ResNet state_dict (.pth); or resnet18 ...\n"
    "                   resnet152 (ImageNet weights, downloaded once)\n"
    "  --layer L        module name as PyTorch spells it (default: the model's last\n"
    "                   stage, e.g. layer4); 'gradcam layers' lists them. Given\n"
    "                   more than once, the maps are normalised and averaged\n"
    "  --class C        class index or exact name (default: each image's top-1);\n"
    "                   repeat it to explain several classes of one image\n"
    "  --top-k K        explain each image's K most likely classes\n"
    "  --method LIST    comma-separated methods, each at most once (default:\n"
    "                   gradcam): gradcam, hirescam, gradcamelementwise, xgradcam,\n"
    "                   gradcam++, layercam, eigencam, eigengradcam, scorecam,\n"
    "                   ablationcam, random, fullgrad, fem, cam, guidedbackprop,\n"
    "                   guidedgradcam\n"
    "  --counterfactual explain what speaks against the class (negated gradients)\n"
    "  --eigen-smooth   first principal component instead of the channel sum\n"
    "  --segment        for a model whose output is a map [classes, H, W]: explain\n"
    "                   the class's scores summed over the pixels where it wins\n"
    "                   (--class, or each image's class that wins most pixels)\n"
    "  --mask M.png     with --segment: over M's non-black pixels instead (scaled\n"
    "                   to the output map)\n"
    "  --detect         for a raw detection head, output [boxes, 5 + classes]:\n"
    "                   explain one box's score for --class (the box that scores\n"
    "                   it highest, or --box B)\n"
    "  --output O       for an ONNX model with several outputs: the one that holds\n"
    "                   the scores, by name or 0-based position (default: the first)\n"
    "  --tokens T       how a transformer layer's tokens become a map: auto (the\n"
    "                   default: [1 + h*w, C] drops the class token, [h*w, C]\n"
    "                   keeps all, [2 + h*w, C] drops DeiT's two), cls, plain,\n"
    "                   cls2, or nhwc ([h, w, C], Swin)\n"
    "  --aug-smooth     average over flips x brightness 0.9/1.0/1.1\n"
    "  --out DIR        output directory (default: ./gradcam-out)\n"
    "  --preprocess P   stretch (default: resize to the input size S) or crop\n"
    "                   (torchvision's: shorter side to S*256/224, centre SxS).\n"
    "                   S is 224 unless the model's description (M.json), its\n"
    "                   ONNX input or --input-size says otherwise\n"
    "  --input-npy X    a float32 [N,3,H,W] batch, already normalised\n"
    "  --labels FILE    class names, one per line (else the model's description,\n"
    "                   or ImageNet's for 1000 classes)\n"
    "  --input-size N   --mean R,G,B   --std R,G,B   override the model's\n"
    "                   preprocessing (default: its description, else ImageNet's)\n"
    "Data sets (README, \"Data sets\"):\n"
    "  --manifest FILE  CSV (header: path[,target][,box|x0,y0,x1,y1][,mask]) or\n"
    "                   JSON Lines ({\"path\", \"target\", \"box\", \"mask\"}); paths\n"
    "                   relative to FILE's folder; target: class index or name\n"
    "  FOLDER           its images, recursively, sorted; --glob PATTERN picks\n"
    "                   others (default *.png, *.jpg, *.jpeg)\n"
    "                   A data set run writes one record per image to\n"
    "                   OUT/results.jsonl and goes on past a failed image\n"
    "  --resume         skip images OUT/results.jsonl has a good record of\n"
    "  --fail-fast      stop at the first failed image\n"
    "  --quiet          no progress on stderr, no summary\n"
    "  --shard K/N      only the images whose index i has i % N == K\n"
    "  --metrics        faithfulness metrics per map (deletion, insertion, ROAD,\n"
    "                   average drop / increase) and, given a box or mask, the\n"
    "                   pointing game and its energy-based form\n"
    "  --steps N        deletion / insertion curve steps (default 50)\n"
    "  --baselines      with --metrics: the same for a random and a centred\n"
    "                   Gaussian map\n"
    "  --sanity LIST    model randomisation check: for each layer of the comma-\n"
    "                   separated list (top first, e.g. fc,layer4,layer3), the\n"
    "                   map of a model randomised from that layer to the output,\n"
    "                   and its Spearman correlation with the real map\n"
    "  --report         at the end, OUT/index.html as 'gradcam report OUT' writes\n"
    "  --max-pixels N   --max-weights SIZE   --max-nodes N   what one file may make\n"
    "                   gradcam allocate: image pixels (default 100000000), float32\n"
    "                   weight bytes, suffix K, M or G (default 4G), ONNX nodes\n"
    "                   (default 200000)\n"
    "\n"
    "Images are JPEG or PNG files; a directory is refused (name its images,\n"
    "e.g. DIR/*.jpg). Per input STEM (its file name without the extension)\n"
    "it writes STEM.logits.npy and per method STEM.METHOD.cam.npy (raw map, after\n"
    "ReLU, at the layer's resolution); for images also STEM.METHOD.figure.png,\n"
    "STEM.METHOD.overlay.png, with several methods STEM.methods.png, and\n"
    "STEM.json, which lists the files. The guided methods give an image, not a\n"
    "map: STEM.METHOD.npy [N,3,H,W] and STEM.METHOD.png, no figure or overlay.\n"
    "An input whose stem an earlier one has is written as STEM-2 (then -3, ...;\n"
    "a number no other input's stem has), its JSON saying \"same_stem_as\".\n";

static const char *const options[] = {
    "model", "layer", "class", "top-k", "method", "counterfactual", "eigen-smooth",
    "aug-smooth", "out", "preprocess", "input-npy", "labels", "input-size", "mean", "std",
    "max-pixels", "max-weights", "max-nodes", "tokens", "segment", "mask", "detect", "box",
    "output", "manifest", "glob", "shard", "resume", "quiet", "fail-fast", "metrics",
    "baselines", "steps", "sanity", "report", NULL,
};

#define MAX_METHODS GC_METHOD_COUNT

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* --method's comma-separated list. The list is split here and each name
 * given to the library; an empty entry ("a,,b", "a,", "") or a method named
 * twice is refused: either is a slip in the command line, and a repeated
 * method would write the same files twice. */
static int parse_methods(const char *list, gc_method *out, int *count)
{
    const char *s = list ? list : "gradcam";
    *count = 0;
    for (;;) {
        size_t len = strcspn(s, ",");
        char name[64];
        gc_method m;
        gc_error err = {0};
        if (len == 0)
            return cli_usage_error("explain", "--method '%s' has an empty entry", list);
        if (len >= sizeof name)
            return cli_usage_error("explain", "unknown method '%.*s'", (int)len, s);
        memcpy(name, s, len);
        name[len] = '\0';
        if (gc_method_parse(name, &m, &err))
            return cli_report(&err);
        for (int k = 0; k < *count; k++)
            if (out[k] == m)
                return cli_usage_error("explain", "--method '%s' names %s twice", list,
                                       gc_method_name(m));
        out[(*count)++] = m; /* no repeats, so at most MAX_METHODS */
        if (!s[len])
            return EXIT_OK;
        s += len + 1;
    }
}

/* One class to explain: an index, or each image's rank-th class. */
typedef struct target {
    int class_index, rank;
    char suffix[32]; /* added to the output stem when there are several */
} target;

typedef struct job {
    const cli_args *a;
    gc_model *m;
    gc_session *s;
    gc_request req;
    gc_method methods[MAX_METHODS];
    target targets[CLI_MAX_REPEAT];
    int ntargets;
    char layer_label[256];
    const char *out;
    const char **inputs; /* --input-npy (if given) first, then the images */
    int image0;          /* index of the first image in inputs and stems */
    cli_stems stems;     /* what each input's outputs are named by */
} job;

static int plan_targets(job *j)
{
    const cli_args *a = j->a;
    if (a->nclasses > 0 && a->top_k > 0)
        return cli_usage_error("explain", "give --class or --top-k, not both");
    if (a->top_k > CLI_MAX_REPEAT)
        return cli_usage_error("explain", "--top-k is at most %d", CLI_MAX_REPEAT);
    if (a->top_k > gc_model_num_classes(j->m))
        return cli_usage_error("explain", "--top-k %d exceeds the model's %d classes", a->top_k,
                               gc_model_num_classes(j->m));
    j->ntargets = a->nclasses ? a->nclasses : a->top_k ? a->top_k : 1;
    for (int t = 0; t < j->ntargets; t++) {
        target *tg = &j->targets[t];
        tg->class_index = GC_CLASS_TOP1;
        tg->rank = a->top_k ? t : 0;
        tg->suffix[0] = '\0';
        if (a->nclasses) {
            int rc = cli_parse_class(j->m, a->classes[t], &tg->class_index);
            if (rc)
                return rc;
            if (j->ntargets > 1)
                snprintf(tg->suffix, sizeof tg->suffix, ".c%d", tg->class_index);
        } else if (j->ntargets > 1) {
            snprintf(tg->suffix, sizeof tg->suffix, ".top%d", t + 1);
        }
    }
    return EXIT_OK;
}

static int explain_npy(job *j)
{
    gc_array x;
    int rc = cli_load_npy_batch(j->a->input_npy, &x);
    if (rc)
        return rc;
    const char *stem = j->stems.name[0];
    char name[1200];
    for (int t = 0; t < j->ntargets && !rc; t++) {
        gc_error err = {0};
        gc_result r;
        j->req.class_index = j->targets[t].class_index;
        j->req.rank = j->targets[t].rank;
        if (gc_explain(j->s, x.data, (int)x.shape[0], (int)x.shape[2], (int)x.shape[3], &j->req,
                       &r, &err)) {
            rc = cli_report(&err);
            break;
        }
        snprintf(name, sizeof name, "%s%s", stem, j->targets[t].suffix);
        rc = cli_write_arrays(j->out, name, &r);
        gc_result_free(&r);
    }
    gc_array_free(&x);
    return rc;
}

/* One image on its way through the pipeline (pipeline.h): decoded on the
 * loader thread, explained here, written on the writer thread. */
typedef struct image_item {
    const char *path;
    gc_image photo;
    float *x;
    double load_ms;
    gc_result r[CLI_MAX_REPEAT]; /* one per target */
    int nr;
    gc_error err;                /* why load or compute failed */
} image_item;

typedef struct image_run {
    job *j;
    const gc_preprocess *pre;
} image_run;

static void discard_image(void *ctx, void *it)
{
    image_item *item = it;
    for (int t = 0; t < item->nr; t++)
        gc_result_free(&item->r[t]);
    free(item->x);
    gc_image_free(&item->photo);
    memset(item, 0, sizeof *item);
}

static int load_image(void *ctx, int i, void *it)
{
    image_run *run = ctx;
    image_item *item = it;
    memset(item, 0, sizeof *item);
    item->path = run->j->a->positional[i];
    double t0 = now_ms();
    gc_status st = cli_read_image_tensor(item->path, &run->j->a->limits, run->pre, &item->photo,
                                         &item->x, &item->err);
    item->load_ms = now_ms() - t0;
    return st ? cli_exit_code(st) : EXIT_OK;
}

static int compute_image(void *ctx, int i, void *it)
{
    image_run *run = ctx;
    image_item *item = it;
    job *j = run->j;
    for (int t = 0; t < j->ntargets; t++) {
        j->req.class_index = j->targets[t].class_index;
        j->req.rank = j->targets[t].rank;
        gc_status st = gc_explain(j->s, item->x, 1, run->pre->size, run->pre->size, &j->req,
                                  &item->r[t], &item->err);
        if (st)
            return cli_exit_code(st);
        item->nr = t + 1;
    }
    return EXIT_OK;
}

static int write_image(void *ctx, int i, void *it, int failed)
{
    image_run *run = ctx;
    image_item *item = it;
    job *j = run->j;
    int rc = failed ? cli_report(&item->err) : EXIT_OK;
    const char *stem = j->stems.name[j->image0 + i];
    int same_as = j->stems.same_as[j->image0 + i];
    char name[1200];
    for (int t = 0; t < item->nr && !rc; t++) {
        const gc_result *r = &item->r[t];
        snprintf(name, sizeof name, "%s%s", stem, j->targets[t].suffix);
        rc = cli_write_arrays(j->out, name, r);
        if (!rc) {
            cli_visual v = {
                .dir = j->out, .stem = name, .image_path = item->path, .model_path = j->a->model,
                .same_stem_as = same_as >= 0 ? j->inputs[same_as] : NULL,
                .layer = j->layer_label, .model = j->m, .photo = &item->photo, .pre = run->pre,
                .result = r, .counterfactual = j->req.counterfactual, .segment = j->req.segment,
                .load_ms = item->load_ms,
            };
            rc = cli_write_visuals(&v);
        }
        if (!rc) {
            char buf[32];
            printf("%s: %s (class %d) -> %s/%s.*%s%s%s\n", item->path,
                   cli_class_name(j->m, r->class_index[0], buf, sizeof buf), r->class_index[0],
                   j->out, name, same_as >= 0 ? " (renamed: " : "",
                   same_as >= 0 ? j->inputs[same_as] : "",
                   same_as >= 0 ? " has the same stem)" : "");
        }
    }
    discard_image(ctx, item);
    return rc;
}

/* Every image: decoding the next and writing the last overlap this one's
 * computation, so a folder of photos keeps both cores busy. */
static int explain_images(job *j, const gc_preprocess *pre)
{
    image_run run = {.j = j, .pre = pre};
    cli_pipeline p = {
        .n = j->a->npositional, .item_size = sizeof(image_item), .ctx = &run,
        .load = load_image, .compute = compute_image, .write = write_image,
        .discard = discard_image,
    };
    int rc = cli_pipeline_run(&p);
    if (rc < 0) {
        fprintf(stderr, "gradcam: cannot start threads\n");
        return EXIT_INTERNAL;
    }
    return rc;
}

/* Names every input's outputs at once, before any is written, so that
 * inputs sharing a file stem (a/cat.png, b/cat.png; cat.npy, cat.png) are
 * told apart the same way on every run. */
static int name_inputs(job *j)
{
    const cli_args *a = j->a;
    j->image0 = a->input_npy ? 1 : 0;
    j->inputs = malloc(sizeof *j->inputs * (size_t)(j->image0 + a->npositional));
    if (!j->inputs) {
        fprintf(stderr, "gradcam: out of memory\n");
        return EXIT_BAD_INPUT;
    }
    if (a->input_npy)
        j->inputs[0] = a->input_npy;
    for (int i = 0; i < a->npositional; i++)
        j->inputs[j->image0 + i] = a->positional[i];
    int rc = cli_name_outputs(j->inputs, j->image0 + a->npositional, &j->stems);
    if (rc) {
        free(j->inputs);
        j->inputs = NULL;
    }
    return rc;
}

int cmd_explain(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse("explain", options, argc, argv, 2, &a);
    if (rc || a.help) {
        if (a.help)
            fputs(help, stdout);
        return rc;
    }
    if (!a.input_npy && a.npositional == 0 && !a.manifest)
        return cli_usage_error("explain", "no input given (IMAGE..., --manifest FILE or "
                               "--input-npy X.npy)");
    const int set = cli_is_set_run(&a);
    if (set && (a.input_npy || a.top_k || a.nclasses > 1))
        return cli_usage_error("explain", "a data set run (--manifest, a folder, --resume, "
                               "--shard, --metrics) explains one class per image: no "
                               "--input-npy, --top-k or repeated --class");
    if (!set && (rc = cli_refuse_directories(&a)))
        return rc;
    job j = {.a = &a, .out = a.out ? a.out : "gradcam-out"};
    j.req.layers = a.layers;
    j.req.nlayers = a.nlayers;
    j.req.class_index = GC_CLASS_TOP1;
    j.req.methods = j.methods;
    j.req.counterfactual = a.counterfactual;
    j.req.eigen_smooth = a.eigen_smooth;
    j.req.aug_smooth = a.aug_smooth;
    j.req.seed = 1;
    if (a.tokens) {
        static const char *const names[] = {"auto", "cls", "plain", "nhwc", "cls2"};
        j.req.tokens = -1;
        for (int k = 0; k < 5; k++)
            if (strcmp(a.tokens, names[k]) == 0)
                j.req.tokens = k; /* the order of gc_tokens */
        if (j.req.tokens < 0)
            return cli_usage_error("explain", "--tokens is auto, cls, plain, nhwc or cls2, not "
                                   "'%s'", a.tokens);
    }
    gc_preprocess pre;
    if ((rc = parse_methods(a.method, j.methods, &j.req.nmethods)) ||
        (!set && (rc = name_inputs(&j))))
        return rc;
    gc_error err = {0};
    gc_image mask = {0};
    j.req.segment = a.segment;
    j.req.detect = !a.detect ? GC_DETECT_NONE : a.box >= 0 ? GC_DETECT_BOX : GC_DETECT_BEST;
    j.req.box = a.box;
    if (a.box >= 0 && !a.detect)
        return cli_usage_error("explain", "--box goes with --detect");
    if (a.mask && !a.segment)
        return cli_usage_error("explain", "--mask goes with --segment");
    if (a.mask) { /* any non-black pixel is in */
        if (gc_image_load_limited(a.mask, &a.limits, &mask, &err))
            return cli_report(&err);
        const size_t px = (size_t)mask.width * mask.height;
        for (size_t q = 0; q < px; q++)
            mask.pixels[q] = mask.pixels[3 * q] | mask.pixels[3 * q + 1] | mask.pixels[3 * q + 2];
        j.req.mask = mask.pixels, j.req.mask_h = mask.height, j.req.mask_w = mask.width;
    }
    if ((rc = cli_open_model(&a, &j.m)))
        goto out;
    if ((rc = cli_preprocess_from_args(&a, j.m, &pre)))
        goto out;
    if ((rc = plan_targets(&j)))
        goto out;
    size_t used = 0;
    for (int l = 0; l < (a.nlayers ? a.nlayers : 1) && used < sizeof j.layer_label; l++)
        used += (size_t)snprintf(j.layer_label + used, sizeof j.layer_label - used, "%s%s",
                                 l ? "+" : "", a.nlayers ? a.layers[l] : gc_model_default_layer(j.m));
    if ((rc = cli_make_dir(j.out)))
        goto out;
    if (gc_session_new(j.m, &j.s, &err)) {
        rc = cli_report(&err);
        goto out;
    }
    if (set) {
        cli_set_run run = {.a = &a, .m = j.m, .s = j.s, .req = &j.req,
                           .class_index = j.targets[0].class_index, .pre = &pre, .out = j.out,
                           .layer = j.layer_label};
        rc = cli_explain_set(&run);
        goto out;
    }
    if (a.input_npy)
        rc = explain_npy(&j);
    if (!rc && a.npositional)
        rc = explain_images(&j, &pre);
out:
    gc_image_free(&mask);
    gc_session_free(j.s);
    gc_model_free(j.m);
    cli_stems_free(&j.stems);
    free(j.inputs);
    return rc;
}
