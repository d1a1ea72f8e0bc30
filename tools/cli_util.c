/*
 * cli_util.c -- small helpers of the tool: a monotonic clock, medians,
 * the kind of a checkpoint file, output paths and folders, the lock of a
 * run folder.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double cli_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int draw_progress(void *arg, const pcnn_progress_info *info)
{
    const char *unit = strcmp(info->job, "eval") ? "rows" : "images";
    fprintf(stderr, "\rpixelcnn %s: %lld/%lld %s", (const char *)arg,
            (long long)info->done, (long long)info->total, unit);
    if (!strcmp(info->job, "eval") && isfinite(info->value))
        fprintf(stderr, ", %.4f bits/dim so far", info->value);
    if (info->done == info->total)
        fputc('\n', stderr);
    return 0;
}

pcnn_progress cli_progress(const char *cmd)
{
    pcnn_progress p = {NULL, NULL};
    if (isatty(2))
        p = (pcnn_progress){draw_progress, (void *)cmd};
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cli_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

double cli_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int cli_mkdirs(const char *cmd, const char *flag, const char *path)
{
    if (!*path) {
        fprintf(stderr, "pixelcnn %s: %s is empty: name a folder\n", cmd,
                flag);
        return 2;
    }
    const size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (!p) {
        fprintf(stderr, "pixelcnn %s: out of memory\n", cmd);
        return 1;
    }
    memcpy(p, path, n + 1);
    int rc = 0;
    /* each prefix that ends before a '/', then the whole path */
    for (size_t k = 1; k <= n && !rc; k++) {
        if (k < n && p[k] != '/')
            continue;
        if (k < n && p[k - 1] == '/')
            continue; /* "a//b" */
        const char save = p[k];
        p[k] = 0;
        struct stat st;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "pixelcnn %s: %s %s: cannot create %s: %s\n",
                    cmd, flag, path, p, strerror(errno));
            rc = 1;
        } else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "pixelcnn %s: %s %s: %s is not a folder\n", cmd,
                    flag, path, p);
            rc = 1;
        }
        p[k] = save;
    }
    free(p);
    return rc;
}

int cli_check_output(const char *cmd, const char *flag, const char *path)
{
    if (!*path) {
        fprintf(stderr, "pixelcnn %s: %s is empty: name a file\n", cmd, flag);
        return 2;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "pixelcnn %s: %s %s: is a folder, not a file\n",
                    cmd, flag, path);
            return 1;
        }
        if (access(path, W_OK) != 0) {
            fprintf(stderr, "pixelcnn %s: %s %s: cannot write: %s\n", cmd,
                    flag, path, strerror(errno));
            return 1;
        }
    }
    /* the folder must exist and take new files (the writers replace or
     * create the file) */
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int e = 0;
    if (stat(dir, &st) != 0)
        e = errno;
    else if (!S_ISDIR(st.st_mode))
        e = ENOTDIR;
    else if (access(dir, W_OK | X_OK) != 0)
        e = errno;
    if (e) {
        fprintf(stderr, "pixelcnn %s: %s %s: cannot write into %s: %s\n", cmd,
                flag, path, dir, strerror(e));
        return 1;
    }
    return 0;
}

int cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

FILE *cli_temp_next_to(const char *path, char *name, size_t n)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (unsigned k = 0; k < 1000; k++) {
        int len = snprintf(name, n, "%s.tmp.%ld.%lx", path, (long)getpid(),
                           ((unsigned long)now.tv_nsec + k * 7919u) &
                               0xffffffu);
        if (len < 0 || (size_t)len >= n)
            return NULL;
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            FILE *f = fdopen(fd, "w");
            if (!f) {
                close(fd);
                remove(name);
            }
            return f;
        }
        if (errno != EEXIST)
            return NULL;
    }
    return NULL;
}

