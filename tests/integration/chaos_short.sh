#!/usr/bin/env bash
# chaos_short: the chaos harness (tests/chaos/chaos.sh) in its short form
# for make test: 200 tasks, a worker killed every 2 s instead of every
# second, the other faults as in `make chaos` (3 scheduler and 1 Redis kill
# -9, 5% S3 faults, a store stall longer than a lease), appendfsync always
# so that exactly-once is checked strictly; Redis's return to its baseline
# after retention is left to `make chaos` (it waits out the 60 s minimum).
export RF_CHAOS_TASKS=${RF_CHAOS_TASKS:-200} RF_CHAOS_KILL_EVERY=${RF_CHAOS_KILL_EVERY:-2}
export RF_CHAOS_FSYNC=${RF_CHAOS_FSYNC:-always} RF_CHAOS_RETENTION=${RF_CHAOS_RETENTION:-0}
exec bash "$(dirname "$0")/../chaos/chaos.sh"
