/* methods.h — turning a layer's activations A and gradients G (n images x
 * c channels x hw positions, G = d score / d A) into one map per image.
 * Each method is a plain function over flat arrays; the graph work that
 * feeds them (and the extra passes of Score-CAM / Ablation-CAM) lives in
 * explain.c and perturbation.c. Sums run in double: a map is a difference
 * of large terms at inner layers, and float accumulation over hundreds of
 * channels costs digits we promise. Every map ends in a ReLU. */
#ifndef GC_CAM_METHODS_H
#define GC_CAM_METHODS_H

#include "core/session.h"

/* cam[i, p] = ReLU(sum_k w[i, k] A[i, k, p]): the last step of every method
 * that weights channels. */
void cam_weighted(float *cam, const float *act, const double *w, int n, int c, int hw);

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

/* Position-wise methods. */
void cam_hirescam(float *cam, const float *act, const float *grad, int n, int c, int hw);
void cam_elementwise(float *cam, const float *act, const float *grad, int n, int c, int hw);
void cam_layercam(float *cam, const float *act, const float *grad, int n, int c, int hw);

/* Eigen-CAM: the projection of the centred [hw x c] matrix of A (or of
 * A * G when grad is not NULL) on its first right singular vector, from
 * LAPACK's SVD; the sign is fixed so that the projection's largest-magnitude
 * entry is positive. */
gc_status cam_eigen(float *cam, const float *act, const float *grad, int n, int c, int hw,
                    gc_error *err);

/* Score-CAM weights (Wang et al. 2020, as the authors' code computes them):
 * each channel, upsampled to the input and min-max normalised, masks the
 * input; its weight is the class probability of the masked input (0 for a
 * constant channel). Runs c extra forward passes per image, batched. */
gc_status weights_scorecam(double *w, gc_session *s, const float *x, int node,
                           const int *classes, gc_error *err);
/* Ablation-CAM weights (Desai & Ramaswamy 2020): (y - y_k) / y where y_k is
 * the class score with channel k of the layer set to zero; only the network
 * after the layer is re-run, batched over channels. */
gc_status weights_ablationcam(double *w, gc_session *s, int node, const int *classes,
                              gc_error *err);

#endif
