#!/usr/bin/env bash
# The [pb] listener under load (issue 18): COUNT stock Twisted clients (default 100) subscribed
# in MODE (default steps) to `buildstatus demo --speed SPEED` (default 10) for SECONDS (default
# 60); prints what the clients received and the server's CPU over that window, in % of one
# core (target: under 50 %), from /proc/PID/stat (utime + stime).
#
#   cargo build --release && benches/pb/load.sh [COUNT] [MODE] [SPEED] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-100} MODE=${2:-steps} SPEED=${3:-10} SECONDS_=${4:-60}
PY=${BUILDSTATUS_BUILDBOT_VENV:-/var/tmp/buildstatus-buildbot-venv}/bin/python
BIN=${CARGO_TARGET_DIR:-target}/release/buildstatus
DIR=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listen = "127.0.0.1:0"\ndata_dir = "data"\n[pb]\nport = "tcp:%s:interface=127.0.0.1"\n' "$PORT" > "$DIR/buildstatus.toml"
"$BIN" demo --config "$DIR/buildstatus.toml" --history 100 --speed "$SPEED" > "$DIR/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q "serving" "$DIR/server.log" && break; sleep 0.1; done
ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
HZ=$(getconf CLK_TCK)
"$PY" tests/fixtures/pb/many_clients.py "$PORT" statusClient clientpw "$COUNT" "$MODE" "$SECONDS_" > "$DIR/clients.json" &
CLIENTS=$!
sleep 5   # logins and the first builds
BEFORE=$(ticks); T0=$(date +%s.%N)
wait "$CLIENTS"
AFTER=$(ticks); T1=$(date +%s.%N)
echo "clients: $(cat "$DIR/clients.json")"
awk -v a="$AFTER" -v b="$BEFORE" -v t0="$T0" -v t1="$T1" -v hz="$HZ" \
  'BEGIN { printf "server CPU: %.1f %% of one core over %.1f s\n", 100 * (a - b) / hz / (t1 - t0), t1 - t0 }'
echo "slow clients dropped: $(grep -c "is not reading" "$DIR/server.log" || true)"
