/*
 * test_data_shuffle.c -- the training shuffle (its exact definition
 * against golden values, permutation, determinism, uniformity) and the
 * subset/gather copies with their range checks.
 */
#include "data_util.h"

#include <stdint.h>
#include <stdlib.h>

/* ------------------------------------------------------------- shuffle */

static int is_permutation(const int64_t *p, int64_t n)
{
    char *seen = xcalloc((size_t)n + 1, 1);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        if (p[i] < 0 || p[i] >= n || seen[p[i]])
            ok = 0;
        else
            seen[p[i]] = 1;
    }
    free(seen);
    return ok;
}

TEST(data_shuffle_definition)
{
    /* from an independent implementation of the definition in
     * docs/data.md (a few lines of Python) */
    static const struct {
        uint64_t seed, epoch;
        int64_t n;
        int64_t perm[12];
    } golden[] = {
        {42, 3, 10, {5, 2, 1, 7, 3, 8, 4, 9, 0, 6}},
        {0, 0, 12, {8, 1, 0, 7, 6, 10, 3, 2, 9, 4, 5, 11}},
        {UINT64_MAX, 7, 5, {3, 2, 0, 4, 1}},
    };
    for (size_t g = 0; g < sizeof golden / sizeof golden[0]; g++) {
        int64_t p[12];
        pcnn_shuffle(golden[g].seed, golden[g].epoch, golden[g].n, p);
        CHECK(memcmp(p, golden[g].perm, (size_t)golden[g].n * sizeof *p) ==
                  0,
              "golden %zu differs", g);
    }
    int64_t one = -5;
    pcnn_shuffle(1, 1, 1, &one);
    CHECK(one == 0, "n = 1");
    pcnn_shuffle(1, 1, 0, &one); /* writes nothing */
    pcnn_shuffle(1, 1, -3, &one);
    CHECK(one == 0, "n <= 0 wrote");

    const int64_t n = 1000;
    int64_t *a = xcalloc(n, sizeof *a), *b = xcalloc(n, sizeof *b);
    for (int64_t m = 2; m <= n; m = m * 3 + 1) {
        pcnn_shuffle(9, 1, m, a);
        CHECK(is_permutation(a, m), "n = %lld: not a permutation",
              (long long)m);
    }
    pcnn_shuffle(9, 1, n, a);
    pcnn_shuffle(9, 1, n, b);
    CHECK(!memcmp(a, b, n * sizeof *a), "not deterministic");
    pcnn_shuffle(9, 2, n, b);
    CHECK(memcmp(a, b, n * sizeof *a), "same permutation for two epochs");
    pcnn_shuffle(10, 1, n, b);
    CHECK(memcmp(a, b, n * sizeof *a), "same permutation for two seeds");
    int fixed = 0;
    for (int64_t i = 0; i < n; i++)
        fixed += a[i] == i;
    /* fixed points of a uniform permutation: Poisson(1); 8 has p ~ 1e-5 */
    CHECK(fixed < 8, "%d fixed points", fixed);
    free(a);
    free(b);
}

TEST(data_shuffle_uniform)
{
    /* n = 4: 24 permutations over E = 48000 epochs, 2000 expected each.
     * Pearson's chi-square with 23 dof has mean 23 and sd 6.8; the bound
     * 70 is past p = 1e-6, so only a biased shuffle fails (e.g. j drawn
     * from [0, n) at every step makes some permutations 1.5x as likely,
     * chi-square in the thousands). */
    enum { E = 48000 };
    int count[24] = {0};
    for (uint64_t e = 0; e < E; e++) {
        int64_t p[4];
        pcnn_shuffle(5, e, 4, p);
        /* Lehmer code as the index */
        int code = 0;
        for (int i = 0; i < 4; i++) {
            int smaller = 0;
            for (int j = i + 1; j < 4; j++)
                smaller += p[j] < p[i];
            code = code * (4 - i) + smaller;
        }
        count[code]++;
    }
    double chi2 = 0;
    for (int k = 0; k < 24; k++)
        chi2 += (count[k] - 2000.0) * (count[k] - 2000.0) / 2000.0;
    CHECK(chi2 < 70, "chi-square %.1f over 24 permutations", chi2);

    /* n = 7: item i at position q over 14000 epochs: binomial(14000, 1/7),
     * mean 2000, sd 37; 49 cells within 6 sd (p ~ 1e-7 for any) */
    enum { N7 = 7, E7 = 14000 };
    int pos[N7][N7] = {{0}};
    for (uint64_t e = 0; e < E7; e++) {
        int64_t p[N7];
        pcnn_shuffle(77, e, N7, p);
        for (int q = 0; q < N7; q++)
            pos[p[q]][q]++;
    }
    int worst = 0;
    for (int i = 0; i < N7; i++)
        for (int q = 0; q < N7; q++)
            if (abs(pos[i][q] - 2000) > worst)
                worst = abs(pos[i][q] - 2000);
    CHECK(worst < 6 * 37, "a position count is %d from 2000", worst);
}

