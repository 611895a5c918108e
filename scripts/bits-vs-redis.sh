#!/usr/bin/env bash
# Bitmap and HyperLogLog commands side by side: redis-server vs sabaody-server (release build),
# redis-benchmark with custom commands (scripts/bench-vs-redis.sh only runs -t tests).
#
# Both servers start on free loopback ports in empty directories (no persistence). Before
# timing, both get the same data (a 100-byte string `small`, a BIG_MB-MiB random string `big`)
# and the script checks that they agree: BITCOUNT of both strings, and GET of an HLL built by
# the same PFADDs (sparse, then dense) must be byte-identical. Then each test runs on each
# server, alternating the order every round, and the summary prints medians of:
#   * requests/s of each server and their ratio (sabaody / redis);
#   * server CPU time per request (the on-CPU time of all its threads from
#     /proc/PID/task/*/schedstat, nanosecond resolution; microseconds per request);
#   * client CPU time per request (redis-benchmark's user+sys, from its rusage) and its busy
#     share (that CPU time over its wall time);
#   * "paced" shares: the part of the run the server's threads (srvpc%) and redis-benchmark
#     (clipc%) spent on a CPU or runnable and waiting for one (schedstat). redis-benchmark is
#     one thread: near 100% it never sat waiting for replies, so the client side (its own CPU
#     or a contended client core) set the rate and the rps ratio understates the servers'
#     difference; compare the CPU ratio then. On a quiet machine busy% and paced% agree; on a
#     loaded one the gap between them is time spent waiting for a CPU.
#
#   scripts/bits-vs-redis.sh
#   SERVER_CPUS=1 CLIENT_CPUS=0 SABAODY_ARGS="--io-threads 1" ROUNDS=3 scripts/bits-vs-redis.sh
#   SABAODY_BIN_B=/path/to/other/sabaody-server TESTS=pfadd scripts/bits-vs-redis.sh   # A/B
#
# Tests (-c 50 -P 16 unless noted, -r R_RAND):
#   pfadd      PFADD hll __rand_int__                        (N requests)
#   setbit     SETBIT bm:__rand_int__ 100 1     random keys  (N)
#   bitcount   BITCOUNT small                   100 bytes    (N)
#   bitcount64 BITCOUNT big, -c 1 -P 1          BIG_MB MiB   (N_BIG)
#
# (SETBIT on one key with random offsets cannot be driven this way: __rand_int__ is zero-padded
# to 12 digits, which Redis rejects as a bit offset.)
#
# Environment: TESTS (comma list of the names above, default pfadd,setbit,bitcount,bitcount64),
# ROUNDS (3), N (1000000), N_BIG (100), BIG_MB (64), R_RAND (1000000), SABAODY_BIN,
# SABAODY_ARGS, SABAODY_BIN_B (a second sabaody binary, run as side "sabaodyB" with the same
# arguments: A/B of two builds under the same load), SKIP_BUILD=1, RUN_TIMEOUT (300),
# SERVER_CPUS / CLIENT_CPUS (taskset pinning, as in bench-vs-redis.sh).
#
# Needs: bash, awk, python3 (runs redis-benchmark to read its rusage and schedstat), redis-server,
# redis-benchmark, redis-cli, sha1sum, Linux /proc.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TESTS="${TESTS:-pfadd,setbit,bitcount,bitcount64}"
ROUNDS="${ROUNDS:-3}"
N="${N:-1000000}"
N_BIG="${N_BIG:-100}"
BIG_MB="${BIG_MB:-64}"
R_RAND="${R_RAND:-1000000}"
RUN_TIMEOUT="${RUN_TIMEOUT:-300}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SABAODY_BIN="${SABAODY_BIN:-$TARGET_DIR/release/sabaody-server}"
SABAODY_BIN_B="${SABAODY_BIN_B:-}"
SABAODY_ARGS="${SABAODY_ARGS:-}"

die() { echo "bits-vs-redis: $*" >&2; exit 1; }
for tool in redis-server redis-benchmark redis-cli awk timeout sha1sum python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install -y redis-server redis-tools)"
done
[[ -r /proc/self/stat ]] || die "/proc is needed for CPU accounting"
CLK_TCK="$(getconf CLK_TCK)"

