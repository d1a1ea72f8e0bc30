/* status.c -- status names and the per-thread last error message. */
#include "internal.h"

#include <stdarg.h>
#include <string.h>

static _Thread_local char last_error[512];

const char *pcnn_status_str(pcnn_status s)
{
    switch (s) {
    case PCNN_OK: return "ok";
    case PCNN_ERR_ARG: return "bad argument";
    case PCNN_ERR_SHAPE: return "shape mismatch";
    case PCNN_ERR_VALUE: return "value out of range";
    case PCNN_ERR_NOMEM: return "out of memory";
    case PCNN_ERR_IO: return "i/o error";
    case PCNN_ERR_FORMAT: return "malformed file";
    case PCNN_ERR_UNSUPPORTED: return "unsupported";
    case PCNN_ERR_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

const char *pcnn_last_error(void) { return last_error; }

/* The message is formatted into a temporary first: callers may pass
 * pcnn_last_error() itself as an argument ("%s: %s", path,
 * pcnn_last_error()), and vsnprintf into the buffer it reads from would
 * garble it. Control characters (a newline in a path, say) become '?' so
 * the message stays one line. */
pcnn_status pcnn_fail(pcnn_status s, const char *fmt, ...)
{
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    memcpy(last_error, msg, sizeof msg);
    return s;
}

size_t pcnn_mul_size(size_t a, size_t b, int *overflow)
{
    if (b != 0 && a > SIZE_MAX / b) {
        *overflow = 1;
        return 0;
    }
    return a * b;
}
