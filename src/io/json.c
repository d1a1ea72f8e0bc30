/*
 * json.c -- see json.h. A recursive-descent parser over a byte buffer.
 *
 * Memory: values are allocated from blocks of NODE_BLOCK nodes (so their
 * addresses never move while the tree grows), decoded strings from one
 * pool of len + 1 bytes. That pool always suffices: a string of r raw
 * bytes between its quotes decodes to at most r bytes (every escape is
 * at least as long as the UTF-8 it stands for) plus a NUL, which is less
 * than the r + 2 bytes it occupies in the input.
 */
#include "json.h"
#include "../core/internal.h"

#include <math.h>
#include <string.h>

#define NODE_BLOCK 256
#define MAX_NUMBER_CHARS 256

typedef struct node_block {
    struct node_block *next;
    size_t used;
    pcnn_json nodes[NODE_BLOCK];
} node_block;

struct pcnn_json_doc {
    node_block *blocks;
    char *pool;
    size_t pool_used, pool_cap;
    const pcnn_json *root;
};

typedef struct {
    const unsigned char *s;
    size_t n, i;
    const char *what;
    pcnn_json_doc *doc;
} parser;

/* Records "<what>: invalid JSON at byte <at>: <msg>". */
static pcnn_status perr(const parser *p, size_t at, const char *msg)
{
    return pcnn_fail(PCNN_ERR_FORMAT, "%s: invalid JSON at byte %zu: %s",
                     p->what, at, msg);
}

static pcnn_json *new_node(parser *p)
{
    node_block *b = p->doc->blocks;
    if (!b || b->used == NODE_BLOCK) {
        b = calloc(1, sizeof *b);
        if (!b) {
            pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory parsing JSON",
                      p->what);
            return NULL;
        }
        b->next = p->doc->blocks;
        p->doc->blocks = b;
    }
    return &b->nodes[b->used++];
}

static void skip_ws(parser *p)
{
    while (p->i < p->n) {
        unsigned char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->i++;
    }
}

/* The length of the valid UTF-8 sequence at s[0..n), or 0 if there is
 * none (Unicode 15, table 3-7: well-formed byte sequences). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    const unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c == 0xE0)
        len = 3, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        len = 3;
    else if (c == 0xED)
        len = 3, hi = 0x9F; /* no UTF-16 surrogates */
    else if (c == 0xF0)
        len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        len = 4;
    else if (c == 0xF4)
        len = 4, hi = 0x8F; /* nothing above U+10FFFF */
    else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return len;
}

int pcnn_json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

static int hex4(const unsigned char *s, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned c = s[k], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads the \u escape at s[i] ('\\' 'u' XXXX, and a second one for a
 * surrogate pair) into *cp; advances p->i past it. */
static pcnn_status unicode_escape(parser *p, unsigned *cp)
{
    const size_t at = p->i;
    unsigned hi, lo;
    if (p->n - p->i < 6 || !hex4(p->s + p->i + 2, &hi))
        return perr(p, at, "\\u must be followed by 4 hex digits");
    p->i += 6;
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return perr(p, at, "lone low surrogate in \\u escape");
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = hi;
        return PCNN_OK;
    }
    if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
        !hex4(p->s + p->i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return perr(p, at, "high surrogate not followed by a low one");
    p->i += 6;
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return PCNN_OK;
}

/* Parses the string starting at the '"' at p->i into the pool. */
static pcnn_status parse_string(parser *p, const char **out, size_t *len)
{
    pcnn_json_doc *d = p->doc;
    char *o = d->pool + d->pool_used;
    size_t k = 0;
    const size_t start = p->i++;
    for (;;) {
        if (p->i >= p->n)
            return perr(p, start, "unterminated string");
        const unsigned char c = p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20)
            return perr(p, p->i, "control character in string");
        if (c != '\\') {
            size_t m = utf8_seq(p->s + p->i, p->n - p->i);
            if (!m)
                return perr(p, p->i, "invalid UTF-8 in string");
            memcpy(o + k, p->s + p->i, m);
            k += m, p->i += m;
            continue;
        }
        if (p->i + 1 >= p->n)
            return perr(p, start, "unterminated string");
        const unsigned char e = p->s[p->i + 1];
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(from, e) : NULL;
        if (hit) {
            o[k++] = to[hit - from];
            p->i += 2;
        } else if (e == 'u') {
            unsigned cp = 0;
            pcnn_status s = unicode_escape(p, &cp);
            if (s != PCNN_OK)
                return s;
            k += put_utf8(o + k, cp);
        } else {
            return perr(p, p->i, "invalid escape in string");
        }
    }
    o[k] = '\0';
    PCNN_ASSERT(d->pool_used + k + 1 <= d->pool_cap);
    d->pool_used += k + 1;
    *out = o;
    *len = k;
    return PCNN_OK;
}

