#!/usr/bin/env bash
# AOF write throughput side by side with redis-server: `redis-benchmark -t set -P 16` with
# `appendonly yes` and `appendfsync everysec`, then `always`, both servers with the same
# settings (each in its own temp directory), through scripts/bench-vs-redis.sh: per policy the
# median requests/s of each server, their ratio, latency and server CPU us/request.
#
#   scripts/aof-vs-redis.sh
#   SERVER_CPUS=1 CLIENT_CPUS=0 SABAODY_ARGS="--io-threads 1" scripts/aof-vs-redis.sh
#
# Environment: AOF_EXTRA (more arguments for both servers, e.g. "--auto-aof-rewrite-percentage 0"
# to keep automatic rewrites out of the measurement), POLICIES (default "everysec always"), ROUNDS (default 3), N_P16 (requests per
# run, default 1000000), CONFIGS (default p16), TESTS (default set); everything else as in
# bench-vs-redis.sh (SERVER_CPUS, CLIENT_CPUS, SABAODY_ARGS, SKIP_BUILD, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POLICIES="${POLICIES:-everysec always}"
first=1
for policy in $POLICIES; do
  echo "=== appendonly yes, appendfsync $policy ==="
  BOTH_ARGS="--appendonly yes --appendfsync $policy ${AOF_EXTRA:-}" \
    TESTS="${TESTS:-set}" CONFIGS="${CONFIGS:-p16}" ROUNDS="${ROUNDS:-3}" N_P16="${N_P16:-1000000}" \
    SKIP_BUILD="$( ((first)) && echo "${SKIP_BUILD:-0}" || echo 1)" \
    "$ROOT/scripts/bench-vs-redis.sh"
  first=0
done
