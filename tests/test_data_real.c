/*
 * test_data_real.c -- the real data sets of ../shared/data (or
 * $PCNN_DATA): Fashion-MNIST's test set, the CIFAR-10 (JPEG-q75 copy)
 * splits and the bit-exact CIFAR-10 subset, a folder of ORL faces. Counts
 * and known properties; skipped with a note when the folder is absent
 * (the data sets are not committed).
 */
#include "data_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define REC 3073

/* ------------------------------------------------------ the real sets */

/* ../shared/data, or $PCNN_DATA; NULL (and a note) when absent. */
static const char *data_root(void)
{
    const char *root = getenv("PCNN_DATA");
    if (!root || !*root)
        root = "../shared/data";
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        test_skip("no %s", root);
        return NULL;
    }
    return root;
}

static void label_histogram(const pcnn_dataset *d, int64_t *hist)
{
    for (int k = 0; k < 10; k++)
        hist[k] = 0;
    for (int64_t i = 0; i < d->n; i++)
        if (d->labels[i] >= 0 && d->labels[i] < 10)
            hist[d->labels[i]]++;
}

TEST(data_real_fashion_mnist)
{
    const char *root = data_root();
    if (!root)
        return;
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/fashion-mnist/t10k-images-idx3-ubyte.gz",
             root);
    snprintf(lp, sizeof lp, "%s/fashion-mnist/t10k-labels-idx1-ubyte.gz",
             root);
    pcnn_dataset d;
    REQUIRE_OK(pcnn_dataset_load_idx(ip, lp, &d));
    CHECK(d.n == 10000 && d.c == 1 && d.h == 28 && d.w == 28 &&
              d.num_classes == 10,
          "shape (%lld, %lld, %lld, %lld), %d classes", (long long)d.n,
          (long long)d.c, (long long)d.h, (long long)d.w, d.num_classes);
    if (d.n == 10000) {
        int64_t hist[10];
        label_histogram(&d, hist);
        for (int k = 0; k < 10; k++)
            CHECK(hist[k] == 1000, "class %d: %lld images", k,
                  (long long)hist[k]);
        /* the official test set starts 9 (ankle boot), 2, 1, 1, 6 */
        CHECK(d.labels[0] == 9 && d.labels[1] == 2 && d.labels[2] == 1 &&
                  d.labels[3] == 1 && d.labels[4] == 6,
              "first labels %d %d %d %d %d", d.labels[0], d.labels[1],
              d.labels[2], d.labels[3], d.labels[4]);
        /* mean pixel 73.15 (0.2869 of 255), a known figure */
        uint64_t sum = 0;
        for (size_t i = 0; i < 10000u * 784u; i++)
            sum += d.images[i];
        double mean = (double)sum / (10000.0 * 784.0);
        CHECK(fabs(mean - 73.15) < 0.05, "mean pixel %.3f", mean);
    }
    pcnn_dataset_free(&d);
}

TEST(data_real_cifar10)
{
    const char *root = data_root();
    if (!root)
        return;
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/cifar10", root);
    pcnn_dataset d;
    int64_t hist[10];
    /* test_batch: 1000 a class, sorted by class in this copy */
    REQUIRE_OK(pcnn_dataset_load_cifar10(dir, "test", &d));
    CHECK(d.n == 10000 && d.c == 3 && d.h == 32 && d.w == 32 &&
              d.num_classes == 10,
          "test: n %lld", (long long)d.n);
    label_histogram(&d, hist);
    int sorted = 1;
    for (int64_t i = 1; i < d.n; i++)
        sorted &= d.labels[i - 1] <= d.labels[i];
    for (int k = 0; k < 10; k++)
        CHECK(hist[k] == 1000, "test class %d: %lld", k, (long long)hist[k]);
    CHECK(sorted, "test_batch not sorted by class");
    pcnn_dataset_free(&d);

    /* train: data_batch_2, 3, 4 (1 and 5 are absent), in that order */
    REQUIRE_OK(pcnn_dataset_load_cifar10(dir, "train", &d));
    CHECK(d.n == 30000, "train: n %lld", (long long)d.n);
    if (d.n == 30000) {
        static const int64_t want[10] = {2981, 3012, 3016, 2968, 3004,
                                         3038, 2990, 3022, 2972, 2997};
        static const int32_t first[10] = {1, 6, 6, 8, 8, 3, 4, 6, 0, 6};
        label_histogram(&d, hist);
        CHECK(!memcmp(hist, want, sizeof want), "train label histogram");
        CHECK(!memcmp(d.labels, first, sizeof first), "first train labels");
        /* item 10000 is data_batch_3's first record */
        snprintf(path, sizeof path, "%s/data_batch_3.bin", dir);
        FILE *f = fopen(path, "rb");
        uint8_t rec[REC];
        int ok = f && fread(rec, 1, REC, f) == REC;
        if (f)
            fclose(f);
        CHECK(ok && d.labels[10000] == rec[0] &&
                  !memcmp(d.images + 10000 * 3072, rec + 1, 3072),
              "item 10000 is not data_batch_3's first record");
    }
    pcnn_dataset_free(&d);

    /* the bit-exact 4000, as a single file: original data_batch_1 order */
    snprintf(path, sizeof path, "%s/cifar10-exact/data_batch_1_first4000.bin",
             root);
    REQUIRE_OK(pcnn_dataset_load_cifar10(path, NULL, &d));
    CHECK(d.n == 4000 && d.labels[0] == 6 && d.labels[1] == 9 &&
              d.labels[2] == 9 && d.labels[3] == 4,
          "cifar10-exact: n %lld", (long long)d.n);
    pcnn_dataset_free(&d);
}

TEST(data_real_faces_folder)
{
    const char *root = data_root();
    if (!root)
        return;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/faces/orl/s1", root);
    pcnn_dataset d;
    /* ten 92 x 112 PGMs, cropped to 92 x 92 and shrunk to 32 x 32 */
    REQUIRE_OK(pcnn_dataset_load_folder(dir, 1, 32, &d));
    CHECK(d.n == 10 && d.c == 1 && d.h == 32 && d.w == 32, "orl s1: n %lld",
          (long long)d.n);
    int lo = 255, hi = 0;
    for (size_t i = 0; i < (size_t)d.n * 1024; i++) {
        lo = d.images[i] < lo ? d.images[i] : lo;
        hi = d.images[i] > hi ? d.images[i] : hi;
    }
    CHECK(hi - lo > 100, "faces have no contrast (%d .. %d)", lo, hi);
    pcnn_dataset_free(&d);
}
