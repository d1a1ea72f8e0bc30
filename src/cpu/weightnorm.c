/*
 * weightnorm.c -- weight normalization w = g v / ||v|| and its data-
 * dependent initialization (Salimans & Kingma 2016, sections 2 and 3).
 *
 * v is viewed as (A, O, R): o is the output channel, and the norm of o
 * runs over a in [0,A) and r in [0,R). Conv weights (Co,Ci,kh,kw) are
 * (1, Co, Ci*kh*kw); transposed-conv weights (Ci,Co,kh,kw) are
 * (Ci, Co, kh*kw). Norms are summed in double whatever REAL is.
 */
#include "kernels.h"
#include "real.h"

static double norm_sq(const REAL *v, int64_t o, int64_t A, int64_t O,
                      int64_t R)
{
    double s = 0;
    for (int64_t a = 0; a < A; a++) {
        const REAL *row = v + (a * O + o) * R;
        for (int64_t r = 0; r < R; r++)
            s += (double)row[r] * row[r];
    }
    return s;
}

void KFN(weightnorm_forward)(REAL *w, const REAL *v, const REAL *g,
                             int64_t A, int64_t O, int64_t R)
{
#pragma omp parallel for schedule(static) if (A * O * R > 65536)
    for (int64_t o = 0; o < O; o++) {
        const REAL scale = (REAL)(g[o] / sqrt(norm_sq(v, o, A, O, R)));
        for (int64_t a = 0; a < A; a++)
            for (int64_t r = 0; r < R; r++)
                w[(a * O + o) * R + r] = scale * v[(a * O + o) * R + r];
    }
}

/* With n = ||v||:  dg = <dw, v> / n,
 *                  dv = (g / n) (dw - (<dw, v> / n^2) v). */
void KFN(weightnorm_backward)(REAL *dv, REAL *dg, const REAL *dw,
                              const REAL *v, const REAL *g, int64_t A,
                              int64_t O, int64_t R)
{
#pragma omp parallel for schedule(static) if (A * O * R > 65536)
    for (int64_t o = 0; o < O; o++) {
        const double n2 = norm_sq(v, o, A, O, R), n = sqrt(n2);
        double dot = 0;
        for (int64_t a = 0; a < A; a++)
            for (int64_t r = 0; r < R; r++) {
                const int64_t k = (a * O + o) * R + r;
                dot += (double)dw[k] * v[k];
            }
        if (dg)
            dg[o] += (REAL)(dot / n);
        if (dv) {
            const double s = g[o] / n, proj = dot / n2;
            for (int64_t a = 0; a < A; a++)
                for (int64_t r = 0; r < R; r++) {
                    const int64_t k = (a * O + o) * R + r;
                    dv[k] += (REAL)(s * (dw[k] - proj * v[k]));
                }
        }
    }
}

void KFN(weightnorm_data_init)(REAL *g, REAL *b, REAL *y, int64_t B,
                               int64_t O, int64_t HW, REAL scale)
{
#pragma omp parallel for schedule(static) if (B * O * HW > 65536)
    for (int64_t o = 0; o < O; o++) {
        double sum = 0, sq = 0;
        for (int64_t n = 0; n < B; n++) {
            const REAL *row = y + (n * O + o) * HW;
            for (int64_t i = 0; i < HW; i++)
                sum += row[i];
        }
        const double cnt = (double)(B * HW), mean = sum / cnt;
        for (int64_t n = 0; n < B; n++) {
            const REAL *row = y + (n * O + o) * HW;
            for (int64_t i = 0; i < HW; i++)
                sq += ((double)row[i] - mean) * ((double)row[i] - mean);
        }
        const double gain = scale / sqrt(sq / cnt + 1e-10);
        g[o] = (REAL)gain;
        b[o] = (REAL)(-mean * gain);
        for (int64_t n = 0; n < B; n++) {
            REAL *row = y + (n * O + o) * HW;
            for (int64_t i = 0; i < HW; i++)
                row[i] = (REAL)((row[i] - mean) * gain);
        }
    }
}