int cli_file_kind(const char *cmd, const char *path, const char *weights,
                  pcnn_file_kind *kind)
{
    if (pcnn_file_kind_read(path, kind) != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    if (*kind == PCNN_FILE_CHAIN && weights) {
        fprintf(stderr,
                "pixelcnn %s: --weights %s: %s is a chain file, which holds "
                "one set of weights (chosen by pixelcnn chain --weights)\n",
                cmd, weights, path);
        return 2;
    }
    return 0;
}

int cli_use_ema(const char *cmd, const char *weights, const char *path,
                int has_trainer)
{
    if (!weights)
        return has_trainer;
    if (!strcmp(weights, "raw"))
        return 0;
    if (!has_trainer) {
        fprintf(stderr,
                "pixelcnn %s: --weights ema: %s holds no EMA weights (it was "
                "saved without a training state); use --weights raw\n",
                cmd, path);
        return -1;
    }
    return 1;
}

int cli_lock_dir(const char *cmd, const char *dir, int *fd)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0) {
        fprintf(stderr, "pixelcnn %s: --out %s: cannot open %s: %s\n", cmd,
                dir, path, strerror(errno));
        return 1;
    }
    struct flock l;
    memset(&l, 0, sizeof l);
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file */
    if (fcntl(*fd, F_SETLK, &l) == 0)
        return 0;
    const int e = errno;
    if (e == EACCES || e == EAGAIN) {
        struct flock q = l;
        long pid = fcntl(*fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK
                       ? (long)q.l_pid
                       : 0;
        char who[48] = "";
        if (pid > 0)
            snprintf(who, sizeof who, " (process %ld)", pid);
        fprintf(stderr,
                "pixelcnn %s: --out %s: another run trains there%s and "
                "holds %s: wait for it to end, or give another --out\n",
                cmd, dir, who, path);
    } else {
        fprintf(stderr, "pixelcnn %s: --out %s: cannot lock %s: %s\n",
                cmd, dir, path, strerror(e));
    }
    close(*fd);
    *fd = -1;
    return 1;
}

/* A chain file holds one set of weights, and cli_file_kind refuses
 * --weights for it. */
int cli_open_chain(const char *cmd, const char *path, const char *wflag,
                   pcnn_file_kind *kind, const char **weights,
                   pcnn_chain **ch)
{
    int rc = cli_file_kind(cmd, path, wflag, kind);
    if (rc)
        return rc;
    int has_trainer = 0, ema = 0;
    if (*kind == PCNN_FILE_CHECKPOINT) {
        if (pcnn_checkpoint_read_state(path, NULL, NULL, NULL,
                                       &has_trainer) != PCNN_OK) {
            fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
            return 1;
        }
        if ((ema = cli_use_ema(cmd, wflag, path, has_trainer)) < 0)
            return 2;
    }
    /* a file without training state (pixelcnn export) holds one set of
     * weights, whichever it was exported with */
    *weights = !has_trainer ? "the file's weights"
               : ema        ? "EMA weights"
                            : "raw weights";
    if (pcnn_chain_load(path, ema, ch) != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    return 0;
}

pcnn_model_config cli_bench_config(int R, int F, int M, const char *param)
{
    pcnn_model_config c = pcnn_train_config_default();
    c.nr_resnet = R, c.nr_filters = F, c.nr_mix = M;
    c.plain = c.init = !param || !strcmp(param, "plain");
    return c;
}

int cli_ctx(const char *cmd, int threads, const char *compute,
            pcnn_ctx **ctx)
{
    const pcnn_ctx_opts co = {PCNN_BACKEND_CPU, threads};
    *ctx = NULL;
    if (pcnn_ctx_create(ctx, &co) != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    if (compute && !strcmp(compute, "bf16") &&
        pcnn_ctx_set_compute(*ctx, PCNN_COMPUTE_BF16) != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: --compute bf16: %s\n", cmd,
                pcnn_last_error());
        pcnn_ctx_free(*ctx);
        *ctx = NULL;
        return 1;
    }
    return 0;
}
