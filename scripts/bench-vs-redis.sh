#!/usr/bin/env bash
# Side-by-side throughput/latency benchmark: redis-server vs sabaody-server (release build).
#
# Starts both servers on free loopback ports (no persistence), runs the same redis-benchmark
# invocations against each, alternating which server goes first in each round, and prints per
# configuration and test: the median requests/s of each server and their ratio, the median p50
# and p99 latency (ms), and the server CPU time per request (user+sys from /proc/PID/stat,
# microseconds; redis-benchmark shares the machine, so this is the fairer efficiency figure).
#
#   scripts/bench-vs-redis.sh                    # default: -t set,get at -P 1, -P 16, -c 1000
#   TESTS=set,get,lpush,rpush scripts/bench-vs-redis.sh
#   ROUNDS=5 N_P1=300000 scripts/bench-vs-redis.sh
#
# Environment:
#   TESTS        comma-separated redis-benchmark -t tests (default: set,get); each test runs as
#                its own redis-benchmark invocation so CPU time can be charged to it
#   ROUNDS       rounds per configuration (default 3); the median is over rounds
#   N_P1 N_P16 N_C1000   requests per run for the three configurations
#                (defaults 200000, 2000000, 200000: a few seconds each on 2 cores)
#   CONFIGS      which configurations to run, any of "p1 p16 c1000" (default: all three)
#   EXTRA_ARGS   extra redis-benchmark arguments for every run (e.g. "-r 100000 -d 16")
#   SABAODY_BIN  sabaody-server binary (default: <target dir>/release/sabaody-server, built here)
#   SABAODY_ARGS extra sabaody-server arguments (e.g. "--io-threads 1")
#   BOTH_ARGS    extra arguments for both servers, after the defaults (e.g. "--appendonly yes
#                --appendfsync always"; scripts/aof-vs-redis.sh uses it); each server runs in
#                its own temp directory, so its files stay apart
#   SKIP_BUILD=1 do not run cargo build
#   SELF_TEST=1  the second side is another redis-server: checks this script, not Sabaody
#   RUN_TIMEOUT  seconds before one redis-benchmark run is killed (default 300)
#   SERVER_CPUS CLIENT_CPUS  pin both servers / redis-benchmark to these CPUs with taskset
#                (e.g. SERVER_CPUS=1 CLIENT_CPUS=0 SABAODY_ARGS="--io-threads 1": each server gets
#                one core to itself, as redis-server uses one, and the client never steals it)
#
# Needs: bash, awk, redis-server, redis-benchmark, redis-cli (Debian: redis-server redis-tools),
# cargo. Everything stays on 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TESTS="${TESTS:-set,get}"
ROUNDS="${ROUNDS:-3}"
N_P1="${N_P1:-200000}"
N_P16="${N_P16:-2000000}"
N_C1000="${N_C1000:-200000}"
CONFIGS="${CONFIGS:-p1 p16 c1000}"
EXTRA_ARGS="${EXTRA_ARGS:-}"
RUN_TIMEOUT="${RUN_TIMEOUT:-300}"
SELF_TEST="${SELF_TEST:-0}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SABAODY_BIN="${SABAODY_BIN:-$TARGET_DIR/release/sabaody-server}"
SABAODY_ARGS="${SABAODY_ARGS:-}"

die() { echo "bench-vs-redis: $*" >&2; exit 1; }
for tool in redis-server redis-benchmark redis-cli awk timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install -y redis-server redis-tools)"
done
[[ -r /proc/self/stat ]] || die "/proc is needed for CPU accounting"
CLK_TCK="$(getconf CLK_TCK)"

WORK="$(mktemp -d -t sabaody-bench.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
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

SERVER_PIN=(env)
CLIENT_PIN=(env)
[[ -n "${SERVER_CPUS:-}" ]] && SERVER_PIN=(taskset -c "$SERVER_CPUS")
[[ -n "${CLIENT_CPUS:-}" ]] && CLIENT_PIN=(taskset -c "$CLIENT_CPUS")

