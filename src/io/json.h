/*
 * json.h -- a minimal, strict JSON (RFC 8259) parser for file headers.
 *
 * The parser reads a whole document from a byte buffer into a tree of
 * values owned by one pcnn_json_doc. It is strict where JSON is strict and
 * a little stricter where a file header has no use for leniency:
 *   - the input must be valid UTF-8 (no overlong forms, no surrogates,
 *     nothing above U+10FFFF); control characters inside strings must be
 *     escaped; \u escapes must pair surrogates correctly;
 *   - numbers follow the JSON grammar exactly (no leading zeros, no "+",
 *     no bare "." or "e") and may be at most 256 characters long;
 *   - nesting deeper than PCNN_JSON_MAX_DEPTH is rejected (the recursion
 *     is bounded, so hostile input cannot exhaust the stack);
 *   - anything but whitespace after the top-level value is rejected.
 * Duplicate object keys are kept (JSON allows them); callers that need
 * unique keys check for themselves.
 *
 * Errors: PCNN_ERR_FORMAT with a one-line message such as
 *   "model.safetensors: invalid JSON at byte 17: expected ':'"
 * and PCNN_ERR_NOMEM when memory runs out. Nothing is printed.
 */
#ifndef PCNN_IO_JSON_H
#define PCNN_IO_JSON_H

#include "pixelcnn.h"

#include <stddef.h>
#include <stdint.h>

#define PCNN_JSON_MAX_DEPTH 64

typedef enum {
    PCNN_JSON_NULL = 0,
    PCNN_JSON_FALSE,
    PCNN_JSON_TRUE,
    PCNN_JSON_NUMBER,
    PCNN_JSON_STRING,
    PCNN_JSON_ARRAY,
    PCNN_JSON_OBJECT
} pcnn_json_type;

/* One value of the tree. Read-only for callers; all pointers are owned by
 * the document and live until pcnn_json_free. */
typedef struct pcnn_json {
    pcnn_json_type type;
    /* A member of an object: its key, decoded and NUL-terminated (it may
     * contain NUL bytes itself: key_len is the true length). Else NULL. */
    const char *key;
    size_t key_len;
    /* STRING: the decoded UTF-8 text, NUL-terminated; len as for key. */
    const char *str;
    size_t len;
    /* NUMBER: the value as a double (exact for integers up to 2^53, else
     * within a few ulps; the conversion does not depend on the locale).
     * is_int is 1 when the literal has no fraction and no exponent and
     * fits in int64_t; then ival holds it exactly. */
    double num;
    int is_int;
    int64_t ival;
    /* ARRAY / OBJECT: the number of elements or members, the first of
     * them, and for every value its next sibling (NULL after the last). */
    size_t count;
    const struct pcnn_json *child;
    const struct pcnn_json *next;
} pcnn_json;

typedef struct pcnn_json_doc pcnn_json_doc;

/* Parses text[0..len) (need not be NUL-terminated) into *out, to be freed
 * with pcnn_json_free. `what` names the input in error messages (e.g. a
 * file name); it is not kept. On failure *out is NULL. */
pcnn_status pcnn_json_parse(const char *text, size_t len, const char *what,
                            pcnn_json_doc **out);
void pcnn_json_free(pcnn_json_doc *doc);

/* The top-level value of a parsed document. */
const pcnn_json *pcnn_json_root(const pcnn_json_doc *doc);

/* The first member of object `obj` whose key equals the NUL-terminated
 * `key`, or NULL (also when obj is not an object). */
const pcnn_json *pcnn_json_get(const pcnn_json *obj, const char *key);

/* 1 when s[0..n) is valid UTF-8 by the rules above, else 0. */
int pcnn_json_utf8_valid(const char *s, size_t n);

#endif
