/*
 * cmd_compress.c -- `pixelcnn compress` and `pixelcnn decompress`:
 * lossless coding of an image or a data set with a model or a chain
 * (pcnn_compress, pcnn_decompress; docs/compression.md).
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char compress_usage[] =
    "usage: pixelcnn compress --checkpoint FILE IN.png -o OUT.pcnn [flags]\n"
    "       pixelcnn compress --checkpoint FILE --data KIND:PATH -o OUT.pcnn\n"
    "\n"
    "Codes an image, or a data set's images into one archive, losslessly:\n"
    "the model's exact probabilities drive a rANS coder, so the file's\n"
    "size is the model's bits/dim plus a small header. A chain file codes\n"
    "stage by stage (a pyramid's 8x8 image first), so the file decodes\n"
    "progressively (decompress --stage K). A chain of a model of L(x) and\n"
    "a colorizer codes L(x), the chroma, then the colors of each pixel's\n"
    "lightness. The image must have exactly the model's size and channels\n"
    "(nothing is resized).\n";

static const char decompress_usage[] =
    "usage: pixelcnn decompress --checkpoint FILE IN.pcnn -o OUT [flags]\n"
    "       pixelcnn decompress --info IN.pcnn\n"
    "\n"
    "Decodes a file of pixelcnn compress with the model that coded it.\n"
    "OUT: FILE.png for one image, FILE.npy (n, C, H, W) for any number, or\n"
    "a folder (made if missing) that receives 00000.png, 00001.png, ...\n"
    "A damaged or truncated file, or another model, is an error; no image\n"
    "is written then.\n";

static const char decompress_epilog[] =
    "With --stage K the PNG files show a 4-bit gray stage stretched to\n"
    "0..255 (value * 17); .npy files hold the stage's values as they are,\n"
    "but for a color chain's chroma stage: it is written as a\n"
    "colorization, the stage before it (L) with the chroma (upsampled\n"
    "bilinearly to L's size, as colorize composes it), in sRGB.\n";

typedef struct {
    const char *ckpt, *weights, *data, *split, *out, *in[1];
    int nin, limit, size, batch, threads, stage, info;
} codec_args;

/* The model file as a chain (a checkpoint's EMA weights by default) and
 * a context. 0, or 1/2 after a message. */
static int open_model(const char *cmd, const codec_args *a, pcnn_chain **ch,
                      pcnn_ctx **ctx)
{
    pcnn_file_kind kind;
    int rc = cli_file_kind(cmd, a->ckpt, a->weights, &kind);
    if (rc)
        return rc;
    int has_trainer = 0, ema = 0;
    pcnn_status s = PCNN_OK;
    if (kind == PCNN_FILE_CHECKPOINT) {
        s = pcnn_checkpoint_read_state(a->ckpt, NULL, NULL, NULL,
                                       &has_trainer);
        if (s == PCNN_OK &&
            (ema = cli_use_ema(cmd, a->weights, a->ckpt, has_trainer)) < 0)
            return 2;
    }
    if (s == PCNN_OK)
        s = pcnn_chain_load(a->ckpt, ema, ch);
    if (s == PCNN_OK) {
        pcnn_ctx_opts co = {PCNN_BACKEND_CPU, a->threads};
        s = pcnn_ctx_create(ctx, &co);
    }
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ compress */

/* The one image IN: exactly the chain's shape. 0, or 1 after a message. */
static int load_image(const char *path, const pcnn_chain *ch,
                      pcnn_dataset *d)
{
    int64_t c, h, w;
    pcnn_chain_image_shape(ch, &c, &h, &w);
    if (pcnn_image_load(path, (int)c, d) != PCNN_OK) {
        fprintf(stderr, "pixelcnn compress: %s\n", pcnn_last_error());
        return 1;
    }
    if (d->h != h || d->w != w) {
        fprintf(stderr,
                "pixelcnn compress: %s is %lldx%lld; the model codes "
                "%lldx%lld images (nothing is resized: the coding is "
                "lossless)\n",
                path, (long long)d->w, (long long)d->h, (long long)w,
                (long long)h);
        return 1;
    }
    return 0;
}

/* Writes n bytes to path, replaced whole (temp file, rename). */
static int write_file(const char *cmd, const char *path, const uint8_t *p,
                      size_t n)
{
    char tmp[4096];
    FILE *f = cli_temp_next_to(path, tmp, sizeof tmp);
    if (!f) {
        fprintf(stderr, "pixelcnn %s: -o %s: %s\n", cmd, path,
                strerror(errno));
        return 1;
    }
    int bad = fwrite(p, 1, n, f) != n;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "pixelcnn %s: -o %s: cannot write: %s\n", cmd, path,
                strerror(errno));
        remove(tmp);
        return 1;
    }
    return 0;
}

