#!/bin/sh
# A busy master (issue 21, "fast while busy"): the release binary serving `demo`'s 2,000-build
# history with the ingest API on, while the load tool (benches/busy/main.rs) ingests RATE
# events/s through POST /api/v1/events and holds CLIENTS /events streams, and wrk asks for
# /console, /waterfall, /builders and /json/builders cold (benches/wrk/cold.lua, 2 connections
# each) at the same time. Prints the pages' latency (wrk's p50 and p99), the ingest's latency
# per batch, and what the streams got; exits non-zero if a stream missed, repeated or
# reordered an event, got a summary, or fell more than a second behind. Everything (server,
# load tool, wrk) shares the machine's cores.
#
#   cargo build --release && benches/busy/run.sh [SECONDS] [RATE] [CLIENTS]
#   (SERVER_THREADS=1 to give the server one async worker thread; PROFILE=FILE to record
#   the server with perf meanwhile; BUSY_TOOL=PATH to use a load tool already built)
set -eu
seconds=${1:-20} rate=${2:-5000} clients=${3:-500}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${BUILDSTATUS:-$root/target/release/buildstatus}
# The load tool: built here unless BUSY_TOOL names it.
tool=${BUSY_TOOL:-$(cd "$root" && cargo bench --bench busy --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))/\1/p')}
case $tool in /*) ;; *) tool=$root/$tool ;; esac
work=$(mktemp -d)
cd "$work"   # serve without a config makes public_html/ where it runs
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

"$bin" demo --history 2000 --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/seed.log" 2>&1 &
seed=$!
pids="$seed"
until grep -qs serving "$work/seed.log"; do sleep 0.2; done
kill "$seed"; wait "$seed" 2>/dev/null || true

token=busy-master-load-token-0123456789
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[ingest]\ntokens = ["%s"]\ncreate_builders = true\n' "$token" >"$work/buildstatus.toml"
env ${SERVER_THREADS:+TOKIO_WORKER_THREADS=$SERVER_THREADS} "$bin" serve --config "$work/buildstatus.toml" --data-dir "$work/data" --listen "127.0.0.1:$port" \
    >"$work/serve.log" 2>&1 &
server=$!
pids="$pids $server"
until grep -qs serving "$work/serve.log"; do sleep 0.2; done
base="http://127.0.0.1:$port"

"$tool" --url "$base" --token "$token" --rate "$rate" --clients "$clients" --seconds "$seconds" \
    >"$work/load.log" 2>&1 &
load=$!
pids="$pids $load"
until grep -qs "LOAD STARTED" "$work/load.log" || ! kill -0 "$load" 2>/dev/null; do sleep 0.1; done
echo "$(uptime)"
if [ -n "${PROFILE:-}" ]; then   # PROFILE=FILE: perf record the server meanwhile
    perf record ${PERF_OPTS:--F 999 -g} -p "$server" -o "$PROFILE" -- sleep "$((seconds - 4))" >/dev/null 2>&1 &
fi
pages=${PAGES-/console /waterfall /builders /json/builders}   # PAGES="" leaves wrk out
wrks=""
for page in $pages; do
    name=$(echo "$page" | tr / _)
    /usr/bin/time -f "wrk CPU %U %S" wrk -t1 -c2 -d"$((seconds - 2))s" --latency -s "$root/benches/wrk/cold.lua" "$base$page" >"$work/wrk$name.log" 2>&1 &
    wrks="$wrks $!"
    pids="$pids $!"
done
sleep "$((seconds / 2))"; echo "$(uptime)   (halfway)"
for w in $wrks; do wait "$w" || true; done
status=0
wait "$load" || status=$?
# How long the hub's commits took (a slow ingest answer is a slow commit, or a wait for the CPU).
curl -s "$base/metrics" | awk '/^buildstatus_hub_commit_seconds_(bucket|count|sum)/ { c = c " " $1 "=" $2 }
    END { gsub(/buildstatus_hub_commit_seconds_/, "", c); print "hub commits:" c }'
cpu=$(awk '{ print $14 + $15 }' "/proc/$server/stat")
echo "server CPU over the run: $(awk -v t="$cpu" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f s", t / hz }')"
for page in $pages; do
    name=$(echo "$page" | tr / _)
    awk -v page="$page" '
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
        /Non-2xx/ { bad = $NF }
        function ms(t) { return t ~ /us$/ ? t / 1000 : t ~ /ms$/ ? t + 0 : t * 1000 }
        END { printf "%-15s %8s req/s  p50 %8s  p99 %8s  (goal p99 <= 50 ms: %s)%s\n", page, rps, p50, p99,
                     ms(p99) <= 50 ? "met" : "not met", bad ? "  non-2xx: " bad : "" }' \
        "$work/wrk$name.log"
done
cat "$work"/wrk_*.log | awk '/^wrk CPU/ { t += $3 + $4 } END { printf "wrk CPU (4 processes): %.1f s\n", t }'
cat "$work/load.log"
grep -i "error\|warn" "$work/serve.log" | head -5 || true
exit "$status"
