/*
 * plot.c -- the loss-curve picture of a training run: training bits/dim
 * per logged step (light: raw, dark: moving average) and test points
 * (red), with numbered axes, written as a PNG by stb_image_write.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int stbi_write_png(char const *filename, int w, int h, int comp,
                   const void *data, int stride_in_bytes);

enum { W = 800, H = 480, L = 70, R = 20, T = 20, B = 50 };

typedef struct {
    unsigned char px[H][W][3];
} canvas;

static void dot(canvas *c, int x, int y, const unsigned char rgb[3])
{
    if (x >= 0 && x < W && y >= 0 && y < H)
        memcpy(c->px[y][x], rgb, 3);
}

static void line(canvas *c, int x0, int y0, int x1, int y1,
                 const unsigned char rgb[3])
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        dot(c, x0, y0, rgb);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy)
            err += dy, x0 += sx;
        if (e2 <= dx)
            err += dx, y0 += sy;
    }
}

/* 3x5 glyphs of "0123456789.-ke", one row of 3 bits per line */
static const char glyph_chars[] = "0123456789.-ke";
static const unsigned char glyphs[][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
    {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
    {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}, {0, 0, 0, 0, 2}, {0, 0, 7, 0, 0},
    {4, 5, 6, 5, 5}, {7, 4, 7, 4, 7}};

/* Text at (x, y) top-left, each glyph pixel a 2x2 square. */
static void text(canvas *c, int x, int y, const char *s)
{
    static const unsigned char ink[3] = {40, 40, 40};
    for (; *s; s++, x += 8) {
        const char *p = strchr(glyph_chars, *s);
        if (!p || !*s)
            continue;
        const unsigned char *g = glyphs[p - glyph_chars];
        for (int r = 0; r < 5; r++)
            for (int k = 0; k < 3; k++)
                if (g[r] >> (2 - k) & 1)
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++)
                            dot(c, x + 2 * k + a, y + 2 * r + b, ink);
    }
}

typedef struct {
    double *x, *y;
    int n, cap;
} series;

static int push(series *s, double x, double y)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 256;
        double *nx = realloc(s->x, (size_t)cap * sizeof *nx);
        if (!nx)
            return 1;
        s->x = nx;
        double *ny = realloc(s->y, (size_t)cap * sizeof *ny);
        if (!ny)
            return 1;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x, s->y[s->n] = y, s->n++;
    return 0;
}

/* The number after "key": in a JSON line, if present. */
static int field(const char *line, const char *key, double *v)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    return p && sscanf(p + strlen(pat), "%lf", v) == 1;
}

int cli_plot_metrics(const char *jsonl, const char *png)
{
    FILE *f = fopen(jsonl, "r");
    if (!f)
        return 1;
    series tr = {0}, te = {0};
    char buf[1024];
    int bad = 0;
    while (fgets(buf, sizeof buf, f)) {
        double step, v;
        if (!field(buf, "step", &step))
            continue;
        if (field(buf, "bpd", &v) && isfinite(v))
            bad |= push(&tr, step, v);
        if (field(buf, "test_bpd", &v) && isfinite(v))
            bad |= push(&te, step, v);
    }
    fclose(f);
    int rc = 1;
    canvas *c = calloc(1, sizeof *c);
    if (bad || !c || tr.n < 2)
        goto out;
    memset(c->px, 255, sizeof c->px);
    double x1 = tr.x[tr.n - 1], y0 = INFINITY, y1 = -INFINITY;
    /* y range from the moving average past its first tenth, so the first
     * steps (often far above) do not flatten the curve */
    for (int i = tr.n / 10; i < tr.n; i++)
        y0 = fmin(y0, tr.y[i]), y1 = fmax(y1, tr.y[i]);
    for (int i = 0; i < te.n; i++)
        y0 = fmin(y0, te.y[i]), y1 = fmax(y1, te.y[i]), x1 = fmax(x1, te.x[i]);
    double pad = 0.05 * (y1 - y0 + 1e-9);
    y0 -= pad, y1 += pad;
#define PX(v) (L + (int)((v) / x1 * (W - L - R)))
#define PY(v) (H - B - (int)(((v)-y0) / (y1 - y0) * (H - T - B)))
    static const unsigned char axis[3] = {0, 0, 0}, grid[3] = {225, 225, 225},
                               raw[3] = {170, 190, 230},
                               avg[3] = {20, 60, 160}, red[3] = {210, 30, 30};
    char lab[32];
    for (int k = 0; k <= 5; k++) {
        double v = y0 + (y1 - y0) * k / 5;
        line(c, L, PY(v), W - R, PY(v), grid);
        snprintf(lab, sizeof lab, "%.3f", v);
        text(c, 4, PY(v) - 5, lab);
        double s = x1 * k / 5;
        snprintf(lab, sizeof lab, s >= 10000 ? "%.0fk" : "%.0f",
                 s >= 10000 ? s / 1000 : s);
        text(c, PX(s) - 12, H - B + 10, lab);
    }
    line(c, L, T, L, H - B, axis);
    line(c, L, H - B, W - R, H - B, axis);
    for (int i = 1; i < tr.n; i++)
        line(c, PX(tr.x[i - 1]), PY(fmin(fmax(tr.y[i - 1], y0), y1)),
             PX(tr.x[i]), PY(fmin(fmax(tr.y[i], y0), y1)), raw);
    int win = tr.n / 50 + 1;
    double prev = 0;
    for (int i = 0; i < tr.n; i++) {
        double s = 0;
        int k = 0;
        for (int j = i - win; j <= i + win; j++)
            if (j >= 0 && j < tr.n)
                s += tr.y[j], k++;
        double m = fmin(fmax(s / k, y0), y1);
        if (i)
            line(c, PX(tr.x[i - 1]), PY(prev), PX(tr.x[i]), PY(m), avg);
        prev = m;
    }
    for (int i = 0; i < te.n; i++)
        for (int a = -3; a <= 3; a++)
            for (int b = -3; b <= 3; b++)
                dot(c, PX(te.x[i]) + a, PY(te.y[i]) + b, red);
#undef PX
#undef PY
    rc = stbi_write_png(png, W, H, 3, c->px, W * 3) ? 0 : 1;
out:
    free(c);
    free(tr.x), free(tr.y), free(te.x), free(te.y);
    return rc;
}