WORK="$(mktemp -d -t sabaody-bits.XXXXXX)"
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
    p=$((12000 + RANDOM % 20000))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}
wait_ready() { # port pid
  for _ in $(seq 100); do
    kill -0 "$2" 2>/dev/null || return 1
    [[ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" PING 2>/dev/null)" == PONG ]] && return 0
    sleep 0.1
  done
  return 1
}

SERVER_PIN=(env)
CLIENT_PIN=(env)
[[ -n "${SERVER_CPUS:-}" ]] && SERVER_PIN=(taskset -c "$SERVER_CPUS")
[[ -n "${CLIENT_CPUS:-}" ]] && CLIENT_PIN=(taskset -c "$CLIENT_CPUS")

COMMON=(--bind 127.0.0.1 --save "" --appendonly no)
declare -A PORT PID
start_server() { # side [binary]
  local side="$1" bin="${2:-}" port pid
  port="$(free_port)"
  mkdir -p "$WORK/$side"
  if [[ $side == redis ]]; then
    "${SERVER_PIN[@]}" redis-server --port "$port" "${COMMON[@]}" --dir "$WORK/$side" \
      --daemonize no --logfile "$WORK/$side.log" &
  else
    # shellcheck disable=SC2086 # SABAODY_ARGS is a word list on purpose
    (cd "$WORK/$side" && exec "${SERVER_PIN[@]}" "$bin" --port "$port" "${COMMON[@]}" $SABAODY_ARGS) \
      >"$WORK/$side.log" 2>&1 &
  fi
  pid=$!
  PIDS+=("$pid")
  wait_ready "$port" "$pid" || { tail -n 20 "$WORK/$side.log" >&2; die "$side did not start"; }
  PORT[$side]=$port PID[$side]=$pid
}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "building: cargo build --release -p sabaody-server" >&2
  cargo build --release -p sabaody-server >&2
fi
[[ -x "$SABAODY_BIN" ]] || die "no sabaody-server binary at $SABAODY_BIN"
SIDES=(redis sabaody)
start_server redis
start_server sabaody "$SABAODY_BIN"
if [[ -n "$SABAODY_BIN_B" ]]; then
  [[ -x "$SABAODY_BIN_B" ]] || die "no sabaody-server binary at $SABAODY_BIN_B"
  start_server sabaodyB "$SABAODY_BIN_B"
  SIDES+=(sabaodyB)
fi

# --- data and agreement checks ------------------------------------------------------------
cli() { local port="$1"; shift; redis-cli -h 127.0.0.1 -p "$port" "$@"; }
head -c $((BIG_MB << 20)) /dev/urandom >"$WORK/big.bin"
printf '%s' "$(head -c 75 /dev/urandom | base64 -w0)" >"$WORK/small.bin" # 100 bytes
# An HLL from the same elements: 100 (sparse), then 20,000 more (dense).
awk 'BEGIN { for (i = 0; i < 100; i++) printf "*3\r\n$5\r\nPFADD\r\n$3\r\nchk\r\n$%d\r\n%s\r\n", length("e" i), "e" i }' \
  >"$WORK/hll_sparse.resp"
awk 'BEGIN { for (i = 100; i < 20100; i++) printf "*3\r\n$5\r\nPFADD\r\n$3\r\nchk\r\n$%d\r\n%s\r\n", length("e" i), "e" i }' \
  >"$WORK/hll_dense.resp"
declare -A EXPECT
agree() { # label side value
  if [[ -z "${EXPECT[$1]:-}" ]]; then EXPECT[$1]="$3"; return 0; fi
  [[ "${EXPECT[$1]}" == "$3" ]] || die "$2 disagrees with redis on $1: '$3' vs '${EXPECT[$1]}'"
}
for side in "${SIDES[@]}"; do
  p="${PORT[$side]}"
  cli "$p" -x SET big <"$WORK/big.bin" >/dev/null
  cli "$p" -x SET small <"$WORK/small.bin" >/dev/null
  agree "STRLEN big" "$side" "$(cli "$p" STRLEN big)"
  agree "BITCOUNT big" "$side" "$(cli "$p" BITCOUNT big)"
  agree "BITCOUNT small" "$side" "$(cli "$p" BITCOUNT small)"
  cli "$p" --pipe <"$WORK/hll_sparse.resp" >/dev/null
  agree "GET of a sparse HLL" "$side" "$(cli "$p" GET chk | sha1sum)"
  cli "$p" --pipe <"$WORK/hll_dense.resp" >/dev/null
  agree "GET of a dense HLL" "$side" "$(cli "$p" GET chk | sha1sum)"
  agree "PFCOUNT of it" "$side" "$(cli "$p" PFCOUNT chk)"
