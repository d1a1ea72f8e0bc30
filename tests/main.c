/* main.c -- the test runner: see test.h. */
#include "test.h"
#include "../src/core/rng.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TESTS 512

static struct {
    const char *name;
    test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static int current_failed, current_skipped;

void test_register(const char *name, test_fn fn)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "too many tests (raise MAX_TESTS)\n");
        exit(2);
    }
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    current_failed = 1;
}

int test_failed(void) { return current_failed; }

void test_skip(const char *fmt, ...)
{
    va_list ap;
    printf("    skipped: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    current_skipped = 1;
}

#define CLOSE_BODY                                                            \
    size_t worst = 0;                                                         \
    double worst_excess = -INFINITY;                                          \
    size_t bad = 0;                                                           \
    for (size_t i = 0; i < n; i++) {                                          \
        double a = got[i], r = ref[i];                                        \
        double lim = atol + rtol * fabs(r);                                   \
        double excess = isnan(a) != isnan(r) ? INFINITY : fabs(a - r) - lim;  \
        if (isnan(a) && isnan(r))                                             \
            excess = -INFINITY;                                               \
        if (excess > 0)                                                       \
            bad++;                                                            \
        if (excess > worst_excess) {                                          \
            worst_excess = excess;                                            \
            worst = i;                                                        \
        }                                                                     \
    }                                                                         \
    if (bad) {                                                                \
        test_fail(file, line,                                                 \
                  "%s: %zu of %zu differ; worst [%zu] got %.9g ref %.9g "     \
                  "(|diff| %.3g > atol %.3g + rtol %.3g * |ref|)",            \
                  what, bad, n, worst, (double)got[worst],                    \
                  (double)ref[worst],                                         \
                  fabs((double)got[worst] - (double)ref[worst]), atol, rtol); \
        return 0;                                                             \
    }                                                                         \
    return 1;

int close_f32(const char *file, int line, const char *what, const float *got,
              const float *ref, size_t n, double atol, double rtol)
{
    CLOSE_BODY
}

int close_f64(const char *file, int line, const char *what,
              const double *got, const double *ref, size_t n, double atol,
              double rtol)
{
    CLOSE_BODY
}

void fill_uniform_f32(float *a, size_t n, uint64_t seed, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * (float)pcnn_u01(seed, i);
}

void fill_uniform_f64(double *a, size_t n, uint64_t seed, double lo,
                      double hi)
{
    for (size_t i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * pcnn_u01(seed, i);
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "test: out of memory (%zu x %zu)\n", n, size);
        exit(2);
    }
    return p;
}

static int by_name(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x, y);
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    /* registration order depends on link order: sort for a stable log */
    qsort(tests, (size_t)ntests, sizeof tests[0], by_name);
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < ntests; i++) {
        if (filter && !strstr(tests[i].name, filter))
            continue;
        current_failed = current_skipped = 0;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        /* a test that failed before it skipped still failed */
        const char *tag = current_failed    ? "FAIL"
                          : current_skipped ? "skip"
                                            : "ok  ";
        printf("%s %-48s %8.1f ms\n", tag, tests[i].name, ms);
        fflush(stdout);
        if (current_failed)
            failed++;
        else if (current_skipped)
            skipped++;
        else
            passed++;
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (passed + failed + skipped == 0) {
        fprintf(stderr, "no test matches '%s'\n", filter ? filter : "");
        return 1;
    }
    if (passed == 0 && failed == 0) {
        fprintf(stderr, "every test was skipped: nothing was checked\n");
        return 1;
    }
    return failed ? 1 : 0;
}
