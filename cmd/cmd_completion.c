/* cmd_completion: `ruvflow completion bash|zsh` prints a completion script:
 * the verbs (from main.c's table, with their one-line help for zsh), each
 * verb's flags, its sub-commands (`dlq ls|requeue|drop`) and, for verbs
 * that take a RUN, the ids of recent runs from `ruvflow list` (bounded by
 * `timeout 1`, so a dead Redis never hangs a Tab).
 *
 * The flags are read from each verb's own --help text (each verb prints it
 * in a forked child while the script is generated), so the script never
 * drifts from the options the verbs accept. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "base/rf_buf.h"

typedef struct verb_info {
    const char *name;
    char *args, *desc;      /* from the help line */
    char *subs;             /* "ls requeue drop" or "" */
    char *flags;            /* "--json --redis ..." */
    int takes_run;
} verb_info;

/* "NAME ARGS   description": ARGS and description, split at 2+ spaces. */
static void split_help(const rf_verb *v, verb_info *vi)
{
    const char *h = v->help + strlen(v->name);
    if (*h == ' ' && h[1] != ' ')
        h++;            /* one space: arguments follow */
    const char *gap = strstr(h, "  ");
    size_t an = gap ? (size_t)(gap - h) : strlen(h);
    vi->args = strndup(h, an);
    const char *d = gap ? gap : h + an;
    while (*d == ' ')
        d++;
    vi->desc = strdup(*d ? d : vi->args); /* no description: its arguments say it */
}

/* The first argument word: sub-commands when it is a|b|c of lower-case
 * words, RUN when the verb takes a run id. */
static void first_arg(verb_info *vi)
{
    size_t n = strcspn(vi->args, " ");
    char *w = strndup(vi->args, n);
    vi->takes_run = !strcmp(w, "RUN");
    int subs = n > 0 && w[0] >= 'a' && w[0] <= 'z';
    for (char *c = w; *c; c++)
        subs &= (*c >= 'a' && *c <= 'z') || *c == '-' || *c == '|';
    if (subs)
        for (char *c = w; *c; c++)
            if (*c == '|')
                *c = ' ';
    vi->subs = subs ? w : (free(w), strdup(""));
}

/* Every --flag in text, once each, space-separated, into out. */
static void collect_flags(const char *text, rf_buf *out)
{
    regex_t re;
    if (regcomp(&re, "--[a-z][a-z0-9-]*", REG_EXTENDED) != 0)
        return;
    const char *p = text;
    regmatch_t m;
    rf_buf seen = RF_BUF_INIT;
    rf_buf_adds(&seen, " ");
    while (regexec(&re, p, 1, &m, 0) == 0) {
        /* Not the middle of a word ("a--b") and not "---". */
        if (m.rm_so == 0 || p[m.rm_so - 1] == ' ' || p[m.rm_so - 1] == '[' ||
            p[m.rm_so - 1] == '(' || p[m.rm_so - 1] == '\n' || p[m.rm_so - 1] == '|') {
            char flag[64];
            snprintf(flag, sizeof flag, " %.*s ", (int)(m.rm_eo - m.rm_so), p + m.rm_so);
            if (!strstr(seen.data, flag)) {
                rf_buf_adds(&seen, flag + 1);
                rf_buf_addf(out, "%s%.*s", out->len ? " " : "", (int)(m.rm_eo - m.rm_so),
                            p + m.rm_so);
            }
        }
        p += m.rm_eo;
    }
    rf_buf_free(&seen);
    regfree(&re);
}

/* The verb's own `VERB --help` text, run in a forked child (no exec: the
 * process is loaded already, so 25 verbs cost milliseconds), stdout and
 * stderr into one pipe; alarm() bounds a verb that would wait. */
static void verb_flags(const rf_verb *v, verb_info *vi)
{
    rf_buf out = RF_BUF_INIT, flags = RF_BUF_INIT;
    int fd[2];
    fflush(NULL);
    if (pipe(fd) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            close(fd[0]);
            dup2(fd[1], 1);
            dup2(fd[1], 2);
            alarm(2);
            char *argv[] = {(char *)v->name, "--help", NULL};
            v->fn(2, argv);
            fflush(NULL);
            _exit(0);
        }
        close(fd[1]);
        char chunk[4096];
        ssize_t k;
        while (pid > 0 && (k = read(fd[0], chunk, sizeof chunk)) > 0)
            rf_buf_add(&out, chunk, (size_t)k);
        close(fd[0]);
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
    rf_buf_add(&out, "", 1);
    collect_flags(out.data, &flags);
    if (!strstr(flags.data ? flags.data : "", "--help"))
        rf_buf_addf(&flags, "%s--help", flags.len ? " " : "");
    vi->flags = rf_buf_detach(&flags, NULL);
    rf_buf_free(&out);
}

/* ------------------------------------------------------------ the scripts */

