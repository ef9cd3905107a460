/*
 * gradcam.h — Grad-CAM explanations for CNN image classifiers, in C11.
 *
 * A worked example (error handling shortened):
 *
 *     gc_error err;
 *     gc_model *model;
 *     if (gc_model_load("resnet18.pth", &model, &err) != GC_OK) {
 *         fprintf(stderr, "%s\n", err.msg);
 *         return 1;
 *     }
 *     gc_image photo;
 *     gc_image_load("shark.jpeg", &photo, &err);
 *
 *     gc_preprocess pre = gc_preprocess_imagenet();      // 224x224, ImageNet mean/std
 *     float *x = malloc(sizeof(float) * 3 * pre.size * pre.size);
 *     gc_image_to_tensor(&photo, &pre, x, &err);         // NCHW, N = 1
 *
 *     gc_session *s;                                     // one per thread
 *     gc_session_new(model, &s, &err);
 *     const char *layer = "layer4";
 *     gc_request req = { .layers = &layer, .nlayers = 1, .class_index = GC_CLASS_TOP1 };
 *     gc_result res;
 *     gc_explain(s, x, 1, pre.size, pre.size, &req, &res, &err);
 *     // res.cam holds ReLU(sum_k alpha_k A^k) at the layer's resolution,
 *     // res.logits the classifier's output, res.class_index the class used.
 *
 *     gc_result_free(&res); gc_session_free(s); gc_model_free(model);
 *
 * Conventions: every function that can fail returns a gc_status and fills a
 * caller-owned gc_error with a one-line message naming what went wrong and
 * where. The library never prints and never exits. It keeps no global
 * mutable state: a gc_model is read-only once loaded and may be shared by
 * threads, each with its own gc_session.
 */
#ifndef GRADCAM_H
#define GRADCAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* The library is built with hidden symbols; what this header declares is
 * its exported interface. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ---- Errors ------------------------------------------------------------ */

typedef enum gc_status {
    GC_OK = 0,
    GC_ERR_USAGE,       /* the caller asked for something impossible      */
    GC_ERR_IO,          /* a file could not be opened, read or written    */
    GC_ERR_FORMAT,      /* a file is malformed, truncated or hostile      */
    GC_ERR_UNSUPPORTED, /* well-formed, but not something we handle       */
    GC_ERR_LIMIT,       /* a configured resource limit would be exceeded  */
    GC_ERR_NOMEM,       /* an allocation failed                           */
    GC_ERR_NETWORK,     /* a download failed                              */
    GC_ERR_INTERNAL     /* a bug in gradcam                               */
} gc_status;

typedef struct gc_error {
    gc_status status;
    char msg[512];
} gc_error;

const char *gc_status_name(gc_status s);
const char *gc_version(void);

/* ---- Limits on untrusted files ---------------------------------------- */

/* What one image or model file may make the library allocate. Checked from
 * headers and declared sizes, before the memory is asked for; going over
 * one fails with GC_ERR_LIMIT, naming the limit. A field of 0 means its
 * default; a negative one is GC_ERR_USAGE. */
typedef struct gc_limits {
    int64_t max_image_pixels; /* width * height of a decoded image.
                                 Default 100,000,000; at most 715,827,882
                                 (3 bytes a pixel in an int), larger
                                 values count as that */
    int64_t max_weight_bytes; /* float32 bytes of weights a model file
                                 produces (ONNX: derived copies included).
                                 Default 4 GiB. Raw storage read and file
                                 size follow from it: twice this (float64
                                 halves), the file another 512 MiB more */
    int64_t max_graph_nodes;  /* ONNX nodes, in the file and once
                                 converted. Default 200,000 */
} gc_limits;

/* ---- Arrays (.npy) ----------------------------------------------------- */

#define GC_MAX_DIMS 8

/* A dense, C-ordered float32 array. */
typedef struct gc_array {
    int ndim;
    int64_t shape[GC_MAX_DIMS];
    float *data;
} gc_array;

