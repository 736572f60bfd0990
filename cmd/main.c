/* ruvflow: the command-line entry point; dispatches to cmd_<verb>. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "base/rf_version.h"

static const rf_verb verbs[] = {
    {"submit", cmd_submit, "submit FILE [-p k=v]... [--wait] [--json]  run a workflow"},
    {"lint", cmd_lint, "lint FILE                     validate a workflow file"},
    {"status", cmd_status, "status RUN [--json]            state of a run"},
    {"list", cmd_list, "list [--json]                  recent runs"},
    {"watch", cmd_watch, "watch RUN                      live progress and curves"},
    {"logs", cmd_logs, "logs RUN [STEP[/INDEX]] [-f]   task log lines"},
    {"cancel", cmd_cancel, "cancel RUN                     stop a run"},
    {"approve", cmd_approve, "approve RUN STEP               let a suspend step's run go on"},
    {"reject", cmd_reject, "reject RUN STEP                fail a suspend step (and its run)"},
    {"retry", cmd_retry, "retry RUN                      re-run failed tasks"},
    {"resume", cmd_resume, "resume RUN                     continue a stopped run"},
    {"delete", cmd_delete, "delete RUN [--outputs]         forget a run (--force: even running)"},
    {"outputs", cmd_outputs, "outputs RUN STEP [--json]      artifacts and metrics"},
    {"plot", cmd_plot, "plot RUN STEP -o FILE.svg      draw training curves"},
    {"workers", cmd_workers, "workers [--json]               live workers"},
    {"queues", cmd_queues, "queues [--json]                queue depths"},
    {"dlq", cmd_dlq, "dlq ls|requeue|drop            dead-lettered tasks"},
    {"cron", cmd_cron, "cron add 'EXPR' FILE [-p k=v] | ls | rm ID  scheduled submission"},
    {"scheduler", cmd_scheduler, "scheduler                      run the scheduler daemon"},
    {"worker", cmd_worker, "worker --types T,... [--concurrency N]  built-in workers"},
    {"up", cmd_up, "up [--workers N]               start the local stack"},
    {"down", cmd_down, "down                           stop the local stack"},
    {"watch-dir", cmd_watch_dir, "watch-dir SOURCE WORKFLOW     submit runs as session logs arrive"},
    {"artifact", cmd_artifact, "artifact inspect PATH|URL [--json] [--full]"},
    {"store", cmd_store, "store put|get|ls|head|rm|cp|tier|restore ..."},
    {"ckpt", cmd_ckpt, "ckpt commit|log|show|diff|branch|tag|checkout|verify|gc ..."},
    {"model", cmd_model, "model promote|rollback|ls    the model registry (--registry URL: online learning's)"},
    {"config", cmd_config, "config show|check-env          effective configuration, env files"},
    {"completion", cmd_completion, "completion bash|zsh            shell completion script"},
};

const rf_verb *rf_cmd_verbs(size_t *n)
{
    *n = sizeof verbs / sizeof verbs[0];
    return verbs;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ruvflow VERB [ARGS]   (ruvflow VERB --help for details)\n\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %s\n", verbs[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ruvflow %s\n", RF_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (!strcmp(argv[1], verbs[i].name))
            return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "ruvflow: unknown verb \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
