/*
 * flags.c -- the flag tables of the tool's commands: parsing, --help and
 * the checks that a given flag applies (flags.h).
 */
#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ config fields */

#define CLI_IS_FLOAT_(x) _Generic((x), float: 1, default: 0)
#define CLI_FIELD_ROW_(type, name_, lo_, hi_, old_, flag_, help_)             \
    {#name_,                                                                  \
     flag_,                                                                   \
     help_,                                                                   \
     CLI_IS_FLOAT_(((pcnn_model_config *)0)->name_),                          \
     offsetof(pcnn_model_config, name_),                                      \
     lo_,                                                                     \
     hi_},

const cli_config_field cli_config_fields[] = {
    PCNN_MODEL_CONFIG_FIELDS(CLI_FIELD_ROW_)};
const int cli_config_nfields = CLI_COUNT(cli_config_fields);

double cli_config_value(const pcnn_model_config *c,
                        const cli_config_field *f)
{
    const char *p = (const char *)c + f->offset;
    return f->is_float ? (double)*(const float *)p : (double)*(const int *)p;
}

/* A CLI_CONFIG entry as the flag of its field, in place (an unknown
 * field, or one without a flag, becomes an unlisted heading). */
static void resolve_config(cli_flag *e)
{
    const cli_config_field *f = NULL;
    for (int i = 0; i < cli_config_nfields && !f; i++)
        if (!strcmp(cli_config_fields[i].name, e->name))
            f = &cli_config_fields[i];
    if (!f || !*f->flag) {
        e->kind = CLI_SECTION, e->name = NULL, e->help = NULL;
        return;
    }
    e->name = f->flag;
    e->dst = (char *)e->dst + f->offset;
    e->lo = f->lo, e->hi = f->hi;
    if (f->is_float)
        e->kind = CLI_FLOAT;
    else
        e->kind = f->lo == 0 && f->hi == 1 ? CLI_BOOL : CLI_INT;
    if (!e->arg && e->kind != CLI_BOOL)
        e->arg = f->is_float ? "X" : "N";
    if (!e->help)
        e->help = f->help;
}

static void resolve(cli_cmd *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->flags[i].kind == CLI_CONFIG)
            resolve_config(&p->flags[i]);
}

/* ------------------------------------------------------------- parsing */

int cli_append(cli_flag *out, int n, const cli_flag *f, int k)
{
    for (int i = 0; i < k; i++, n++)
        if (n < CLI_MAX_FLAGS)
            out[n] = f[i];
    return n;
}

int cli_bad_flag(const char *cmd, const char *flag)
{
    fprintf(stderr, "pixelcnn %s: unknown flag %s (see pixelcnn %s --help)\n",
            cmd, flag, cmd);
    return 2;
}

int cli_not_applicable(const char *cmd, const char *flag, const char *why)
{
    fprintf(stderr, "pixelcnn %s: %s does not apply: %s\n", cmd, flag, why);
    return 2;
}

int cli_parse_view(const char *cmd, const char *flag, const char *spec,
                   pcnn_view *v)
{
    pcnn_view r = {0, 0, 0};
    const char *p = spec;
    int ok = *p != 0;
    if (!strcmp(spec, "x")) {
        *v = r;
        return 0;
    }
    while (ok && *p) {
        size_t n = strcspn(p, ",");
        if (n == 4 && !strncmp(p, "half", 4) && !r.gray4 && r.halvings < 6)
            r.halvings++;
        else if (n == 5 && !strncmp(p, "gray4", 5) && !r.gray4 && !r.lab)
            r.gray4 = 1;
        else if (n == 1 && *p == 'L' && p == spec)
            r.lab = PCNN_LAB_L;
        else if (n == 2 && !strncmp(p, "ab", 2) && p == spec)
            r.lab = PCNN_LAB_AB;
        else
            ok = 0;
        p += n;
        if (*p == ',')
            p++, ok = ok && *p;
    }
    if (!ok) {
        fprintf(stderr,
                "pixelcnn %s: %s %s: a view is x, or half repeated then "
                "optionally gray4, comma-separated (half,half,gray4), or "
                "L or ab (Lab) then half repeated (ab,half)\n",
                cmd, flag, spec);
        return 2;
    }
    *v = r;
    return 0;
}

