/* util.c -- the scratch folder and quiet streams of the fuzz targets. */
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

const char *fuzz_dir(void)
{
    if (dir[0])
        return dir;
    const char *tmp = getenv("TMPDIR");
    const char *bases[] = {"/dev/shm", tmp ? tmp : "/tmp", "/tmp"};
    for (size_t k = 0; k < 3; k++) {
        snprintf(dir, sizeof dir, "%s/pcnn-fuzz-XXXXXX", bases[k]);
        if (mkdtemp(dir)) {
            atexit(remove_dir);
            return dir;
        }
    }
    fprintf(stderr, "fuzz: cannot make a scratch folder\n");
    abort();
}

const char *fuzz_write(const char *name, const uint8_t *data, size_t n)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    for (size_t at = 0; at < n;) {
        ssize_t k = write(fd, data + at, n - at);
        if (k <= 0) {
            perror(path);
            abort();
        }
        at += (size_t)k;
    }
    close(fd);
    return path;
}

void fuzz_remove(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    unlink(path);
}

void fuzz_quiet(int on)
{
    static FILE *null, *out, *err;
    if (!null && !(null = fopen("/dev/null", "w")))
        abort();
    if (on && !out) {
        fflush(stdout), fflush(stderr);
        out = stdout, err = stderr;
        stdout = null, stderr = null;
    } else if (!on && out) {
        fflush(null);
        stdout = out, stderr = err;
        out = err = NULL;
    }
}

void fuzz_split(const uint8_t *data, size_t n, const uint8_t **a, size_t *na,
                const uint8_t **b, size_t *nb)
{
    const size_t k = sizeof FUZZ_SEP - 1;
    *a = data, *na = n, *b = NULL, *nb = 0;
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(data + i, FUZZ_SEP, k)) {
            *na = i;
            *b = data + i + k;
            *nb = n - i - k;
            return;
        }
}