int64_t gc_array_numel(const gc_array *a);
/* Reads a little-endian float32 or float64 .npy (float64 converted). */
gc_status gc_npy_read(const char *path, gc_array *out, gc_error *err);
gc_status gc_npy_write(const char *path, const float *data, int ndim,
                       const int64_t *shape, gc_error *err);
void gc_array_free(gc_array *a);

/* ---- Images ------------------------------------------------------------ */

/* 8-bit RGB, interleaved, rows top to bottom, no padding. */
typedef struct gc_image {
    int width, height;
    unsigned char *pixels; /* width * height * 3 bytes */
} gc_image;

/* JPEG or PNG by content (not by extension). Grey is expanded to RGB, alpha
 * is dropped (as OpenCV's imread does), 16-bit PNG is scaled to 8 bits. */
gc_status gc_image_load(const char *path, gc_image *out, gc_error *err);
/* The same under lim's max_image_pixels (NULL: the defaults). */
gc_status gc_image_load_limited(const char *path, const gc_limits *lim, gc_image *out,
                                gc_error *err);
gc_status gc_image_write_png(const char *path, const gc_image *img, gc_error *err);
/* A zeroed image; at most the ceiling of max_image_pixels (see gc_limits). */
gc_status gc_image_alloc(gc_image *img, int width, int height, gc_error *err);
void gc_image_free(gc_image *img);

/* Bilinear resize of 8-bit RGB that reproduces OpenCV's
 * cv2.resize(src, (dw, dh), interpolation=INTER_LINEAR) bit for bit. */
gc_status gc_image_resize_cv(const gc_image *src, int dw, int dh, gc_image *dst,
                             gc_error *err);

/* Bilinear resize of a single-channel float map (half-pixel centres, clamped
 * borders, as cv2.resize does on float32). */
void gc_resize_bilinear_f32(const float *src, int sw, int sh, float *dst, int dw,
                            int dh);

typedef enum gc_preprocess_mode {
    GC_PREPROCESS_STRETCH, /* the seed: cv2.resize to size x size          */
    GC_PREPROCESS_CROP     /* torchvision: Resize(size*256/224) + CenterCrop */
} gc_preprocess_mode;

typedef struct gc_preprocess {
    int size; /* square input side, e.g. 224 */
    float mean[3], std[3];
    gc_preprocess_mode mode;
} gc_preprocess;

gc_preprocess gc_preprocess_imagenet(void);
/* Writes 3 * size * size floats, channel-major (one NCHW image). */
gc_status gc_image_to_tensor(const gc_image *img, const gc_preprocess *p, float *out,
                             gc_error *err);

/* ---- Rendering --------------------------------------------------------- */

/* Matplotlib's "jet" colour map for v in [0, 1]. */
void gc_colormap_jet(float v, unsigned char rgb[3]);
/* heat is width*height floats in [0, 1] at the photo's size. */
gc_status gc_render_overlay(const gc_image *photo, const float *heat, gc_image *out,
                            gc_error *err);
/* The seed's figure: photo | jet heatmap | photo masked where heat > threshold,
 * with a title line. Written as PNG. */
gc_status gc_render_figure(const char *path, const gc_image *photo, const float *heat,
                           const char *title, float threshold, gc_error *err);
/* count pictures of one size side by side (five to a row), each over its
 * caption, under a title: e.g. every method's overlay. Written as PNG. */
gc_status gc_render_grid(const char *path, const gc_image *tiles, const char *const *captions,
                         int count, const char *title, gc_error *err);

/* ---- Models ------------------------------------------------------------ */

typedef struct gc_model gc_model;

/* Loads a torchvision state_dict (.pth, zip or legacy format) or an ONNX
 * model, decided by content. */
gc_status gc_model_load(const char *path, gc_model **out, gc_error *err);
/* The same under lim's weight and node limits (NULL: the defaults). */
gc_status gc_model_load_limited(const char *path, const gc_limits *lim, gc_model **out,
                                gc_error *err);