/* 1 when word is one of the space-separated words of list. */
static int one_of(const char *list, const char *word)
{
    const size_t n = strlen(word);
    for (const char *w = list; *w;) {
        size_t k = strcspn(w, " ");
        if (k == n && !strncmp(w, word, n))
            return 1;
        w += k;
        w += *w == ' ';
    }
    return 0;
}

/* "pixelcnn CMD: FLAG V: a, b or c" for the words of e->choices */
static int bad_choice(const char *cmd, const char *flag, const char *v,
                      const char *list)
{
    char words[256] = "";
    size_t len = 0, left = strlen(list);
    for (const char *w = list; *w && len < sizeof words - 8;) {
        size_t k = strcspn(w, " ");
        left -= k + (w[k] == ' ');
        len += (size_t)snprintf(words + len, sizeof words - len, "%s%.*s",
                                w == list ? ""
                                : left ? ", "
                                       : " or ",
                                (int)k, w);
        w += k;
        w += *w == ' ';
    }
    fprintf(stderr, "pixelcnn %s: %s %s: %s\n", cmd, flag, v, words);
    return 2;
}

/* The value s of flag (as typed) into e's destination: 0, or 2 after a
 * message. */
static int read_value(const char *cmd, const cli_flag *e, const char *flag,
                      const char *s)
{
    char *end;
    errno = 0;
    switch (e->kind) {
    case CLI_INT:
    case CLI_LONG:
    case CLI_U64: {
        long v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < e->lo || v > e->hi) {
            fprintf(stderr,
                    "pixelcnn %s: %s %s: expected an integer in %.0f..%.0f\n",
                    cmd, flag, s, e->lo, e->hi);
            return 2;
        }
        if (e->kind == CLI_INT)
            *(int *)e->dst = (int)v;
        else if (e->kind == CLI_LONG)
            *(long *)e->dst = v;
        else
            *(uint64_t *)e->dst = (uint64_t)v;
        return 0;
    }
    case CLI_DOUBLE:
    case CLI_FLOAT: {
        double v = strtod(s, &end);
        int ok = !errno && end != s && !*end;
        if (e->kind == CLI_FLOAT)
            ok = ok && (float)v >= (float)e->lo && (float)v <= (float)e->hi;
        else
            ok = ok && v >= e->lo && v <= e->hi;
        if (!ok) {
            fprintf(stderr,
                    "pixelcnn %s: %s %s: expected a number in %g..%g\n", cmd,
                    flag, s, e->lo, e->hi);
            return 2;
        }
        if (e->kind == CLI_FLOAT)
            *(float *)e->dst = (float)v;
        else
            *(double *)e->dst = v;
        return 0;
    }
    case CLI_CHOICE:
        if (!one_of(e->choices, s))
            return bad_choice(cmd, flag, s, e->choices);
        *(const char **)e->dst = s;
        return 0;
    case CLI_VIEW:
        return cli_parse_view(cmd, flag, s, e->dst);
    default:
        *(const char **)e->dst = s;
        return 0;
    }
}

/* The entry of flag (a name or an alias), or -1. */
static int find(const cli_cmd *p, const char *flag)
{
    for (int i = 0; i < p->n; i++) {
        const cli_flag *e = &p->flags[i];
        if (e->kind == CLI_SECTION || e->kind == CLI_ARGS)
            continue;
        if (!strcmp(e->name, flag) || (e->alias && !strcmp(e->alias, flag)))
            return i;
    }
    return -1;
}

/* An argument that is not a flag: into the CLI_ARGS entry, if any. */
static int positional(cli_cmd *p, const char *arg)
{
    for (int i = 0; i < p->n; i++) {
        cli_flag *e = &p->flags[i];
        if (e->kind != CLI_ARGS)
            continue;
        if (*e->count >= (int)e->hi) {
            fprintf(stderr, "pixelcnn %s: at most %.0f %s\n", p->cmd, e->hi,
                    e->name);
            return 2;
        }
        ((const char **)e->dst)[(*e->count)++] = arg;
        p->given[i] = 1;
        return 0;
    }
    return cli_bad_flag(p->cmd, arg);
}

