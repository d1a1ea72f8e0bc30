/* gradcheck.c -- see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>

double dot64(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

int gradcheck(const char *file, int line, const char *what, double *p,
              size_t n, const double *g, loss_fn loss, void *arg,
              size_t max_checks)
{
    const double eps = 1e-6, atol = 1e-7, rtol = 1e-5;
    size_t m = n <= max_checks ? n : max_checks;
    double *num = xcalloc(m, sizeof *num), *ana = xcalloc(m, sizeof *ana);
    size_t *idx = xcalloc(m, sizeof *idx);
    for (size_t k = 0; k < m; k++) {
        size_t i = m == n ? k : (size_t)((double)k * (double)n / (double)m);
        double keep = p[i];
        p[i] = keep + eps;
        double up = loss(arg);
        p[i] = keep - eps;
        double down = loss(arg);
        p[i] = keep;
        idx[k] = i;
        num[k] = (up - down) / (2 * eps);
        ana[k] = g[i];
    }
    int ok = close_f64(file, line, what, ana, num, m, atol, rtol);
    if (!ok) {
        /* name the element index in p, not in the sample */
        size_t worst = 0;
        double we = -1;
        for (size_t k = 0; k < m; k++) {
            double e = fabs(ana[k] - num[k]) - rtol * fabs(num[k]);
            if (e > we) {
                we = e;
                worst = k;
            }
        }
        test_fail(file, line, "%s: worst is element %zu of %zu", what,
                  idx[worst], n);
    }
    free(num);
    free(ana);
    free(idx);
    return ok;
}
