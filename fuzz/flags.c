/*
 * flags.c -- fuzz target: the tool's flag and spec parsers, without
 * running any command. The input is a NUL-separated list of arguments
 * (at most 64); each input goes through
 *   - the flag tables (tools/flags.c) of `pixelcnn train` (every flag,
 *     ranges, --chain/--stage, --view/--cond-view, the rules of when a
 *     flag applies), `pixelcnn sample` and `pixelcnn upscale`, and
 *     `pixelcnn complete`'s with --known SPEC for a model of h x w (from
 *     a hash of the input),
 *   - cli_parse_view on each argument,
 *   - cli_load_data on each argument with a colon, its PATH replaced by
 *     the scratch folder, which holds one tiny valid file of each kind
 *     (CIFAR-10, IDX, an image),
 *   - a table of one flag of each kind, each argument as each flag's
 *     value, as a flag or argument itself, and each flag without its
 *     value.
 * Messages go to /dev/null (fuzz_quiet).
 */
#include "util.h"
#include "flags.h"
#include "../tools/cli.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

/* The tiny data sets of the scratch folder. */
static void write_fixtures(void)
{
    uint8_t rec[3073] = {3};
    for (int k = 1; k < 3073; k++)
        rec[k] = (uint8_t)(k * 7);
    fuzz_write("test_batch.bin", rec, sizeof rec);
    fuzz_write("data_batch_1.bin", rec, sizeof rec);
    const uint8_t img[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2,
                           10, 20, 30, 40};
    const uint8_t lab[] = {0, 0, 8, 1, 0, 0, 0, 1, 7};
    fuzz_write("train-images-idx3-ubyte", img, sizeof img);
    fuzz_write("t10k-images-idx3-ubyte", img, sizeof img);
    fuzz_write("train-labels-idx1-ubyte", lab, sizeof lab);
    fuzz_write("t10k-labels-idx1-ubyte", lab, sizeof lab);
    const char pgm[] = "P5 2 2 255\n\x10\x20\x30\x40";
    fuzz_write("image.pgm", (const uint8_t *)pgm, sizeof pgm - 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    write_fixtures();
    return 0;
}

static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

/* arg as the value of a flag of each kind of tools/flags.h, alone (a flag
 * or an argument), and a flag with its value missing; what a parse
 * accepts is in range */
static void value_parsers(char *arg)
{
    int iv = 0, bv = 0, nargs = 0;
    long lv = 0;
    uint64_t uv = 0;
    double dv = 0.5;
    float fv = 0;
    const char *sv = NULL, *cv = NULL, *args[2];
    pcnn_view view;
    pcnn_model_config cfg = pcnn_model_config_default();
    cli_flag flags[] = {
        CLI_INT_F("--i", &iv, -5, 2000000000, "N", "int"),
        CLI_LONG_F("--l", &lv, 1, 2000000000, "N", "long", .alias = "-l"),
        CLI_U64_F("--u", &uv, 0, 2000000000, "N", "u64"),
        CLI_DOUBLE_F("--d", &dv, 1e-8, 0.99, "X", "double"),
        CLI_FLOAT_F("--f", &fv, -19.99, 19.99, "X", "float"),
        CLI_STRING_F("--s", &sv, "S", "string"),
        CLI_CHOICE_F("--c", &cv, "train test", "S", "choice"),
        CLI_VIEW_F("--v", &view, "V", "view"),
        CLI_BOOL_F("--b", &bv, "bool", .needs = "--i|--l", .why = "needs"),
        CLI_CONFIG_F(dropout, &cfg),
        CLI_ARGS_F("args", args, &nargs, 2, "ARG ...", "arguments"),
    };
    static const char *const names[] = {"--i", "--l", "--u", "--d", "--f",
                                        "--s", "--c", "--v", "--dropout"};
    char prog[] = "fuzz";
    for (size_t k = 0; k <= sizeof names / sizeof *names; k++) {
        char name[16];
        snprintf(name, sizeof name, "%s",
                 k < sizeof names / sizeof *names ? names[k] : "--b");
        char *argv[4] = {prog, name, arg, NULL};
        cli_cmd p = CLI_CMD("fuzz", "usage: fuzz\n", NULL, flags);
        nargs = 0;
        if (cli_parse(&p, 3, argv) == 0)
            cli_check(&p);
        if (iv < -5 || lv < 0 || lv > 2000000000 || uv > 2000000000 ||
            !(dv >= 1e-8 && dv <= 0.99) || !(fv >= -19.99f && fv <= 19.99f) ||
            (cv && strcmp(cv, "train") && strcmp(cv, "test")) ||
            !(cfg.dropout >= 0 && cfg.dropout <= 0.99f) || nargs > 2)
            abort();
        argv[2] = NULL; /* a flag with its value missing */
        cli_parse(&p, 2, argv);
    }
}

/* spec KIND:PATH with PATH replaced by the scratch folder */
static void load_data(const char *arg, uint64_t h)
{
    const char *colon = strchr(arg, ':');
    if (!colon)
        return;
    char spec[600];
    snprintf(spec, sizeof spec, "%.*s:%s", (int)(colon - arg), arg,
             colon[1] ? fuzz_dir() : "");
    pcnn_dataset d;
    memset(&d, 0, sizeof d);
    if (cli_load_data("fuzz", spec, h & 1 ? "train" : "test",
                      1 + (int)(h % 64), &d) == 0) {
        if (d.n < 1 || !d.images)
            abort();
        pcnn_dataset_free(&d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* argv[0], then the NUL-separated arguments, each NUL-terminated */
    char *buf = malloc(size + 1);
    char *argv[MAX_ARGS + 2];
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = 0;
    int argc = 1;
    for (char *p = buf; p < buf + size && argc <= MAX_ARGS;
         p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    const uint64_t h = hash(data, size);
    fuzz_quiet(1);
    char train[] = "train", complete[] = "complete", sample[] = "sample";
    char upscale[] = "upscale";
    argv[0] = train;
    fuzz_train_parse(argc, argv);
    argv[0] = complete;
    fuzz_complete_parse(argc, argv, 1 + (int)(h % 40),
                        1 + (int)(h / 40 % 40));
    argv[0] = sample;
    fuzz_sample_parse(argc, argv);
    argv[0] = upscale;
    fuzz_upscale_parse(argc, argv);
    for (int i = 1; i < argc; i++) {
        pcnn_view v;
        if (cli_parse_view("fuzz", "--view", argv[i], &v) == 0) {
            char s[96];
            int64_t c, vh, vw;
            int levels;
            pcnn_view_str(&v, s, sizeof s);
            pcnn_view_shape(&v, 3, 64, 64, &c, &vh, &vw, &levels);
        }
        load_data(argv[i], h >> 8);
        value_parsers(argv[i]);
    }
    fuzz_quiet(0);
    free(buf);
    return 0;
}
