/*
 * cli.h -- the pixelcnn command-line tool: subcommands and flag helpers.
 * The tool is a thin layer over libpixelcnn; exit codes: 0 success,
 * 1 a failure while running, 2 bad usage (unknown flag, bad value).
 */
#ifndef PCNN_CLI_H
#define PCNN_CLI_H

/* Each subcommand gets argv[0] = its own name. */
int cmd_bench(int argc, char **argv);

/* Reads the integer after argv[*i] into *out, in [lo, hi]. On error
 * prints a one-line message naming the flag and returns non-zero. */
int cli_int_arg(const char *cmd, int argc, char **argv, int *i, int lo,
                int hi, int *out);
/* Prints "pixelcnn CMD: unknown flag F (see pixelcnn CMD --help)"; 2. */
int cli_bad_flag(const char *cmd, const char *flag);

#endif
