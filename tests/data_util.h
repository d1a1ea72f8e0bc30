/*
 * data_util.h -- what the data set tests share: a scratch folder under
 * /tmp, small file writers, and checks of a failure's status and message.
 */
#ifndef PCNN_TEST_DATA_UTIL_H
#define PCNN_TEST_DATA_UTIL_H

#include "test.h"
#include "../src/data/dataset.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A fresh folder /tmp/pcnn_data_XXXXXX named in buf, or NULL.
 * tmp_dir_remove deletes it with its files and subfolders; a folder a
 * test leaves (it stopped at a REQUIRE) is deleted at exit. */
char *tmp_dir_make(char buf[64]);
void tmp_dir_remove(const char *dir);

/* dir/name in one of 4 static buffers (slot 0..3): valid until the next
 * call with the same slot. */
const char *path_in(int slot, const char *dir, const char *name);

/* Writes buf[0..len) as the whole file; 1 on success. */
int write_bytes(const char *path, const void *buf, size_t len);

/* The whole file (malloc'd, one spare zero byte), or a test failure and
 * a 1-byte buffer with *len = 0. */
uint8_t *read_bytes(const char *path, size_t *len);

/* Deterministic test bytes. */
uint8_t byte_at(uint64_t seed, uint64_t i);

/* All fields zero: what a loader leaves in *out on failure. */
int is_zeroed(const pcnn_dataset *d);

/* CHECKs that call returns status want and that pcnn_last_error()
 * contains `name` (a file name, or the word that matters). */
#define EXPECT_FAIL(call, want, name)                                         \
    do {                                                                      \
        pcnn_status s_ = (call);                                              \
        CHECK(s_ == (want), "%s: got %s, want %s (%s)", #call,                \
              pcnn_status_str(s_), pcnn_status_str(want), pcnn_last_error()); \
        CHECK(strstr(pcnn_last_error(), (name)) != NULL,                      \
              "%s: message \"%s\" does not name %s", #call,                   \
              pcnn_last_error(), (name));                                     \
    } while (0)

#endif
