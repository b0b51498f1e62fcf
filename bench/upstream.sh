#!/usr/bin/env bash
# The gateway at the speed of its upstream (docs/BENCHMARKS.md "Gateway in front of a slow-writing upstream",
# issue 18). For each upstream, the tests' EST server as a process of its own (build/bench/est_upstream):
#   lenient  answers in one write (TCP_NODELAY)
#   split    writes the head, then the body, with Nagle's algorithm on, as cisco/libest does
#   split-10ms  the same, each answer 10 ms late: a server that takes time (without the CPU) sets the pace
# and at each concurrency (10 and 50), in the same run:
#   direct   build/bench/direct_enroll: N threads on N kept-alive HTTPS connections (the gateway's own client)
#   gateway  `estgw bench` through estgw gateway in front of the same upstream, a new DTLS session per
#            request; at concurrency 10 also on sessions already open (no handshake)
# with the gateway's CPU time (user + system, /proc) per relayed enrollment, and the cores that the gateway,
# the upstream and the bench client kept busy together during the gateway's run (all share the machine).
# Usage: bench/upstream.sh [--quick] [--out DIR]     Prints the table; writes DIR/upstream.jsonl.
# ESTGW=path selects another estgw binary. Loopback only; every process it starts is stopped at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ESTGW="${ESTGW:-$ROOT/build/estgw}"
UPSTREAM="$ROOT/build/bench/est_upstream"
DIRECT="$ROOT/build/bench/direct_enroll"
QUICK=0
OUT="$ROOT/bench/results"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --out) OUT="$2"; shift ;;
        *) echo "usage: bench/upstream.sh [--quick] [--out DIR]" >&2; exit 2 ;;
    esac
    shift
done
[[ -x "$ESTGW" ]] || { echo "build first: ./estgw.sh build" >&2; exit 2; }
if [[ ! -x "$UPSTREAM" || ! -x "$DIRECT" ]]; then
    cmake --build "$ROOT/build" -j2 --target est_upstream direct_enroll >/dev/null
fi
mkdir -p "$OUT"
# shellcheck source=bench/work_dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/work_dir.sh"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
children_cpu() {  # CHILDREN_MS: user + system ms of this shell's finished children (`times`, second line)
    times >"$WORK/times"  # not in a subshell: that one would report its own children
    CHILDREN_MS="$(tail -1 "$WORK/times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60000 + a[2] * 1000 } printf "%.0f", t }')"
}
json_number() {  # json key: the first "key": number in it
    grep -oE "\"$2\": *[0-9.]+" <<<"$1" | head -1 | grep -oE '[0-9.]+$' || echo 0
}

if [[ $QUICK -eq 1 ]]; then REQUESTS=300; else REQUESTS=2000; fi
LEVELS=(10 50)
TICK_MS=$((1000 / $(getconf CLK_TCK)))

"$ESTGW" pki init --dir "$WORK/pki" >/dev/null
PKI="$WORK/pki"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/csr.key" \
    -subj /CN=bench-pledge -outform DER -out "$WORK/bench.csr" 2>/dev/null

