/* pending: weak definitions of verbs whose module has not landed yet.
 * Each fails loudly (exit 1); a module's own cmd_*.c overrides it with a
 * strong definition. This file shrinks to nothing as the issues land. */
#include <stdio.h>

#include "cmd.h"

#define PENDING(name)                                                        \
    __attribute__((weak)) RF_CMD(name)                                       \
    {                                                                        \
        (void)argc, (void)argv;                                              \
        fprintf(stderr, "ruvflow: %s: not implemented yet\n", #name);        \
        return 1;                                                            \
    }

PENDING(artifact)
PENDING(store)
PENDING(config)
PENDING(lint)
PENDING(submit)
PENDING(status)
PENDING(list)
PENDING(watch)
PENDING(logs)
PENDING(cancel)
PENDING(retry)
PENDING(resume)
PENDING(outputs)
PENDING(workers)
PENDING(queues)
PENDING(dlq)
PENDING(scheduler)
PENDING(worker)
PENDING(up)
PENDING(down)
PENDING(plot)
