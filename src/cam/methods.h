/* methods.h — the CAM family as plain functions over flat arrays.
 *
 * Every layer method is two steps. First a contribution P[k, p] of each
 * channel k at each position p, from the layer's activations A and
 * gradients G (G = d score / d A): w_k A_k for the methods that weigh
 * channels, a position-wise product for the others. Then a reduction: the
 * map is ReLU(sum_k P_k), or with eigen-smoothing ReLU of P's projection on
 * its first principal component. Sums run in double: a map is a difference
 * of large terms at inner layers, and float accumulation over hundreds of
 * channels costs digits we promise.
 *
 * The graph work that feeds these (backward passes, the extra forward
 * passes of Score-CAM and Ablation-CAM) lives in explain.c,
 * perturbation.c and fullgrad.c. */
#ifndef GC_CAM_METHODS_H
#define GC_CAM_METHODS_H

#include "core/session.h"

/* keep[i] = whether node i's output must survive a forward pass so that
 * layer `first` and everything after it can be explained: the nodes from
 * `first` on, and every earlier node that one of them reads. keep has one
 * entry per node. */
void keep_from(const gc_graph *g, int first, char *keep);

/* What a method contributes at each position p of channel k (P[k, p]). */
typedef enum method_contribution {
    CONTRIB_NONE,              /* no layer map: computed from the input's side */
    CONTRIB_WEIGHTED,          /* w_k A_k                                     */
    CONTRIB_PRODUCT,           /* A_k G_k                                     */
    CONTRIB_PRODUCT_RELU,      /* ReLU(A_k G_k)                               */
    CONTRIB_POSITIVE_GRADIENT, /* ReLU(G_k) A_k                               */
    CONTRIB_ACTIVATION,        /* A_k                                         */
    CONTRIB_HOT_SPOTS          /* w_k where A_k >= mean_k + 2 std_k, else 0   */
} method_contribution;

/* What a method needs and what it gives. */
enum {
    METHOD_LAYER_GRADIENT = 1,    /* reads G at the layer (one backward pass)  */
    METHOD_INPUT_RESOLUTION = 2,  /* its output is at the input's size         */
    METHOD_IMAGE = 4,             /* its output is a [3, H, W] gradient picture */
    METHOD_EIGEN = 8              /* reduced by the first principal component  */
};

/* Forms the channel weights w (n * c doubles) of layer node, the session
 * holding the forward pass (and the backward pass, for gradient methods). */
typedef gc_status (*method_weights_fn)(double *w, gc_session *s, int node, const int *classes,
                                       const gc_request *req, gc_error *err);

typedef struct method_def {
    gc_method id;
    const char *name;             /* what users type: "gradcam"             */
    method_weights_fn weights;    /* NULL: the method weighs no channels    */
    method_contribution contribution;
    unsigned flags;               /* METHOD_*                               */
} method_def;

/* The table's row for m (method_table.c), or NULL. */
const method_def *method_def_of(gc_method m);
/* Whether method m has a METHOD_* flag. */
int method_has(gc_method m, unsigned flag);

/* Channel weights, w has n * c doubles. */
void weights_gradcam(double *w, const float *grad, int n, int c, int hw);
/* sum(G A) / (sum(A) + 1e-7)  (Fu et al. 2020). */
void weights_xgradcam(double *w, const float *act, const float *grad, int n, int c, int hw);
/* Grad-CAM++ closed form with an exponential score (Chattopadhay et al.
 * 2018): alpha = G^2 / (2 G^2 + sum(A) G^3 + 1e-6), 0 where G = 0;
 * w = sum(alpha ReLU(G)). */
void weights_gradcampp(double *w, const float *act, const float *grad, int n, int c, int hw);
/* Uniform in [-1, 1), from a small seeded generator: a baseline. */
void weights_random(double *w, int n, int c, unsigned seed);
/* FEM (Fuad et al. 2020): the channel's spatial mean. Its contribution is
 * that weight where A_k >= mean_k + 2 std_k, zero elsewhere. */
void weights_fem(double *w, const float *act, int n, int c, int hw);

/* CAM (Zhou et al. 2016): the classifier's row for the class, for networks
 * that end in global average pooling + one linear layer, at the layer that
 * feeds the pooling; an error elsewhere. */
gc_status weights_cam(double *w, const gc_session *s, int node, const int *classes,
                      gc_error *err);

/* Score-CAM weights (Wang et al. 2020, as the authors' code computes them):
 * each channel, upsampled to the input and min-max normalised, masks the
 * input; its weight is the class probability of the masked input (0 for a
 * constant channel). Runs c extra forward passes per image, batched. */
gc_status weights_scorecam(double *w, gc_session *s, int node, const int *classes,
                           gc_error *err);
/* The same, choosing how the masked passes run. SCORECAM_EXACT: each runs
 * the whole network as a forward pass does. SCORECAM_FAST (what
 * weights_scorecam does): they start after the first convolution
 * (scorecam_basis.c) and use Winograd F(4x4, 3x3) where it is faster.
 * SCORECAM_FAST_ALL: the same with F(4x4) wherever it can run, so that
 * small test models exercise it. All must agree to rounding; the tests
 * compare them. */
enum { SCORECAM_EXACT, SCORECAM_FAST, SCORECAM_FAST_ALL };
gc_status weights_scorecam_passes(double *w, gc_session *s, int node, const int *classes,
                                  int how, gc_error *err);
/* Ablation-CAM weights (Desai & Ramaswamy 2020): (y - y_k) / y where y_k is
 * the class score with channel k of the layer set to zero; only the network
 * after the layer is re-run, batched over channels. */
gc_status weights_ablationcam(double *w, gc_session *s, int node, const int *classes,
                              gc_error *err);

/* One image's contributions P (c * hw doubles) of the given kind; w is
 * that image's c channel weights (unused by position-wise kinds). */
void method_contributions(double *P, method_contribution kind, const float *act,
                          const float *grad, const double *w, int c, int hw);
/* map = ReLU(sum_k P_k). */
void reduce_sum(float *map, const double *P, int c, int hw);
/* map = ReLU(P centred per channel, projected on its first right singular
 * vector), from LAPACK's dgesdd; the sign is fixed so that the projection's
 * largest-magnitude entry is positive. P is overwritten. */
gc_status reduce_eigen(float *map, double *P, int c, int hw, gc_error *err);

/* FullGrad (Srinivas & Fleuret 2019), from a backward pass to the input:
 * |dy/dx * x| plus, for every layer with a bias (BatchNorm, biased
 * convolutions), |dy/d(output) * bias|; each channel min-max normalised and
 * upsampled to the input, summed. map has n * h * w floats. */
gc_status fullgrad_map(float *map, const gc_session *s, gc_error *err);

/* In place: (v - min) / (max - min + 1e-7), the per-map normalisation the
 * reference library applies before combining maps. */
void scale_unit(float *v, size_t count);

#endif
