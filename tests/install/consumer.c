/* consumer.c — a program built against an installed gradcam (test_install.py
 * builds it with pkg-config, shared and static, and with CMake's
 * find_package). Loads a model, explains one synthetic image at the
 * default layer and checks what comes back: status, shapes, a class in
 * range, finite logits, a non-negative map. Prints "ok" and exits 0, or
 * the reason and exits 1. */
#include <gradcam.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: consumer MODEL SIZE MAP_H MAP_W\n");
        return 2;
    }
    const int size = atoi(argv[2]), want_h = atoi(argv[3]), want_w = atoi(argv[4]);
    gc_error err;
    gc_model *m = NULL;
    gc_session *s = NULL;
    gc_result r = {0};
    float *x = malloc(sizeof(float) * 3 * size * size);
    int rc = 1;
    if (!x)
        return 1;
    for (int i = 0; i < 3 * size * size; i++) /* a smooth synthetic image */
        x[i] = (float)sin(0.05 * i) + (float)(i % 7) * 0.1f;
    if (gc_model_load(argv[1], &m, &err) || gc_session_new(m, &s, &err))
        goto out;
    gc_request req = {.class_index = GC_CLASS_TOP1};
    if (gc_explain(s, x, 1, size, size, &req, &r, &err))
        goto out;
    snprintf(err.msg, sizeof err.msg, "unexpected result: n %d, classes %d, map %dx%d, class %d",
             r.n, r.classes, r.cam_h, r.cam_w, r.class_index[0]);
    if (r.n != 1 || r.classes != gc_model_num_classes(m) || r.cam_h != want_h ||
        r.cam_w != want_w || r.class_index[0] < 0 || r.class_index[0] >= r.classes)
        goto out;
    for (int k = 0; k < r.classes; k++)
        if (!isfinite(r.logits[k]))
            goto out;
    for (int k = 0; k < r.cam_h * r.cam_w; k++)
        if (!(r.cam[k] >= 0.0f))
            goto out;
    printf("ok %s: class %d, %dx%d map, version %s\n", argv[1], r.class_index[0], r.cam_h,
           r.cam_w, gc_version());
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    gc_result_free(&r);
    gc_session_free(s);
    gc_model_free(m);
    free(x);
    return rc;
}
