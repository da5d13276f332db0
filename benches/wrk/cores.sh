#!/bin/sh
# Does the server use both cores? Cold pages (benches/wrk/cold.lua) with wrk on 1 and 2
# threads against the release binary on 1 and 2 async worker threads (TOKIO_WORKER_THREADS),
# each server on a copy of `demo`'s 2,000-build history; the ratio of the 2-thread rows to
# the 1-thread ones is the scaling (wrk itself shares the same two cores).
#
#   cargo build --release && benches/wrk/cores.sh [SECONDS]
set -eu
seconds=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
bin=${BUILDSTATUS:-$here/../../target/release/buildstatus}
work=$(mktemp -d)
cd "$work"   # serve without a config makes public_html/ where it runs
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT INT TERM

"$bin" demo --history 2000 --data-dir "$work/history" --listen 127.0.0.1:0 >"$work/seed.log" 2>&1 &
seed=$!
until grep -qs serving "$work/seed.log"; do sleep 0.2; done
kill "$seed"; wait "$seed" 2>/dev/null || true

port=18400
for workers in 1 2; do
    port=$((port + 1))
    rm -rf "$work/data" && cp -r "$work/history" "$work/data"
    : >"$work/serve.log"
    TOKIO_WORKER_THREADS=$workers "$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" \
        >"$work/serve.log" 2>&1 &
    pid=$!
    until grep -qs serving "$work/serve.log"; do sleep 0.2; done
    for path in /console /builders /json/builders; do
        url="http://127.0.0.1:$port$path"
        wrk -t2 -c8 -d2s -s "$here/cold.lua" "$url" >/dev/null   # warm up
        for threads in 1 2; do
            printf '%-15s server %s thread(s), wrk %s thread(s): ' "$path" "$workers" "$threads"
            wrk -t"$threads" -c8 -d"${seconds}s" -s "$here/cold.lua" "$url" | awk '/Requests\/sec/ { print $2 " req/s" }'
        done
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
done
