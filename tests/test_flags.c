/*
 * test_flags.c -- the tool's flag tables (tools/flags.c), called directly:
 * parsing (unknown flags, missing and out-of-range values, repeated
 * flags, arguments), --help generated from the table, the rules of when
 * a flag applies, and the model config fields declared once
 * (PCNN_MODEL_CONFIG_FIELDS) as flags, as checkpoint keys and as the
 * ranges pcnn_model_create checks.
 */
#include "test.h"
#include "ckpt_edit.h"
#include "data_util.h"
#include "io/safetensors.h"
#include "pixelcnn.h"
#include "../tools/flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a parse printed on stdout and stderr (the file descriptors, so
 * whatever the parser writes), into a static buffer. */
static char printed[16384];
static int saved_fd[2] = {-1, -1};

static FILE *capture_file;

static void capture(void)
{
    fflush(stdout), fflush(stderr);
    capture_file = tmpfile();
    if (!capture_file) {
        test_fail(__FILE__, __LINE__, "cannot make a temporary file");
        return;
    }
    for (int k = 0; k < 2; k++) {
        saved_fd[k] = dup(1 + k);
        dup2(fileno(capture_file), 1 + k);
    }
}

static const char *captured(void)
{
    fflush(stdout), fflush(stderr);
    printed[0] = 0;
    if (!capture_file)
        return printed;
    ssize_t n = pread(fileno(capture_file), printed, sizeof printed - 1, 0);
    printed[n > 0 ? n : 0] = 0;
    for (int k = 0; k < 2; k++) {
        dup2(saved_fd[k], 1 + k);
        close(saved_fd[k]);
        saved_fd[k] = -1;
    }
    fclose(capture_file);
    capture_file = NULL;
    return printed;
}

/* A table of one flag of each kind and its destinations. */
typedef struct {
    int i, b, b2, nargs;
    long l;
    uint64_t u;
    double d;
    float f;
    const char *s, *c, *args[3];
    pcnn_view v;
    pcnn_model_config cfg;
    cli_flag flags[16];
    cli_cmd p;
} table;

static int applies_if_i_positive(const void *ctx)
{
    return *(const int *)ctx > 0;
}

static void table_init(table *t)
{
    memset(t, 0, sizeof *t);
    t->i = 7, t->d = 0.5, t->s = "out.png", t->c = "test";
    t->cfg = pcnn_model_config_default();
    const cli_flag f[] = {
        CLI_SECTION_F("numbers:"),
        CLI_INT_F("--int", &t->i, -5, 100, "N", "an int", .show_default = 1),
        CLI_LONG_F("--long", &t->l, 1, 2000000000, "N", "a long",
                   .alias = "-l"),
        CLI_U64_F("--u64", &t->u, 0, 1000, "N", "a seed"),
        CLI_DOUBLE_F("--double", &t->d, 0.25, 0.75, "X", "a double",
                     .show_default = 1),
        CLI_FLOAT_F("--float", &t->f, 0, 0.99, "X", "a float"),
        CLI_SECTION_F("words:"),
        CLI_STRING_F("-o", &t->s, "FILE", "a file", .show_default = 1),
        CLI_CHOICE_F("--split", &t->c, "train test val", "S", "a split",
                     .show_default = 1),
        CLI_VIEW_F("--view", &t->v, "V", "a view",
                   .conflicts = "--never|-o", .why = "-o is given"),
        CLI_BOOL_F("--flag", &t->b, "a switch", .needs = "--int|--long",
                   .why = "it needs a number"),
        CLI_BOOL_F("--pos", &t->b2, "applies when --int > 0",
                   .applies = applies_if_i_positive, .ctx = &t->i,
                   .why = "--int is not positive"),
        CLI_CONFIG_F(nr_resnet, &t->cfg, .show_default = 1),
        CLI_CONFIG_F(cond_dilate, &t->cfg),
        CLI_INT_F("--hidden", &t->i, 0, 1, "N", NULL, .applies = cli_never,
                  .why = "never here"),
        CLI_ARGS_F("files", t->args, &t->nargs, 3, "FILE ...",
                   "input files"),
    };
    memcpy(t->flags, f, sizeof f);
    t->p = (cli_cmd){.cmd = "t", .usage = "usage: pixelcnn t [flags]\n",
                     .epilog = "the end\n", .flags = t->flags,
                     .n = CLI_COUNT(f)};
}