/* Choices about reading a model file beyond its resource limits. */
typedef struct gc_load_options {
    const gc_limits *limits; /* NULL: the defaults                           */
    const char *output;      /* ONNX: the graph output that holds the scores,
                                by name or by 0-based position ("1"); NULL:
                                the first. The other formats have one output
                                and refuse any other (GC_ERR_USAGE) */
} gc_load_options;
/* gc_model_load with options; opt may be NULL. */
gc_status gc_model_load_with(const char *path, const gc_load_options *opt, gc_model **out,
                             gc_error *err);
void gc_model_free(gc_model *m);

int gc_model_num_classes(const gc_model *m);
const char *gc_model_arch(const gc_model *m); /* e.g. "resnet18" */
/* Layers a user may pick, in execution order. Shapes are for a given input
 * size (batch dimension excluded): out_shape = {C, H, W} or {C}. */
int gc_model_num_layers(const gc_model *m);
const char *gc_model_layer_name(const gc_model *m, int i);
/* The index of the layer a user named, for gc_model_layer_name/_shape. An
 * unknown name is GC_ERR_USAGE with the closest names in the message; so is
 * a name the model cannot explain (a module called twice), with why. */
gc_status gc_model_find_layer(const gc_model *m, const char *name, int *index, gc_error *err);
gc_status gc_model_layer_shape(const gc_model *m, int i, int in_h, int in_w,
                               int out_shape[3], int *out_ndim, gc_error *err);
/* The [C, h, w] map the methods read at layer i for an input of in_h x
 * in_w: the layer's own shape, or a token layer's map under tokens
 * (gc_tokens); *is_tokens says which. GC_ERR_USAGE, saying why, for a
 * layer that is neither. */
gc_status gc_model_layer_map(const gc_model *m, int i, int in_h, int in_w, int tokens,
                             int out_map[3], int *is_tokens, gc_error *err);
/* The layer used when none is given (the last spatial one). */
const char *gc_model_default_layer(const gc_model *m);

/* A model may come with a description beside it: NAME.json next to
 * NAME.pth, holding {"name", "classes": [...], "input_size", "mean": [3],
 * "std": [3], "default_layer", "preprocess": "stretch"|"crop"}; every field
 * is optional. These accessors answer from it, falling back to ImageNet's
 * conventions. */
/* Class i's name: from the description, the ImageNet names for a
 * 1000-class model, or NULL. */
const char *gc_model_class_name(const gc_model *m, int i);
/* The input size, normalisation and resizing the model expects. */
gc_preprocess gc_model_preprocess(const gc_model *m);
/* Replaces the class names with those in a text file, one per line (as
 * many lines as the model has classes). Call it before sharing the model. */
gc_status gc_model_set_labels(gc_model *m, const char *path, gc_error *err);

/* ---- Explanations ------------------------------------------------------ */

#define GC_CLASS_TOP1 (-1)

/* The CAM family. All but the guided ones produce one map per image at the
 * layer's resolution; the guided ones produce an image-sized [3, H, W]
 * gradient picture. README.md defines each and says what it costs. */
