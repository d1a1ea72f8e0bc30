/* flags_sample.c -- tools/cmd_sample.c's flags (common_flag, input_flag)
 * and --known parser (parse_known) for the flags target. */
#include "../tools/cmd_sample.c"
#include "flags.h"

int fuzz_complete_parse(int argc, char **argv, int h, int w)
{
    /* cmd_complete's flag loop */
    const char *cmd = "complete", *spec = "top";
    inputs in = {NULL, NULL, "test", 0, 4};
    common c;
    init_common(&c, "completions.png", 6);
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        int r = common_flag(cmd, &c, argc, argv, &i);
        if (r == 0)
            r = input_flag(cmd, &in, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r == 1)
            continue;
        if (!strcmp(f, "--known")) {
            if (!(spec = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
        } else if (strcmp(f, "--help")) {
            return cli_bad_flag(cmd, f);
        }
    }
    uint8_t *known = malloc((size_t)h * (size_t)w);
    if (!known)
        abort();
    int rc = parse_known(spec, h, w, known);
    free(known);
    return rc;
}
