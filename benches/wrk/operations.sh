#!/bin/sh
# The operator-side figures, measured with wrk against the release binary, back to back on one
# machine: /builders with http.log on and off (it may cost at most 3 %), and /builders over
# TLS against plain HTTP (TLS should keep at least half). Each server runs `demo` on the same
# 2,000-build history; every request is cold (benches/wrk/cold.lua), since /builders is not in
# the view cache anyway.
#
#   cargo build --release && benches/wrk/operations.sh [SECONDS]
set -eu
seconds=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
bin=${BUILDSTATUS:-$here/../../target/release/buildstatus}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT INT TERM

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# A history once; each run starts from a copy, so no run sees another's writes.
"$bin" demo --history 2000 --data-dir "$work/history" --listen 127.0.0.1:0 >"$work/seed.log" 2>&1 &
seed=$!
until grep -qs serving "$work/seed.log"; do sleep 0.2; done
kill "$seed"; wait "$seed" 2>/dev/null || true

run() { # NAME CONFIG-TEXT LISTEN URL
    rm -rf "$work/data" && cp -r "$work/history" "$work/data"
    printf '%s\n' "$2" >"$work/$1.toml"
    : >"$work/$1.log"   # a run's name comes back: its old log must not say "serving"
    "$bin" serve --config "$work/$1.toml" --data-dir "$work/data" --listen "$3" >"$work/$1.log" 2>&1 &
    pid=$!
    until grep -qs serving "$work/$1.log"; do sleep 0.2; done
    wrk -t2 -c8 -d2s -s "$here/cold.lua" "$4" >/dev/null          # warm up
    printf '%-16s ' "$1"
    wrk -t2 -c8 -d"${seconds}s" -s "$here/cold.lua" "$4" | awk '/Requests\/sec/ { print $2 " req/s" }'
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

run http_log_off 'http_log = "-"' 127.0.0.1:18301 http://127.0.0.1:18301/builders
run http_log_on  ''               127.0.0.1:18302 http://127.0.0.1:18302/builders
run http_log_off 'http_log = "-"' 127.0.0.1:18303 http://127.0.0.1:18303/builders
run http_log_on  ''               127.0.0.1:18304 http://127.0.0.1:18304/builders
run plain        'http_log = "-"' 127.0.0.1:18305 http://127.0.0.1:18305/builders
run tls          'http_log = "-"' "ssl:18306:privateKey=$work/key.pem:certKey=$work/cert.pem:interface=127.0.0.1" \
    https://127.0.0.1:18306/builders
