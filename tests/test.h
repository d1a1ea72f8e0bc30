/*
 * test.h -- a small test harness.
 *
 * TEST(name) { ... } defines and registers a test. CHECK(cond, fmt, ...)
 * records a failure and goes on; REQUIRE(...) records it and returns.
 * CHECK_CLOSE(...) compares arrays with |a-b| <= atol + rtol*|ref| and
 * prints the worst element on failure. test_skip("why") marks the current
 * test skipped (the caller then returns): it counts as neither passed nor
 * failed. The runner (main.c) runs every test, or those whose name
 * contains argv[1], and ends with the line "N passed, N failed, N skipped";
 * it exits non-zero when a test failed, when no test passed, or when the
 * filter matched no test.
 */
#ifndef PCNN_TEST_H
#define PCNN_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int test_failed(void); /* the current test has failed so far */
/* Marks the current test skipped, printing the reason; return after it. */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST(name)                                                            \
    static void name(void);                                                   \
    __attribute__((constructor)) static void register_##name(void)            \
    {                                                                         \
        test_register(#name, name);                                           \
    }                                                                         \
    static void name(void)

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond))                                                          \
            test_fail(__FILE__, __LINE__, __VA_ARGS__);                       \
    } while (0)

#define REQUIRE(cond, ...)                                                    \
    do {                                                                      \
        if (!(cond)) {                                                        \
            test_fail(__FILE__, __LINE__, __VA_ARGS__);                       \
            return;                                                           \
        }                                                                     \
    } while (0)

/* REQUIRE that a pcnn call returns PCNN_OK, printing its message. */
#define REQUIRE_OK(call)                                                      \
    do {                                                                      \
        pcnn_status ok_s_ = (call);                                           \
        if (ok_s_ != PCNN_OK) {                                               \
            test_fail(__FILE__, __LINE__, "%s: %s", #call,                    \
                      pcnn_last_error());                                     \
            return;                                                           \
        }                                                                     \
    } while (0)

/* Returns 1 when all n elements are close; prints the worst one if not. */
int close_f32(const char *file, int line, const char *what, const float *got,
              const float *ref, size_t n, double atol, double rtol);
int close_f64(const char *file, int line, const char *what,
              const double *got, const double *ref, size_t n, double atol,
              double rtol);
#define CHECK_CLOSE(what, got, ref, n, atol, rtol)                            \
    close_f32(__FILE__, __LINE__, what, got, ref, n, atol, rtol)
#define CHECK_CLOSE64(what, got, ref, n, atol, rtol)                          \
    close_f64(__FILE__, __LINE__, what, got, ref, n, atol, rtol)

/* Deterministic test data: uniform in [lo, hi) from (seed, index). */
void fill_uniform_f32(float *a, size_t n, uint64_t seed, float lo, float hi);
void fill_uniform_f64(double *a, size_t n, uint64_t seed, double lo,
                      double hi);

/* Allocations that fail the test run loudly instead of returning NULL. */
void *xcalloc(size_t n, size_t size);

#endif
