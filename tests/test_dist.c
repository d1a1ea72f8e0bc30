/*
 * test_dist.c -- data-parallel training without MPI: ranks are threads of
 * this process joined by a pcnn_comm over shared memory. R ranks on a
 * global batch give the weights one process gives (up to float rounding),
 * uneven shards too; the replica check finds a rank that drifted; a run
 * saved by R ranks resumes in one. (The same through `mpirun` and the
 * CLI: scripts/test_mpi.sh.)
 */
#include "test.h"
#include "pixelcnn.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_RANKS = 4 };

#define TRY(call)                                                             \
    do {                                                                      \
        pcnn_status try_s_ = (call);                                          \
        if (try_s_ != PCNN_OK)                                                \
            return try_s_;                                                    \
    } while (0)

/* The ranks' shared memory: each rank posts its buffer, then every rank
 * sums the posted buffers in rank order (the same sum on every rank). */
typedef struct {
    pthread_barrier_t bar;
    void *posted[MAX_RANKS];
    int size;
} world;

typedef struct {
    world *w;
    int rank;
} rank_arg;

static int sum_f32(void *arg, float *x, size_t n)
{
    rank_arg *r = arg;
    world *w = r->w;
    float *s = malloc(n * sizeof *s);
    if (!s)
        return 1;
    w->posted[r->rank] = x;
    pthread_barrier_wait(&w->bar);
    for (size_t i = 0; i < n; i++) {
        float v = 0;
        for (int k = 0; k < w->size; k++)
            v += ((const float *)w->posted[k])[i];
        s[i] = v;
    }
    pthread_barrier_wait(&w->bar); /* every rank has read every buffer */
    memcpy(x, s, n * sizeof *s);
    free(s);
    return 0;
}

static int bcast(void *arg, void *x, size_t bytes)
{
    rank_arg *r = arg;
    world *w = r->w;
    if (r->rank == 0)
        w->posted[0] = x;
    pthread_barrier_wait(&w->bar);
    if (r->rank != 0)
        memcpy(x, w->posted[0], bytes);
    pthread_barrier_wait(&w->bar);
    return 0;
}

/* 40 gray 8x8 images: gradients with noise. */
static pcnn_dataset dist_data(void)
{
    pcnn_dataset d = {0};
    d.n = 40, d.c = 1, d.h = 8, d.w = 8;
    d.images = xcalloc((size_t)(d.n * 64), 1);
    for (int64_t i = 0; i < d.n; i++)
        for (int k = 0; k < 64; k++) {
            double v = 30.0 * (double)(k / 8 + (i % 4) * (k % 8)) +
                       25.0 * pcnn_uniform(5, (uint64_t)(i * 64 + k));
            d.images[i * 64 + k] = (uint8_t)(v > 255 ? 255 : v);
        }
    return d;
}

/* One rank's job: a tiny model with dropout, flips, `steps` steps of a
 * global batch of `batch`; its weights out. */
typedef struct {
    rank_arg ra;
    const pcnn_dataset *d;
    int batch, steps, size;
    const char *save; /* rank 0 saves here after the steps, if set */
    float *weights;   /* out: the weights */
    size_t n;
    int failed;       /* out: a call failed (its message printed) */
} job;

static pcnn_status run_rank(job *j, pcnn_ctx *ctx, pcnn_model **m,
                            pcnn_trainer **t)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 1, c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 2;
    c.dropout = 0.3f;
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = j->batch, o.lr = 3e-3f, o.seed = 11, o.flip = 1;
    TRY(pcnn_model_create(m, &c, 3));
    TRY(pcnn_trainer_create(t, *m, j->d, &o));
    if (j->size > 1) {
        const pcnn_comm comm = {j->ra.rank, j->size, &j->ra, sum_f32, bcast};
        TRY(pcnn_trainer_set_comm(*t, &comm));
    }
    TRY(pcnn_trainer_init(ctx, *t));
    TRY(pcnn_trainer_run(ctx, *t, (uint64_t)j->steps, 0, NULL,
                                   NULL));
    if (j->save && j->ra.rank == 0)
        TRY(pcnn_checkpoint_save(j->save, *m, *t));
    const float *p = pcnn_model_params(*m, &j->n);
    j->weights = xcalloc(j->n, sizeof(float));
    memcpy(j->weights, p, j->n * sizeof(float));
    return PCNN_OK;
}

