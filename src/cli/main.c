/* main.c — the gradcam command: dispatch to a subcommand, --help, --version. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "gradcam — see what an image classifier looks at (Grad-CAM)\n"
    "\n"
    "usage:\n"
    "  gradcam explain --model M [--layer L] [--class C] [--method gradcam]\n"
    "                  [--out DIR] [--preprocess stretch|crop] IMAGE...\n"
    "  gradcam explain --model M --input-npy X.npy [--layer L] [--class C] [--out DIR]\n"
    "  gradcam predict --model M [--top K] IMAGE...\n"
    "  gradcam layers  --model M\n"
    "  gradcam bench   --model M [--batch N] [--method forward|METHOD]\n"
    "  gradcam --help | --version\n"
    "\n"
    "M is an ONNX model, a torchvision state_dict (.pth), or a name (resnet18 ...\n"
    "resnet152) whose ImageNet weights are downloaded once into ~/.cache/gradcam.\n"
    "'gradcam COMMAND --help' describes each command.\n"
    "\n"
    "exit codes: 0 success, 1 bad input, 2 usage error, 3 internal error\n";

/* OpenMP threads that wait by spinning make every parallel step crawl as
 * soon as another process wants the cores (measured: a ResNet-18 forward
 * pass 30x slower on a busy 2-core machine), while threads that sleep at
 * once pay for every wake-up (here about 10% of a forward pass, which meets
 * its threads some 25 times). So: a short spin (GOMP_SPINCOUNT=10000, tens
 * of microseconds) when nothing else is running on the cores our threads
 * will use (the kernel's count of runnable tasks, ourselves included, in
 * /proc/loadavg), none otherwise. The runtime reads these variables once,
 * before main, so the tool restarts itself with them set, unless the user
 * chose either. */
static void choose_thread_waiting(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    long cores = sysconf(_SC_NPROCESSORS_ONLN), threads = cores;
    const char *want = getenv("OMP_NUM_THREADS");
    if (want && atol(want) > 0)
        threads = atol(want);
    int running = 0, total;
    double load;
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f || fscanf(f, "%lf %*f %*f %d/%d", &load, &running, &total) != 3)
        running = (int)cores + 1; /* unknown: assume busy */
    if (f)
        fclose(f);
    int idle = running - 1 + threads <= cores;
    setenv("GOMP_SPINCOUNT", idle ? "10000" : "0", 1);
    execv("/proc/self/exe", argv); /* returns only on failure: run as we are */
}

int main(int argc, char **argv)
{
    choose_thread_waiting(argv);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("gradcam %s (CPU kernels: %s)\n", gc_version(), gc_cpu_tier());
        return EXIT_OK;
    }
    if (strcmp(argv[1], "explain") == 0)
        return cmd_explain(argc, argv);
    if (strcmp(argv[1], "predict") == 0)
        return cmd_predict(argc, argv);
    if (strcmp(argv[1], "layers") == 0)
        return cmd_layers(argc, argv);
    if (strcmp(argv[1], "bench") == 0)
        return cmd_bench(argc, argv);
    fprintf(stderr, "gradcam: unknown command '%s' (commands: explain, predict, layers)\n",
            argv[1]);
    return EXIT_USAGE;
}
