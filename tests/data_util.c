/* data_util.c -- helpers of the data set tests; see data_util.h. */
#include "data_util.h"
#include "../src/core/rng.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Folders made and not yet removed: a test that stops early (REQUIRE)
 * leaves its folder to the exit handler. */
enum { MAX_TMP_DIRS = 16 };
static char tmp_dirs[MAX_TMP_DIRS][64];

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void remove_left_over(void)
{
    for (int k = 0; k < MAX_TMP_DIRS; k++)
        if (tmp_dirs[k][0]) {
            remove_tree(tmp_dirs[k]);
            tmp_dirs[k][0] = '\0';
        }
}

char *tmp_dir_make(char buf[64])
{
    static int registered;
    if (!registered && atexit(remove_left_over) == 0)
        registered = 1;
    strcpy(buf, "/tmp/pcnn_data_XXXXXX");
    if (!mkdtemp(buf))
        return NULL;
    for (int k = 0; k < MAX_TMP_DIRS; k++)
        if (!tmp_dirs[k][0]) {
            strcpy(tmp_dirs[k], buf);
            break;
        }
    return buf;
}

void tmp_dir_remove(const char *dir)
{
    for (int k = 0; k < MAX_TMP_DIRS; k++)
        if (!strcmp(tmp_dirs[k], dir))
            tmp_dirs[k][0] = '\0';
    remove_tree(dir);
}

const char *path_in(int slot, const char *dir, const char *name)
{
    static char buf[4][512];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", dir, name);
    return buf[slot];
}

int write_bytes(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(buf, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

uint8_t *read_bytes(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        CHECK(0, "cannot read back %s", path);
        return xcalloc(1, 1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = xcalloc((size_t)n + 1, 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

uint8_t byte_at(uint64_t seed, uint64_t i)
{
    return (uint8_t)(pcnn_hash64(seed, i) >> 56);
}

int is_zeroed(const pcnn_dataset *d)
{
    return !d->images && !d->labels && !d->n && !d->c && !d->h && !d->w &&
           !d->num_classes;
}
