/* cmd_layers.c — `gradcam layers`: every layer name with its output shape,
 * so a user can pick one for --layer. */
#include "cli/cli.h"

#include <string.h>

static const char help[] =
    "usage: gradcam layers --model M [--max-weights SIZE] [--max-nodes N] [--output O]\n"
    "Lists every layer of the model in execution order with its output shape\n"
    "(channels x height x width; for a transformer's token layer, the map its\n"
    "tokens make, marked '(tokens)') for the model's input size (224x224 unless\n"
    "the model or its description says otherwise). Any listed name works as\n"
    "--layer; the default layer is marked with '*'. The --max options bound\n"
    "what the model file may make gradcam allocate, --output which output of an\n"
    "ONNX model holds the scores (see 'gradcam explain --help').\n";

static const char *const options[] = {"model", "max-weights", "max-nodes", "output", NULL};

int cmd_layers(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse("layers", options, argc, argv, 2, &a);
    if (rc || a.help) {
        if (a.help)
            fputs(help, stdout);
        return rc;
    }
    gc_model *m;
    if ((rc = cli_open_model(&a, &m)))
        return rc;
    int size = gc_model_preprocess(m).size; /* an ONNX model's own input size */
    printf("# %s, %d classes; shapes for a %dx%d input\n", gc_model_arch(m),
           gc_model_num_classes(m), size, size);
    for (int i = 0; i < gc_model_num_layers(m); i++) {
        const char *name = gc_model_layer_name(m, i);
        int shape[3], ndim;
        gc_error err = {0};
        int mark = strcmp(name, gc_model_default_layer(m)) == 0;
        int map[3], tokens = 0;
        if (gc_model_layer_shape(m, i, size, size, shape, &ndim, &err) != GC_OK)
            printf("%-28s   (not usable: 'gradcam explain --layer %s' says why)\n", name, name);
        else if (gc_model_layer_map(m, i, size, size, GC_TOKENS_AUTO, map, &tokens, &err) ==
                     GC_OK && tokens) /* a transformer's tokens, and the map they make */
            printf("%-28s %c %d x %d x %d (tokens)\n", name, mark ? '*' : ' ', map[0], map[1],
                   map[2]);
        else if (ndim == 3)
            printf("%-28s %c %d x %d x %d\n", name, mark ? '*' : ' ', shape[0], shape[1],
                   shape[2]);
        else
            printf("%-28s %c %d\n", name, mark ? '*' : ' ', shape[0]);
    }
    gc_model_free(m);
    return EXIT_OK;
}