typedef enum gc_method {
    GC_METHOD_GRADCAM = 0,          /* ReLU(sum_k mean(dA_k) A_k)             */
    GC_METHOD_HIRESCAM,             /* ReLU(sum_k A_k * dA_k)                 */
    GC_METHOD_GRADCAM_ELEMENTWISE,  /* sum_k ReLU(A_k * dA_k)                 */
    GC_METHOD_XGRADCAM,             /* weights sum(A dA) / sum(A)             */
    GC_METHOD_GRADCAM_PLUSPLUS,     /* closed-form alpha, exponential score   */
    GC_METHOD_LAYERCAM,             /* ReLU(sum_k ReLU(dA_k) A_k)             */
    GC_METHOD_EIGENCAM,             /* first principal component of A         */
    GC_METHOD_EIGENGRADCAM,         /* first principal component of A * dA    */
    GC_METHOD_SCORECAM,             /* weights: class probability of masked input */
    GC_METHOD_ABLATIONCAM,          /* weights: score drop when channel is zeroed */
    GC_METHOD_RANDOM,               /* random channel weights: a baseline     */
    GC_METHOD_FULLGRAD,             /* input-gradient x input + bias gradients */
    GC_METHOD_FEM,                  /* channel means x channel hot spots      */
    GC_METHOD_CAM,                  /* the original CAM: classifier weights   */
    GC_METHOD_GUIDED_BACKPROP,      /* input gradient through guided ReLUs    */
    GC_METHOD_GUIDED_GRADCAM,       /* guided backprop x upsampled Grad-CAM   */
    GC_METHOD_COUNT
} gc_method;

const char *gc_method_name(gc_method m);
gc_status gc_method_parse(const char *name, gc_method *out, gc_error *err);
/* Whether the method's output is an image-sized gradient picture. */
int gc_method_is_image(gc_method m);

/* A layer whose output is tokens rather than a [C, H, W] map becomes one
 * the way the Python CAM libraries' reshape transforms do it: [T, C] per
 * image with a class token first -> drop it -> [C, h, w]; [T, C] of patch
 * tokens only -> [C, h, w]; channels last [h, w, C] (Swin) -> [C, h, w];
 * the layer's gradient goes the same way. AUTO picks from the token count
 * (T - 1, else T, else T - 2 a grid of the input's aspect: CLS, PLAIN,
 * CLS2); NHWC must be asked for. Methods that perturb the layer (Score-CAM, Ablation-CAM)
 * refuse token layers. */
typedef enum gc_tokens {
    GC_TOKENS_AUTO = 0,
    GC_TOKENS_CLS,
    GC_TOKENS_PLAIN,
    GC_TOKENS_NHWC,
    GC_TOKENS_CLS2 /* a class and a distillation token first (DeiT): both dropped */
} gc_tokens;

enum { GC_DETECT_NONE, GC_DETECT_BEST, GC_DETECT_BOX }; /* gc_request.detect */

typedef struct gc_request {
    const char *const *layers;  /* layer names (gc_model_find_layer's); 0 or
                                   NULL: the model's default layer. Several:
                                   each map normalised, upsampled, averaged */
    int nlayers;
    int class_index;            /* GC_CLASS_TOP1: each image's own top-1    */
    int rank;                   /* with GC_CLASS_TOP1: explain each image's
                                   rank-th most likely class (0 = top-1)    */
    const gc_method *methods;   /* which maps to compute, from one forward  */
    int nmethods;               /* 0: Grad-CAM alone                        */
    int counterfactual;         /* explain -y_c: what speaks against c      */
    int eigen_smooth;           /* first principal component of the
                                   weighted activations instead of the sum  */
    int aug_smooth;             /* average over horizontal flip x brightness
                                   0.9 / 1.0 / 1.1, mapped back             */
    unsigned seed;              /* for GC_METHOD_RANDOM                     */
    int tokens;                 /* gc_tokens: how a transformer layer's
                                   output becomes a map; 0 = auto           */
    /* A segmentation target (pytorch-grad-cam's SemanticSegmentationTarget):
     * for a model whose output is a map [K, H, W] per image, explain
     * sum over pixels p of y[c][p] * m[p], with m the pixels where class c
     * wins (argmax over K), or where given the mask: mask_h x mask_w bytes
     * (nonzero = in) for every image, scaled to H x W by nearest pixel
     * (an image-sized mask works). c is class_index, or else each image's
     * rank-th class by the number of pixels it wins. Not with aug_smooth. */
    int segment;
    const unsigned char *mask;
    int mask_h, mask_w;
    /* A detection target: for a raw detection head whose output is
     * [boxes, 5 + K] per image (x, y, w, h, objectness, K class scores:
     * YOLO's layout), explain box b's score for class c = class_index
     * (which must be given): y[b][5 + c], with b = box for GC_DETECT_BOX,
     * each image's box that scores c highest for GC_DETECT_BEST. */
    int detect;
    int box;
    /* One class per image: n entries, each an index as class_index takes
     * (GC_CLASS_TOP1: that image's rank-th class); NULL: class_index for
     * every image. Not with segment or detect. */
    const int *class_per_image;
} gc_request;

