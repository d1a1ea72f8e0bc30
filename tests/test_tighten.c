/*
 * test_tighten.c -- the rules of the tightened stages (src/model/tighten.h)
 * against brute force: for every gray level and every earlier channel
 * value, pcnn_gray4_channel_range is exactly the set of values some
 * completion of the later channels allows, and that set is an interval.
 */
#include "test.h"
#include "model/tighten.h"

#include <stdlib.h>

static int gray4_rgb(int r, int g, int b)
{
    return (299 * r + 587 * g + 114 * b) / 16000;
}

/* The set {v : ok(v)} as (min, max, count) per gray level; the rule's
 * interval must equal it: same ends and count = hi - lo + 1 (an interval),
 * or lo > hi when the set is empty. Returns the number of mismatches. */
static int compare_set(const int *mn, const int *mx, const int *cnt, int lev,
                       int lo, int hi)
{
    if (cnt[lev] == 0)
        return lo <= hi;
    return lo != mn[lev] || hi != mx[lev] || cnt[lev] != hi - lo + 1;
}

static void set_add(int *mn, int *mx, int *cnt, int lev, int v)
{
    if (cnt[lev]++ == 0)
        mn[lev] = mx[lev] = v;
    mn[lev] = v < mn[lev] ? v : mn[lev];
    mx[lev] = v > mx[lev] ? v : mx[lev];
}

TEST(gray4_channel_range_exact_rgb)
{
    /* reach[r * 256 + g]: the gray levels some blue gives, as a bit mask */
    uint16_t *reach = xcalloc(256 * 256, sizeof *reach);
    int bad_b = 0, bad_g = 0, bad_r = 0, narrowed = 0;
    for (int r = 0; r < 256; r++)
        for (int g = 0; g < 256; g++) {
            int mn[16], mx[16], cnt[16] = {0};
            for (int b = 0; b < 256; b++) {
                const int lev = gray4_rgb(r, g, b);
                set_add(mn, mx, cnt, lev, b);
                reach[r * 256 + g] |= (uint16_t)(1u << lev);
            }
            const int earlier[2] = {r, g};
            for (int lev = 0; lev < 16; lev++) {
                int lo, hi;
                pcnn_gray4_channel_range(lev, 2, earlier, 3, &lo, &hi);
                bad_b += compare_set(mn, mx, cnt, lev, lo, hi);
            }
        }
    uint16_t reach_r[256] = {0};
    for (int r = 0; r < 256; r++) {
        int mn[16], mx[16], cnt[16] = {0};
        for (int g = 0; g < 256; g++) {
            reach_r[r] |= reach[r * 256 + g];
            for (int lev = 0; lev < 16; lev++)
                if (reach[r * 256 + g] >> lev & 1)
                    set_add(mn, mx, cnt, lev, g);
        }
        for (int lev = 0; lev < 16; lev++) {
            int lo, hi;
            pcnn_gray4_channel_range(lev, 1, &r, 3, &lo, &hi);
            bad_g += compare_set(mn, mx, cnt, lev, lo, hi);
            narrowed += lo <= hi && hi - lo < 255;
        }
    }
    int mn[16], mx[16], cnt[16] = {0};
    for (int r = 0; r < 256; r++)
        for (int lev = 0; lev < 16; lev++)
            if (reach_r[r] >> lev & 1)
                set_add(mn, mx, cnt, lev, r);
    for (int lev = 0; lev < 16; lev++) {
        int lo, hi;
        pcnn_gray4_channel_range(lev, 0, NULL, 3, &lo, &hi);
        bad_r += compare_set(mn, mx, cnt, lev, lo, hi);
    }
    CHECK(bad_r == 0 && bad_g == 0 && bad_b == 0,
          "intervals differ from brute force: red %d, green %d, blue %d",
          bad_r, bad_g, bad_b);
    /* the rule is not vacuous: green is pinned for most (level, red) */
    CHECK(narrowed > 16 * 256 / 2, "only %d green intervals narrowed",
          narrowed);
    free(reach);
}

TEST(gray4_channel_range_exact_one_channel)
{
    int bad = 0;
    for (int lev = 0; lev < 16; lev++) {
        int lo, hi;
        pcnn_gray4_channel_range(lev, 0, NULL, 1, &lo, &hi);
        for (int v = 0; v < 256; v++)
            bad += (v / 16 == lev) != (v >= lo && v <= hi);
    }
    CHECK(bad == 0, "%d one-channel values misplaced", bad);
}
