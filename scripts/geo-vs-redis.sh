#!/usr/bin/env bash
# Geo commands side by side: redis-server vs sabaody-server (release build), redis-benchmark
# with custom commands (scripts/bench-vs-redis.sh only runs -t tests).
#
# Both servers start on free loopback ports (no persistence) and get the same data: 100,000
# points spread over the whole map (seeded, members m:000000000000 .. m:000000099999, the
# names redis-benchmark's __rand_int__ produces with -r 100000), loaded with redis-cli --pipe.
# Then each test runs on each server, alternating which goes first every round, and the
# summary prints medians: requests/s, their ratio, p50/p99 (ms) and the server CPU time per
# request (user+sys from /proc/PID/stat, microseconds).
#
#   scripts/geo-vs-redis.sh
#   SERVER_CPUS=1 CLIENT_CPUS=0 SABAODY_ARGS="--io-threads 1" ROUNDS=3 scripts/geo-vs-redis.sh
#
# Tests (all -c 50 -P 16):
#   geoadd     GEOADD geo 13.361389 38.115556 m:__rand_int__          (N_ADD requests, -r 100000)
#   geosearch  GEOSEARCH pts FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 10        (N_SEARCH)
#   geobox     GEOSEARCH pts FROMLONLAT 15 37 BYBOX 800 400 km WITHCOORD WITHDIST (N_HEAVY)
#   georadius  GEORADIUSBYMEMBER pts m:__rand_int__ 300 km WITHDIST COUNT 5       (N_HEAVY)
#   geopos     GEOPOS pts m:__rand_int__ m:__rand_int__                           (N_ADD)
#   geodist    GEODIST pts m:__rand_int__ m:__rand_int__ km                       (N_ADD)
#
# geosearch returns the 10 nearest, geobox 61 points with coordinates and distances, georadius
# the 5 nearest within 300 km of a random member: each does far more work than a GEOADD,
# hence fewer requests.
#
# Environment: TESTS (comma list of the names above, default all), ROUNDS (3), N_ADD (1000000),
# N_SEARCH (200000), N_HEAVY (20000), POINTS (100000), SABAODY_BIN, SABAODY_ARGS, SKIP_BUILD=1,
# RUN_TIMEOUT (300), SERVER_CPUS / CLIENT_CPUS (taskset pinning, as in bench-vs-redis.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TESTS="${TESTS:-geoadd,geosearch,geobox,georadius,geopos,geodist}"
ROUNDS="${ROUNDS:-3}"
N_ADD="${N_ADD:-1000000}"
N_SEARCH="${N_SEARCH:-200000}"
N_HEAVY="${N_HEAVY:-20000}"
POINTS="${POINTS:-100000}"
RUN_TIMEOUT="${RUN_TIMEOUT:-300}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SABAODY_BIN="${SABAODY_BIN:-$TARGET_DIR/release/sabaody-server}"
SABAODY_ARGS="${SABAODY_ARGS:-}"

die() { echo "geo-vs-redis: $*" >&2; exit 1; }
for tool in redis-server redis-benchmark redis-cli awk timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install -y redis-server redis-tools)"
done
CLK_TCK="$(getconf CLK_TCK)"

WORK="$(mktemp -d -t sabaody-geo.XXXXXX)"
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
start_server() { # kind -> STARTED_PORT STARTED_PID
  local kind="$1" port pid
  port="$(free_port)"
  mkdir -p "$WORK/$kind"
  if [[ $kind == redis ]]; then
    "${SERVER_PIN[@]}" redis-server --port "$port" "${COMMON[@]}" --dir "$WORK/$kind" \
      --daemonize no --logfile "$WORK/$kind.log" &
  else
    # shellcheck disable=SC2086 # SABAODY_ARGS is a word list on purpose
    (cd "$WORK/$kind" && exec "${SERVER_PIN[@]}" "$SABAODY_BIN" --port "$port" "${COMMON[@]}" $SABAODY_ARGS) \
      >"$WORK/$kind.log" 2>&1 &
  fi
  pid=$!
  PIDS+=("$pid")
  wait_ready "$port" "$pid" || { tail -n 20 "$WORK/$kind.log" >&2; die "$kind did not start"; }
  STARTED_PORT=$port STARTED_PID=$pid
}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "building: cargo build --release -p sabaody-server" >&2
  cargo build --release -p sabaody-server >&2
fi
[[ -x "$SABAODY_BIN" ]] || die "no sabaody-server binary at $SABAODY_BIN"

start_server redis
REDIS_PORT=$STARTED_PORT REDIS_PID=$STARTED_PID
start_server sabaody
SAB_PORT=$STARTED_PORT SAB_PID=$STARTED_PID

# --- data: POINTS seeded points over the whole map, 100 per GEOADD, as RESP for --pipe --------
awk -v n="$POINTS" 'BEGIN {
  srand(20261128)
  for (i = 0; i < n; i += 100) {
    k = (n - i < 100) ? n - i : 100
    printf "*%d\r\n$6\r\nGEOADD\r\n$3\r\npts\r\n", 2 + 3 * k
    for (j = i; j < i + k; j++) {
      lon = sprintf("%.6f", rand() * 360 - 180)
      lat = sprintf("%.6f", rand() * 170 - 85)
      m = sprintf("m:%012d", j)
      printf "$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(lon), lon, length(lat), lat, length(m), m
    }
  }
}' >"$WORK/points.resp"
for port in "$REDIS_PORT" "$SAB_PORT"; do
  redis-cli -h 127.0.0.1 -p "$port" --pipe <"$WORK/points.resp" >"$WORK/pipe.out" 2>&1 ||
    { cat "$WORK/pipe.out" >&2; die "loading points into port $port failed"; }
  [[ "$(redis-cli -h 127.0.0.1 -p "$port" ZCARD pts)" == "$POINTS" ]] || die "port $port holds the wrong number of points"
