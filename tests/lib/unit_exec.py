#!/usr/bin/python3
"""unit_exec.py: run a systemd service unit's own command lines without systemd.

    unit_exec.py UNIT_FILE INSTANCE [--map FROM=TO]... [--print]

Reads the unit's [Service] Environment=, EnvironmentFile=, ExecStartPre= and
ExecStart= lines, substitutes %i (and %%), maps paths (--map /etc=/tmp/x/etc,
so that a test uses its own env files), builds the environment as systemd
does (Environment= first, then each EnvironmentFile= in order, later wins; a
"-" prefix makes a missing file fine), expands ${VAR} to one argument and
$VAR to its whitespace-split words, runs each ExecStartPre= (a failure
stops, with its exit status, as systemd's start would) and then execs
ExecStart= in place, so the caller's pid is the worker's and SIGTERM reaches
it as systemd's KillSignal would. The tests use it to start workers and
schedulers exactly as the installed units would, inside network
namespaces. Only what ruvflow's units use is supported.
"""
import os
import re
import shlex
import subprocess
import sys


def parse_unit(path):
    service, section = [], None
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]" and "=" in line:
            k, v = line.split("=", 1)
            service.append((k.strip(), v.strip()))
    return service


def parse_env_file(path):
    env = {}
    for n, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if "=" not in line:
            sys.exit(f"unit_exec: {path}:{n}: expected KEY=VALUE")
        k, v = line.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        env[k.strip()] = v
    return env


def expand(words, env):
    out = []
    for w in words:
        m = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", w)
        if m:
            out.append(env.get(m.group(1), ""))
            continue
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w)
        if m:
            out.extend(env.get(m.group(1), "").split())
            continue
        out.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                          lambda x: env.get(x.group(1), ""), w))
    return out


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    unit, instance, maps, dry = args[0], args[1], [], False
    rest = args[2:]
    while rest:
        if rest[0] == "--map" and len(rest) > 1:
            maps.append(rest[1].split("=", 1))
            rest = rest[2:]
        elif rest[0] == "--print":
            dry, rest = True, rest[1:]
        else:
            sys.exit(f"unit_exec: unknown argument {rest[0]}")

    def subst(v):
        v = v.replace("%i", instance).replace("%%", "%")
        for a, b in maps:
            v = v.replace(a, b)
        return v

    keep = ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "OPENBLAS_NUM_THREADS")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    pre, start = [], None
    for k, v in parse_unit(unit):
        v = subst(v)
        if k == "Environment":
            for kv in shlex.split(v):
                a, _, b = kv.partition("=")
                env[a] = b
        elif k == "EnvironmentFile":
            optional = v.startswith("-")
            path = v[1:] if optional else v
            if os.path.exists(path):
                env.update(parse_env_file(path))
            elif not optional:
                sys.exit(f"unit_exec: {unit}: EnvironmentFile {path} is missing")
        elif k == "ExecStartPre":
            pre.append(v)
        elif k == "ExecStart":
            start = v
    if start is None:
        sys.exit(f"unit_exec: {unit}: no ExecStart=")
    cmds = [expand(shlex.split(c), env) for c in pre + [start]]
    if dry:
        for c in cmds:
            print(shlex.join(c))
        return
    for c in cmds[:-1]:
        rc = subprocess.call(c, env=env)
        if rc != 0:
            sys.exit(rc)
    os.execve(cmds[-1][0], cmds[-1], env)


main()