typedef struct gc_result {
    int n, classes;             /* batch size and number of classes         */
    int in_h, in_w;             /* the input's size                         */
    int cam_h, cam_w;           /* the size of maps[0]                      */
    float *logits;              /* n * classes                              */
    int *class_index;           /* n: the class explained for each image    */
    int nmethods;
    gc_method methods[GC_METHOD_COUNT];
    /* Per requested method, in request order: n * map_c * map_h * map_w
     * floats. Layer maps are at the layer's resolution, after ReLU, before
     * any normalisation (map_c = 1). Several layers give one combined map
     * at the input's resolution, normalised to [0, 1]; so does FullGrad.
     * Guided methods give a gradient picture (map_c = 3, input size). */
    float *maps[GC_METHOD_COUNT];
    int map_c[GC_METHOD_COUNT], map_h[GC_METHOD_COUNT], map_w[GC_METHOD_COUNT];
    float *cam;                 /* maps[0], for single-method callers       */
    int out_c, out_h, out_w;    /* the output per image: [K, H, W] for a map
                                   (segmentation), else [classes, 1, 1]     */
    double forward_ms;          /* the forward pass                         */
    double methods_ms;          /* backward passes, extra passes, maps      */
} gc_result;

typedef struct gc_session gc_session;

gc_status gc_session_new(const gc_model *m, gc_session **out, gc_error *err);
void gc_session_free(gc_session *s);

/* x is n x 3 x h x w, normalised. One forward pass gives the logits; one
 * backward pass to the layer serves every gradient method; Score-CAM and
 * Ablation-CAM run extra forward passes, batched. The session remembers its
 * last forward pass: explaining the same x again (another class, layer or
 * method) does not run it again. */
gc_status gc_explain(gc_session *s, const float *x, int n, int h, int w,
                     const gc_request *req, gc_result *out, gc_error *err);
/* Logits only (no backward). out_logits has n * num_classes floats. */
gc_status gc_predict(gc_session *s, const float *x, int n, int h, int w,
                     float *out_logits, gc_error *err);
void gc_result_free(gc_result *r);

/* Softmax of one row of logits into probs (same length). */
void gc_softmax(const float *logits, int n, float *probs);

/* ---- Evaluating explanations ------------------------------------------ */

/* Faithfulness of a saliency map: how the class probability (softmax of the
 * logits) moves as the image is perturbed in the map's order. README.md
 * ("Data sets", "Metrics") gives each definition and its reference. Pixels
 * are ranked by saliency, highest first, ties by position (row-major);
 * every perturbation acts on the normalised input tensor. */
#define GC_EVAL_MAX_ROAD 16
typedef struct gc_eval_options {
    int steps;             /* deletion / insertion: images with k*P/steps
                              (floor) pixels changed, k = 0..steps        */
    int batch;             /* perturbed images per forward pass           */
    int nroad;             /* ROAD's fractions of pixels removed          */
    double road_fractions[GC_EVAL_MAX_ROAD];
    double road_noise;     /* ROAD: standard deviation of the noise added
                              to imputed values                            */
    uint64_t seed;         /* ROAD's noise (README: the generator)         */
    int blur_size;         /* insertion starts from x blurred by a
                              normalised Gaussian, zero padding            */
    double blur_sigma;
    float mean[3], std[3]; /* how x was normalised (Average Drop's
                              explanation map is made in [0, 1] pixels)    */
} gc_eval_options;

