#!/usr/bin/env bash
# The HTTPS front under idle and slow clients (docs/BENCHMARKS.md, "HTTPS front under idle connections"):
# starts a full server with --https-listen, opens the idle connections with build/tests/estgw_idle_clients
# (from 127.0.0.2.., --sources addresses) and times legitimate `curl .../cacerts` requests from 127.0.0.1: one
# --early seconds (3) after the idle clients start, then --curls of them once all are open. Prints each
# curl's status and seconds, the server's RSS, threads and CPU seconds along the way, and how many idle
# connections the server had closed when they were all open and at the end of --hold.
# Usage: bench/https_idle.sh [--tcp N] [--tls N] [--partial-head N] [--sources N] [--curls N] [--hold S] [--early S]
#                            [-- estgw serve options...]
# ESTGW=path selects another estgw binary. Loopback only; the server and the clients are stopped at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ESTGW="${ESTGW:-$ROOT/build/estgw}"
IDLE="$ROOT/build/tests/estgw_idle_clients"
TCP=500 TLS=500 PARTIAL=0 SOURCES=100 CURLS=5 HOLD=40 EARLY=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --tcp) TCP="$2"; shift ;;
        --tls) TLS="$2"; shift ;;
        --partial-head) PARTIAL="$2"; shift ;;
        --sources) SOURCES="$2"; shift ;;
        --curls) CURLS="$2"; shift ;;
        --hold) HOLD="$2"; shift ;;
        --early) EARLY="$2"; shift ;;
        --) shift; break ;;
        *) echo "usage: bench/https_idle.sh [--tcp N] [--tls N] [--partial-head N] [--sources N] [--curls N] [--hold S] [--early S] [-- serve options]" >&2; exit 2 ;;
    esac
    shift
done
[[ -x "$ESTGW" && -x "$IDLE" ]] || { echo "build first: cmake --build build --target estgw estgw_idle_clients" >&2; exit 2; }

# shellcheck source=bench/work_dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/work_dir.sh"

"$ESTGW" pki init --dir "$WORK/pki" >/dev/null
DTLS_PORT=$((20000 + RANDOM % 20000))
HTTPS_PORT=$((DTLS_PORT + 1))
"$ESTGW" serve --config "$WORK/pki/estgw.conf" --listen "127.0.0.1:$DTLS_PORT" \
    --https-listen "127.0.0.1:$HTTPS_PORT" --workers 4 --log-level warn "$@" >"$WORK/server.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
cacerts() {
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 120 --cacert "$WORK/pki/ca.crt" \
        --cert "$WORK/pki/pledge.crt" --key "$WORK/pki/pledge.key" \
        "https://127.0.0.1:$HTTPS_PORT/.well-known/est/cacerts" || true
}
for _ in $(seq 100); do
    [[ "$(cacerts)" == 200* ]] && break
    sleep 0.1
done
TICKS="$(getconf CLK_TCK)"
memory() {  # RSS, threads and CPU seconds used so far
    awk '/^VmRSS/ {printf "rss_kb=%s ", $2} /^Threads/ {printf "threads=%s ", $2}' "/proc/$SERVER/status"
    awk -v t="$TICKS" '{printf "cpu_s=%.2f", ($14 + $15) / t}' "/proc/$SERVER/stat"
}
echo "server idle: $(memory)"

"$IDLE" --port "$HTTPS_PORT" --tcp "$TCP" --tls "$TLS" --partial-head "$PARTIAL" --sources "$SOURCES" \
    --ca "$WORK/pki/ca.crt" --cert "$WORK/pki/pledge.crt" --key "$WORK/pki/pledge.key" --hold "$HOLD" \
    --deadline 60 >"$WORK/idle.out" 2>&1 &
PIDS+=("$!")
sleep "$EARLY"
echo "curl while they connect ($EARLY s in): $(cacerts)"
for _ in $(seq 700); do
    grep -q '^open' "$WORK/idle.out" && break
    sleep 0.1
done
echo "idle clients: $(head -1 "$WORK/idle.out")"
echo "server with them: $(memory)"
for i in $(seq "$CURLS"); do
    echo "curl $i: $(cacerts)"
done
echo "server after the curls: $(memory)"
sleep 10
echo "server 10 s later: $(memory)"
wait "${PIDS[1]}" || true
echo "idle clients: $(tail -1 "$WORK/idle.out")"
