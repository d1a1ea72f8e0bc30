/*
 * cli.h -- the pixelcnn command-line tool: subcommands and flag helpers.
 * The tool is a thin layer over libpixelcnn; exit codes: 0 success,
 * 1 a failure while running, 2 bad usage (unknown flag, bad value, a flag
 * that does not apply); train adds 3 (a non-finite loss) and 128 + N
 * (stopped and saved on signal N).
 */
#ifndef PCNN_CLI_H
#define PCNN_CLI_H

#include "flags.h"
#include "pixelcnn.h"

#include <stdio.h>

/* Each subcommand gets argv[0] = its own name. */
int cmd_bench(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_complete(int argc, char **argv);
int cmd_chain(int argc, char **argv);
int cmd_upscale(int argc, char **argv);
int cmd_colorize(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_compress(int argc, char **argv);
int cmd_decompress(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_purify(int argc, char **argv);

/* Loads the `split` ("train" or "test") of the data set named by spec,
 * KIND:PATH (cli_data.c); size is the image side for folders. Prints a
 * one-line error and returns 1 (2 for a bad spec) on failure. */
int cli_load_data(const char *cmd, const char *spec, const char *split,
                  int size, pcnn_dataset *out);
/* The embedded default data set: Fashion-MNIST from ../shared/data or
 * Debian's dataset-fashion-mnist. */
const char *cli_default_data(void);
/* Whole-model throughput (bench_models.c); only: "R,F,M" or NULL;
 * param: --param P, the recipe trained (cli_bench_config). */
int bench_models(int reps, int threads, const char *only,
                 const char *compute, const char *param);
/* Cached and naive sampling times (bench_models.c). */
int bench_sampling(int reps, int threads, const char *only,
                   const char *compute);
/* Pyramid chains against single-stage sampling (bench_pyramid.c). */
int bench_pyramid(int reps, int threads, const char *only);
/* Draws the training curve (and test points) of metrics.jsonl as a PNG. */
int cli_plot_metrics(const char *jsonl, const char *png);

/* `pixelcnn score --heatmap` (heatmap.c): the views of stage `stage` of
 * the first n images of x next to their bits per pixel map (n, h, w), as
 * colors from black (0) to yellow (the maps' 99th percentile), in a grid
 * of up to 4 pairs a row, each pixel scale x scale (0: 128 pixels a side
 * or more). 0, or 1/2 with a message. */
int score_heatmap(const char *path, const pcnn_chain *ch, int stage,
                  const pcnn_dataset *x, const double *map, int64_t n,
                  int scale);
/* Writes images x (n, c, h, w) as a PNG grid of `cols` columns, each
 * image scaled up `scale` times (grid.c); 0, or 1 with a message. */
int cli_write_grid(const char *path, const uint8_t *x, int64_t n, int c,
                   int h, int w, int cols, int scale);
/* Checks, before the images are made, that cli_write_grid can draw n
 * images of h x w in `cols` columns at `scale`: 0, or a one-line message
 * naming the file and 2. */
int cli_check_grid(const char *cmd, const char *path, int64_t n, int h,
                   int w, int cols, int scale);
/* Writes one image x (c, h, w), c 1 or 3, as a PNG of its own size, its
 * `levels` values stretched to 0..255; 0, or 1 with a message naming the
 * file. */
int cli_write_png(const char *path, const uint8_t *x, int c, int h, int w,
                  int levels);
/* Writes x (n, c, h, w) as a NumPy .npy file of uint8. */
int cli_write_npy(const char *path, const uint8_t *x, int64_t n, int c,
                  int h, int w);

/* A library job's progress hook for command cmd (cli_util.c): on a
 * terminal, one line on stderr redrawn after each unit ("pixelcnn eval:
 * 1600/10000 images, 2.6712 bits/dim so far"), ended at the last; when
 * stderr is not a terminal, no hook (logs stay clean). */
pcnn_progress cli_progress(const char *cmd);

/* --compute C: the arithmetic of the GEMMs (pcnn_ctx_set_compute). */
#define CLI_COMPUTE_F(p_)                                                     \
    CLI_CHOICE_F("--compute", p_, "f32 bf16", "C",                            \
                 "GEMM arithmetic: f32 (default) or bf16 (bf16 products, "    \
                 "fp32 sums and weights; needs AVX512_BF16)")
/* --param P of the benchmarks (bench --models, profile): the recipe timed.
 * Extra designators (.needs, ...) may follow. */
#define CLI_BENCH_PARAM_F(p_, ...)                                            \
    CLI_CHOICE_F("--param", p_, "weightnorm plain", "P",                      \
                 "the layer weights: plain (a new run's, the default) or "    \
                 "weight-normalized with the data init (PixelCNN++'s "        \
                 "recipe; docs/training.md)", __VA_ARGS__)
/* The model a benchmark times: a new run's (pcnn_train_config_default)
 * of config (R, F, M), or PixelCNN++'s recipe (weight norm, data init)
 * when --param P (param; NULL: plain) is "weightnorm". */
pcnn_model_config cli_bench_config(int R, int F, int M, const char *param);
/* A context of `threads` threads (<= 0: all cores) with the compute that
 * --compute C names (NULL: f32): 0, or 1 after a one-line message ("pixelcnn
 * CMD: --compute bf16: this CPU lacks AVX512_BF16"), *ctx NULL then. */
int cli_ctx(const char *cmd, int threads, const char *compute,
            pcnn_ctx **ctx);

/* 1 when s ends with suffix. */
int cli_ends_with(const char *s, const char *suffix);
/* Seconds on a monotonic clock (cli_util.c). */
double cli_now(void);
/* The median of v[0 .. n), n >= 1 (sorts v; the mean of the middle two
 * for even n). */
double cli_median(double *v, int n);

/* The kind of the file at path, from its metadata (pcnn_file_kind_read),
 * for a command given --weights W (NULL: not given). A chain file holds
 * one set of weights, so --weights does not apply to it. 0, or after a
 * one-line message 1 (unreadable, not a pixelcnn file) or 2 (--weights
 * with a chain). */
int cli_file_kind(const char *cmd, const char *path, const char *weights,
                  pcnn_file_kind *kind);
/* The pcnn_storage a --storage name (f32, f16, bf16) stands for; f32
 * for NULL. */
pcnn_storage cli_storage(const char *name);
/* Whether to load the EMA weights of a model checkpoint for --weights W
 * (NULL: the default, EMA when the file has them): 1 or 0; --weights ema
 * on a file without EMA weights is an error, -1 after a one-line
 * message, never a quiet fallback to the raw weights. */
int cli_use_ema(const char *cmd, const char *weights, const char *path,
                int has_trainer);

/* The file at path (--checkpoint) as a chain: a model checkpoint (a
 * chain of one) with its EMA or raw weights (wflag: --weights, NULL for
 * the default), *weights describing which ("EMA weights", ...); a chain
 * file holds one set. 0, or 1/2 after a message. */
int cli_open_chain(const char *cmd, const char *path, const char *wflag,
                   pcnn_file_kind *kind, const char **weights,
                   pcnn_chain **ch);
/* The models of the n stage checkpoints into m (cmd_chain.c), with the
 * weights W asks for (NULL: EMA when a file has them): 0, or 1 (2 for
 * --weights ema on a file without them) with a message and none
 * loaded. */
int cli_load_stages(const char *const *paths, int n, const char *weights,
                    pcnn_model **m);
/* Joins the checkpoints out/stage0 .. out/stage<n-1> (EMA weights) into
 * out/chain.safetensors (train_util.c). 0, or 1 with a message. */
int cli_join_stages(const char *out, int n);

/* The stage's data set from images x, in place: view(x) and, for a
 * conditioned stage, the condition images cond_view(x) (train_util.c).
 * 0, or 1 with a message. */
int cli_to_stage(const pcnn_model_config *c, int has_cond, pcnn_dataset *x);
/* The model's images must halve nr_resolutions - 1 times down to at
 * least 2x2 (train_util.c). 0, or 2 with a message. */
int cli_check_image_size(const pcnn_model_config *c, const pcnn_dataset *d);

/* train's status line after a step (train_util.c): a bar when stderr is
 * a terminal (tty), else plain lines; steps, budget: the run's limits
 * (0: none). */
void cli_train_progress(uint64_t step, long steps, double t0,
                        double budget, const pcnn_step_stats *st,
                        double img_s, int tty);
/* After a resume at `step`, drops the metrics lines of later steps
 * (logged before a crash, then trained again): the log stays one
 * history. */
void cli_trim_metrics(const char *path, uint64_t step);

/* Creates the folder path and its missing parents (mkdir -p). 0, or a
 * one-line message naming flag and the part that failed (with errno's
 * text) and 1; 2 for an empty path. */
int cli_mkdirs(const char *cmd, const char *flag, const char *path);
/* Checks, before any work, that the output file path of flag can be
 * written: not empty, not a folder, its folder existing and writable,
 * the file itself writable if it exists. 0, or a one-line message with
 * errno's text and 1 (2 for an empty path). */
int cli_check_output(const char *cmd, const char *flag, const char *path);
/* Takes the lock of a run folder, DIR/lock (an fcntl write lock,
 * released when the process ends however it ends), into *fd for the
 * whole run: a second run on DIR (--out) stops here, before loading
 * anything. 0, or 1 with a message. */
int cli_lock_dir(const char *cmd, const char *dir, int *fd);
/* A new file "path.tmp.PID.N" next to path, created with O_EXCL (so two
 * processes never share one), open for writing; its name in name (n
 * bytes). NULL with errno on failure. */
FILE *cli_temp_next_to(const char *path, char *name, size_t n);
/* 1 when a and b both exist and are one file (same device and inode:
 * hard links and other spellings of a path included). */
int cli_same_file(const char *a, const char *b);

#endif
