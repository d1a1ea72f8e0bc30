#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <cblas.h>
#include "sgemm_avx512.h"

extern void openblas_set_num_threads(int);

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmpd); return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]); }
static unsigned long long rs = 88172645463325252ull;
static float frand(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (float)((rs >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f; }

static float bfr(float f) { unsigned u; memcpy(&u, &f, 4); u += 0x7fffu + ((u >> 16) & 1u); u &= 0xffff0000u; memcpy(&f, &u, 4); return f; }
typedef struct { int M, N, K, tA, tB; const char *name; } shape_t;

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    int nth = argc > 2 ? atoi(argv[2]) : 1;
    int bf16 = argc > 3 ? atoi(argv[3]) : 0;
    const char *only = argc > 4 ? argv[4] : NULL;
    openblas_set_num_threads(nth);
    shape_t sh[] = {
        {160, 1024, 1920, 0, 0, "fwd 160x1024x1920"},
        {320, 1024, 1920, 0, 0, "fwd 320x1024x1920"},
        {160, 1024, 1280, 0, 0, "fwd 160x1024x1280"},
        {320, 1024, 1280, 0, 0, "fwd 320x1024x1280"},
        {160, 1920, 1024, 0, 1, "dW 160x1920x1024 B^T"},
        {1920, 1024, 160, 1, 0, "dcol 1920x1024x160 A^T"},
        {96, 4096, 576, 0, 0, "fwd 96x4096x576"},
        {64, 4096, 384, 0, 0, "fwd 64x4096x384"},
        {2048, 2048, 2048, 0, 0, "2048^3"},
        {2048, 2048, 2048, 1, 1, "2048^3 A^T B^T"},
        {157, 1013, 301, 0, 0, "edge 157x1013x301"},
        {157, 1013, 301, 1, 1, "edge 157x1013x301 TT"},
        {13, 45, 17, 0, 1, "edge 13x45x17 NT"},
    };
    int ns = sizeof sh / sizeof *sh;
    printf("threads=%d reps=%d mode=%s\n", nth, reps, bf16 ? "bf16" : "fp32");
    printf("%-24s %9s %9s %7s %7s %10s %10s\n", "shape", "ours", "openblas", "ratio", "rmed", "maxrelerr", "relfrob");
    for (int s = 0; s < ns; s++) {
        shape_t z = sh[s];
        if (only && !strstr(z.name, only)) continue;
        int M = z.M, N = z.N, K = z.K;
        size_t sa = (size_t)M * K, sb = (size_t)K * N, sc = (size_t)M * N;
        float *A = aligned_alloc(64, (sa * 4 + 63) / 64 * 64), *B = aligned_alloc(64, (sb * 4 + 63) / 64 * 64);
        float *C0 = aligned_alloc(64, (sc * 4 + 63) / 64 * 64), *C1 = aligned_alloc(64, (sc * 4 + 63) / 64 * 64), *C2 = aligned_alloc(64, (sc * 4 + 63) / 64 * 64);
        for (size_t i = 0; i < sa; i++) A[i] = frand();
        for (size_t i = 0; i < sb; i++) B[i] = frand();
        for (size_t i = 0; i < sc; i++) C0[i] = frand();
        int lda = z.tA ? M : K, ldb = z.tB ? K : N;
        /* correctness: beta=1 (+C) and beta=0 */
        double maxrel = 0, num = 0, den = 0;
        for (int beta = 0; beta <= 1; beta++) {
            memcpy(C1, C0, sc * 4); memcpy(C2, C0, sc * 4);
            cblas_sgemm(CblasRowMajor, z.tA ? CblasTrans : CblasNoTrans, z.tB ? CblasTrans : CblasNoTrans,
                        M, N, K, 1.0f, A, lda, B, ldb, (float)beta, C1, N);
            if (bf16) sg_sgemm_bf16(z.tA, z.tB, M, N, K, 1.0f, A, lda, B, ldb, (float)beta, C2, N, nth);
            else sg_sgemm(z.tA, z.tB, M, N, K, 1.0f, A, lda, B, ldb, (float)beta, C2, N, nth);
            /* relative error against sqrt(K) scale (entries ~ U(-1,1): |C| ~ sqrt(K/9)) */
            double scale = sqrt(K / 9.0) + (beta ? 1 : 0);
            for (size_t i = 0; i < sc; i++) {
                double d = fabs((double)C1[i] - C2[i]);
                double r = d / fmax(fabs(C1[i]), scale);
                if (r > maxrel || isnan(d)) maxrel = isnan(d) ? INFINITY : r;
                num += d * d; den += (double)C1[i] * C1[i];
            }
        }
        double relfrob = sqrt(num / den);
        double exact_rel = 0; /* bf16: compare against fp32 GEMM of bf16-rounded inputs */
        if (bf16) {
            float *Ar = malloc(sa * 4), *Br = malloc(sb * 4);
            for (size_t i = 0; i < sa; i++) Ar[i] = bfr(A[i]);
            for (size_t i = 0; i < sb; i++) Br[i] = bfr(B[i]);
            memcpy(C1, C0, sc * 4); memcpy(C2, C0, sc * 4);
            cblas_sgemm(CblasRowMajor, z.tA ? CblasTrans : CblasNoTrans, z.tB ? CblasTrans : CblasNoTrans,
                        M, N, K, 1.0f, Ar, lda, Br, ldb, 1.0f, C1, N);
            sg_sgemm_bf16(z.tA, z.tB, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C2, N, nth);
            double scale = sqrt(K / 9.0) + 1;
            for (size_t i = 0; i < sc; i++) {
                double r = fabs((double)C1[i] - C2[i]) / fmax(fabs(C1[i]), scale);
                if (!(r <= exact_rel)) exact_rel = isnan(r) ? INFINITY : r;
            }
            free(Ar); free(Br);
        }
        for (int w = 0; w < 2; w++) { /* warm-up both */
            if (bf16) sg_sgemm_bf16(z.tA, z.tB, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C2, N, nth);
            else sg_sgemm(z.tA, z.tB, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C2, N, nth);
            cblas_sgemm(CblasRowMajor, z.tA ? CblasTrans : CblasNoTrans, z.tB ? CblasTrans : CblasNoTrans,
                        M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C1, N);
        }
        double to[64], tb[64], rr[64]; if (reps > 64) reps = 64;
        double fl = 2.0 * M * N * K;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            if (bf16) sg_sgemm_bf16(z.tA, z.tB, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C2, N, nth);
            else sg_sgemm(z.tA, z.tB, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C2, N, nth);
            double t1 = now();
            cblas_sgemm(CblasRowMajor, z.tA ? CblasTrans : CblasNoTrans, z.tB ? CblasTrans : CblasNoTrans,
                        M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C1, N);
            double t2 = now();
            to[r] = fl / (t1 - t0) * 1e-9; tb[r] = fl / (t2 - t1) * 1e-9; rr[r] = to[r] / tb[r];
        }
        double mo = median(to, reps), mb = median(tb, reps), mr = median(rr, reps);
        if (bf16) printf("%-24s %9.1f %9.1f %7.2f %7.2f %10.2e %10.2e  vs-bf16-rounded-ref %.2e\n", z.name, mo, mb, mo / mb, mr, maxrel, relfrob, exact_rel);
        else printf("%-24s %9.1f %9.1f %7.2f %7.2f %10.2e %10.2e\n", z.name, mo, mb, mo / mb, mr, maxrel, relfrob);
        fflush(stdout);
        free(A); free(B); free(C0); free(C1); free(C2);
    }
    return 0;
}
