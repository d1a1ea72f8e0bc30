/*
 * test_data_memory.c -- pcnn_dataset_from_memory: a data set of copies of
 * the caller's images and labels, and its argument checks.
 */
#include "data_util.h"
#include "pixelcnn.h"

#include <stdint.h>
#include <string.h>

TEST(data_from_memory_copies)
{
    enum { N = 5, C = 3, H = 2, W = 4, ITEM = C * H * W };
    uint8_t x[N * ITEM];
    int32_t y[N] = {0, 2, 1, 2, 0};
    for (int i = 0; i < N * ITEM; i++)
        x[i] = byte_at(11, (uint64_t)i);
    pcnn_dataset d, u;
    REQUIRE_OK(pcnn_dataset_from_memory(x, N, C, H, W, y, 3, &d));
    REQUIRE_OK(pcnn_dataset_from_memory(x, N, C, H, W, NULL, 0, &u));
    CHECK(d.n == N && d.c == C && d.h == H && d.w == W &&
              d.num_classes == 3 && d.cond == NULL,
          "shape (%lld, %lld, %lld, %lld), %d classes", (long long)d.n,
          (long long)d.c, (long long)d.h, (long long)d.w, d.num_classes);
    CHECK(u.labels == NULL && u.num_classes == 0, "unlabeled: %d classes",
          u.num_classes);
    /* copies: the caller's arrays may change or go */
    CHECK(d.images != x && d.labels != y, "the arrays are not copies");
    CHECK(memcmp(d.images, x, sizeof x) == 0 &&
              memcmp(u.images, x, sizeof x) == 0,
          "images differ from the input");
    CHECK(memcmp(d.labels, y, sizeof y) == 0, "labels differ");
    x[0] ^= 1, y[0] = 1;
    CHECK(d.images[0] == (x[0] ^ 1) && d.labels[0] == 0,
          "the data set follows the caller's arrays");
    /* the same items as a gather of every index */
    int64_t idx[N];
    uint8_t back[N * ITEM];
    int32_t lab[N];
    for (int i = 0; i < N; i++)
        idx[i] = i;
    REQUIRE_OK(pcnn_dataset_gather(&d, idx, N, back, lab));
    CHECK(memcmp(back, d.images, sizeof back) == 0 &&
              memcmp(lab, d.labels, sizeof lab) == 0,
          "gather of every item differs");
    CHECK(pcnn_dataset_fingerprint(&d) != pcnn_dataset_fingerprint(&u),
          "labels do not change the fingerprint");
    pcnn_dataset_free(&d);
    pcnn_dataset_free(&u);
}

TEST(data_from_memory_errors)
{
    uint8_t x[8] = {0};
    int32_t y[2] = {0, 1}, bad[2] = {0, 3}, neg[2] = {-1, 0};
    pcnn_dataset d;
    memset(&d, 0xff, sizeof d);
    EXPECT_FAIL(pcnn_dataset_from_memory(NULL, 2, 1, 2, 2, NULL, 0, &d),
                PCNN_ERR_ARG, "images is NULL");
    CHECK(is_zeroed(&d), "out not zeroed on failure");
    EXPECT_FAIL(pcnn_dataset_from_memory(x, 2, 1, 2, 2, NULL, 0, NULL),
                PCNN_ERR_ARG, "out is NULL");
    EXPECT_FAIL(pcnn_dataset_from_memory(x, 0, 1, 2, 2, NULL, 0, &d),
                PCNN_ERR_ARG, ">= 1");
    EXPECT_FAIL(pcnn_dataset_from_memory(x, 2, 1, -2, 2, NULL, 0, &d),
                PCNN_ERR_ARG, ">= 1");
    EXPECT_FAIL(pcnn_dataset_from_memory(x, 2, 1, 2, 2, y, 0, &d),
                PCNN_ERR_ARG, "num_classes is 0 with labels");
    EXPECT_FAIL(pcnn_dataset_from_memory(x, 2, 1, 2, 2, NULL, 2, &d),
                PCNN_ERR_ARG, "num_classes is 2 without labels");
    EXPECT_FAIL(pcnn_dataset_from_memory(x, 2, 1, 2, 2, bad, 3, &d),
                PCNN_ERR_VALUE, "labels[1] = 3 is not in [0, 3)");
    CHECK(is_zeroed(&d), "out not zeroed after a bad label");
    EXPECT_FAIL(pcnn_dataset_from_memory(x, 2, 1, 2, 2, neg, 3, &d),
                PCNN_ERR_VALUE, "labels[0] = -1");
    /* sizes whose product overflows are refused before any copy */
    EXPECT_FAIL(pcnn_dataset_from_memory(x, INT64_MAX / 2, 4, 4, 4, NULL, 0,
                                         &d),
                PCNN_ERR_NOMEM, "too large");
    CHECK(is_zeroed(&d), "out not zeroed after an overflow");
}
