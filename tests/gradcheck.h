/*
 * gradcheck.h -- finite-difference gradient checks in double precision.
 *
 * The kernels are compiled in double for the tests (names ending _f64), so
 * central differences (L(p+e) - L(p-e)) / 2e with e = 1e-6 agree with an
 * exact gradient to about 1e-8: a wrong index or a missing term shows.
 */
#ifndef PCNN_TEST_GRADCHECK_H
#define PCNN_TEST_GRADCHECK_H

#include "test.h"

/* The scalar loss as a function of the current parameter values. */
typedef double (*loss_fn)(void *arg);

/* Compares g (n elements) with central differences of loss() w.r.t. p,
 * perturbing p[i] in place (restored after). Checks every element when
 * n <= max_checks, else max_checks elements spread over p. */
int gradcheck(const char *file, int line, const char *what, double *p,
              size_t n, const double *g, loss_fn loss, void *arg,
              size_t max_checks);
#define GRADCHECK(what, p, n, g, loss, arg)                                   \
    gradcheck(__FILE__, __LINE__, what, p, n, g, loss, arg, 400)

/* sum_i a[i] * b[i] */
double dot64(const double *a, const double *b, size_t n);

#endif
