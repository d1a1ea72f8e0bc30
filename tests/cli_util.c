/* cli_util.c -- helpers of the CLI tests: see cli_util.h. */
#include "cli_util.h"
#include "test.h"
#include "pixelcnn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

const char *cli(void)
{
    const char *p = getenv("PCNN_CLI");
    return p ? p : "build/pixelcnn";
}

int run(char *out, size_t n, const char *fmt, ...)
{
    char body[2048], cmd[2100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "{ %s; } 2>&1", body);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t k = fread(out, 1, n - 1, p);
    out[k] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int have_cli(void)
{
    struct stat st;
    if (stat(cli(), &st) == 0)
        return 1;
    test_skip("no %s (build it with make)", cli());
    return 0;
}

int write_idx(const char *dir)
{
    static const char *names[2] = {"train", "t10k"};
    for (int s = 0; s < 2; s++) {
        int n = s ? 16 : 64;
        char path[512];
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, names[s]);
        FILE *f = fopen(path, "wb");
        if (!f)
            return 1;
        unsigned char h[16] = {0, 0, 8, 3, 0, 0, 0, (unsigned char)n,
                               0, 0, 0, 8,  0, 0, 0, 8};
        fwrite(h, 1, 16, f);
        for (int i = 0; i < n * 64; i++)
            fputc((int)(pcnn_uniform(3, (uint64_t)i) * 64) + 4 * (i % 64), f);
        fclose(f);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, names[s]);
        f = fopen(path, "wb");
        if (!f)
            return 1;
        unsigned char hl[8] = {0, 0, 8, 1, 0, 0, 0, (unsigned char)n};
        fwrite(hl, 1, 8, f);
        for (int i = 0; i < n; i++)
            fputc(i % 4, f);
        fclose(f);
    }
    return 0;
}

int cli_tiny_model(const char *path, uint64_t seed)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 1, c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 2;
    c.dropout = 0;
    pcnn_model *m;
    if (pcnn_model_create(&m, &c, seed) != PCNN_OK)
        return 1;
    const int r = pcnn_checkpoint_save(path, m, NULL) != PCNN_OK;
    pcnn_model_free(m);
    return r;
}

long cli_slurp(const char *path, unsigned char *buf, long n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    const long k = (long)fread(buf, 1, (size_t)n, f);
    fclose(f);
    return k;
}

int cli_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int cli_write_ppm(const char *path, int w, int h, int s)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fprintf(f, "P6\n%d %d\n255\n", w, h);
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            unsigned char p[3] = {(unsigned char)(20 * s + 9 * i),
                                  (unsigned char)(200 - 7 * j + s),
                                  (unsigned char)(60 + 5 * (i + j) * s)};
            fwrite(p, 1, 3, f);
        }
    return fclose(f);
}

int cli_color_folder(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/img", dir);
    if (mkdir(path, 0777) != 0)
        return -1;
    for (int k = 0; k < 12; k++) {
        snprintf(path, sizeof path, "%s/img/%02d.ppm", dir, k);
        if (cli_write_ppm(path, 16, 16, k) != 0)
            return -1;
    }
    return 0;
}
