/*
 * ckpt_meta.h -- the metadata of checkpoint and chain files
 * (docs/checkpoint.md): the model config and the trainer's options and
 * state as safetensors metadata strings, written and parsed with range
 * checks (ckpt_meta.c). Private to src/train.
 */
#ifndef PCNN_TRAIN_CKPT_META_H
#define PCNN_TRAIN_CKPT_META_H

#include "trainer.h"
#include "../io/safetensors.h"

/* key = the printf-formatted value (at most 63 bytes). */
pcnn_status ckpt_meta_put(pcnn_st_writer *w, const char *key,
                          const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The integer under key, in lo..hi, into *out; an error naming the file
 * and key when it is missing, malformed or out of range. */
pcnn_status ckpt_meta_int(const pcnn_st_file *f, const char *key, long lo,
                          long hi, int *out);

/* An error unless the file's "format" is want. */
pcnn_status ckpt_check_format(const pcnn_st_file *f, const char *want);

/* The model config under keys prefix + name ("" in a checkpoint, "s0."
 * ... in a chain file), written and read back; reading fills the fields
 * older files lack with their defaults. */
pcnn_status ckpt_put_config(pcnn_st_writer *w, const pcnn_model_config *c,
                            const char *pre);
pcnn_status ckpt_get_config(const pcnn_st_file *f, pcnn_model_config *c,
                            const char *pre);

/* The trainer's options, step, epoch, data position and fingerprint;
 * reading checks the options and that the position lies in the data. */
pcnn_status ckpt_put_trainer(pcnn_st_writer *w, const pcnn_trainer *t);
pcnn_status ckpt_get_trainer(const pcnn_st_file *f, pcnn_train_opts *o,
                             pcnn_train_state *s, uint64_t *data_n);

#endif