/* The summary line: bits/dim in all and per stage. */
static void print_coded(const uint8_t *buf, size_t len, double secs)
{
    pcnn_codec_info f;
    if (pcnn_codec_info_read(buf, len, &f) != PCNN_OK)
        return;
    const double dims = (double)(f.n * f.c * f.h * f.w);
    printf("%lld images, %zu bytes: %.4f bits/dim (header %zu bytes; "
           "without it %.4f), %.3f s, %.4f s per image\n",
           (long long)f.n, len, 8.0 * (double)len / dims, f.header_bytes,
           8.0 * (double)(len - f.header_bytes) / dims, secs,
           secs / (double)f.n);
    for (int i = 0; i < f.stages; i++)
        printf("  stage %d: %lldx%lldx%lld, %zu bytes (%.4f bits per image "
               "dim)\n",
               i, (long long)f.stage_c[i], (long long)f.stage_h[i],
               (long long)f.stage_w[i], f.stage_bytes[i],
               8.0 * (double)f.stage_bytes[i] / dims);
}

static int compress_parse(int argc, char **argv, codec_args *a)
{
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &a->ckpt, "FILE",
                     "a checkpoint of pixelcnn train, or a chain file",
                     .required = 1),
        CLI_ARGS_F("image", a->in, &a->nin, 1, "IN.png",
                   "the image to code (or --data)"),
        CLI_STRING_F("-o", &a->out, "OUT.pcnn", "the compressed file",
                     .required = 1),
        CLI_STRING_F("--data", &a->data, "KIND:PATH",
                     "code a data set's images into one archive: "
                     "cifar10:DIR or FILE.bin, fashion-mnist:DIR, "
                     "mnist:DIR, folder:DIR"),
        CLI_CHOICE_F("--split", &a->split, "train test", "S",
                     "train or test", .show_default = 1, .needs = "--data"),
        CLI_INT_F("--limit", &a->limit, 1, 2000000000, "N",
                  "the first N images only", .needs = "--data"),
        CLI_INT_F("--size", &a->size, 4, 1024, "N",
                  "image side for folder data (default: the model's)",
                  .applies = cli_is_folder_data, .ctx = &a->data,
                  .why = "it sets the image side of folder data"),
        CLI_INT_F("--batch", &a->batch, 1, 4096, "N",
                  "images coded together (the decoder decodes the same "
                  "groups)",
                  .show_default = 1),
        CLI_CHOICE_F("--weights", &a->weights, "ema raw", "W",
                     "ema (default, when the file has them) or raw"),
        CLI_INT_F("--threads", &a->threads, 1, 4096, "N",
                  "threads (default: all cores); any count decodes"),
    };
    cli_cmd p = CLI_CMD("compress", compress_usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    if (!rc)
        rc = cli_check(&p);
    if (!rc && (a->nin == 1) == (a->data != NULL)) {
        fprintf(stderr, "pixelcnn compress: give one image IN.png or "
                        "--data KIND:PATH (see --help)\n");
        rc = 2;
    }
    return rc ? rc : cli_check_output("compress", "-o", a->out);
}

/* The images to code: IN or the data set (its first --limit). */
static int compress_input(const codec_args *a, const pcnn_chain *ch,
                          pcnn_dataset *d)
{
    if (!a->data)
        return load_image(a->in[0], ch, d);
    int64_t h;
    pcnn_chain_image_shape(ch, NULL, &h, NULL);
    int rc = cli_load_data("compress", a->data, a->split,
                           a->size ? a->size : (int)h, d);
    if (!rc && a->limit > 0 && a->limit < d->n &&
        pcnn_dataset_subset(d, 0, a->limit, d) != PCNN_OK) {
        fprintf(stderr, "pixelcnn compress: %s\n", pcnn_last_error());
        rc = 1;
    }
    return rc;
}