done
# Both servers must answer the benchmark's queries identically before timing them.
for q in "GEOSEARCH pts FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 10 WITHDIST" \
         "GEOSEARCH pts FROMLONLAT 15 37 BYBOX 800 400 km WITHCOORD WITHDIST"; do
  # shellcheck disable=SC2086 # the query is a word list on purpose
  a="$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" $q)"; b="$(redis-cli -h 127.0.0.1 -p "$SAB_PORT" $q)"
  [[ "$a" == "$b" ]] || die "the servers disagree on: $q"
  echo "check: '$q' -> $(wc -l <<<"$a") lines, identical" >&2
done

cmd_of() { # test -> "n|-r R|command..."
  case "$1" in
    geoadd) echo "$N_ADD|GEOADD geo 13.361389 38.115556 m:__rand_int__" ;;
    geosearch) echo "$N_SEARCH|GEOSEARCH pts FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 10" ;;
    geobox) echo "$N_HEAVY|GEOSEARCH pts FROMLONLAT 15 37 BYBOX 800 400 km WITHCOORD WITHDIST" ;;
    georadius) echo "$N_HEAVY|GEORADIUSBYMEMBER pts m:__rand_int__ 300 km WITHDIST COUNT 5" ;;
    geopos) echo "$N_ADD|GEOPOS pts m:__rand_int__ m:__rand_int__" ;;
    geodist) echo "$N_ADD|GEODIST pts m:__rand_int__ m:__rand_int__ km" ;;
    *) die "unknown test '$1'" ;;
  esac
}

cpu_ticks() {
  local stat rest
  stat="$(<"/proc/$1/stat")"
  rest="${stat##*) }"
  awk '{ print $12 + $13 }' <<<"$rest"
}

RESULTS="$WORK/results" # test|server|round|rps|p50|p99|cpu_us
: >"$RESULTS"
run_one() { # test server port pid round
  local test="$1" name="$2" port="$3" pid="$4" round="$5" spec n cmd before after out
  spec="$(cmd_of "$test")"
  n="${spec%%|*}"
  read -r -a cmd <<<"${spec#*|}"
  before="$(cpu_ticks "$pid")"
  out="$(timeout "$RUN_TIMEOUT" "${CLIENT_PIN[@]}" redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -P 16 \
    -n "$n" -r "$POINTS" --csv "${cmd[@]}" 2>"$WORK/bench.err")" ||
    { cat "$WORK/bench.err" >&2; die "redis-benchmark failed against $name: ${cmd[*]}"; }
  after="$(cpu_ticks "$pid")"
  awk -F'","' -v t="$test" -v s="$name" -v r="$round" -v n="$n" -v ticks="$((after - before))" -v hz="$CLK_TCK" '
    /^"[A-Z]/ { gsub(/"/, "", $NF); printf "%s|%s|%s|%s|%s|%s|%.3f\n", t, s, r, $2, $5, $7, ticks / hz * 1e6 / n }' \
    <<<"$out" >>"$RESULTS"
  tail -n 1 "$RESULTS" | awk -F'|' '{ printf "  %-10s %-8s rps=%-11s p50=%-6s p99=%-6s cpu/req=%sus\n", $1, $2, $4, $5, $6, $7 }' >&2
}

echo "redis-server $(redis-server --version | awk '{print $3}') port $REDIS_PORT pid $REDIS_PID; sabaody port $SAB_PORT pid $SAB_PID; $POINTS points; rounds=$ROUNDS; load $(cut -d' ' -f1 /proc/loadavg)" >&2
IFS=',' read -r -a TEST_LIST <<<"$TESTS"
for round in $(seq "$ROUNDS"); do
  if (( round % 2 == 1 )); then order=(redis sabaody); else order=(sabaody redis); fi
  for test in "${TEST_LIST[@]}"; do
    for side in "${order[@]}"; do
      if [[ $side == redis ]]; then
        run_one "$test" redis "$REDIS_PORT" "$REDIS_PID" "$round"
      else
        run_one "$test" sabaody "$SAB_PORT" "$SAB_PID" "$round"
      fi
    done
  done
done

echo
echo "Medians over $ROUNDS round(s), -c 50 -P 16. rps = requests/s; p50/p99 in ms; cpu = server CPU us/request."
awk -F'|' '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }
    rps[$1, $2] = rps[$1, $2] " " $4; p50[$1, $2] = p50[$1, $2] " " $5
    p99[$1, $2] = p99[$1, $2] " " $6; cpu[$1, $2] = cpu[$1, $2] " " $7
  }
  END {
    printf "%-10s %12s %12s %6s %7s %7s %7s %7s %8s %8s\n", "test", "redis rps", "sabaody rps", "ratio", "r p50", "s p50", "r p99", "s p99", "r cpu", "s cpu"
    for (i = 1; i <= k; i++) {
      t = order[i]; rr = median(rps[t, "redis"]); sr = median(rps[t, "sabaody"])
      printf "%-10s %12.0f %12.0f %5.2fx %7.3f %7.3f %7.3f %7.3f %8.3f %8.3f\n", t, rr, sr, (rr > 0 ? sr / rr : 0), median(p50[t, "redis"]), median(p50[t, "sabaody"]), median(p99[t, "redis"]), median(p99[t, "sabaody"]), median(cpu[t, "redis"]), median(cpu[t, "sabaody"])
    }
  }' "$RESULTS"