static int check_required(const cli_cmd *p)
{
    for (int i = 0; i < p->n; i++) {
        const cli_flag *e = &p->flags[i];
        if (e->required && !p->given[i]) {
            fprintf(stderr, "pixelcnn %s: %s%s%s is required\n", p->cmd,
                    e->name, e->arg ? " " : "", e->arg ? e->arg : "");
            return 2;
        }
    }
    return 0;
}

/* 1 when --help or -h is among the flags of argv (not a flag's value):
 * the help then, with the defaults, whatever else is there. */
static int wants_help(const cli_cmd *p, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
        const int k = find(p, argv[i]);
        if (k >= 0 && p->flags[k].kind != CLI_BOOL)
            i++;
    }
    return 0;
}

int cli_parse(cli_cmd *p, int argc, char **argv)
{
    if (p->n > CLI_MAX_FLAGS) {
        fprintf(stderr, "pixelcnn %s: more than %d flags\n", p->cmd,
                CLI_MAX_FLAGS);
        return 1;
    }
    resolve(p);
    memset(p->given, 0, sizeof p->given);
    if (wants_help(p, argc, argv)) {
        cli_help(p, stdout);
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (f[0] != '-' || !f[1]) {
            int rc = positional(p, f);
            if (rc)
                return rc;
            continue;
        }
        const int k = find(p, f);
        if (k < 0)
            return cli_bad_flag(p->cmd, f);
        const cli_flag *e = &p->flags[k];
        p->given[k] = 1; /* given again: the last value holds */
        if (e->kind == CLI_BOOL) {
            *(int *)e->dst = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "pixelcnn %s: %s needs a value\n", p->cmd, f);
            return 2;
        }
        int rc = read_value(p->cmd, e, f, argv[++i]);
        if (rc)
            return rc;
    }
    return check_required(p);
}

int cli_given(const cli_cmd *p, const char *name)
{
    for (int i = 0; i < p->n; i++) {
        const cli_flag *e = &p->flags[i];
        if (e->kind != CLI_SECTION && !strcmp(e->name, name))
            return p->given[i];
    }
    return 0;
}

/* 1 when one of the "|"-separated flags of list was given. */
static int any_given(const cli_cmd *p, const char *list)
{
    char name[64];
    for (const char *w = list; *w;) {
        size_t k = strcspn(w, "|");
        snprintf(name, sizeof name, "%.*s", (int)k, w);
        if (cli_given(p, name))
            return 1;
        w += k;
        w += *w == '|';
    }
    return 0;
}

int cli_check(cli_cmd *p)
{
    for (int i = 0; i < p->n; i++) {
        const cli_flag *e = &p->flags[i];
        if (!p->given[i] || e->kind == CLI_ARGS)
            continue;
        if ((e->needs && !any_given(p, e->needs)) ||
            (e->conflicts && any_given(p, e->conflicts)) ||
            (e->applies && !e->applies(e->ctx)))
            return cli_not_applicable(p->cmd, e->name, e->why);
    }
    return 0;
}

int cli_never(const void *ctx)
{
    (void)ctx;
    return 0;
}

int cli_is_folder_data(const void *ctx)
{
    const char *spec = *(const char *const *)ctx;
    return spec && !strncmp(spec, "folder:", 7);
}

int cli_not_npy(const void *ctx)
{
    const char *path = *(const char *const *)ctx;
    const size_t n = path ? strlen(path) : 0;
    return n < 4 || strcmp(path + n - 4, ".npy");
}

/* ---------------------------------------------------------------- help */

#define HELP_WIDTH 78

