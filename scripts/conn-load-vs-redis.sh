#!/usr/bin/env bash
# 10,000-connection load, redis-server vs sabaody-server, side by side.
#
# Starts both servers on free loopback ports (no persistence, maxclients 10100), then runs
# scripts/conn_load.py against each in turn: N connections held open, idle, then one request per
# connection per second for D seconds. Prints failures, latency percentiles and server RSS per
# idle connection for both, and the ratios.
#
#   scripts/conn-load-vs-redis.sh
#   N=2000 DURATION=5 scripts/conn-load-vs-redis.sh        # quick check
#
# Environment:
#   N            connections (default 10000)      DURATION  seconds of load (default 20)
#   COMMAND      ping | set | get (default ping)  SETTLE    idle seconds before RSS readings (3)
#   ROUNDS       rounds (default 1); fresh servers each round, alternating which goes first;
#                the summary shows medians (failures: the sum)
#   SABAODY_BIN  sabaody-server binary (default: <target dir>/release/sabaody-server, built here)
#   SABAODY_ARGS extra sabaody-server arguments (e.g. "--io-threads 1")
#   SKIP_BUILD=1 do not run cargo build
#   SELF_TEST=1  the second side is another redis-server: checks this script, not Sabaody
#
# Needs: bash, python3 (standard library), redis-server, redis-cli, cargo. Loopback only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

N="${N:-10000}"
DURATION="${DURATION:-20}"
COMMAND="${COMMAND:-ping}"
SETTLE="${SETTLE:-3}"
ROUNDS="${ROUNDS:-1}"
SELF_TEST="${SELF_TEST:-0}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SABAODY_BIN="${SABAODY_BIN:-$TARGET_DIR/release/sabaody-server}"
SABAODY_ARGS="${SABAODY_ARGS:-}"
MAXCLIENTS=$((N + 100))

die() { echo "conn-load-vs-redis: $*" >&2; exit 1; }
for tool in redis-server redis-cli python3 timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

# 10,000 client sockets in the load tool, 10,000 in each server: every process needs the headroom.
ulimit -n 20000 2>/dev/null || die "cannot raise the open-file limit to 20000 (hard limit: $(ulimit -Hn))"

WORK="$(mktemp -d -t sabaody-connload.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((12000 + RANDOM % 20000)) # below the ephemeral range (32768+)
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}
wait_ready() { # name port pid -> 0 when it answers PING, 1 if it exited or stayed silent 10 s
  for _ in $(seq 100); do
    kill -0 "$3" 2>/dev/null || return 1
    [[ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$2" PING 2>/dev/null)" == PONG ]] && return 0
    sleep 0.1
  done
  kill -KILL "$3" 2>/dev/null || true
  return 1
}

# start_server NAME KIND: KIND redis or sabaody; sets STARTED_PORT and STARTED_PID. Retries on
# another port if the first one was taken in the meantime.
start_server() {
  local name="$1" kind="$2" port pid
  for _ in 1 2 3 4 5; do
    port="$(free_port)"
    while [[ "$port" == "${REDIS_PORT:-}" ]]; do port="$(free_port)"; done
    mkdir -p "$WORK/$name"
    if [[ $kind == redis ]]; then
      redis-server --port "$port" "${COMMON[@]}" --dir "$WORK/$name" --daemonize no \
        --logfile "$WORK/$name.log" &
    else
      # shellcheck disable=SC2086 # SABAODY_ARGS is a word list on purpose
      (cd "$WORK/$name" && exec "$SABAODY_BIN" --port "$port" "${COMMON[@]}" $SABAODY_ARGS) \
        >"$WORK/$name.log" 2>&1 &
    fi
    pid=$!
    PIDS+=("$pid")
    if wait_ready "$name" "$port" "$pid"; then
      STARTED_PORT=$port STARTED_PID=$pid
      return 0
    fi
    wait "$pid" 2>/dev/null || true
  done
  tail -n 20 "$WORK/$name.log" >&2
  die "$name did not start (log above)"
}

