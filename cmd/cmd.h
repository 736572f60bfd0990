/* cmd: the verbs of the `ruvflow` CLI. One file per verb family; main.c
 * dispatches. Each verb returns the process exit status (docs/ruvflow.1). */
#ifndef RF_CMD_H
#define RF_CMD_H

#include <stddef.h>

#define RF_CMD(name) int cmd_##name(int argc, char **argv)

/* The verb table of main.c: name, entry, one help line
 * ("NAME ARGS...   description", two or more spaces before it). */
typedef struct rf_verb {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} rf_verb;
const rf_verb *rf_cmd_verbs(size_t *n);

RF_CMD(artifact);   /* cmd_artifact.c: inspect */
RF_CMD(store);      /* cmd_store.c: put get ls head rm cp tier restore */
RF_CMD(config);     /* cmd_config.c: show */
RF_CMD(lint);       /* cmd_workflow.c */
/* cmd_run.c: runs and the scheduler */
RF_CMD(submit);
RF_CMD(status);
RF_CMD(list);
RF_CMD(watch);
RF_CMD(logs);
RF_CMD(cancel);
RF_CMD(approve);
RF_CMD(cron);       /* cmd_cron.c: add ls rm, scheduled submission */
RF_CMD(reject);
RF_CMD(delete);     /* cmd_delete.c */
RF_CMD(retry);
RF_CMD(resume);
RF_CMD(outputs);
RF_CMD(scheduler);
/* cmd_queue.c and cmd_worker.c: queues, live workers, built-in workers */
RF_CMD(queues);
RF_CMD(workers);
RF_CMD(dlq);
RF_CMD(worker);
/* cmd_stack.c: the embedded local stack */
RF_CMD(up);
RF_CMD(down);
RF_CMD(plot);       /* cmd_plot.c: training curves as SVG */
RF_CMD(ckpt);       /* cmd_ckpt.c: compacted checkpoints, versions */
RF_CMD(model);      /* cmd_ckpt.c: the model registry */
RF_CMD(watch_dir);  /* cmd_watch.c: the trigger of online learning */
RF_CMD(completion); /* cmd_completion.c: bash and zsh completion scripts */
/* cmd_model.c: `ruvflow model ... --registry URL`, online learning's
 * registry (cmd_model hands over when --registry is given) */
int cmd_model_online(int argc, char **argv);

#endif
