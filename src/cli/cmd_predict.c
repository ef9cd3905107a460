/* cmd_predict.c — `gradcam predict`: the top-k classes of each image. */
#include "cli/inputs.h"

#include <stdlib.h>

static const char help[] =
    "usage: gradcam predict --model M [--top K] [--preprocess stretch|crop] IMAGE...\n"
    "                       [--labels FILE] [--input-size N] [--mean R,G,B]\n"
    "                       [--std R,G,B]\n"
    "                       [--max-pixels N] [--max-weights SIZE] [--max-nodes N]\n"
    "                       [--output O]\n"
    "Prints the K most likely classes (default 5) of each image with their\n"
    "softmax probabilities. The other options are explain's (see 'gradcam\n"
    "explain --help'): how images are prepared, class names, what one file\n"
    "may make gradcam allocate, and which output of an ONNX model is scored.\n";

static const char *const options[] = {
    "model", "top", "preprocess", "labels", "input-size", "mean", "std",
    "max-pixels", "max-weights", "max-nodes", "output", NULL,
};

/* Indices of the k largest values, largest first. */
void cli_top_k(const float *v, int n, int k, int *idx)
{
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            int taken = 0;
            for (int q = 0; q < j && !taken; q++)
                taken = idx[q] == i;
            if (!taken && (best < 0 || v[i] > v[best]))
                best = i;
        }
        idx[j] = best;
    }
}

int cmd_predict(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse("predict", options, argc, argv, 2, &a);
    if (rc || a.help) {
        if (a.help)
            fputs(help, stdout);
        return rc;
    }
    if (a.npositional == 0)
        return cli_usage_error("predict", "no images given");
    if ((rc = cli_refuse_directories(&a)))
        return rc;
    gc_model *m;
    if ((rc = cli_open_model(&a, &m)))
        return rc;
    gc_preprocess pre;
    gc_error err = {0};
    gc_session *s = NULL;
    float *logits = NULL, *probs = NULL;
    int *idx = NULL;
    if ((rc = cli_preprocess_from_args(&a, m, &pre)))
        goto out;
    int classes = gc_model_num_classes(m), k = a.top < classes ? a.top : classes;
    logits = malloc(sizeof(float) * classes), probs = malloc(sizeof(float) * classes);
    idx = malloc(sizeof(int) * k);
    if (!logits || !probs || !idx || gc_session_new(m, &s, &err)) {
        rc = err.status ? cli_report(&err) : EXIT_BAD_INPUT;
        goto out;
    }
    for (int i = 0; i < a.npositional && !rc; i++) {
        gc_image photo;
        float *x;
        if ((rc = cli_load_image_tensor(a.positional[i], &a.limits, &pre, &photo, &x)))
            break;
        if (gc_predict(s, x, 1, pre.size, pre.size, logits, &err)) {
            rc = cli_report(&err);
        } else {
            gc_softmax(logits, classes, probs);
            cli_top_k(probs, classes, k, idx);
            printf("%s\n", a.positional[i]);
            for (int j = 0; j < k; j++) {
                char buf[32];
                printf("  %2d. %6.2f%%  %4d  %s\n", j + 1, 100.0 * probs[idx[j]], idx[j],
                       cli_class_name(m, idx[j], buf, sizeof buf));
            }
        }
        free(x);
        gc_image_free(&photo);
    }
out:
    free(logits);
    free(probs);
    free(idx);
    gc_session_free(s);
    gc_model_free(m);
    return rc;
}
