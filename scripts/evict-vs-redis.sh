#!/usr/bin/env bash
# Eviction cost, side by side: redis-server and sabaody-server with the same maxmemory and
# policy, written to by `redis-benchmark -t set -r 10000000 -P 16` (far more keys than fit),
# alternating which server goes first each round. Each server is first filled past its bound
# by an untimed run of WARM requests, so every timed run is in the steady state where nearly
# every SET of a new key evicts one (the `evicted` column shows it). Prints per round and as medians: requests/s,
# server CPU per request (user+sys from /proc/PID/stat), and at the end of each run the keys
# held, used_memory, keys evicted during the run and RSS of each server.
#
#   scripts/evict-vs-redis.sh
#   MAXMEMORY=64mb POLICY=allkeys-lru ROUNDS=3 N=2000000 scripts/evict-vs-redis.sh
#
# Environment: MAXMEMORY (default 64mb), POLICY (allkeys-lru), ROUNDS (3), N (2000000 requests
# per run), WARM (4000000 requests filling each server before the rounds), RANGE (-r, 10000000), SERVER_CPUS / CLIENT_CPUS (default 1 / 0: each server gets
# one core to itself, as redis-server uses one; sabaody runs with --io-threads 1),
# SABAODY_BIN (default <target>/release/sabaody-server), SKIP_BUILD=1, and SABAODY_BIN_B: a
# second sabaody build run as a third server ("sabaodyB", same settings) for an A/B of two
# builds in the same rounds (the machine's noise then hits both alike).
# Needs redis-server, redis-benchmark, redis-cli, taskset, awk. Everything stays on 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MAXMEMORY="${MAXMEMORY:-64mb}"
POLICY="${POLICY:-allkeys-lru}"
ROUNDS="${ROUNDS:-3}"
N="${N:-2000000}"
WARM="${WARM:-4000000}"
RANGE="${RANGE:-10000000}"
SERVER_CPUS="${SERVER_CPUS:-1}"
CLIENT_CPUS="${CLIENT_CPUS:-0}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SABAODY_BIN="${SABAODY_BIN:-$TARGET_DIR/release/sabaody-server}"
[[ -n "${SKIP_BUILD:-}" ]] || cargo build --release -p sabaody-server >&2
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
info() { redis-cli -p "$1" INFO "$2" | tr -d '\r' | awk -F: -v k="$3" '$1==k{print $2}'; }

start() { # kind [binary] -> sets STARTED_PID and STARTED_PORT
  local kind="$1" bin="${2:-$SABAODY_BIN}" port; port="$(free_port)"
  local args=(--port "$port" --bind 127.0.0.1 --save "" --appendonly no --maxmemory "$MAXMEMORY" --maxmemory-policy "$POLICY")
  mkdir -p "$WORK/$kind"
  if [[ $kind == redis ]]; then
    taskset -c "$SERVER_CPUS" redis-server "${args[@]}" --dir "$WORK/$kind" --daemonize no --logfile "$WORK/$kind.log" >/dev/null 2>&1 &
  else
    (cd "$WORK/$kind" && exec taskset -c "$SERVER_CPUS" "$bin" "${args[@]}" --io-threads 1 >"$WORK/$kind.log" 2>&1) &
  fi
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  STARTED_PORT="$port"
  for _ in $(seq 100); do
    [[ "$(redis-cli -p "$port" PING 2>/dev/null)" == PONG ]] && return
    sleep 0.1
  done
  echo "server $kind did not start" >&2; exit 1
}

run() { # kind pid port -> prints a result line
  local kind="$1" pid="$2" port="$3" before after out rps
  local ev0; ev0="$(info "$port" stats evicted_keys)"
  before="$(cpu_ticks "$pid")"
  out="$(taskset -c "$CLIENT_CPUS" redis-benchmark -p "$port" -t set -n "$N" -r "$RANGE" -P 16 -q --csv 2>/dev/null)"
  after="$(cpu_ticks "$pid")"
  rps="$(echo "$out" | awk -F, 'NR==2{gsub(/"/,"",$2); print $2}')"
  local hz; hz="$(getconf CLK_TCK)"
  local cpu; cpu="$(awk -v a="$after" -v b="$before" -v n="$N" -v hz="$hz" 'BEGIN{printf "%.3f", (a-b)/hz*1e6/n}')"
  local keys; keys="$(redis-cli -p "$port" DBSIZE)"
  local evicted; evicted=$(( $(info "$port" stats evicted_keys) - ev0 ))
  printf '%-8s rps=%-10s cpu/req=%-6sus keys=%-8s used_memory=%-10s evicted=%-9s rss_kb=%s\n' \
    "$kind" "$rps" "$cpu" "$keys" "$(info "$port" memory used_memory)" "$evicted" "$(rss_kb "$pid")"
}

start redis; RPID=$STARTED_PID; RPORT=$STARTED_PORT
start sabaody; SPID=$STARTED_PID; SPORT=$STARTED_PORT
if [[ -n "${SABAODY_BIN_B:-}" ]]; then start sabaodyB "$SABAODY_BIN_B"; BPID=$STARTED_PID; BPORT=$STARTED_PORT; fi
echo "maxmemory $MAXMEMORY $POLICY; redis-benchmark -t set -n $N -r $RANGE -P 16 after $WARM untimed; servers on CPU $SERVER_CPUS, client on CPU $CLIENT_CPUS" >&2
warm() { taskset -c "$CLIENT_CPUS" redis-benchmark -p "$1" -t set -n "$WARM" -r "$RANGE" -P 16 -q >/dev/null 2>&1; }
warm "$RPORT"; warm "$SPORT"; [[ -z "${BPORT:-}" ]] || warm "$BPORT"
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then
    run redis "$RPID" "$RPORT"; run sabaody "$SPID" "$SPORT"
    [[ -z "${BPID:-}" ]] || run sabaodyB "$BPID" "$BPORT"
  else
    [[ -z "${BPID:-}" ]] || run sabaodyB "$BPID" "$BPORT"
    run sabaody "$SPID" "$SPORT"; run redis "$RPID" "$RPORT"
  fi
done | tee "$WORK/results"
echo
awk '
  { kind=$1; for (i=2;i<=NF;i++) { split($i,kv,"="); v[kind,kv[1],++n[kind,kv[1]]]=kv[2] } }
  function med(kind,f,  k,a,i,j,t) { k=n[kind,f]; for(i=1;i<=k;i++) a[i]=v[kind,f,i]+0;
    for(i=1;i<=k;i++) for(j=i+1;j<=k;j++) if(a[j]<a[i]){t=a[i];a[i]=a[j];a[j]=t}
    return (k%2)? a[(k+1)/2] : (a[k/2]+a[k/2+1])/2 }
  END {
    b = (n["sabaodyB","rps"] > 0)
    if (b) printf "median      %12s %12s %8s %12s %8s\n", "redis", "sabaody", "ratio", "sabaodyB", "ratio"
    else printf "median      %12s %12s %8s\n", "redis", "sabaody", "ratio"
    split("rps cpu/req keys used_memory rss_kb", fs, " ")
    for (i=1;i<=5;i++) { f=fs[i]; r=med("redis",f); s=med("sabaody",f);
      printf "%-11s %12.3f %12.3f %7.2fx", f, r, s, (r>0? s/r : 0)
      if (b) { t=med("sabaodyB",f); printf " %12.3f %7.2fx", t, (r>0? t/r : 0) }
      printf "\n" }
  }' "$WORK/results"