/* steps 50, batch 32, ROAD at 0.1, 0.2, ..., 0.9 with noise 0.01 and seed 0,
 * blur 11 x 11 with sigma 5 (RISE's), mean/std from pre. */
gc_eval_options gc_eval_defaults(const gc_preprocess *pre);

typedef struct gc_eval {
    double p;              /* the class's probability on x                 */
    double deletion;       /* area under the deletion curve (lower: better) */
    double insertion;      /* area under the insertion curve (higher)       */
    double road_morf;      /* ROAD, most relevant first: mean probability
                              over the fractions (lower: better)           */
    double road_lerf;      /* least relevant first (higher: better)        */
    double road;           /* road_lerf - road_morf (higher: better)       */
    double road_morf_curve[GC_EVAL_MAX_ROAD], road_lerf_curve[GC_EVAL_MAX_ROAD];
    double p_explanation;  /* probability on x's pixels times the map
                              (min-max normalised to [0, 1])               */
    double drop;           /* max(0, p - p_explanation) / p                */
    int increase;          /* p_explanation > p                            */
} gc_eval;

/* saliency: h x w floats at x's resolution (one image, n = 1). s runs
 * batches of opt->batch images: give it a session of its own, so that the
 * session that explains keeps its cached forward pass. */
gc_status gc_evaluate_map(gc_session *s, const float *x, int h, int w, int class_index,
                          const float *saliency, const gc_eval_options *opt, gc_eval *out,
                          gc_error *err);

/* The model-randomisation sanity check (Adebayo et al. 2018): replaces the
 * parameters of layer's module and of everything after it (to the output)
 * by random ones, as a cascade from the top stops at layer: convolutions
 * and linear layers N(0, 2 / fan_in) (He), biases 0, BatchNorms the
 * identity. seed picks the values; a node's values depend only on the seed
 * and the node, so cascade stages share what they both randomise. Other
 * parameters (LayerNorm, constants) stay. Call it on a model of its own,
 * before any session uses it. */
gc_status gc_model_randomise(gc_model *m, const char *layer, uint64_t seed, gc_error *err);

/* Spearman's rank correlation of a[0..n) and b[0..n) (ties get their mean
 * rank); 0 when either is constant. */
double gc_spearman(const float *a, const float *b, int n);

/* Localisation of a map (h x w, any values) against a region (h x w
 * bytes, nonzero = inside): *hit = whether the map's maximum (first in
 * row-major order) lies inside (the pointing game); *energy = the share of
 * the map's positive mass inside (0 for an all-zero map). */
void gc_pointing_game(const float *map, int h, int w, const unsigned char *inside, int *hit,
                      double *energy);

/* ---- Class names ------------------------------------------------------- */

/* The 1000 ImageNet class names in torchvision's order ("tench", ...). */
const char *gc_imagenet_class_name(int index);
/* Index of an ImageNet class by exact name, or -1. */
int gc_imagenet_class_index(const char *name);

/* ---- Pretrained weights ------------------------------------------------ */

/* Finds torchvision's published ImageNet weights for arch ("resnet18" ...
 * "resnet152") in cache_dir, downloading them from base_url (NULL: the
 * official host) when absent, and verifying the SHA-256 prefix that is part
 * of the file name. Writes the checkpoint's path to path_out. */
gc_status gc_pretrained_fetch(const char *arch, const char *cache_dir,
                              const char *base_url, char *path_out, size_t cap,
                              gc_error *err);

/* ---- CPU kernels ------------------------------------------------------- */

/* The kernel tier this process runs: "portable", "avx2" or "avx512", the
 * best the CPU has unless the environment variable GC_CPU forces one (a
 * tier the CPU lacks, or an unknown name, makes gc_model_load fail). */
const char *gc_cpu_tier(void);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
#ifdef __cplusplus
}
#endif
#endif /* GRADCAM_H */
