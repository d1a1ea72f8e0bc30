/*
 * util.h -- what the libFuzzer targets share (docs/fuzzing.md).
 *
 * The loaders of the library take paths, so each target writes its input
 * into a file of a scratch folder (under /dev/shm when it can, else
 * $TMPDIR or /tmp: no disk traffic per input) and loads it from there, as
 * the command-line tool would. The folder is made on first use and
 * removed at exit.
 */
#ifndef PCNN_FUZZ_UTIL_H
#define PCNN_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The scratch folder of this process; aborts if none can be made (a
 * broken setup, not a finding). */
const char *fuzz_dir(void);

/* Writes data[0 .. n) to the file `name` of the scratch folder, replacing
 * it; returns its path (a static buffer, valid until the next call). */
const char *fuzz_write(const char *name, const uint8_t *data, size_t n);

/* Removes the file `name` of the scratch folder if it is there. */
void fuzz_remove(const char *name);

/* Silences stdout and stderr while the code under test prints its
 * one-line messages (fuzz_quiet(1)), and restores them (fuzz_quiet(0)).
 * Only the FILE streams are swapped: the sanitizers and libFuzzer write
 * to file descriptor 2 directly, so their reports still show. */
void fuzz_quiet(int on);

/* Targets that load two files (IDX images and labels) take an input
 * "FIRST" or "FIRST" FUZZ_SEP "SECOND": splits data at the first
 * FUZZ_SEP into *a and *b; *b is NULL (and *nb 0) without one. */
#define FUZZ_SEP "\n--labels--\n"
void fuzz_split(const uint8_t *data, size_t n, const uint8_t **a, size_t *na,
                const uint8_t **b, size_t *nb);

#endif