/* " (default V)" for e's destination, or "" */
static void default_str(const cli_flag *e, char *buf, size_t n)
{
    *buf = 0;
    if (!e->show_default)
        return;
    char v[96] = "";
    switch (e->kind) {
    case CLI_INT:
        snprintf(v, sizeof v, "%d", *(const int *)e->dst);
        break;
    case CLI_LONG:
        snprintf(v, sizeof v, "%ld", *(const long *)e->dst);
        break;
    case CLI_U64:
        snprintf(v, sizeof v, "%llu",
                 (unsigned long long)*(const uint64_t *)e->dst);
        break;
    case CLI_DOUBLE:
        snprintf(v, sizeof v, "%g", *(const double *)e->dst);
        break;
    case CLI_FLOAT:
        snprintf(v, sizeof v, "%g", (double)*(const float *)e->dst);
        break;
    case CLI_VIEW:
        pcnn_view_str(e->dst, v, sizeof v);
        break;
    case CLI_STRING:
    case CLI_CHOICE:
        if (*(const char *const *)e->dst)
            snprintf(v, sizeof v, "%s", *(const char *const *)e->dst);
        break;
    default:
        break;
    }
    if (*v)
        snprintf(buf, n, " (default %s)", v);
}

/* The words of s[0 .. len), the cursor at column x, wrapped at
 * HELP_WIDTH onto lines that start at column start. */
static void wrap_words(FILE *f, const char *s, size_t len, int start, int x)
{
    const char *end = s + len;
    while (s < end) {
        if (*s == ' ') {
            s++;
            continue;
        }
        int n = 0;
        while (s + n < end && s[n] != ' ')
            n++;
        if (x > start && x + 1 + n > HELP_WIDTH) {
            fprintf(f, "\n%*s", start, "");
            x = start;
        } else if (x > start) {
            fputc(' ', f);
            x++;
        }
        fprintf(f, "%.*s", n, s);
        x += n;
        s += n;
    }
}

/* text from column col on, the first line where the cursor is (column
 * at). A '\n' in text starts a new line, indented by the spaces after
 * it; a line that fits is printed as it is (its spaces kept), a longer
 * one wrapped at HELP_WIDTH. */
static void wrap(FILE *f, const char *text, int col, int at)
{
    for (const char *s = text;;) {
        size_t len = strcspn(s, "\n");
        int x = at;
        if (s != text) {
            int indent = (int)strspn(s, " ");
            s += indent, len -= (size_t)indent;
            x = col + indent;
            fprintf(f, "%*s", x, "");
        }
        if (x + (int)len <= HELP_WIDTH)
            fprintf(f, "%.*s", (int)len, s);
        else
            wrap_words(f, s, len, x == at ? col : x, x);
        s += len;
        if (!*s)
            break;
        s++;
        fputc('\n', f);
    }
    fputc('\n', f);
}

/* "  NAME[, ALIAS][ ARG]" of e into buf */
static int left_str(const cli_flag *e, char *buf, size_t n)
{
    return snprintf(buf, n, "  %s%s%s%s%s",
                    e->kind == CLI_ARGS ? "" : e->name,
                    e->alias ? ", " : "", e->alias ? e->alias : "",
                    e->arg && e->kind != CLI_ARGS ? " " : "",
                    e->arg ? e->arg : "");
}

void cli_help(cli_cmd *p, FILE *f)
{
    resolve(p);
    char left[128], def[128], text[2048];
    int col = 0;
    for (int i = 0; i < p->n; i++) {
        if (p->flags[i].kind == CLI_SECTION || !p->flags[i].help)
            continue;
        int w = left_str(&p->flags[i], left, sizeof left);
        col = w > col ? w : col;
    }
    col = col + 2 > 24 ? 24 : col + 2;
    fputs(p->usage, f);
    fputc('\n', f);
    for (int i = 0; i < p->n; i++) {
        const cli_flag *e = &p->flags[i];
        if (!e->help)
            continue;
        if (e->kind == CLI_SECTION) {
            wrap(f, e->help, 0, 0);
            continue;
        }
        int w = left_str(e, left, sizeof left);
        fputs(left, f);
        if (w + 1 > col) {
            fputc('\n', f);
            fprintf(f, "%*s", col, "");
        } else {
            fprintf(f, "%*s", col - w, "");
        }
        default_str(e, def, sizeof def);
        snprintf(text, sizeof text, "%s%s", e->help, def);
        wrap(f, text, col, col);
    }
    if (p->epilog) {
        fputc('\n', f);
        fputs(p->epilog, f);
    }
}