# start_server NAME KIND: KIND redis or sabaody; sets STARTED_PORT and STARTED_PID. Retries on
# another port if the first one was taken in the meantime.
start_server() {
  local name="$1" kind="$2" port pid
  for _ in 1 2 3 4 5; do
    port="$(free_port)"
    while [[ "$port" == "${REDIS_PORT:-}" ]]; do port="$(free_port)"; done
    mkdir -p "$WORK/$name"
    if [[ $kind == redis ]]; then
      "${SERVER_PIN[@]}" redis-server --port "$port" "${COMMON[@]}" --dir "$WORK/$name" --daemonize no \
        --logfile "$WORK/$name.log" &
    else
      # shellcheck disable=SC2086 # SABAODY_ARGS is a word list on purpose
      (cd "$WORK/$name" && exec "${SERVER_PIN[@]}" "$SABAODY_BIN" --port "$port" "${COMMON[@]}" $SABAODY_ARGS) \
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

# --- build and start ----------------------------------------------------------------------------
if [[ "$SELF_TEST" != 1 && "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "building: cargo build --release -p sabaody-server" >&2
  cargo build --release -p sabaody-server >&2
fi
if [[ "$SELF_TEST" != 1 ]]; then
  [[ -x "$SABAODY_BIN" ]] || die "no sabaody-server binary at $SABAODY_BIN"
fi

ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) >= 1100 )) || die "open-file limit $(ulimit -n) is too low for -c 1000"

# shellcheck disable=SC2206 # BOTH_ARGS is a word list on purpose
COMMON=(--bind 127.0.0.1 --save "" --appendonly no ${BOTH_ARGS:-})
start_server redis redis
REDIS_PORT=$STARTED_PORT REDIS_PID=$STARTED_PID
if [[ "$SELF_TEST" == 1 ]]; then
  SAB_NAME="redis#2"
  start_server sabaody redis
else
  SAB_NAME="sabaody"
  start_server sabaody sabaody
fi
SAB_PORT=$STARTED_PORT SAB_PID=$STARTED_PID

# --- measurement --------------------------------------------------------------------------------
cpu_ticks() { # utime+stime of a pid, in clock ticks (fields 14 and 15 of /proc/PID/stat)
  local stat rest
  stat="$(<"/proc/$1/stat")"
  rest="${stat##*) }" # the command name may contain spaces; fields restart after ") "
  awk '{ print $12 + $13 }' <<<"$rest"
}

RESULTS="$WORK/results" # config|test|server|round|rps|p50|p99|cpu_us_per_req|client_busy_pct
: >"$RESULTS"

run_one() { # config-name server-name port pid n round test args...
  local cfg="$1" name="$2" port="$3" pid="$4" n="$5" round="$6" test="$7"
  shift 7
  local before after out rc lines
  before="$(cpu_ticks "$pid")"
  set +e
  # shellcheck disable=SC2086 # EXTRA_ARGS is a word list on purpose
  # bash's `time` reports wall, user and system time of the client (redis-benchmark is reaped by
  # `timeout`, so its CPU time is included): how busy the client was tells whether it, rather
  # than the server, set the rate.
  out="$( { TIMEFORMAT='%R %U %S'; time timeout "$RUN_TIMEOUT" "${CLIENT_PIN[@]}" redis-benchmark -h 127.0.0.1 \
    -p "$port" -t "$test" -n "$n" "$@" $EXTRA_ARGS --csv 2>"$WORK/bench.err"; } 2>"$WORK/time.out")"
  rc=$?
  set -e
  after="$(cpu_ticks "$pid")"
  if (( rc != 0 )) || grep -qi "error" "$WORK/bench.err"; then
    echo "redis-benchmark failed against $name (exit $rc): redis-benchmark -p $port -t $test -n $n $* $EXTRA_ARGS" >&2
    head -c 2000 "$WORK/bench.err" >&2
    kill -0 "$pid" 2>/dev/null || { echo "$name is no longer running; its log:" >&2; tail -n 30 "$WORK/$([[ $name == redis ]] && echo redis || echo sabaody).log" >&2; }
    exit 1
  fi
  # One CSV row per test actually run (e.g. -t lrange_100 also runs LPUSH to fill the list).
  lines="$(grep -c '^"[A-Z]' <<<"$out" || true)"
  (( lines > 0 )) || { echo "no CSV result from redis-benchmark against $name:" >&2; echo "$out" >&2; exit 1; }
  local wall cuser csys
  read -r wall cuser csys <"$WORK/time.out" || { wall=0 cuser=0 csys=0; }
  awk -F'","' -v cfg="$cfg" -v srv="$name" -v round="$round" -v n="$n" -v lines="$lines" \
      -v ticks="$((after - before))" -v hz="$CLK_TCK" -v wall="$wall" -v ccpu="$(awk -v u="$cuser" -v s="$csys" 'BEGIN { print u + s }')" '
    /^"[A-Z]/ {
      gsub(/"/, "", $1); gsub(/"/, "", $NF)
      sub(/ \(.*$/, "", $1)          # "LPUSH (needed to benchmark LRANGE)" -> "LPUSH"
      cpu = ticks / hz * 1e6 / (n * lines)
      busy = wall > 0 ? 100 * ccpu / wall : 0
      printf "%s|%s|%s|%s|%s|%s|%s|%.3f|%.0f\n", cfg, $1, srv, round, $2, $5, $7, cpu, busy
    }' <<<"$out" >>"$RESULTS"
  awk -F'|' 'END { printf "  %-8s %-7s %-10s rps=%-12s p50=%-7s p99=%-7s cpu/req=%sus client-busy=%s%%\n", $1, $3, $2, $5, $6, $7, $8, $9 }' "$RESULTS" >&2
}

