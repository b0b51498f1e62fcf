#!/usr/bin/env bash
# What the scale-out parts cost (docs/SCALING.md, docs/BENCHMARKS.md "Direct vs through nginx"): two
# `estgw serve --mode server` on one store behind nginx's UDP proxy (docs/nginx-estgw-stream.conf), started by
# tests/scaling/cluster.sh on loopback. In one run, new-session enrollments (`estgw bench --op sen
# --new-session-per-request`):
#   direct   straight to server 0 (server 1 idle)
#   nginx    through nginx, hashed over both servers
#   gateway  through `estgw serve --mode gateway` to server 0's HTTPS front (RFC 7030)
# then direct-c1 and nginx-c1: 300 enrollments one at a time, the latency nginx adds without queueing.
# For each: enrollments/s, latency p50/p99, and CPU time per enrollment of the servers (both together), of
# nginx (master and workers), of PostgreSQL (the postmaster and its backends) and of the gateway, from
# /proc/PID/stat.
#
# Usage: bench/nginx.sh [--store postgresql|sqlite] [--requests N] [--concurrency C] [--out DIR]
#        (defaults: postgresql, 2000 requests, 50 at a time; DIR/nginx-STORE.txt when --out is given)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ESTGW="$ROOT/build/estgw"
STORE=postgresql
REQUESTS=2000
CONCURRENCY=50
OUT=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --store) STORE="$2"; shift ;;
        --requests) REQUESTS="$2"; shift ;;
        --concurrency) CONCURRENCY="$2"; shift ;;
        --out) OUT="$2"; shift ;;
        --estgw) ESTGW="$2"; shift ;;
        *) echo "usage: bench/nginx.sh [--store postgresql|sqlite] [--requests N] [--concurrency C] [--out DIR]" >&2
           exit 2 ;;
    esac
    shift
done
[[ -x "$ESTGW" ]] || { echo "bench/nginx.sh: build first: ./estgw.sh build" >&2; exit 2; }

# shellcheck source=tests/scaling/cluster.sh
source "$ROOT/tests/scaling/cluster.sh"

ticks_of() {  # pid...: utime + stime of the processes (all their threads), clock ticks
    local p sum=0
    for p in "$@"; do
        [[ -r "/proc/$p/stat" ]] || continue
        sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$sum"
}
# nginx's master and workers; the postmaster and its backends (0 on SQLite).
nginx_ticks() {
    local pids
    mapfile -t pids < <(echo "$NGINX_PID"; pgrep -P "$NGINX_PID" || true)
    ticks_of "${pids[@]}"
}
postgres_ticks() {
    [[ -n "$CLUSTER_PG_DIR" ]] || { echo 0; return; }
    local postmaster pids
    postmaster="$(head -1 "$CLUSTER_PG_DIR/data/postmaster.pid")"
    mapfile -t pids < <(echo "$postmaster"; pgrep -P "$postmaster" || true)
    ticks_of "${pids[@]}"
}

cluster_pki
cluster_start_store "$STORE"
HTTPS_PORT="$(cluster_free_port tcp)"
cluster_start_server 0 --https-listen "127.0.0.1:$HTTPS_PORT"
cluster_start_server 1
cluster_start_nginx
# A gateway in front of server 0's HTTPS front: what one gateway costs per relayed enrollment (it keeps no
# store; docs/SCALING.md relates this to an upstream's own throughput).
GATEWAY_PORT="$(cluster_free_port udp)"
"$ESTGW" serve --mode gateway --listen "127.0.0.1:$GATEWAY_PORT" --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/client-trust.pem" --upstream "https://127.0.0.1:$HTTPS_PORT" --upstream-ca "$PKI/ca.crt" \
    --upstream-cert "$PKI/server.crt" --upstream-key "$PKI/server.key" --log-level warn --queue-limit 100000 \
    --max-handshakes-per-address 1000 >"$CLUSTER_WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
CLUSTER_PIDS+=("$GATEWAY_PID")
cluster_wait_ready "$GATEWAY_PORT" "$GATEWAY_PID" gateway
HZ="$(getconf CLK_TCK)"

measure() {  # label port concurrency requests
    local label="$1" port="$2" concurrency="$3" requests="$4" servers nginx pg gateway report ok
    servers="$(ticks_of "${SERVER_PIDS[@]}")"
    nginx="$(nginx_ticks)"
    pg="$(postgres_ticks)"
    gateway="$(ticks_of "$GATEWAY_PID")"
    report="$(cluster_bench "$port" --op sen --concurrency "$concurrency" --requests "$requests" \
        --new-session-per-request --timeout 60)" || true
    servers=$(($(ticks_of "${SERVER_PIDS[@]}") - servers))
    nginx=$(($(nginx_ticks) - nginx))
    pg=$(($(postgres_ticks) - pg))
    gateway=$(($(ticks_of "$GATEWAY_PID") - gateway))
    ok="$(json_number ok "$report")"
    awk -v l="$label" -v ops="$(json_number ops_per_s "$report")" -v ok="$ok" -v e="$(json_number errors "$report")" \
        -v p50="$(grep -oE '"p50":[0-9.]+' <<<"$report" | cut -d: -f2)" \
        -v p99="$(grep -oE '"p99":[0-9.]+' <<<"$report" | cut -d: -f2)" \
        -v s="$servers" -v n="$nginx" -v pg="$pg" -v g="$gateway" -v hz="$HZ" 'BEGIN {
            us = 1e6 / hz / (ok > 0 ? ok : 1)
            printf "%-10s %7.1f/s  ok %d errors %d  p50 %6.1f ms  p99 %7.1f ms  CPU per enrollment: servers %5.0f us, nginx %4.0f us, postgres %4.0f us, gateway %5.0f us\n",
                   l, ops, ok, e, p50, p99, s * us, n * us, pg * us, g * us }'
}

cluster_log "store $STORE; $REQUESTS new-session enrollments, $CONCURRENCY at a time, each way"
report="$(
    echo "# bench/nginx.sh --store $STORE --requests $REQUESTS --concurrency $CONCURRENCY, $(date -u +%FT%TZ), $(nproc) cores, nginx $(nginx -v 2>&1 | cut -d/ -f2)"
    measure direct "${SERVER_PORTS[0]}" "$CONCURRENCY" "$REQUESTS"
    measure nginx "$NGINX_PORT" "$CONCURRENCY" "$REQUESTS"
    measure gateway "$GATEWAY_PORT" "$CONCURRENCY" "$REQUESTS"
    # One at a time: the latency nginx adds without queueing.
    measure direct-c1 "${SERVER_PORTS[0]}" 1 300
    measure nginx-c1 "$NGINX_PORT" 1 300
)"
echo "$report"
if [[ -n "$OUT" ]]; then
    mkdir -p "$OUT"
    echo "$report" >"$OUT/nginx-$STORE.txt"
fi
echo "per server: $(cluster_issued_by 0) and $(cluster_issued_by 1) issued" >&2