/* cli_parse (then cli_check when it succeeds) on the arguments of
 * line, split at spaces; what it printed in printed. */
static int parse_line(table *t, const char *line)
{
    static char buf[1024];
    char *argv[64] = {"t"};
    int argc = 1;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *tok = strtok(buf, " "); tok && argc < 63;
         tok = strtok(NULL, " "))
        argv[argc++] = tok;
    capture();
    int rc = cli_parse(&t->p, argc, argv);
    if (rc == 0)
        rc = cli_check(&t->p);
    captured();
    return rc;
}

TEST(flags_parse_values_into_their_destinations)
{
    table t;
    table_init(&t);
    int rc = parse_line(&t, "--int -5 -l 2000000000 --u64 1000 --double "
                            "0.75 --float 0.99 --split val --view "
                            "half,gray4 --flag --nr-resnet 64 --cond-dilate "
                            "a b");
    CHECK(rc == 0 && !printed[0], "rc %d: %s", rc, printed);
    CHECK(t.i == -5 && t.l == 2000000000 && t.u == 1000 && t.d == 0.75 &&
              t.f == 0.99f,
          "numbers %d %ld %llu %g %g", t.i, t.l, (unsigned long long)t.u,
          t.d, (double)t.f);
    CHECK(!strcmp(t.s, "out.png") && !strcmp(t.c, "val"), "words %s %s",
          t.s, t.c);
    CHECK(t.v.halvings == 1 && t.v.gray4 == 1, "view %d %d", t.v.halvings,
          t.v.gray4);
    CHECK(t.b == 1 && t.cfg.nr_resnet == 64 && t.cfg.cond_dilate == 1,
          "bool %d, config %d %d", t.b, t.cfg.nr_resnet, t.cfg.cond_dilate);
    CHECK(t.nargs == 2 && !strcmp(t.args[0], "a") && !strcmp(t.args[1], "b"),
          "%d arguments", t.nargs);
    CHECK(cli_given(&t.p, "--long") && cli_given(&t.p, "--nr-resnet") &&
              !cli_given(&t.p, "--pos"),
          "given");
    table_init(&t);
    CHECK(parse_line(&t, "-o x.npy") == 0 && !strcmp(t.s, "x.npy"), "-o %s",
          t.s);
    /* the others keep their defaults */
    table_init(&t);
    CHECK(parse_line(&t, "") == 0 && t.i == 7 && t.d == 0.5 &&
              t.cfg.nr_resnet == 5 && !strcmp(t.c, "test") && t.nargs == 0,
          "defaults: %s", printed);
}