RESULTS="$OUT/upstream.jsonl"
: >"$RESULTS"
ROWS=()
for mode in lenient split split-10ms; do
    log "upstream: $mode"
    flag=()
    [[ $mode == split ]] && flag=(--split)
    [[ $mode == split-10ms ]] && flag=(--split --delay-ms 10)
    "$UPSTREAM" --cert "$PKI/server.crt" --key "$PKI/server.key" --client-ca "$PKI/ca.crt" --ca-cert "$PKI/ca.crt" \
        --ca-key "$PKI/ca.key" --port-file "$WORK/upstream.port" "${flag[@]}" >/dev/null &
    up_pid=$!
    PIDS+=("$up_pid")
    for _ in $(seq 50); do [[ -s "$WORK/upstream.port" ]] && break; sleep 0.1; done
    up_port="$(cat "$WORK/upstream.port")"
    rm -f "$WORK/upstream.port"
    gw_port="$(free_port)"
    "$ESTGW" serve --mode gateway --listen "127.0.0.1:$gw_port" --cert "$PKI/server.crt" --key "$PKI/server.key" \
        --client-ca "$PKI/client-trust.pem" --upstream "https://127.0.0.1:$up_port" --upstream-ca "$PKI/ca.crt" \
        --upstream-cert "$PKI/server.crt" --upstream-key "$PKI/server.key" --log-level warn \
        --queue-limit 100000 --max-handshakes-per-address 1000 >"$WORK/gateway-$mode.log" 2>&1 &
    gw_pid=$!
    PIDS+=("$gw_pid")
    wait_ready "$gw_port"
    for n in "${LEVELS[@]}"; do
        direct="$("$DIRECT" --upstream "https://127.0.0.1:$up_port" --ca "$PKI/ca.crt" --cert "$PKI/server.crt" \
            --key "$PKI/server.key" --csr "$WORK/bench.csr" --concurrency "$n" --requests "$REQUESTS")" || direct=null
        printf '{"item":"upstream-%s-c%d-direct","result":%s}\n' "$mode" "$n" "$direct" >>"$RESULTS"
        sessions=(new-session)
        [[ $n -eq 10 ]] && sessions+=(persistent)
        for s in "${sessions[@]}"; do
            extra=()
            [[ $s == new-session ]] && extra=(--new-session-per-request)
            before="$(cpu_ticks "$gw_pid")"
            up_before="$(cpu_ticks "$up_pid")"
            children_cpu
            client_before="$CHILDREN_MS"
            gw="$("$ESTGW" bench --server "coaps://127.0.0.1:$gw_port" --cert "$PKI/pledge.crt" \
                --key "$PKI/pledge.key" --ca "$PKI/ca.crt" --op sen --concurrency "$n" --requests "$REQUESTS" \
                --timeout 60 --json "${extra[@]}")" || true
            gw="${gw:-null}"
            after="$(cpu_ticks "$gw_pid")"
            up_after="$(cpu_ticks "$up_pid")"
            children_cpu
            client_ms=$((CHILDREN_MS - client_before))
            ok="$(json_number "$gw" ok)"
            cpu_ms="$(awk -v t=$((after - before)) -v k="$ok" -v m="$TICK_MS" 'BEGIN { printf "%.3f", (k > 0 ? t * m / k : 0) }')"
            # Every process of the run shares the machine's cores: the cores they kept busy together show
            # whether the CPU, not the upstream, set the pace.
            busy="$(awk -v g=$((after - before)) -v u=$((up_after - up_before)) -v c="$client_ms" -v m="$TICK_MS" \
                -v d="$(json_number "$gw" duration_s)" 'BEGIN { printf "%.2f", (d > 0 ? ((g + u) * m + c) / 1000 / d : 0) }')"
            printf '{"item":"upstream-%s-c%d-gateway-%s","gateway_cpu_ms_per_enrollment":%s,"cores_busy":%s,"upstream_cpu_ms":%d,"bench_client_cpu_ms":%d,"result":%s}\n' \
                "$mode" "$n" "$s" "$cpu_ms" "$busy" $(((up_after - up_before) * TICK_MS)) "$client_ms" "$gw" >>"$RESULTS"
            d_ops="$(json_number "$direct" ops_per_s)"
            g_ops="$(json_number "$gw" ops_per_s)"
            share="$(awk -v g="$g_ops" -v d="$d_ops" 'BEGIN { printf "%.0f", (d > 0 ? 100 * g / d : 0) }')"
            ROWS+=("$(printf '| %-10s | %3d | %-11s | %8.0f | %7.2f | %7.2f | %8.0f | %7.2f | %7.2f | %4s %% | %6s | %5s |' \
                "$mode" "$n" "$s" "$d_ops" "$(json_number "$direct" p50)" "$(json_number "$direct" p99)" \
                "$g_ops" "$(json_number "$gw" p50)" "$(json_number "$gw" p99)" "$share" "$cpu_ms" "$busy")")
        done
    done
    kill -TERM "$gw_pid" "$up_pid" 2>/dev/null || true
    wait "$gw_pid" "$up_pid" 2>/dev/null || true
done

{
    echo "$(date -u +%F) $(nproc) cores, $REQUESTS requests per run; ms; gateway CPU: user+system ms per enrollment"
    echo "| upstream | N | gateway sessions | direct/s | direct p50 | direct p99 | gateway/s | gw p50 | gw p99 | gw/direct | gw CPU ms | cores busy |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/upstream-table.md"
log "results: $RESULTS"
