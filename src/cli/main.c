/* main.c — the gradcam command: dispatch to a subcommand, --help, --version. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "gradcam — see what an image classifier looks at (Grad-CAM)\n"
    "\n"
    "usage:\n"
    "  gradcam explain --model M [--layer L]... [--class C]... [--top-k K]\n"
    "                  [--method LIST] [--out DIR] [--preprocess stretch|crop]\n"
    "                  IMAGE...\n"
    "  gradcam explain --model M --input-npy X.npy [options]\n"
    "  gradcam explain --model M [options] --manifest FILE | FOLDER...\n"
    "                  [--resume] [--shard K/N] [--metrics [--baselines]] [--report]\n"
    "  gradcam merge   OUT... --out DIR\n"
    "  gradcam report  DIR\n"
    "  gradcam predict --model M [--top K] [--preprocess stretch|crop] IMAGE...\n"
    "  gradcam layers  --model M\n"
    "  gradcam bench   --model M [--batch N] [--size S] [--iters K] [--layer L]\n"
    "                  [--method forward|METHOD]\n"
    "  gradcam help [COMMAND] | --help | --version\n"
    "\n"
    "M is a model file, recognised by its content: ONNX, safetensors, or a\n"
    "torchvision ResNet state_dict (.pth) saved by torch.save; or a name (resnet18\n"
    "... resnet152) whose ImageNet weights are downloaded once into ~/.cache/gradcam.\n"
    "IMAGE is a JPEG or PNG file, resized to the model's input size: 224x224\n"
    "unless its description (M.json), its ONNX input or --input-size says otherwise.\n"
    "'gradcam COMMAND --help' lists a command's options; it refuses any other.\n"
    "\n"
    "exit codes: 0 success, 1 bad input, 2 usage error, 3 internal error\n";

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"explain", cmd_explain},
    {"predict", cmd_predict},
    {"layers", cmd_layers},
    {"bench", cmd_bench},
    {"merge", cmd_merge},
    {"report", cmd_report},
};
#define NCOMMANDS (int)(sizeof commands / sizeof *commands)

/* What the user could have typed instead of word, from the table above. */
static int no_such(const char *what, const char *word)
{
    fprintf(stderr, "gradcam: unknown %s '%s' (commands:", what, word);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(stderr, " %s,", commands[i].name);
    fprintf(stderr, " help; options: --help, --version)\n");
    return EXIT_USAGE;
}

static int find_command(const char *name)
{
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return i;
    return -1;
}

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
        (strcmp(argv[1], "help") == 0 && argc == 2)) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("gradcam %s (CPU kernels: %s)\n", gc_version(), gc_cpu_tier());
        return EXIT_OK;
    }
    if (strcmp(argv[1], "help") == 0) { /* help COMMAND: COMMAND --help */
        int c = find_command(argv[2]);
        if (c < 0)
            return no_such("command", argv[2]);
        char help_flag[] = "--help", *args[] = {argv[0], argv[2], help_flag, NULL};
        return commands[c].run(3, args);
    }
    int c = find_command(argv[1]);
    if (c >= 0)
        return commands[c].run(argc, argv);
    return no_such(argv[1][0] == '-' ? "option" : "command", argv[1]);
}
