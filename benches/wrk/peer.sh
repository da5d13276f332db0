#!/bin/bash
# Cold pages against Buildbot 4.3, back to back on the same history (issue 21's table): the
# peer harness's 20 builders × 500 builds (shared/bench/buildbot-peer: setup.sh, then
# populate.py), imported into buildstatus with `import-buildbot`; every request carries a query
# argument never seen before (cold.lua), so our view cache never answers. Buildbot keeps no
# answer cache, and refuses a query argument it does not know (400), so its plain URL is its
# cold path. wrk -t2 -c8, SECONDS per endpoint, after a 2 s warm-up; Buildbot is restarted
# before each of its endpoints, as the harness's run-all.sh does (its REST layer can be left
# broken by a run).
#
#   cargo build --release && benches/wrk/peer.sh [SECONDS]
#
# Prints one line per endpoint: our req/s, Buildbot's, the ratio. BBPEER (default
# ../shared/bench/buildbot-peer beside the checkout) and BBPEER_ROOT (/tmp/bbpeer) say where
# the harness and its master are.
set -euo pipefail
seconds=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
bin=${BUILDSTATUS:-$here/../../target/release/buildstatus}
peer=${BBPEER:-$(cd "$here/../../.." && pwd)/shared/bench/buildbot-peer}
root=${BBPEER_ROOT:-/tmp/bbpeer}
db=$root/master/state.sqlite
[ -f "$db" ] || { echo "no $db: run $peer/setup.sh and populate.py first" >&2; exit 1; }
work=$(mktemp -d)
cd "$work"
trap 'kill $(jobs -p) 2>/dev/null; bash "$peer/stop.sh" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM

bash "$peer/stop.sh" >/dev/null 2>&1 || true
"$root/venv/bin/python" "$peer/populate.py" >/dev/null   # restores the pristine history
"$bin" import-buildbot --db "$db" --data-dir "$work/data" >"$work/import.log" 2>&1

rate() { # URL [WRK OPTIONS]: requests per second; a non-2xx answer stops the script
    wrk -t2 -c8 -d2s "${@:2}" "$1" >/dev/null
    wrk -t2 -c8 -d"${seconds}s" --timeout 10s "${@:2}" "$1" >"$work/wrk.out"
    if grep -q Non-2xx "$work/wrk.out"; then cat "$work/wrk.out" >&2; exit 1; fi
    awk '/Requests\/sec/ { print $2 }' "$work/wrk.out"
}
cold() { rate "$1" -s "$here/cold.lua"; }

port=18500
"$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
ours=$!
until grep -qs serving "$work/serve.log"; do sleep 0.2; done
builder=linux-gcc-01
select=$(printf 'select=-%s&' 1 2 3 4 5)
declare -A mine
mine[console]=$(cold "http://127.0.0.1:$port/console")
mine[waterfall]=$(cold "http://127.0.0.1:$port/waterfall")
mine[builders]=$(cold "http://127.0.0.1:$port/json/builders")
mine[select]=$(cold "http://127.0.0.1:$port/json/builders/$builder/builds?${select%&}")
mine[build]=$(cold "http://127.0.0.1:$port/builders/$builder/builds/1")
kill "$ours"; wait "$ours" 2>/dev/null || true

declare -A theirs
base=http://127.0.0.1:8010/api/v2
for what in "recent builds?limit=100&order=-buildid" "builders builders" \
    "select builders/1/builds?limit=20" "build builds/1/steps"; do
    name=${what%% *}
    bash "$peer/stop.sh" >/dev/null 2>&1 || true
    bash "$peer/start.sh" >/dev/null
    theirs[$name]=$(rate "$base/${what#* }" -H "Accept: application/json")
done
bash "$peer/stop.sh" >/dev/null 2>&1 || true

row() { # LABEL OURS THEIRS
    awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%-48s %10.0f %10.1f %8.0fx\n", l, a, b, a / b }'
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-48s %10s %10s %9s\n' "cold, wrk -t2 -c8 ${seconds}s" buildstatus "Buildbot" ratio
row "/console vs builds?limit=100" "${mine[console]}" "${theirs[recent]}"
row "/waterfall vs builds?limit=100" "${mine[waterfall]}" "${theirs[recent]}"
row "/json/builders vs builders" "${mine[builders]}" "${theirs[builders]}"
row "select=-1..-5 vs builders/1/builds?limit=20" "${mine[select]}" "${theirs[select]}"
row "a build page vs builds/1/steps" "${mine[build]}" "${theirs[build]}"
