/*
 * cmd_upscale.c -- `pixelcnn upscale`: a chain's later stages sampled
 * given each input image's view at the stage before (super-resolution,
 * colors from gray).
 */
#include "sampling.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char upscale_usage[] =
    "usage: pixelcnn upscale --checkpoint CHAIN (--image F | --data D)\n"
    "                        [--from K] [-n N] [-o OUT.png] [flags]\n"
    "\n"
    "Samples the stages K.. of a chain given each input image's view at\n"
    "stage K-1: super-resolution with a pyramid chain (the view is the\n"
    "small image), colors with the gray chain (the view is its 4-bit\n"
    "gray). The grid has one row per image: the given view, N samples,\n"
    "then the original.\n";

/* `pixelcnn upscale`'s flags into c, in and *from (the defaults before),
 * and the checks of the flags alone: 0, -1 (--help) or 2 after a
 * message. */
static int upscale_parse(int argc, char **argv, common *c, inputs *in,
                         int *from)
{
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &c->ckpt, "CHAIN",
                     "a chain file (pixelcnn chain)"),
        CLI_INT_F("--from", from, 1, PCNN_MAX_STAGES - 1, "K",
                  "the first stage to sample (default: the last)"),
        INPUT_FLAGS(in),
        CLI_INT_F("-n", &c->n, 1, 4096, "N", "samples per image",
                  .show_default = 1),
        CLI_STRING_F("-o", &c->out, "FILE",
                     "a PNG grid, or a .npy of the final images",
                     .show_default = 1),
        CLI_STRING_F("--npy", &c->npy, "FILE",
                     "also write the final images as a .npy array"),
        SAMPLING_FLAGS(c),
        CLI_BOOL_F("--consistent", &c->consistent,
                   "draw each tightened stage (pyramid or gray) from its "
                   "tightened distribution, so the samples halve exactly to "
                   "(or have the gray4 view of) the input"),
        CLI_INT_F("--cols", &c->cols, 1, 1024, "N", NULL,
                  .applies = cli_never,
                  .why = "the grid has a row per image: the given view, -n "
                         "samples, the original"),
        CLI_CHOICE_F("--weights", &c->weights, "ema raw", "W", NULL,
                     .applies = cli_never,
                     .why = "a chain file holds one set of weights (chosen "
                            "by pixelcnn chain --weights)"),
    };
    cli_cmd p = CLI_CMD("upscale", upscale_usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    if (!rc && (!c->ckpt || (!in->image) == (!in->data))) {
        fprintf(stderr, "pixelcnn upscale: --checkpoint CHAIN and one of "
                        "--image FILE or --data KIND:PATH are required\n");
        rc = 2;
    }
    if (!rc)
        rc = cli_check(&p);
    sampling_given(c, &p);
    return rc;
}

/* The chain of --checkpoint for upscale, and the first stage to sample
 * (*from; -1: the last), checked with the flags against the stages it
 * samples. 0, or 1/2 with a message and no chain. */
static int open_upscale(const common *c, int *from, pcnn_chain **ch)
{
    const char *cmd = "upscale";
    pcnn_file_kind kind;
    int rc = cli_file_kind(cmd, c->ckpt, c->weights, &kind);
    if (rc)
        return rc;
    if (pcnn_chain_load(c->ckpt, 0, ch) != PCNN_OK) {
        fprintf(stderr, "pixelcnn upscale: %s\n", pcnn_last_error());
        return 1;
    }
    const int S = pcnn_chain_stages(*ch);
    if (*from < 0)
        *from = S - 1;
    if (*from < 1 || *from >= S) {
        fprintf(stderr,
                "pixelcnn upscale: --from %d: %s has stages 0..%d and the "
                "first has nothing to start from\n",
                *from, c->ckpt, S - 1);
        rc = S < 2 ? 1 : 2;
    }
    const pcnn_model_config *cfg[PCNN_MAX_STAGES];
    int tightens = 0;
    for (int i = *from; !rc && i < S; i++) {
        cfg[i - *from] = pcnn_model_get_config(pcnn_chain_stage(*ch, i));
        tightens |= pcnn_chain_stage_tightens(*ch, i);
    }
    if (!rc)
        rc = sampling_check_flags(cmd, c, cfg, S - *from);
    if (!rc && c->consistent && !tightens)
        rc = cli_not_applicable(cmd, "--consistent",
                                "no stage it samples is tightened (a "
                                "pyramid or gray stage)");
    if (rc) {
        pcnn_chain_free(*ch);
        *ch = NULL;
    }
    return rc;
}

/* An upscaling: K inputs from index on, N samples each, of the stages
 * from.. of the chain; out[i]: stage i's images (out[from - 1]: the
 * inputs' view, the given one), view1: that view once per input. */
typedef struct {
    const pcnn_chain *ch;
    pcnn_dataset d;
    int64_t K, N;
    int index, from;
    uint8_t *out[PCNN_MAX_STAGES], *view1;
    int32_t *labels;
} upscaling;

static const pcnn_model_config *stage_cfg(const upscaling *u, int i)
{
    return pcnn_model_get_config(pcnn_chain_stage(u->ch, i));
}

/* The buffers of u and the given view of each input, repeated N times
 * into out[from - 1], with the labels. 0, or 1 with a message. */