done
echo "check: BITCOUNT small=${EXPECT[BITCOUNT small]} big=${EXPECT[BITCOUNT big]} (${EXPECT[STRLEN big]} bytes)," \
  "GET of a sparse and a dense HLL byte-identical, PFCOUNT ${EXPECT[PFCOUNT of it]}: all sides agree" >&2

cmd_of() { # test -> "n|benchmark args|command..."
  case "$1" in
    pfadd) echo "$N|-c 50 -P 16|PFADD hll __rand_int__" ;;
    setbit) echo "$N|-c 50 -P 16|SETBIT bm:__rand_int__ 100 1" ;;
    bitcount) echo "$N|-c 50 -P 16|BITCOUNT small" ;;
    bitcount64) echo "$N_BIG|-c 1 -P 1|BITCOUNT big" ;;
    *) die "unknown test '$1'" ;;
  esac
}

cpu_ticks() {
  local stat rest
  stat="$(<"/proc/$1/stat")"
  rest="${stat##*) }"
  awk '{ print $12 + $13 }' <<<"$rest"
}
# Nanoseconds every thread of a process spent on a CPU and waiting in a run queue.
sched_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ run += $1; wait += $2 } END { printf "%.0f %.0f\n", run, wait }'; }

# Runs redis-benchmark and prints "wall user sys run wait" (seconds): its exact user/sys time
# (rusage) and, read from the exited child before it is reaped, the time it spent on a CPU or
# runnable but waiting for one. (run + wait) / wall near 100% means redis-benchmark never sat
# idle waiting for the server: the client side, not the server, set the pace.
cat >"$WORK/client.py" <<'PY'
import os, subprocess, sys, threading, time
limit, out, err, cmd = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
t0 = time.monotonic()
with open(out, "wb") as o, open(err, "wb") as e:
    p = subprocess.Popen(cmd, stdout=o, stderr=e)
killer = threading.Timer(limit, p.kill)
killer.start()
os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
wall = time.monotonic() - t0
run, wait = (int(x) / 1e9 for x in open(f"/proc/{p.pid}/schedstat").read().split()[:2])
killer.cancel()
_, status, ru = os.wait4(p.pid, 0)
print(f"{wall:.4f} {ru.ru_utime:.4f} {ru.ru_stime:.4f} {run:.4f} {wait:.4f}")
sys.exit(os.waitstatus_to_exitcode(status) or 0)
PY