static void *rank_main(void *arg)
{
    job *j = arg;
    pcnn_ctx *ctx = NULL;
    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    const pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    pcnn_status s = pcnn_ctx_create(&ctx, &co);
    if (s == PCNN_OK)
        s = run_rank(j, ctx, &m, &t);
    if (s != PCNN_OK) {
        printf("    rank %d: %s\n", j->ra.rank, pcnn_last_error());
        j->failed = 1;
    }
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    return NULL;
}

/* `size` ranks (threads) train; rank 0's weights into *w (the ranks'
 * must be equal). 0 on success. */
static int train_ranks(const pcnn_dataset *d, int size, int batch,
                       int steps, const char *save, float **w, size_t *n)
{
    world wd = {.size = size};
    job j[MAX_RANKS];
    pthread_t th[MAX_RANKS];
    pthread_barrier_init(&wd.bar, NULL, (unsigned)size);
    for (int r = 0; r < size; r++) {
        j[r] = (job){{&wd, r}, d, batch, steps, size, save, NULL, 0, 0};
        pthread_create(&th[r], NULL, rank_main, &j[r]);
    }
    int failed = 0;
    for (int r = 0; r < size; r++) {
        pthread_join(th[r], NULL);
        failed |= j[r].failed;
    }
    pthread_barrier_destroy(&wd.bar);
    for (int r = 1; !failed && r < size; r++)
        if (memcmp(j[r].weights, j[0].weights, j[0].n * sizeof(float))) {
            printf("    rank %d's weights differ from rank 0's\n", r);
            failed = 1;
        }
    for (int r = 1; r < size; r++)
        free(j[r].weights);
    *w = j[0].weights, *n = j[0].n;
    return failed;
}

/* max |a - b| over max |b| */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return d / s;
}

TEST(dist_ranks_match_one_process)
{
    pcnn_dataset d = dist_data();
    float *one = NULL, *two = NULL, *three = NULL;
    size_t n1, n2, n3;
    /* 8 steps of 8 images: across an epoch boundary (40 images) */
    REQUIRE(!train_ranks(&d, 1, 8, 8, NULL, &one, &n1), "1 rank failed");
    REQUIRE(!train_ranks(&d, 2, 8, 8, NULL, &two, &n2), "2 ranks failed");
    /* 3 ranks: shards of 2, 3 and 3 images */
    REQUIRE(!train_ranks(&d, 3, 8, 8, NULL, &three, &n3), "3 ranks failed");
    REQUIRE(n1 == n2 && n1 == n3, "parameter counts differ");
    const double e2 = rel_diff(two, one, n1), e3 = rel_diff(three, one, n1);
    printf("    max |w_R - w_1| / max |w_1|: %.2e (2 ranks), %.2e (3)\n",
           e2, e3);
    CHECK(e2 < 1e-5 && e3 < 1e-5, "ranks drift from one process: %.2e %.2e",
          e2, e3);
    free(one), free(two), free(three);
    pcnn_dataset_free(&d);
}