static int upscaling_prepare(upscaling *u, int cls)
{
    const int S = pcnn_chain_stages(u->ch), from = u->from;
    const pcnn_model_config *last = stage_cfg(u, S - 1);
    const pcnn_model_config *given = stage_cfg(u, from - 1);
    const int C = last->channels, H = last->height, W = last->width;
    const int64_t KN = u->K * u->N, item = (int64_t)C * H * W;
    const int64_t gitem =
        (int64_t)given->channels * given->height * given->width;
    int rc = 0;
    for (int i = from - 1; !rc && i < S; i++) {
        const pcnn_model_config *q = stage_cfg(u, i);
        u->out[i] = malloc((size_t)(KN * q->channels * q->height * q->width));
        rc = !u->out[i];
    }
    u->view1 = malloc((size_t)(u->K * gitem));
    u->labels = calloc((size_t)KN, sizeof *u->labels);
    if (rc || !u->view1 || !u->labels) {
        fprintf(stderr, "pixelcnn upscale: out of memory\n");
        return 1;
    }
    if (pcnn_view_apply(&given->view,
                        pcnn_img(u->d.images + u->index * item, u->K, C, H,
                                 W),
                        u->view1) != PCNN_OK) {
        fprintf(stderr, "pixelcnn upscale: %s\n", pcnn_last_error());
        return 1;
    }
    for (int64_t k = 0; k < u->K; k++)
        for (int64_t j = 0; j < u->N; j++) {
            memcpy(u->out[from - 1] + (k * u->N + j) * gitem,
                   u->view1 + k * gitem, (size_t)gitem);
            u->labels[k * u->N + j] = cls >= 0 ? cls : 0;
        }
    return 0;
}

/* The samples as -o (.npy of the final images, or a grid with a row per
 * input: the given view, the samples, the original) and --npy. 0, or 1
 * with a message. */
static int upscaling_write(const common *c, const upscaling *u, int scale)
{
    const int S = pcnn_chain_stages(u->ch);
    const pcnn_model_config *last = stage_cfg(u, S - 1);
    const pcnn_model_config *given = stage_cfg(u, u->from - 1);
    const int C = last->channels, H = last->height, W = last->width;
    const int64_t K = u->K, N = u->N, item = (int64_t)C * H * W;
    const int64_t gitem =
        (int64_t)given->channels * given->height * given->width;
    int rc = 0;
    if (cli_ends_with(c->out, ".npy")) {
        rc = cli_write_npy(c->out, u->out[S - 1], K * N, C, H, W);
    } else {
        uint8_t *grid = malloc((size_t)(K * (N + 2) * item));
        if (!grid) {
            fprintf(stderr, "pixelcnn upscale: out of memory\n");
            return 1;
        }
        for (int64_t k = 0; k < K; k++) {
            uint8_t *row = grid + k * (N + 2) * item;
            sampling_display(row, C, H, W, u->view1 + k * gitem,
                             given->channels, given->height, given->width,
                             given->levels);
            memcpy(row + item, u->out[S - 1] + k * N * item,
                   (size_t)(N * item));
            memcpy(row + (N + 1) * item, u->d.images + (u->index + k) * item,
                   (size_t)item);
        }
        rc = cli_write_grid(c->out, grid, K * (N + 2), C, H, W, (int)N + 2,
                            scale);
        free(grid);
    }
    if (!rc && c->npy)
        rc = cli_write_npy(c->npy, u->out[S - 1], K * N, C, H, W);
    return rc;
}

int cmd_upscale(int argc, char **argv)
{
    const char *cmd = "upscale";
    inputs in = {NULL, NULL, "test", 0, 4};
    int from = -1;
    common c;
    sampling_init(&c, "upscaled.png", 6);
    int rc = upscale_parse(argc, argv, &c, &in, &from);
    if (!rc)
        rc = sampling_check_outputs(cmd, &c);
    if (rc)
        return rc < 0 ? 0 : rc;
    pcnn_chain *ch = NULL;
    if ((rc = open_upscale(&c, &from, &ch)))
        return rc;
    upscaling u = {.ch = ch, .N = c.n, .from = from};
    const int S = pcnn_chain_stages(ch);
    const pcnn_model_config *last = stage_cfg(&u, S - 1);
    const int H = last->height, W = last->width;
    const int scale = c.scale ? c.scale : H < 64 ? 2 : 1;
    rc = sampling_load_inputs(cmd, &in, last->channels, H, W, &u.d, &u.K);
    u.index = in.index;
    if (!rc && !cli_ends_with(c.out, ".npy"))
        rc = cli_check_grid(cmd, c.out, u.K * (u.N + 2), H, W, (int)u.N + 2,
                            scale);
    if (!rc)
        rc = upscaling_prepare(&u, c.cls);
    pcnn_ctx *ctx = NULL;
    if (!rc)
        rc = cli_ctx(cmd, c.threads, c.compute, &ctx);
    if (!rc) {
        pcnn_model_sample_opts o =
            sampling_opts(&c, c.cls >= 0 ? u.labels : NULL, cmd);
        double t0 = cli_now();
        if (pcnn_chain_sample_from(ctx, ch, u.K * u.N, from, &o, u.out) !=
            PCNN_OK) {
            fprintf(stderr, "pixelcnn upscale: %s\n", pcnn_last_error());
            rc = 1;
        } else {
            printf("sampled stages %d..%d for %lld images x %lld in %.2f s "
                   "(%s sampler)\n",
                   from, S - 1, (long long)u.K, (long long)u.N,
                   cli_now() - t0, c.naive ? "naive" : "cached");
        }
    }
    if (!rc)
        rc = upscaling_write(&c, &u, scale);
    if (!rc)
        printf("wrote %s\n", c.out);
    for (int i = 0; i < S; i++)
        free(u.out[i]);
    free(u.view1), free(u.labels);
    pcnn_dataset_free(&u.d);
    pcnn_ctx_free(ctx);
    pcnn_chain_free(ch);
    return rc;
}
