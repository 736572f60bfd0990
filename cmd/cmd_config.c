/* cmd_config: `ruvflow config show`, the effective configuration with its
 * secrets redacted (docs/configuration.md). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "base/rf_config.h"

static void usage(FILE *f)
{
    fputs("usage: ruvflow config show [--config FILE]\n\n"
          "Print the effective configuration (defaults, config file, AWS_* and\n"
          "RUVFLOW_* environment), secrets redacted. The output is itself a valid\n"
          "config file. See docs/configuration.md.\n", f);
}

RF_CMD(config)
{
    const char *path = NULL;
    int show = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "show") && !show) {
            show = 1;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!show) {
        usage(stderr);
        return 2;
    }
    rf_config cfg;
    rf_err err = {0};
    if (rf_config_load(&cfg, path, &err)) {
        fprintf(stderr, "ruvflow config: %s\n", err.msg);
        return rf_err_exit_status(&err);
    }
    rf_config_print(&cfg, stdout);
    rf_config_free(&cfg);
    return 0;
}
