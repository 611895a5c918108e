#!/usr/bin/env bash
# SORT of a 100-element list of random integers, redis-server vs sabaody-server
# (`redis-benchmark -P 16 -n $N SORT l` and `SORT l BY nosort`): requests/s and the server's
# CPU time per request (user+sys from /proc/PID/stat). Both servers are pinned to CPU 1
# (Sabaody with --io-threads 1), redis-benchmark to CPU 0; two rounds.
#
#   cargo build --release -p sabaody-server && scripts/bench-sort-vs-redis.sh
#
# Environment: SAB (sabaody-server binary, default <target dir>/release/sabaody-server),
# N (requests per run, default 200000). Uses ports 7391 and 7392 on 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAB=${SAB:-${CARGO_TARGET_DIR:-$ROOT/target}/release/sabaody-server}
N=${N:-200000}
TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{print ($14+$15)/t}' /proc/$1/stat; }
D=$(mktemp -d)
taskset -c 1 redis-server --port 7391 --save '' --appendonly no --dir "$D" >/dev/null 2>&1 &
RP=$!
taskset -c 1 "$SAB" --port 7392 --save '' --io-threads 1 --dir "$D" >/dev/null 2>&1 &
SP=$!
sleep 1
vals=$(python3 -c "import random; random.seed(7); print(' '.join(str(random.randint(0,1000000)) for _ in range(100)))")
for port in 7391 7392; do redis-cli -p $port del l >/dev/null; redis-cli -p $port rpush l $vals >/dev/null; done
for round in 1 2; do
for cmd in "SORT l" "SORT l BY nosort"; do
  for side in redis:7391:$RP sabaody:7392:$SP; do
    IFS=: read name port pid <<<"$side"
    c0=$(cpu $pid)
    out=$(taskset -c 0 redis-benchmark -p $port -P 16 -n $N -q $cmd 2>/dev/null | tr '\r' '\n' | grep -a "requests per second" | tail -1)
    c1=$(cpu $pid)
    us=$(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN{printf "%.2f", (b-a)*1e6/n}')
    echo "round $round | $cmd | $name | $out | server CPU ${us} us/request"
  done
done
done
kill $RP $SP
wait 2>/dev/null || true
rm -rf "$D"