if [[ "$SELF_TEST" != 1 && "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "building: cargo build --release -p sabaody-server" >&2
  cargo build --release -p sabaody-server >&2
fi
[[ "$SELF_TEST" == 1 || -x "$SABAODY_BIN" ]] || die "no sabaody-server binary at $SABAODY_BIN"

COMMON=(--bind 127.0.0.1 --save "" --appendonly no --maxclients "$MAXCLIENTS")
if [[ "$SELF_TEST" == 1 ]]; then SAB_NAME="redis#2" SAB_KIND=redis; else SAB_NAME="sabaody" SAB_KIND=sabaody; fi

stop_server() { # pid
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

status=0
for round in $(seq "$ROUNDS"); do
  # Fresh servers every round: the RSS baseline must not include a previous round's leftovers.
  REDIS_PORT=""
  start_server redis redis
  REDIS_PORT=$STARTED_PORT REDIS_PID=$STARTED_PID
  start_server sabaody "$SAB_KIND"
  SAB_PORT=$STARTED_PORT SAB_PID=$STARTED_PID
  read -r LOAD1 _ </proc/loadavg
  if awk -v l="$LOAD1" 'BEGIN { exit !(l > 1.0) }'; then
    echo "warning: load average $LOAD1 before round $round: other work shares the CPUs, figures will be noisy" >&2
  fi
  # Give both a moment to settle after the readiness probe before the RSS baseline is read.
  sleep 1
  # Alternate which server goes first.
  if (( round % 2 == 1 )); then order=(redis sabaody); else order=(sabaody redis); fi
  for side in "${order[@]}"; do
    if [[ $side == redis ]]; then port=$REDIS_PORT pid=$REDIS_PID label=redis; else port=$SAB_PORT pid=$SAB_PID label=$SAB_NAME; fi
    echo "--- round $round/$ROUNDS: $label"
    python3 "$ROOT/scripts/conn_load.py" --port "$port" --pid "$pid" -n "$N" -d "$DURATION" \
      --command "$COMMAND" --settle "$SETTLE" --label "$label" --json "$WORK/$side.$round.json" || status=1
    kill -0 "$pid" 2>/dev/null || { echo "$label died during the load; log:" >&2; tail -n 30 "$WORK/$side.log" >&2; status=1; }
    echo
  done
  stop_server "$REDIS_PID"
  stop_server "$SAB_PID"
done

python3 - "$WORK" "$ROUNDS" "$SAB_NAME" <<'EOF'
import json, statistics, sys
work, rounds, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = {side: [json.load(open(f"{work}/{side}.{r}.json")) for r in range(1, rounds + 1)] for side in ("redis", "sabaody")}
rows = [
    ("connections ok", "connect_ok"), ("failures (all kinds)", "failures"),
    ("connect seconds", "connect_seconds"),
    ("p50 latency ms", "p50_ms"), ("p99 latency ms", "p99_ms"), ("p99.9 latency ms", "p999_ms"),
    ("max latency ms", "max_ms"), ("RSS before KiB", "rss_before_kib"),
    ("RSS all idle KiB", "rss_idle_connected_kib"), ("RSS after load KiB", "rss_after_load_kib"),
    ("RSS idle after load KiB", "rss_idle_after_load_kib"),
    ("B per idle conn (fresh)", "per_conn_idle_bytes"),
    ("B per idle conn (after load)", "per_conn_idle_after_load_bytes"),
]
def agg(side, key):
    vals = [r.get(key) for r in runs[side]]
    if any(v is None for v in vals):
        return None
    if key == "failures":
        return sum(vals)  # summed over rounds, never medianed away
    m = statistics.median(vals)
    return int(m) if float(m).is_integer() else round(m, 3)
print(f"{'median over ' + str(rounds) + ' round(s)':30} {'redis':>12} {name:>12} {'ratio':>8}")
for label, key in rows:
    a, b = agg("redis", key), agg("sabaody", key)
    ratio = f"{b / a:.2f}x" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a else ""
    print(f"{label:30} {str(a):>12} {str(b):>12} {ratio:>8}")
print("failures are summed over rounds. issue 4 targets: zero failures, p99 no worse than")
print("redis-server, <= 4096 B per idle connection.")
EOF
exit "$status"
