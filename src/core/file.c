/*
 * file.c -- opening the files the library reads: regular files only.
 *
 * A path may name a directory (fopen succeeds on Linux, and its "size" at
 * SEEK_END is 2^63 - 1), a FIFO (open blocks until a writer comes), a
 * terminal or a device. Every reader opens through here: open with
 * O_NONBLOCK so nothing blocks, fstat the descriptor (not the path, which
 * could change in between), and refuse anything but a regular file.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

pcnn_status pcnn_open_regular(const char *path, FILE **out, size_t *size)
{
    *out = NULL;
    if (size)
        *size = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return pcnn_fail(PCNN_ERR_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return pcnn_fail(PCNN_ERR_IO, "%s: cannot stat: %s", path,
                         strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pcnn_fail(PCNN_ERR_IO, "%s: not a regular file%s", path,
                         S_ISDIR(st.st_mode) ? " (a directory)"
                         : S_ISFIFO(st.st_mode) ? " (a FIFO)"
                                                : "");
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size >= SIZE_MAX) {
        close(fd);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: too large (%jd bytes)", path,
                         (intmax_t)st.st_size);
    }
    /* back to blocking reads (regular files ignore the flag anyway) */
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return pcnn_fail(PCNN_ERR_IO, "%s: cannot open: %s", path,
                         strerror(e));
    }
    *out = f;
    if (size)
        *size = (size_t)st.st_size;
    return PCNN_OK;
}