/* ------------------------------------------------------ subset, gather */

TEST(data_subset_gather)
{
    /* 5 items of (2, 1, 3), labels 4 - i, owned as the library owns */
    pcnn_dataset d = {0};
    d.n = 5;
    d.c = 2;
    d.h = 1;
    d.w = 3;
    d.num_classes = 5;
    d.images = malloc(30);
    d.labels = malloc(5 * sizeof *d.labels);
    REQUIRE(d.images && d.labels, "malloc");
    for (int i = 0; i < 30; i++)
        d.images[i] = (uint8_t)i;
    for (int i = 0; i < 5; i++)
        d.labels[i] = 4 - i;

    pcnn_dataset s;
    REQUIRE_OK(pcnn_dataset_subset(&d, 1, 3, &s));
    CHECK(s.n == 3 && s.c == 2 && s.h == 1 && s.w == 3 &&
              s.num_classes == 5 && s.images != d.images,
          "subset shape");
    CHECK(!memcmp(s.images, d.images + 6, 18) && s.labels[0] == 3 &&
              s.labels[2] == 1,
          "subset content");
    pcnn_dataset_free(&s);
    EXPECT_FAIL(pcnn_dataset_subset(&d, 3, 3, &s), PCNN_ERR_ARG, "[3, 3 + 3)");
    CHECK(is_zeroed(&s), "out not zeroed");
    EXPECT_FAIL(pcnn_dataset_subset(&d, -1, 2, &s), PCNN_ERR_ARG, "-1");
    EXPECT_FAIL(pcnn_dataset_subset(&d, 0, 0, &s), PCNN_ERR_ARG, "subset");
    EXPECT_FAIL(pcnn_dataset_subset(&d, INT64_MAX, 2, &s), PCNN_ERR_ARG,
                "subset");

    int64_t idx[4] = {4, 0, 4, 2};
    uint8_t img[4 * 6];
    int32_t lab[4];
    REQUIRE_OK(pcnn_dataset_gather(&d, idx, 4, img, lab));
    int bad = 0;
    for (int k = 0; k < 4; k++) {
        bad += memcmp(img + 6 * k, d.images + 6 * idx[k], 6) != 0;
        bad += lab[k] != 4 - idx[k];
    }
    CHECK(bad == 0, "gather: %d items differ", bad);
    memset(img, 0xEE, sizeof img);
    idx[3] = 5;
    EXPECT_FAIL(pcnn_dataset_gather(&d, idx, 4, img, NULL), PCNN_ERR_VALUE,
                "idx[3] = 5");
    CHECK(img[0] == 0xEE, "gather wrote before failing");
    idx[3] = -1;
    EXPECT_FAIL(pcnn_dataset_gather(&d, idx, 4, img, NULL), PCNN_ERR_VALUE,
                "-1");
    REQUIRE_OK(pcnn_dataset_gather(&d, idx, 0, NULL, NULL));

    /* in place: d becomes its own items [2, 5) */
    REQUIRE_OK(pcnn_dataset_subset(&d, 2, 3, &d));
    CHECK(d.n == 3 && d.images[0] == 12 && d.labels[0] == 2, "in place");
    free(d.labels);
    d.labels = NULL;
    d.num_classes = 0;
    EXPECT_FAIL(pcnn_dataset_gather(&d, idx, 1, img, lab), PCNN_ERR_ARG,
                "without labels");
    REQUIRE_OK(pcnn_dataset_subset(&d, 0, 1, &s));
    CHECK(!s.labels && s.num_classes == 0, "unlabeled subset");
    pcnn_dataset_free(&s);
    d.w = 0;
    EXPECT_FAIL(pcnn_dataset_gather(&d, idx, 1, img, NULL), PCNN_ERR_ARG,
                ">= 1");
    d.w = 3;
    pcnn_dataset_free(&d);
    pcnn_dataset_free(&d);
    pcnn_dataset_free(NULL);
}