int cmd_compress(int argc, char **argv)
{
    codec_args a = {.split = "test", .batch = 32};
    int rc = compress_parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    pcnn_chain *ch = NULL;
    pcnn_ctx *ctx = NULL;
    pcnn_dataset d = {0};
    if (!(rc = open_model("compress", &a, &ch, &ctx)))
        rc = compress_input(&a, ch, &d);
    uint8_t *buf = NULL;
    size_t len = 0;
    pcnn_compress_opts o = pcnn_compress_opts_default();
    o.batch = a.batch;
    o.progress = cli_progress("compress");
    const double t0 = cli_now();
    if (!rc && pcnn_compress(ctx, ch, pcnn_img(d.images, d.n, d.c, d.h, d.w),
                             d.labels, &o, &buf, &len) != PCNN_OK) {
        fprintf(stderr, "pixelcnn compress: %s\n", pcnn_last_error());
        rc = 1;
    }
    const double secs = cli_now() - t0;
    if (!rc && !(rc = write_file("compress", a.out, buf, len)))
        print_coded(buf, len, secs);
    pcnn_free(buf);
    pcnn_dataset_free(&d);
    pcnn_ctx_free(ctx);
    pcnn_chain_free(ch);
    return rc;
}

/* ---------------------------------------------------------- decompress */

/* The whole file into *buf (free()). 0, or 1 after a message. */
static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "pixelcnn decompress: %s: %s\n", path,
                f ? "not a regular file" : strerror(errno));
        if (f)
            fclose(f);
        return 1;
    }
    *len = (size_t)st.st_size;
    *buf = malloc(*len ? *len : 1);
    const int bad = !*buf || fread(*buf, 1, *len, f) != *len;
    fclose(f);
    if (bad) {
        fprintf(stderr, "pixelcnn decompress: %s: cannot read\n", path);
        return 1;
    }
    return 0;
}

/* What the file holds, without the model. */
static int print_info(const char *path, const uint8_t *buf, size_t len)
{
    pcnn_codec_info f;
    if (pcnn_codec_info_read(buf, len, &f) != PCNN_OK) {
        fprintf(stderr, "pixelcnn decompress: %s: %s\n", path,
                pcnn_last_error());
        return 1;
    }
    printf("%s: stream version %d, %lld images of %lldx%lldx%lld in groups "
           "of %d%s, weights hash %016llx, build tag %08x%s\n",
           path, f.version, (long long)f.n, (long long)f.c, (long long)f.h,
           (long long)f.w, f.batch, f.num_classes ? ", labels coded" : "",
           (unsigned long long)f.weights, (unsigned)f.build,
           f.build == pcnn_codec_build_tag() ? " (this build)"
                                             : " (another build)");
    print_coded(buf, len, 0);
    return 0;
}

/* The decoded images: OUT.png (one), OUT.npy, or a folder of PNGs. */
static int write_decoded(const char *out, const uint8_t *x,
                         const pcnn_codec_info *f, int K)
{
    const int c = (int)f->stage_c[K], h = (int)f->stage_h[K];
    const int w = (int)f->stage_w[K], levels = f->stage_levels[K];
    if (cli_ends_with(out, ".npy"))
        return cli_write_npy(out, x, f->n, c, h, w);
    if (cli_ends_with(out, ".png") || cli_ends_with(out, ".PNG")) {
        if (f->n == 1)
            return cli_write_png(out, x, c, h, w, levels);
        fprintf(stderr, "pixelcnn decompress: -o %s: the file holds %lld "
                        "images: give FILE.npy or a folder\n",
                out, (long long)f->n);
        return 2;
    }
    if (cli_mkdirs("decompress", "-o", out))
        return 1;
    int rc = 0;
    for (int64_t i = 0; !rc && i < f->n; i++) {
        char name[4200];
        snprintf(name, sizeof name, "%s/%05lld.png", out, (long long)i);
        rc = cli_write_png(name, x + i * c * h * w, c, h, w, levels);
    }
    return rc;
}