static void print_bash(const verb_info *v, size_t n)
{
    printf("# bash completion for ruvflow, printed by `ruvflow completion bash`.\n"
           "# Load it with  source <(ruvflow completion bash)  or save it as\n"
           "# /usr/share/bash-completion/completions/ruvflow\n"
           "__ruvflow_runs() {\n"
           "    command -v timeout >/dev/null 2>&1 || return 0\n"
           "    timeout 1 ruvflow list --limit 50 2>/dev/null | awk 'NR > 1 {print $1}'\n"
           "}\n"
           "_ruvflow() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} verb=${COMP_WORDS[1]} flags= subs= run=0\n"
           "    COMPREPLY=()\n"
           "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
           "        COMPREPLY=($(compgen -W \"");
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? " " : "", v[i].name);
    printf(" --help --version\" -- \"$cur\"))\n"
           "        return 0\n"
           "    fi\n"
           "    case $verb in\n");
    for (size_t i = 0; i < n; i++)
        printf("    %s) flags=\"%s\" subs=\"%s\" run=%d ;;\n", v[i].name, v[i].flags, v[i].subs,
               v[i].takes_run);
    printf("    esac\n"
           "    if [[ $cur == -* ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
           "    elif [ \"$COMP_CWORD\" -eq 2 ] && [ -n \"$subs\" ]; then\n"
           "        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
           "    elif [ \"$COMP_CWORD\" -eq 2 ] && [ \"$run\" = 1 ]; then\n"
           "        COMPREPLY=($(compgen -W \"$(__ruvflow_runs)\" -- \"$cur\"))\n"
           "    fi\n"
           "    return 0\n"
           "}\n"
           "complete -o default -F _ruvflow ruvflow\n");
}

/* Single-quoted for zsh: ' becomes '\'' and : (the describe separator) \:. */
static void zsh_quote(const char *s)
{
    putchar('\'');
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", stdout);
        else if (*s == ':')
            fputs("\\:", stdout);
        else
            putchar(*s);
    }
    putchar('\'');
}

static void print_zsh(const verb_info *v, size_t n)
{
    printf("#compdef ruvflow\n"
           "# zsh completion for ruvflow, printed by `ruvflow completion zsh`.\n"
           "# Save it as _ruvflow in a folder of $fpath, or load it with\n"
           "#   source <(ruvflow completion zsh)   (after compinit)\n"
           "__ruvflow_runs() {\n"
           "  (( $+commands[timeout] )) || return 0\n"
           "  timeout 1 ruvflow list --limit 50 2>/dev/null | awk 'NR > 1 {print $1}'\n"
           "}\n"
           "_ruvflow() {\n"
           "  local -a verbs flags subs runs\n"
           "  local run=0\n"
           "  verbs=(\n");
    for (size_t i = 0; i < n; i++) {
        printf("    ");
        /* The name's colon is the separator: quote the description only. */
        printf("%s:", v[i].name);
        zsh_quote(v[i].desc);
        putchar('\n');
    }
    printf("  )\n"
           "  if (( CURRENT == 2 )); then\n"
           "    _describe -t verbs 'ruvflow verb' verbs\n"
           "    return\n"
           "  fi\n"
           "  case $words[2] in\n");
    for (size_t i = 0; i < n; i++)
        printf("    %s) flags=(%s) subs=(%s) run=%d ;;\n", v[i].name, v[i].flags, v[i].subs,
               v[i].takes_run);
    printf("  esac\n"
           "  if [[ $PREFIX == -* ]]; then\n"
           "    compadd -- $flags\n"
           "  elif (( CURRENT == 3 && $#subs )); then\n"
           "    compadd -- $subs\n"
           "  elif (( CURRENT == 3 && run )); then\n"
           "    runs=(${(f)\"$(__ruvflow_runs)\"})\n"
           "    compadd -- $runs\n"
           "  else\n"
           "    _files\n"
           "  fi\n"
           "}\n"
           "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
           "  _ruvflow \"$@\"\n"
           "else\n"
           "  compdef _ruvflow ruvflow\n"
           "fi\n");
}

static const char usage[] =
    "usage: ruvflow completion bash|zsh\n"
    "\n"
    "Prints a completion script: verbs, each verb's flags and sub-commands,\n"
    "and recent run ids (via `ruvflow list`, at most 1 s) after verbs that take\n"
    "a RUN. bash:  source <(ruvflow completion bash)\n"
    "      zsh:   source <(ruvflow completion zsh)   (after compinit)\n";

RF_CMD(completion)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
        return fputs(usage, stdout), 0;
    if (argc != 2 || (strcmp(argv[1], "bash") && strcmp(argv[1], "zsh"))) {
        fputs(usage, stderr);
        return 2;
    }
    size_t n;
    const rf_verb *verbs = rf_cmd_verbs(&n);
    verb_info *vi = rf_xcalloc(n, sizeof *vi);
    for (size_t i = 0; i < n; i++) {
        vi[i].name = verbs[i].name;
        split_help(&verbs[i], &vi[i]);
        first_arg(&vi[i]);
        if (strcmp(verbs[i].name, "completion") != 0)
            verb_flags(&verbs[i], &vi[i]);
        else
            vi[i].flags = strdup("--help");
    }
    if (!strcmp(argv[1], "bash"))
        print_bash(vi, n);
    else
        print_zsh(vi, n);
    for (size_t i = 0; i < n; i++) {
        free(vi[i].args);
        free(vi[i].desc);
        free(vi[i].subs);
        free(vi[i].flags);
    }
    free(vi);
    return fflush(stdout) == 0 ? 0 : 7;
}