/* m * 10^e as a double: one rounding when m < 2^53 and |e| <= 22, else
 * within a few ulps. */
static double scale10(uint64_t m, long e)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                 1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
                                 1e18, 1e19, 1e20, 1e21, 1e22};
    const double v = (double)m;
    if (m == 0)
        return 0.0;
    if (m < (UINT64_C(1) << 53) && e >= -22 && e <= 22)
        return e >= 0 ? v * p10[e] : v / p10[-e];
    if (e < -300) /* keep pow() away from underflow before the product */
        return v * pow(10.0, (double)(e + 300)) * 1e-300;
    return v * pow(10.0, (double)e);
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Parses the number at p->i into v (JSON grammar, see json.h). */
static pcnn_status parse_number(parser *p, pcnn_json *v)
{
    const unsigned char *s = p->s;
    const size_t start = p->i, n = p->n;
    size_t i = p->i;
    int neg = 0, integral = 1;
    uint64_t mant = 0, ival = 0;
    int digits = 0, ival_overflow = 0;
    long exp10 = 0;
    if (s[i] == '-')
        neg = 1, i++;
    if (i >= n || !is_digit(s[i]))
        return perr(p, start, "invalid number");
    if (s[i] == '0' && i + 1 < n && is_digit(s[i + 1]))
        return perr(p, start, "invalid number (leading zero)");
    for (; i < n && is_digit(s[i]); i++) {
        const unsigned d = s[i] - '0';
        if (ival > (UINT64_MAX - d) / 10)
            ival_overflow = 1;
        else
            ival = ival * 10 + d;
        if (digits < 19) {
            mant = mant * 10 + d;
            digits += mant != 0;
        } else {
            exp10++;
        }
    }
    if (i < n && s[i] == '.') {
        integral = 0;
        if (++i >= n || !is_digit(s[i]))
            return perr(p, start, "invalid number (digit expected after .)");
        for (; i < n && is_digit(s[i]); i++)
            if (digits < 19) {
                mant = mant * 10 + (unsigned)(s[i] - '0');
                digits += mant != 0;
                exp10--;
            }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integral = 0;
        int eneg = 0;
        long e = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= n || !is_digit(s[i]))
            return perr(p, start, "invalid number (digit expected in "
                                  "exponent)");
        for (; i < n && is_digit(s[i]); i++)
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        exp10 += eneg ? -e : e;
    }
    if (i - start > MAX_NUMBER_CHARS)
        return perr(p, start, "number longer than 256 characters");
    const double mag = scale10(mant, exp10);
    if (isinf(mag))
        return perr(p, start, "number out of the range of a double");
    v->type = PCNN_JSON_NUMBER;
    v->num = neg ? -mag : mag;
    if (integral && !ival_overflow &&
        ival <= (uint64_t)INT64_MAX + (uint64_t)neg) {
        v->is_int = 1;
        v->ival = neg ? (int64_t)(0 - ival) : (int64_t)ival;
    }
    p->i = i;
    return PCNN_OK;
}

static pcnn_status parse_value(parser *p, pcnn_json *v, int depth);

/* Parses the elements (close = ']') or members (close = '}') after the
 * opening bracket at p->i. */
