/* flags_sample.c -- the flag tables of tools/cmd_sample.c (sample,
 * complete) and tools/cmd_upscale.c, and complete's --known parser
 * (parse_known), for the flags target. */
#include "../tools/cmd_sample.c"
#include "../tools/cmd_upscale.c"
#include "flags.h"

int fuzz_sample_parse(int argc, char **argv)
{
    common c;
    sampling_init(&c, "samples.png", 16);
    int rc = sample_parse(argc, argv, &c);
    /* what the parser accepted is in range */
    if (rc == 0 && (!c.ckpt || c.n < 1 || c.n > 4096 || c.seed < 0 ||
                    !(c.temperature >= 0.0011 && c.temperature <= 999)))
        abort();
    return rc;
}

int fuzz_upscale_parse(int argc, char **argv)
{
    inputs in = {NULL, NULL, "test", 0, 4};
    int from = -1;
    common c;
    sampling_init(&c, "upscaled.png", 6);
    int rc = upscale_parse(argc, argv, &c, &in, &from);
    if (rc == 0 && ((!in.image) == (!in.data) || from == 0 ||
                    from >= PCNN_MAX_STAGES || c.weights || c.cols))
        abort();
    return rc;
}

int fuzz_complete_parse(int argc, char **argv, int h, int w)
{
    const char *spec = "top";
    inputs in = {NULL, NULL, "test", 0, 4};
    common c;
    sampling_init(&c, "completions.png", 6);
    int rc = complete_parse(argc, argv, &c, &in, &spec);
    if (rc)
        return rc;
    if ((!in.image) == (!in.data) || (in.image && in.index) || c.cols)
        abort();
    uint8_t *known = malloc((size_t)h * (size_t)w);
    if (!known)
        abort();
    rc = parse_known(spec, h, w, known);
    free(known);
    return rc;
}