TEST(dist_resume_with_other_rank_count)
{
    pcnn_dataset d = dist_data();
    char path[] = "/tmp/pcnn_dist_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0, "mkstemp");
    close(fd);
    float *whole = NULL, *part = NULL;
    size_t n, np;
    REQUIRE(!train_ranks(&d, 1, 8, 7, NULL, &whole, &n), "1 rank failed");
    /* 2 ranks train 4 steps and save; one process resumes for 3 */
    REQUIRE(!train_ranks(&d, 2, 8, 4, path, &part, &np), "2 ranks failed");
    free(part);
    pcnn_ctx *ctx;
    pcnn_model *m;
    pcnn_trainer *t;
    const pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
    REQUIRE_OK(pcnn_checkpoint_load_model(path, 0, &m));
    REQUIRE_OK(pcnn_checkpoint_load_trainer(path, m, &d, &t));
    REQUIRE_OK(pcnn_trainer_run(ctx, t, 7, 0, NULL, NULL));
    const double e = rel_diff(pcnn_model_params(m, NULL), whole, n);
    printf("    resumed vs uninterrupted: %.2e\n", e);
    CHECK(pcnn_trainer_state(t).step == 7, "step %llu",
          (unsigned long long)pcnn_trainer_state(t).step);
    CHECK(e < 1e-5, "2 ranks then 1 drift from 1 throughout: %.2e", e);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    free(whole);
    remove(path);
    pcnn_dataset_free(&d);
}

/* Two ranks whose weights differ in one value: set_comm refuses. */
static void *drifted_rank(void *arg)
{
    job *j = arg;
    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 1, c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 2;
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = 8;
    j->failed = 2;
    if (pcnn_model_create(&m, &c, 3) == PCNN_OK &&
        pcnn_trainer_create(&t, m, j->d, &o) == PCNN_OK) {
        if (j->ra.rank == 1)
            pcnn_model_params(m, NULL)[5] += 1e-6f;
        const pcnn_comm comm = {j->ra.rank, 2, &j->ra, sum_f32, bcast};
        j->failed = pcnn_trainer_set_comm(t, &comm) == PCNN_ERR_VALUE &&
                            strstr(pcnn_last_error(), "diverged")
                        ? 0
                        : 1;
        if (j->failed)
            printf("    rank %d: %s\n", j->ra.rank, pcnn_last_error());
    }
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    return NULL;
}

TEST(dist_replica_check_finds_a_drifted_rank)
{
    pcnn_dataset d = dist_data();
    world wd = {.size = 2};
    job j[2];
    pthread_t th[2];
    pthread_barrier_init(&wd.bar, NULL, 2);
    for (int r = 0; r < 2; r++) {
        j[r] = (job){{&wd, r}, &d, 8, 0, 2, NULL, NULL, 0, 0};
        pthread_create(&th[r], NULL, drifted_rank, &j[r]);
    }
    for (int r = 0; r < 2; r++) {
        pthread_join(th[r], NULL);
        CHECK(!j[r].failed, "rank %d did not report the divergence", r);
    }
    pthread_barrier_destroy(&wd.bar);
    pcnn_dataset_free(&d);
}

TEST(dist_set_comm_checks_its_arguments)
{
    pcnn_dataset d = dist_data();
    pcnn_model *m;
    pcnn_trainer *t;
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 1, c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 2;
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = 4;
    REQUIRE_OK(pcnn_model_create(&m, &c, 3));
    REQUIRE_OK(pcnn_trainer_create(&t, m, &d, &o));
    const pcnn_comm bad_rank = {2, 2, NULL, sum_f32, bcast};
    const pcnn_comm no_fn = {0, 2, NULL, NULL, bcast};
    const pcnn_comm too_many = {0, 5, NULL, sum_f32, bcast};
    const pcnn_comm one = {0, 1, NULL, NULL, NULL};
    CHECK(pcnn_trainer_set_comm(t, &bad_rank) == PCNN_ERR_ARG, "rank 2 of 2");
    CHECK(pcnn_trainer_set_comm(t, &no_fn) == PCNN_ERR_ARG, "no all-reduce");
    CHECK(pcnn_trainer_set_comm(t, &too_many) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "at least 5"),
          "a batch of 4 over 5 ranks: %s", pcnn_last_error());
    CHECK(pcnn_trainer_set_comm(t, &one) == PCNN_OK, "one rank: %s",
          pcnn_last_error());
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_dataset_free(&d);
}