static pcnn_status parse_container(parser *p, pcnn_json *v, int depth,
                                   unsigned char close)
{
    const int object = close == '}';
    const pcnn_json **tail = &v->child;
    const size_t open_at = p->i;
    v->type = object ? PCNN_JSON_OBJECT : PCNN_JSON_ARRAY;
    if (depth >= PCNN_JSON_MAX_DEPTH)
        return perr(p, open_at, "nesting deeper than 64 levels");
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return PCNN_OK;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        skip_ws(p);
        if (object) {
            if (p->i >= p->n || p->s[p->i] != '"')
                return perr(p, p->i, "expected a string key");
            pcnn_status s = parse_string(p, &key, &key_len);
            if (s != PCNN_OK)
                return s;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':')
                return perr(p, p->i, "expected ':' after an object key");
            p->i++;
        }
        pcnn_json *c = new_node(p);
        if (!c)
            return PCNN_ERR_NOMEM;
        c->key = key;
        c->key_len = key_len;
        pcnn_status s = parse_value(p, c, depth + 1);
        if (s != PCNN_OK)
            return s;
        *tail = c;
        tail = &c->next;
        v->count++;
        skip_ws(p);
        if (p->i >= p->n)
            return perr(p, open_at, object ? "unterminated object"
                                           : "unterminated array");
        if (p->s[p->i] == close) {
            p->i++;
            return PCNN_OK;
        }
        if (p->s[p->i] != ',')
            return perr(p, p->i, object ? "expected ',' or '}'"
                                        : "expected ',' or ']'");
        p->i++;
    }
}

static pcnn_status parse_literal(parser *p, pcnn_json *v, const char *word,
                                 pcnn_json_type t)
{
    const size_t len = strlen(word);
    if (p->n - p->i < len || memcmp(p->s + p->i, word, len) != 0)
        return perr(p, p->i, "invalid literal");
    p->i += len;
    v->type = t;
    return PCNN_OK;
}

/* Parses one value at p->i (after whitespace) into v. depth counts the
 * containers around v. */
static pcnn_status parse_value(parser *p, pcnn_json *v, int depth)
{
    skip_ws(p);
    if (p->i >= p->n)
        return perr(p, p->i, "unexpected end of input");
    const unsigned char c = p->s[p->i];
    switch (c) {
    case '{':
        return parse_container(p, v, depth, '}');
    case '[':
        return parse_container(p, v, depth, ']');
    case '"':
        v->type = PCNN_JSON_STRING;
        return parse_string(p, &v->str, &v->len);
    case 't':
        return parse_literal(p, v, "true", PCNN_JSON_TRUE);
    case 'f':
        return parse_literal(p, v, "false", PCNN_JSON_FALSE);
    case 'n':
        return parse_literal(p, v, "null", PCNN_JSON_NULL);
    default:
        if (c == '-' || is_digit(c))
            return parse_number(p, v);
        return perr(p, p->i, "unexpected character");
    }
}

pcnn_status pcnn_json_parse(const char *text, size_t len, const char *what,
                            pcnn_json_doc **out)
{
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_json_parse: out is NULL");
    *out = NULL;
    if (!what)
        what = "JSON";
    if (!text && len)
        return pcnn_fail(PCNN_ERR_ARG, "%s: JSON text is NULL", what);
    if (len == SIZE_MAX)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: JSON text too large", what);
    pcnn_json_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", what);
    doc->pool_cap = len + 1;
    doc->pool = malloc(doc->pool_cap);
    if (!doc->pool) {
        free(doc);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory for %zu bytes "
                                         "of JSON",
                         what, len);
    }
    parser p = {(const unsigned char *)text, len, 0, what, doc};
    pcnn_status s = PCNN_ERR_NOMEM;
    pcnn_json *root = new_node(&p);
    if (root)
        s = parse_value(&p, root, 0);
    if (s == PCNN_OK) {
        skip_ws(&p);
        if (p.i != p.n)
            s = perr(&p, p.i, "unexpected data after the top-level value");
    }
    if (s != PCNN_OK) {
        pcnn_json_free(doc);
        return s;
    }
    doc->root = root;
    *out = doc;
    return PCNN_OK;
}

void pcnn_json_free(pcnn_json_doc *doc)
{
    if (!doc)
        return;
    node_block *b = doc->blocks;
    while (b) {
        node_block *next = b->next;
        free(b);
        b = next;
    }
    free(doc->pool);
    free(doc);
}

const pcnn_json *pcnn_json_root(const pcnn_json_doc *doc)
{
    return doc ? doc->root : NULL;
}

const pcnn_json *pcnn_json_get(const pcnn_json *obj, const char *key)
{
    if (!obj || obj->type != PCNN_JSON_OBJECT || !key)
        return NULL;
    const size_t n = strlen(key);
    for (const pcnn_json *m = obj->child; m; m = m->next)
        if (m->key_len == n && memcmp(m->key, key, n) == 0)
            return m;
    return NULL;
}
