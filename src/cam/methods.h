/* methods.h — turning a layer's activations A and gradients dA (n images x
 * c channels x hw positions) into one map per image. Each method is one
 * plain function; the graph work that feeds them lives in explain.c. */
#ifndef GC_CAM_METHODS_H
#define GC_CAM_METHODS_H

/* Grad-CAM (Selvaraju et al. 2017): alpha_k = mean over positions of dA_k;
 * cam = ReLU(sum_k alpha_k A_k). cam has n * hw floats; alpha is a workspace of c doubles. */
void cam_gradcam(float *cam, const float *act, const float *grad, int n, int c, int hw,
                 double *alpha);

#endif