TEST(flags_bad_usage_is_one_line_and_2)
{
    static const char *cases[][2] = {
        {"--nope",
         "pixelcnn t: unknown flag --nope (see pixelcnn t --help)\n"},
        {"--int", "pixelcnn t: --int needs a value\n"},
        {"-o", "pixelcnn t: -o needs a value\n"},
        {"--int 101",
         "pixelcnn t: --int 101: expected an integer in -5..100\n"},
        {"--int 5x", "pixelcnn t: --int 5x: expected an integer in -5..100\n"},
        {"-l 0", "pixelcnn t: -l 0: expected an integer in 1..2000000000\n"},
        {"--u64 -1", "pixelcnn t: --u64 -1: expected an integer in 0..1000\n"},
        {"--double nan", "pixelcnn t: --double nan: expected a number in "
                         "0.25..0.75\n"},
        {"--double 0.8", "pixelcnn t: --double 0.8: expected a number in "
                         "0.25..0.75\n"},
        {"--float 0.995", "pixelcnn t: --float 0.995: expected a number in "
                          "0..0.99\n"},
        {"--split dev", "pixelcnn t: --split dev: train, test or val\n"},
        /* the config field's flag, with the field's range */
        {"--nr-resnet 65", "pixelcnn t: --nr-resnet 65: expected an "
                           "integer in 1..64\n"},
        {"a b c d", "pixelcnn t: at most 3 files\n"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        table t;
        table_init(&t);
        int rc = parse_line(&t, cases[k][0]);
        CHECK(rc == 2 && !strcmp(printed, cases[k][1]),
              "%s: rc %d, printed \"%s\", want \"%s\"", cases[k][0], rc,
              printed, cases[k][1]);
    }
    /* a view that is not one names the command and the flag */
    table t;
    table_init(&t);
    CHECK(parse_line(&t, "--view half,gray4,half") == 2 &&
              !strncmp(printed, "pixelcnn t: --view half,gray4,half: a view",
                       41),
          "bad view: %s", printed);
    /* a value out of range leaves the default */
    table_init(&t);
    CHECK(parse_line(&t, "--int 1000") == 2 && t.i == 7, "--int %d", t.i);
    /* without a CLI_ARGS entry, an argument is an unknown flag */
    table_init(&t);
    t.p.n--;
    CHECK(parse_line(&t, "a") == 2 && strstr(printed, "unknown flag a"),
          "an argument: %s", printed);
}

TEST(flags_repeated_flag_keeps_the_last_value)
{
    table t;
    table_init(&t);
    int rc = parse_line(&t, "--int 3 --int 4 --nr-resnet 2 --nr-resnet 9 "
                            "--flag --flag");
    CHECK(rc == 0 && t.i == 4 && t.cfg.nr_resnet == 9 && t.b == 1,
          "rc %d: --int %d, --nr-resnet %d: %s", rc, t.i, t.cfg.nr_resnet,
          printed);
    /* a bad repeat is still an error */
    table_init(&t);
    CHECK(parse_line(&t, "--int 3 --int x") == 2 && t.i == 3,
          "--int 3 --int x: %d", t.i);
}

TEST(flags_not_applicable_rules)
{
    static const struct {
        const char *line;
        int rc;
        const char *says;
    } cases[] = {
        {"--flag", 2, "pixelcnn t: --flag does not apply: it needs a "
                      "number\n"},
        {"--flag --long 3", 0, ""},
        {"--flag --int 3", 0, ""},
        {"--view x", 0, ""},
        {"--view x -o y.png", 2, "pixelcnn t: --view does not apply: -o is "
                                 "given\n"},
        {"--pos", 0, ""},
        {"--pos --int 0", 2, "pixelcnn t: --pos does not apply: --int is not "
                             "positive\n"},
        {"--hidden 1", 2, "pixelcnn t: --hidden does not apply: never "
                          "here\n"},
        /* the first in table order */
        {"--pos --int -1 --view x -o z", 2, "pixelcnn t: --view does not "
                                            "apply: -o is given\n"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        table t;
        table_init(&t);
        int rc = parse_line(&t, cases[k].line);
        CHECK(rc == cases[k].rc && !strcmp(printed, cases[k].says),
              "%s: rc %d, printed \"%s\"", cases[k].line, rc, printed);
    }
    /* required flags, after the parse */
    table t;
    table_init(&t);
    t.flags[2].required = 1; /* --long */
    CHECK(parse_line(&t, "--int 1") == 2 &&
              !strcmp(printed, "pixelcnn t: --long N is required\n"),
          "required: %s", printed);
}

/* 1 when line (a whole line) is in text */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

TEST(flags_help_lists_every_entry)
{
    table t;
    table_init(&t);
    CHECK(parse_line(&t, "--int 3 -h --nope") == -1, "-h: not -1");
    static char help[16384];
    snprintf(help, sizeof help, "%s", printed);
    CHECK(!strncmp(help, "usage: pixelcnn t [flags]\n\n", 27), "%s", help);
    int listed = 0;
    for (int k = 0; k < t.p.n; k++) {
        const cli_flag *e = &t.flags[k];
        if (!e->help)
            continue;
        char want[128];
        if (e->kind == CLI_SECTION)
            snprintf(want, sizeof want, "\n%s\n", e->help);
        else if (e->kind == CLI_ARGS)
            snprintf(want, sizeof want, "\n  %s ", e->arg);
        else
            snprintf(want, sizeof want, "\n  %s%s%s%s%s ", e->name,
                     e->alias ? ", " : "", e->alias ? e->alias : "",
                     e->arg ? " " : "", e->arg ? e->arg : "");
        CHECK(strstr(help, want) != NULL, "help lacks \"%s\":\n%s", want,
              help);
        CHECK(strstr(help, e->help) != NULL, "help lacks \"%s\"", e->help);
        listed++;
    }
    CHECK(listed == t.p.n - 1, "%d of %d entries have help", listed, t.p.n);
    CHECK(!strstr(help, "--hidden"), "a hidden flag is listed");
    /* the defaults (-h wins over the flags around it: --int 3 is not
     * parsed, --nope not refused), the config field's help, the epilog */
    CHECK(has_line(help, "  --int N        an int (default 7)") &&
              t.i == 7,
          "--int line:\n%s", help);
    CHECK(strstr(help, "a double (default 0.5)") &&
              strstr(help, "a file (default out.png)") &&
              strstr(help, "a split (default test)") &&
              strstr(help, "gated resnets per resolution (default 5)") &&
              strstr(help, "--cond-dilate") && strstr(help, "\nthe end\n"),
          "%s", help);
    /* at most 78 columns */
    for (const char *p = help; *p;) {
        size_t n = strcspn(p, "\n");
        CHECK(n <= 78, "a line of %zu columns: %.*s", n, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* Every field of PCNN_MODEL_CONFIG_FIELDS with a flag parses as that flag,
 * with the field's range, into the field. */
TEST(flags_config_fields_as_flags)
{
    int nflags = 0;
    for (int k = 0; k < cli_config_nfields; k++) {
        const cli_config_field *f = &cli_config_fields[k];
        if (!*f->flag)
            continue;
        nflags++;
        pcnn_model_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cli_flag flags[] = {{.name = f->name, .kind = CLI_CONFIG,
                             .dst = &cfg}};
        cli_cmd p = CLI_CMD("t", "usage\n", NULL, flags);
        char hi[32], over[32];
        const int is_bool = !f->is_float && f->lo == 0 && f->hi == 1;
        snprintf(hi, sizeof hi, "%g", f->hi);
        snprintf(over, sizeof over, "%g", f->is_float ? f->hi + 0.005
                                                      : f->hi + 1);
        char name[64];
        snprintf(name, sizeof name, "%s", f->flag);
        char *ok[] = {"t", name, is_bool ? NULL : hi};
        capture();
        int rc = cli_parse(&p, is_bool ? 2 : 3, ok);
        captured();
        CHECK(rc == 0 && (float)cli_config_value(&cfg, f) == (float)f->hi &&
                  !strcmp(flags[0].name, f->flag),
              "%s %s: rc %d, %g: %s", f->flag, hi, rc,
              cli_config_value(&cfg, f), printed);
        if (is_bool)
            continue;
        char *bad[] = {"t", name, over};
        capture();
        rc = cli_parse(&p, 3, bad);
        captured();
        CHECK(rc == 2 && strstr(printed, "expected"), "%s %s: rc %d: %s",
              f->flag, over, rc, printed);
    }
    CHECK(nflags == 9, "%d config fields have flags", nflags);
    /* an entry of no field is not a flag */
    pcnn_model_config cfg;
    cli_flag flags[] = {{.name = "no_such_field", .kind = CLI_CONFIG,
                         .dst = &cfg}};
    cli_cmd p = CLI_CMD("t", "usage\n", NULL, flags);
    char *argv[] = {"t", "--no-such-field"};
    capture();
    CHECK(cli_parse(&p, 2, argv) == 2, "an unknown field parsed");
    captured();
}

/* The keys of a saved checkpoint are the config fields in their order,
 * then the views' (the on-disk format, docs/checkpoint.md, pinned); a
 * key out of its field's range is refused on load, and a file without
 * an optional key reads its old value. */
TEST(config_fields_are_the_checkpoint_keys)
{
    static const char *const keys[] = {
        "format", "model", "channels", "height", "width", "nr_resnet",
        "nr_filters", "nr_mix", "nr_resolutions", "dropout", "num_classes",
        "cond_channels", "head", "levels", "cond_nr_resnet",
        "cond_nr_filters", "cond_down", "cond_dilate", "plain", "init",
        "view_halvings",
        "view_gray4", "view_lab", "cond_view_lab", "cond_view_halvings",
        "cond_view_gray4"};
    const size_t nkeys = sizeof keys / sizeof *keys;
    CHECK((size_t)cli_config_nfields == nkeys - 8, "%d fields",
          cli_config_nfields);
    for (int k = 0; k < cli_config_nfields; k++)
        CHECK(!strcmp(cli_config_fields[k].name, keys[2 + k]),
              "field %d is %s, the file's key %s", k,
              cli_config_fields[k].name, keys[2 + k]);
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    REQUIRE(ckpt_make_files(dir), "cannot write the files");
    const char *full = path_in(0, dir, "full.safetensors");
    /* the keys in the file's header, in order */
    size_t len;
    uint8_t *bytes = read_bytes(path_in(1, dir, "weights.safetensors"), &len);
    const char *hdr = (const char *)bytes + 8, *at = hdr;
    REQUIRE(len > 8 && strstr(hdr, "\"__metadata__\""), "no metadata");
    for (size_t i = 0; i < nkeys; i++) {
        char q[64];
        snprintf(q, sizeof q, "\"%s\":", keys[i]);
        const char *p = strstr(at, q);
        CHECK(p != NULL, "key %s not after %.20s", keys[i], at);
        at = p ? p : at;
    }
    const char *meta = strstr(hdr, "\"__metadata__\"");
    int nmeta = 0;
    for (const char *p = meta; p && (p = strchr(p + 1, ':')) &&
                               p < strchr(meta, '}');)
        nmeta++;
    CHECK(nmeta == (int)nkeys + 1, "%d metadata keys", nmeta - 1);
    CHECK(strstr(hdr, "\"dropout\":\"0\"") && strstr(hdr, "\"head\":\"dmol\""),
          "dropout and head: %.300s", meta);
    free(bytes);
    const char *bad = path_in(2, dir, "bad.safetensors");
    pcnn_model_config c;
    static const struct {
        const char *key, *value, *says;
    } edits[] = {
        {"nr_resnet", "65", "\"nr_resnet\" = \"65\" is not an integer in "
                            "1..64"},
        {"dropout", "0.995", "\"dropout\" = \"0.995\" is not a number in "
                             "0..0.99"},
        {"head", "softmax", "\"head\" = \"softmax\" is not dmol or "
                            "categorical"},
        {"channels", NULL, "metadata has no \"channels\""},
    };
    for (size_t k = 0; k < sizeof edits / sizeof *edits; k++) {
        REQUIRE(ckpt_rewrite(full, bad,
                             &(ckpt_edit){.key = edits[k].key,
                                          .value = edits[k].value}),
                "rewrite");
        EXPECT_FAIL(pcnn_checkpoint_read_state(bad, &c, NULL, NULL, NULL),
                    PCNN_ERR_FORMAT, edits[k].says);
    }
    /* files from before a key existed */
    REQUIRE(ckpt_rewrite(full, bad,
                         &(ckpt_edit){.key = "levels", .key2 = "head"}),
            "rewrite");
    REQUIRE_OK(pcnn_checkpoint_read_state(bad, &c, NULL, NULL, NULL));
    CHECK(c.levels == 256 && c.head == PCNN_HEAD_DMOL, "levels %d, head %d",
          c.levels, c.head);
    tmp_dir_remove(dir);
}

/* pcnn_model_create checks each field's range of
 * PCNN_MODEL_CONFIG_FIELDS, naming the field. */
TEST(config_fields_ranges_checked_by_create)
{
    pcnn_model_config base = pcnn_model_config_default();
    base.height = base.width = 8, base.nr_filters = 8, base.nr_resnet = 1;
    base.nr_resolutions = 2;
    pcnn_model *m = NULL;
    REQUIRE_OK(pcnn_model_create(&m, &base, 1));
    pcnn_model_free(m);
    static const struct {
        const char *field;
        double value;
        const char *says;
    } cases[] = {
        {"nr_resnet", 65, "model: nr_resnet 65 not in 1..64"},
        {"channels", 4, "model: channels 4 not in 1..3"},
        {"dropout", 0.995, "model: dropout 0.995 not in 0..0.99"},
        {"head", 2, "model: head 2 not in 0..1"},
        {"cond_dilate", 2, "model: cond_dilate 2 not in 0..1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        pcnn_model_config c = base;
        for (int i = 0; i < cli_config_nfields; i++) {
            const cli_config_field *f = &cli_config_fields[i];
            if (strcmp(f->name, cases[k].field))
                continue;
            char *p = (char *)&c + f->offset;
            if (f->is_float)
                *(float *)p = (float)cases[k].value;
            else
                *(int *)p = (int)cases[k].value;
        }
        m = NULL;
        CHECK(pcnn_model_create(&m, &c, 1) == PCNN_ERR_ARG &&
                  !strcmp(pcnn_last_error(), cases[k].says),
              "%s: %s", cases[k].field, pcnn_last_error());
        pcnn_model_free(m);
    }
    /* the top of a float's range, as a float, is in it */
    pcnn_model_config c = base;
    c.dropout = 0.99f;
    REQUIRE_OK(pcnn_model_create(&m, &c, 1));
    pcnn_model_free(m);
}
