/*
 * flags.h -- the tool's flags. Each command declares one table of its
 * flags (name, kind, destination, range, help, when it applies); cli_parse
 * reads argv with it, cli_help prints --help from it and cli_check refuses
 * a given flag that does not apply. Messages are one line, "pixelcnn CMD:
 * ..."; bad usage returns 2.
 */
#ifndef PCNN_CLI_FLAGS_H
#define PCNN_CLI_FLAGS_H

#include "pixelcnn.h"

#include <stddef.h>
#include <stdio.h>

typedef enum {
    CLI_SECTION, /* no flag: a heading in --help, the help text */
    CLI_INT,     /* int in lo..hi */
    CLI_LONG,    /* long in lo..hi */
    CLI_U64,     /* uint64_t in lo..hi */
    CLI_DOUBLE,  /* double in lo..hi */
    CLI_FLOAT,   /* float in lo..hi (compared as a float) */
    CLI_STRING,  /* const char * */
    CLI_BOOL,    /* int set to 1; takes no value */
    CLI_CHOICE,  /* const char *: one of the words of `choices` */
    CLI_VIEW,    /* pcnn_view (cli_parse_view) */
    /* a field of the pcnn_model_config at dst: name is the field
     * ("nr_resnet"); the flag, kind (int, float, or bool for a 0..1
     * field), range and help come from PCNN_MODEL_CONFIG_FIELDS (a help
     * here replaces its help) */
    CLI_CONFIG,
    /* the arguments that are not flags, into const char *dst[hi], their
     * count into *count; name says what they are ("stages") */
    CLI_ARGS,
} cli_kind;

typedef struct {
    const char *name; /* "--batch", "-n" */
    cli_kind kind;
    void *dst;
    double lo, hi;    /* numbers: the values allowed */
    const char *arg;  /* the value in --help: "N", "FILE" */
    const char *help; /* --help's text ('\n' breaks a line; the spaces
                       * after it indent); NULL: not listed */
    /* the rest by designator */
    const char *alias;   /* another spelling */
    const char *choices; /* CLI_CHOICE: the words, space-separated */
    int show_default;    /* --help adds the value dst holds before parsing */
    int required;        /* "pixelcnn CMD: NAME ARG is required" */
    int *count;          /* CLI_ARGS */
    /* A given flag applies when one of the flags `needs` names ("|"
     * between them) is given, none of those `conflicts` names is, and
     * applies(ctx) returns 1 (each when set); else cli_check says
     * "pixelcnn CMD: NAME does not apply: WHY". */
    const char *needs, *conflicts;
    int (*applies)(const void *ctx);
    const void *ctx;
    const char *why;
} cli_flag;

#define CLI_MAX_FLAGS 64

/* A command's table and what cli_parse found. */
typedef struct {
    const char *cmd;    /* "train" */
    const char *usage;  /* --help before the flags: the usage lines and
                         * what the command does */
    const char *epilog; /* --help after the flags, or NULL */
    cli_flag *flags;
    int n;
    unsigned char given[CLI_MAX_FLAGS];
} cli_cmd;

#define CLI_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
/* The cli_cmd of a command's name, usage, epilog and table (an array). */
#define CLI_CMD(cmd_, usage_, epilog_, flags_)                                \
    {.cmd = cmd_, .usage = usage_, .epilog = epilog_, .flags = flags_,        \
     .n = CLI_COUNT(flags_)}

/* dst as a void *, if it is a pointer to type (else a compile error) */
#define CLI_PTR(type, p) ((void *)(1 ? (p) : (type *)0))

/* Table entries whose destination's type is checked. The trailing
 * arguments are designators of the rest (.needs = "--chain", ...). */
#define CLI_INT_F(name_, p_, lo_, hi_, arg_, help_, ...)                      \
    {.name = name_, .kind = CLI_INT, .dst = CLI_PTR(int, p_), .lo = lo_,      \
     .hi = hi_, .arg = arg_, .help = help_, __VA_ARGS__}
#define CLI_LONG_F(name_, p_, lo_, hi_, arg_, help_, ...)                     \
    {.name = name_, .kind = CLI_LONG, .dst = CLI_PTR(long, p_), .lo = lo_,    \
     .hi = hi_, .arg = arg_, .help = help_, __VA_ARGS__}
#define CLI_U64_F(name_, p_, lo_, hi_, arg_, help_, ...)                      \
    {.name = name_, .kind = CLI_U64, .dst = CLI_PTR(uint64_t, p_), .lo = lo_, \
     .hi = hi_, .arg = arg_, .help = help_, __VA_ARGS__}
#define CLI_FLOAT_F(name_, p_, lo_, hi_, arg_, help_, ...)                    \
    {.name = name_, .kind = CLI_FLOAT, .dst = CLI_PTR(float, p_), .lo = lo_,  \
     .hi = hi_, .arg = arg_, .help = help_, __VA_ARGS__}