config_args() { # name -> "n|args"
  case "$1" in
    p1) echo "$N_P1|-c 50 -P 1" ;;
    p16) echo "$N_P16|-c 50 -P 16" ;;
    c1000) echo "$N_C1000|-c 1000 -P 1" ;;
    *) die "unknown configuration '$1' (want p1, p16, c1000)" ;;
  esac
}

echo "redis-server $(redis-server --version | awk '{print $3}') on port $REDIS_PORT (pid $REDIS_PID); $SAB_NAME on port $SAB_PORT (pid $SAB_PID)" >&2
read -r LOAD1 _ </proc/loadavg
if awk -v l="$LOAD1" 'BEGIN { exit !(l > 1.0) }'; then
  echo "warning: load average $LOAD1 before the run: other work shares the CPUs, figures will be noisy" >&2
fi
echo "rounds=$ROUNDS tests=$TESTS configs='$CONFIGS' extra='$EXTRA_ARGS' cores=$(nproc)" >&2
IFS=',' read -r -a TEST_LIST <<<"$TESTS"
for round in $(seq "$ROUNDS"); do
  for cfg in $CONFIGS; do
    spec="$(config_args "$cfg")"
    n="${spec%%|*}"
    read -r -a args <<<"${spec#*|}"
    # Alternate which server goes first so warm-up or machine drift does not favour one side.
    if (( round % 2 == 1 )); then order=(redis sabaody); else order=(sabaody redis); fi
    for side in "${order[@]}"; do
      if [[ $side == redis ]]; then
        port=$REDIS_PORT pid=$REDIS_PID name=redis
      else
        port=$SAB_PORT pid=$SAB_PID name=$SAB_NAME
      fi
      for test in "${TEST_LIST[@]}"; do
        run_one "$cfg" "$name" "$port" "$pid" "$n" "$round" "$test" "${args[@]}"
      done
    done
  done
done

# --- summary ------------------------------------------------------------------------------------
echo
echo "Medians over $ROUNDS round(s). rps = requests/s; p50/p99 in ms; cpu = server CPU us/request;"
echo "cli = redis-benchmark's CPU time as % of the run's wall time (near 100: the client, not the server, set the rate)."
echo "ratio = $SAB_NAME rps / redis rps (issue 4 targets: >= 1.0 at -P 1, >= 1.3 at -P 16; p99 <= redis)."
awk -F'|' -v other="$SAB_NAME" '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    key = $1 "|" $2
    if (!(key in seen)) { seen[key] = 1; order[++k] = key }
    rps[key, $3] = rps[key, $3] " " $5; p50[key, $3] = p50[key, $3] " " $6
    p99[key, $3] = p99[key, $3] " " $7; cpu[key, $3] = cpu[key, $3] " " $8
    cli[key, $3] = cli[key, $3] " " $9
  }
  END {
    label["p1"] = "-c 50 -P 1"; label["p16"] = "-c 50 -P 16"; label["c1000"] = "-c 1000 -P 1"
    printf "%-13s %-10s %12s %12s %6s %7s %7s %7s %7s %8s %8s %5s %5s\n", "config", "test", "redis rps", other " rps", "ratio", "r p50", "s p50", "r p99", "s p99", "r cpu", "s cpu", "r cli", "s cli"
    for (i = 1; i <= k; i++) {
      split(order[i], kt, "|")
      rr = median(rps[order[i], "redis"]); sr = median(rps[order[i], other])
      printf "%-13s %-10s %12.0f %12.0f %5.2fx %7.3f %7.3f %7.3f %7.3f %8.3f %8.3f %4.0f%% %4.0f%%\n", label[kt[1]], kt[2], rr, sr, (rr > 0 ? sr / rr : 0), median(p50[order[i], "redis"]), median(p50[order[i], other]), median(p99[order[i], "redis"]), median(p99[order[i], other]), median(cpu[order[i], "redis"]), median(cpu[order[i], other]), median(cli[order[i], "redis"]), median(cli[order[i], other])
    }
  }' "$RESULTS"