static int decompress_parse(int argc, char **argv, codec_args *a)
{
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &a->ckpt, "FILE",
                     "the model or chain that coded the file",
                     .conflicts = "--info"),
        CLI_ARGS_F("file", a->in, &a->nin, 1, "IN.pcnn",
                   "the compressed file"),
        CLI_STRING_F("-o", &a->out, "OUT",
                     "OUT.png (one image), OUT.npy, or a folder",
                     .conflicts = "--info"),
        CLI_BOOL_F("--info", &a->info,
                   "print what the file holds (no model needed)"),
        CLI_INT_F("--stage", &a->stage, 0, PCNN_MAX_STAGES - 1, "K",
                  "stop after stage K and write its images (a pyramid: "
                  "that resolution)",
                  .conflicts = "--info"),
        CLI_CHOICE_F("--weights", &a->weights, "ema raw", "W",
                     "ema (default, when the file has them) or raw"),
        CLI_INT_F("--threads", &a->threads, 1, 4096, "N",
                  "threads (default: all cores)"),
    };
    cli_cmd p = CLI_CMD("decompress", decompress_usage, decompress_epilog,
                        flags);
    int rc = cli_parse(&p, argc, argv);
    if (!rc)
        rc = cli_check(&p);
    if (!rc && (a->nin != 1 || (!a->info && (!a->ckpt || !a->out)))) {
        fprintf(stderr, "pixelcnn decompress: give IN.pcnn, and "
                        "--checkpoint FILE and -o OUT (or --info)\n");
        rc = 2;
    }
    return rc;
}

/* Decodes buf with the model into a new array *x of stage K's images;
 * *secs: the decoding's time (the model's loading left out). */
static int decode(const codec_args *a, const uint8_t *buf, size_t len,
                  pcnn_codec_info *f, uint8_t **x, double *secs)
{
    pcnn_chain *ch = NULL;
    pcnn_ctx *ctx = NULL;
    int rc = open_model("decompress", a, &ch, &ctx);
    if (!rc && pcnn_codec_info_read(buf, len, f) != PCNN_OK) {
        fprintf(stderr, "pixelcnn decompress: %s: %s\n", a->in[0],
                pcnn_last_error());
        rc = 1;
    }
    const int K = a->stage >= 0 ? a->stage : f->stages - 1;
    if (!rc && K >= f->stages) {
        fprintf(stderr, "pixelcnn decompress: --stage %d: %s has stages "
                        "0..%d\n", K, a->in[0], f->stages - 1);
        rc = 2;
    }
    pcnn_decompress_opts o = pcnn_decompress_opts_default();
    o.stage = K;
    o.progress = cli_progress("decompress");
    /* a color chain's chroma stage: its colorization, at L's size */
    o.colorize = !rc && K >= 1 && K < pcnn_chain_stages(ch) &&
                 pcnn_model_get_config(pcnn_chain_stage(ch, K))->view.lab ==
                     PCNN_LAB_AB;
    if (o.colorize)
        f->stage_c[K] = 3, f->stage_h[K] = f->stage_h[K - 1],
        f->stage_w[K] = f->stage_w[K - 1], f->stage_levels[K] = 256;
    if (!rc && !(*x = malloc((size_t)(f->n * f->stage_c[K] * f->stage_h[K] *
                                      f->stage_w[K])))) {
        pcnn_chain_free(ch), pcnn_ctx_free(ctx);
        fprintf(stderr, "pixelcnn decompress: out of memory\n");
        return 1;
    }
    const double t0 = cli_now();
    if (!rc && pcnn_decompress(ctx, ch, buf, len, &o, *x, NULL) != PCNN_OK) {
        fprintf(stderr, "pixelcnn decompress: %s: %s\n", a->in[0],
                pcnn_last_error());
        rc = 1;
    }
    *secs = cli_now() - t0;
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
    return rc;
}

int cmd_decompress(int argc, char **argv)
{
    codec_args a = {.stage = -1};
    int rc = decompress_parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    uint8_t *buf = NULL, *x = NULL;
    size_t len = 0;
    if ((rc = read_file(a.in[0], &buf, &len))) {
        free(buf);
        return rc;
    }
    if (a.info) {
        rc = print_info(a.in[0], buf, len);
        free(buf);
        return rc;
    }
    pcnn_codec_info f;
    double secs = 0;
    rc = decode(&a, buf, len, &f, &x, &secs);
    if (!rc && !(rc = write_decoded(a.out, x, &f, a.stage >= 0 ? a.stage
                                                               : f.stages - 1)))
        printf("%lld images decoded (stage %d of %d), %.3f s, %.4f s per "
               "image\n",
               (long long)f.n, a.stage >= 0 ? a.stage : f.stages - 1,
               f.stages, secs, secs / (double)f.n);
    free(buf), free(x);
    return rc;
}