#define CLI_DOUBLE_F(name_, p_, lo_, hi_, arg_, help_, ...)                   \
    {.name = name_, .kind = CLI_DOUBLE, .dst = CLI_PTR(double, p_),           \
     .lo = lo_, .hi = hi_, .arg = arg_, .help = help_, __VA_ARGS__}
#define CLI_STRING_F(name_, p_, arg_, help_, ...)                             \
    {.name = name_, .kind = CLI_STRING, .dst = CLI_PTR(const char *, p_),     \
     .arg = arg_, .help = help_, __VA_ARGS__}
#define CLI_BOOL_F(name_, p_, help_, ...)                                     \
    {.name = name_, .kind = CLI_BOOL, .dst = CLI_PTR(int, p_),                \
     .help = help_, __VA_ARGS__}
#define CLI_CHOICE_F(name_, p_, choices_, arg_, help_, ...)                   \
    {.name = name_, .kind = CLI_CHOICE, .dst = CLI_PTR(const char *, p_),     \
     .arg = arg_, .help = help_, .choices = choices_, __VA_ARGS__}
#define CLI_VIEW_F(name_, p_, arg_, help_, ...)                               \
    {.name = name_, .kind = CLI_VIEW, .dst = CLI_PTR(pcnn_view, p_),          \
     .arg = arg_, .help = help_, __VA_ARGS__}
#define CLI_CONFIG_F(field_, cfg_, ...)                                       \
    {.name = #field_, .kind = CLI_CONFIG,                                     \
     .dst = CLI_PTR(pcnn_model_config, cfg_), __VA_ARGS__}
#define CLI_ARGS_F(what_, p_, count_, max_, arg_, help_, ...)                 \
    {.name = what_, .kind = CLI_ARGS, .dst = CLI_PTR(const char *, p_),       \
     .hi = max_, .arg = arg_, .help = help_, .count = count_, __VA_ARGS__}
#define CLI_SECTION_F(text_) {.kind = CLI_SECTION, .help = text_}

/* Appends the k entries f to out, a table of n entries (room for
 * CLI_MAX_FLAGS), for a table built in parts; the new count. Entries
 * past CLI_MAX_FLAGS are counted, not copied: cli_parse refuses such a
 * table. */
int cli_append(cli_flag *out, int n, const cli_flag *f, int k);

/* Reads argv[1..] (argv[0]: the command) into the table's destinations,
 * which hold the defaults before; a flag given again takes its last
 * value (so a base set of flags can be followed by changes). 0; -1 after
 * printing the help on stdout when --help (-h) is among the flags,
 * whatever else is there; 2 after a one-line message: an unknown flag, a
 * value missing or out of range, a required flag missing. */
int cli_parse(cli_cmd *p, int argc, char **argv);
/* Each given flag applies (cli_flag.needs ...): 0, or 2 with a message
 * for the first in the table that does not. */
int cli_check(cli_cmd *p);
/* Writes --help: the usage, every flag with help, the epilog. */
void cli_help(cli_cmd *p, FILE *f);
/* 1 when the flag called name was given. */
int cli_given(const cli_cmd *p, const char *name);

/* The scalar fields of pcnn_model_config, from PCNN_MODEL_CONFIG_FIELDS
 * (the flag "" when none). */
typedef struct {
    const char *name, *flag, *help;
    int is_float;
    size_t offset;
    double lo, hi;
} cli_config_field;
extern const cli_config_field cli_config_fields[];
extern const int cli_config_nfields;
/* The value of field f of c. */
double cli_config_value(const pcnn_model_config *c,
                        const cli_config_field *f);

/* Parses a view: "x", or steps from the image separated by commas,
 * "half" any number of times then optionally "gray4" ("half,half,gray4"),
 * or "L" or "ab" then halves. Prints a message naming cmd and flag and
 * returns 2 when it is not one. */
int cli_parse_view(const char *cmd, const char *flag, const char *spec,
                   pcnn_view *v);

/* Predicates for cli_flag.applies: *(const char *const *)ctx is a
 * --data spec of folder data; an output path that is not a .npy file. */
int cli_is_folder_data(const void *ctx);
int cli_not_npy(const void *ctx);
/* Never: a flag that does not apply to this command at all. */
int cli_never(const void *ctx);

/* Prints "pixelcnn CMD: unknown flag F (see pixelcnn CMD --help)"; 2. */
int cli_bad_flag(const char *cmd, const char *flag);
/* Prints "pixelcnn CMD: FLAG does not apply: WHY"; 2. */
int cli_not_applicable(const char *cmd, const char *flag, const char *why);

#endif
