/* fuzz_config: the config file parser, and the store's key and URL checks,
 * on arbitrary bytes (both read input the user or a workflow controls).
 * Must never crash, leak or read out of bounds; a config that loads must
 * print. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/rf_config.h"
#include "store/rf_store.h"

extern char **environ;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* Only the fuzzed file may configure anything. */
    static char *empty[] = {NULL};
    environ = empty;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.conf", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    rf_config c;
    rf_err err;
    if (rf_config_load(&c, path, &err) == 0) {
        FILE *null = fopen("/dev/null", "w");
        rf_config_print(&c, null);
        fclose(null);
        rf_config_free(&c);
    }
    close(fd);

    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    (void)rf_store_key_valid(s, &err);
    char *su, *k;
    if (rf_store_split_url(s, &su, &k, &err) == 0) {
        (void)rf_store_key_valid(k, &err);
        free(su);
        free(k);
    }
    free(s);
    return 0;
}