# test|side|round|rps|p50|p99|server_us|client_us|client_busy|server_busy|client_paced|server_paced
RESULTS="$WORK/results"
: >"$RESULTS"
run_one() { # test side round
  local test="$1" side="$2" round="$3" spec n opts cmd pid before after sb sa wall cuser csys crun cwait
  spec="$(cmd_of "$test")"
  n="${spec%%|*}"
  spec="${spec#*|}"
  read -r -a opts <<<"${spec%%|*}"
  read -r -a cmd <<<"${spec#*|}"
  pid="${PID[$side]}"
  before="$(cpu_ticks "$pid")"
  sb="$(sched_ns "$pid")"
  python3 "$WORK/client.py" "$RUN_TIMEOUT" "$WORK/bench.out" "$WORK/bench.err" "${CLIENT_PIN[@]}" \
    redis-benchmark -h 127.0.0.1 -p "${PORT[$side]}" "${opts[@]}" -n "$n" -r "$R_RAND" --csv "${cmd[@]}" \
    >"$WORK/time.out" || { cat "$WORK/bench.err" >&2; die "redis-benchmark failed against $side: ${cmd[*]}"; }
  after="$(cpu_ticks "$pid")"
  sa="$(sched_ns "$pid")"
  read -r wall cuser csys crun cwait <"$WORK/time.out"
  awk -F'","' -v t="$test" -v s="$side" -v r="$round" -v n="$n" -v ticks="$((after - before))" -v hz="$CLK_TCK" \
    -v wall="$wall" -v cu="$cuser" -v cs="$csys" -v crun="$crun" -v cwait="$cwait" -v sb="$sb" -v sa="$sa" '
    /^"[A-Z]/ {
      gsub(/"/, "", $NF); run = n / $2
      split(sb, b, " "); split(sa, a, " "); spaced = (a[1] - b[1] + a[2] - b[2]) / 1e9
      # Server CPU from the schedstat of all threads (nanoseconds); /proc/PID/stat ticks (10 ms) as a
      # fallback when schedstat is missing.
      cpu = (a[1] > b[1]) ? (a[1] - b[1]) / 1e9 : ticks / hz
      printf "%s|%s|%s|%s|%s|%s|%.3f|%.3f|%.0f|%.0f|%.0f|%.0f\n", t, s, r, $2, $5, $7, cpu * 1e6 / n,
        (cu + cs) * 1e6 / n, 100 * (cu + cs) / wall, 100 * cpu / run, 100 * (crun + cwait) / wall, 100 * spaced / run
    }' "$WORK/bench.out" >>"$RESULTS"
  tail -n 1 "$RESULTS" | awk -F'|' '{ printf "  %-10s %-8s rps=%-11s p50=%-6s p99=%-6s server %sus/req busy %s%% run+wait %s%%; client %sus/req busy %s%% run+wait %s%%\n", $1, $2, $4, $5, $6, $7, $10, $12, $8, $9, $11 }' >&2
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "redis-server $(redis-server --version | awk '{print $3}'); sides: ${SIDES[*]}; rounds=$ROUNDS; pinning server='${SERVER_CPUS:-none}' client='${CLIENT_CPUS:-none}'; sabaody args '$SABAODY_ARGS'; load $(load)" >&2
IFS=',' read -r -a TEST_LIST <<<"$TESTS"
for round in $(seq "$ROUNDS"); do
  # Rotate the order of the sides every round.
  order=()
  for i in "${!SIDES[@]}"; do order+=("${SIDES[(i + round - 1) % ${#SIDES[@]}]}"); done
  for test in "${TEST_LIST[@]}"; do
    for side in "${order[@]}"; do run_one "$test" "$side" "$round"; done
  done
done

echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), load $(load). Medians over $ROUNDS round(s); ratio = sabaody rps / redis rps;"
echo "p99 in ms; srv/cli us = server / redis-benchmark CPU us per request; busy% = CPU time over the run's"
echo "wall time; paced% = share of the run the process was on a CPU or waiting for one (near 100% for"
echo "redis-benchmark: it never waited for the server, so the client side capped the rate)."
awk -F'|' -v sides="${SIDES[*]}" '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }
    for (f = 4; f <= 12; f++) col[$1, $2, f] = col[$1, $2, f] " " $f
  }
  END {
    ns = split(sides, side, " ")
    printf "%-10s %-8s %10s %6s %7s %9s %9s %5s %6s %5s %6s\n", "test", "side", "rps", "ratio", "p99", "srv us", "cli us", "srv%", "srvpc%", "cli%", "clipc%"
    for (i = 1; i <= k; i++) {
      t = order[i]; base = median(col[t, "redis", 4])
      for (s = 1; s <= ns; s++) {
        sd = side[s]; r = median(col[t, sd, 4])
        printf "%-10s %-8s %10.0f %5.2fx %7.3f %9.3f %9.3f %5.0f %6.0f %5.0f %6.0f\n", t, sd, r, (base > 0 ? r / base : 0),
          median(col[t, sd, 6]), median(col[t, sd, 7]), median(col[t, sd, 8]), median(col[t, sd, 10]), median(col[t, sd, 12]),
          median(col[t, sd, 9]), median(col[t, sd, 11])
      }
    }
  }' "$RESULTS"
