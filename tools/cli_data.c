/*
 * cli_data.c -- data-set specs of the command line: KIND:PATH.
 *
 *   cifar10:DIR        CIFAR-10 binary version (data_batch_K.bin, test_batch.bin)
 *   fashion-mnist:DIR  IDX files {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
 *   mnist:DIR          the same file names
 *   folder:DIR         every image file in DIR (no labels), --size for the
 *                      side; the last tenth in name order is the test
 *                      split, the rest the training split (a folder of
 *                      fewer than 10 images: all of them in both)
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* dir/name or dir/name.gz, whichever exists (plain first). */
static void idx_file(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
    if (exists(out))
        return;
    snprintf(out, n, "%s/%s.gz", dir, name);
}

int cli_load_data(const char *cmd, const char *spec, const char *split,
                  int size, pcnn_dataset *out)
{
    const char *colon = strchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        fprintf(stderr,
                "pixelcnn %s: --data %s: expected KIND:PATH, KIND one of "
                "cifar10, fashion-mnist, mnist, folder\n",
                cmd, spec);
        return 2;
    }
    char kind[32];
    size_t k = (size_t)(colon - spec);
    if (k >= sizeof kind)
        k = sizeof kind - 1;
    memcpy(kind, spec, k);
    kind[k] = 0;
    const char *path = colon + 1;
    pcnn_status s;
    if (!strcmp(kind, "cifar10")) {
        s = pcnn_dataset_load_cifar10(path, split, out);
    } else if (!strcmp(kind, "fashion-mnist") || !strcmp(kind, "mnist")) {
        const char *pre = !strcmp(split, "train") ? "train" : "t10k";
        char img[4096], lab[4096], name[64];
        snprintf(name, sizeof name, "%s-images-idx3-ubyte", pre);
        idx_file(img, sizeof img, path, name);
        snprintf(name, sizeof name, "%s-labels-idx1-ubyte", pre);
        idx_file(lab, sizeof lab, path, name);
        s = pcnn_dataset_load_idx(img, lab, out);
    } else if (!strcmp(kind, "folder")) {
        s = pcnn_dataset_load_folder(path, 3, size, out);
        const int64_t n = out->n, nt = n / 10;
        if (s == PCNN_OK && nt > 0)
            s = !strcmp(split, "train")
                    ? pcnn_dataset_subset(out, 0, n - nt, out)
                    : pcnn_dataset_subset(out, n - nt, nt, out);
    } else {
        fprintf(stderr,
                "pixelcnn %s: --data %s: unknown kind '%s' (cifar10, "
                "fashion-mnist, mnist, folder)\n",
                cmd, spec, kind);
        return 2;
    }
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    return 0;
}

const char *cli_default_data(void)
{
    static const char *const candidates[] = {
        "../shared/data/fashion-mnist", "/usr/share/datasets/fashion-mnist"};
    static char spec[512];
    for (size_t i = 0; i < 2; i++) {
        char probe[600];
        idx_file(probe, sizeof probe, candidates[i],
                 "t10k-images-idx3-ubyte");
        if (exists(probe)) {
            snprintf(spec, sizeof spec, "fashion-mnist:%s", candidates[i]);
            return spec;
        }
    }
    return "fashion-mnist:/usr/share/datasets/fashion-mnist";
}
