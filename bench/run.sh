#!/usr/bin/env bash
# Records estgw's performance figures in one run (docs/BENCHMARKS.md explains them):
#   1. sequential enrollments, a new DTLS session each
#   2. concurrent enrollments at concurrency 1, 10, 100, 1000, with and without a new session per request
#   3. the same through gateway mode (estgw gateway in front of estgw's own HTTPS front on loopback)
#   4. the crypto bound from `openssl speed` (ecdsap256, ecdhp256) and the share of it reached
#   5. server RSS with 0, 1000 and 5000 idle DTLS sessions
#   6. the latency the gateway adds over calling the upstream directly
#   7. the gateway in front of a lenient and a split-write upstream, next to a direct client (bench/upstream.sh)
#   8. CPU per enrollment against its cryptography (bench/cpu_per_enrollment.sh, its own fresh server)
# Usage: bench/run.sh [--quick] [--out DIR]     (--quick: small counts, under two minutes)
# Loopback only; every server it starts is stopped at the end. Needs ./estgw.sh build (and gnuplot for the plot).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
OUT="$ROOT/bench/results"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --out) OUT="$2"; shift ;;
        *) echo "usage: bench/run.sh [--quick] [--out DIR]" >&2; exit 2 ;;
    esac
    shift
done
ESTGW="$ROOT/build/estgw"
LATENCY="$ROOT/build/bench/gateway_latency"
[[ -x "$ESTGW" ]] || { echo "build first: ./estgw.sh build" >&2; exit 2; }
if [[ ! -x "$LATENCY" ]]; then cmake --build "$ROOT/build" --target gateway_latency >/dev/null; fi
if ! command -v gnuplot >/dev/null && [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox </dev/null >/dev/null 2>&1 || true
fi
mkdir -p "$OUT"
# shellcheck source=bench/work_dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/work_dir.sh"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

if [[ $QUICK -eq 1 ]]; then
    SEQ=50; PER_LEVEL=200; LEVELS=(1 10 100); IDLE=(0 200 1000); LAT_N=50
else
    SEQ=300; PER_LEVEL=2000; LEVELS=(1 10 100 1000); IDLE=(0 1000 5000); LAT_N=200
fi

log "demo PKI and a full server"
# Every bench client comes from 127.0.0.1, where a deployment's pledges each have an address of their own:
# the per-address handshake bound (a quarter of --max-handshakes by default, against floods) would throttle
# the runs at concurrency 1000, so it is lifted to --max-handshakes here.
ONE_ADDRESS=(--max-handshakes-per-address 1000)
"$ESTGW" pki init --dir "$WORK/pki" >/dev/null
PKI="$WORK/pki"
SRV_PORT="$(free_port)"
HTTPS_PORT="$(free_port)"
"$ESTGW" serve --config "$PKI/estgw.conf" --listen "127.0.0.1:$SRV_PORT" --https-listen "127.0.0.1:$HTTPS_PORT" \
    --db "$WORK/bench.db" --log-level warn --queue-limit 100000 "${ONE_ADDRESS[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_ready "$SRV_PORT"

log "gateway in front of the server's HTTPS front"
GW_PORT="$(free_port)"
"$ESTGW" serve --mode gateway --listen "127.0.0.1:$GW_PORT" --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --client-ca "$PKI/client-trust.pem" --upstream "https://127.0.0.1:$HTTPS_PORT" --upstream-ca "$PKI/ca.crt" \
    --upstream-cert "$PKI/server.crt" --upstream-key "$PKI/server.key" --log-level warn --queue-limit 100000 \
    "${ONE_ADDRESS[@]}" >"$WORK/gateway.log" 2>&1 &
PIDS+=("$!")
wait_ready "$GW_PORT"

bench() {  # port op concurrency requests [extra...]; prints the JSON report, or null when the run failed
    local port="$1" op="$2" n="$3" m="$4" out
    shift 4
    out="$("$ESTGW" bench --server "coaps://127.0.0.1:$port" --cert "$PKI/pledge.crt" --key "$PKI/pledge.key" \
        --ca "$PKI/ca.crt" --op "$op" --concurrency "$n" --requests "$m" --timeout 60 --json "$@")" || true
    echo "${out:-null}"
}

RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
record() {  # label json
    printf '{"item":"%s","result":%s}\n' "$1" "$2" >>"$RESULTS"
    printf '%-44s %s\n' "$1" "$2" >&2
}

log "1. sequential enrollments, new session each ($SEQ)"
record "sequential-new-session" "$(bench "$SRV_PORT" sen 1 "$SEQ" --new-session-per-request)"

log "2/3. concurrent enrollments: ${LEVELS[*]}"
for target in server gateway; do
    port=$SRV_PORT
    [[ $target == gateway ]] && port=$GW_PORT
    for n in "${LEVELS[@]}"; do
        m=$PER_LEVEL
        (( m < n )) && m=$n
        record "$target-c$n-persistent" "$(bench "$port" sen "$n" "$m")"
        record "$target-c$n-new-session" "$(bench "$port" sen "$n" "$m" --new-session-per-request)"
    done
done

log "4. crypto bound (openssl speed, same run)"
SPEED="$(openssl speed -seconds 3 ecdsap256 ecdhp256 2>/dev/null)"
SIGN="$(awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1)}' <<<"$SPEED")"
VERIFY="$(awk '/256 bits ecdsa \(nistp256\)/ {print $NF}' <<<"$SPEED")"
ECDH="$(awk '/256 bits ecdh \(nistp256\)/ {print $NF}' <<<"$SPEED")"
CORES="$(nproc)"
# A new-session enrollment costs the server about 3 verifies (client certificate chain, CSR), 2 signs
# (handshake, issued certificate) and 1 ECDH (PLATFORM-NOTES): operations/s per core, times the cores.
BOUND="$(awk -v s="$SIGN" -v v="$VERIFY" -v e="$ECDH" -v c="$CORES" 'BEGIN { printf "%.0f", c / (3/v + 2/s + 1/e) }')"
record "crypto-bound" "{\"sign_per_s\":$SIGN,\"verify_per_s\":$VERIFY,\"ecdh_per_s\":$ECDH,\"cores\":$CORES,\"bound_per_s\":$BOUND}"

log "5. server RSS with idle DTLS sessions: ${IDLE[*]} (a fresh server for each count)"
# The server of items 1-3 still holds the sessions of the new-session runs (libcoap keeps an idle server
# session until its timeout), so memory is measured on a fresh server per count: base RSS, then with the
# sessions open and idle, and the difference per session.
for n in "${IDLE[@]}"; do
    port="$(free_port)"
    "$ESTGW" serve --config "$PKI/estgw.conf" --listen "127.0.0.1:$port" --db "$WORK/rss-$n.db" --log-level warn "${ONE_ADDRESS[@]}" \
        >"$WORK/rss-$n.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_ready "$port"
    base="$(rss_kb "$pid")"
    rss="$base"
    held='{}'
    if [[ $n -gt 0 ]]; then
        hold=$((n / 100 + 10))
        bench "$port" crts "$n" "$n" --hold "$hold" >"$WORK/hold.json" &
        holder=$!
        sleep $((hold / 2 + 3))  # the sessions are up and idle by now; the run itself is short
        rss="$(rss_kb "$pid")"
        wait "$holder" || true
        held="$(cat "$WORK/hold.json")"
    fi
    per=0
    [[ $n -gt 0 ]] && per=$(((rss - base) * 1024 / n))
    record "rss-idle-$n" "{\"sessions\":$n,\"base_rss_kb\":$base,\"rss_kb\":$rss,\"bytes_per_session\":$per,\"bench\":$held}"
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done

log "6. latency the gateway adds ($LAT_N requests each way)"
LAT="$("$LATENCY" "$LAT_N" | tail -3)" || LAT="gateway_latency failed (see above)"
echo "$LAT" >"$OUT/gateway_latency.txt"
record "gateway-latency" "\"$(tr '\n' ';' <<<"$LAT" | sed 's/"/\\"/g')\""

log "7. the gateway at the speed of its upstream (bench/upstream.sh)"
UPSTREAM_FLAGS=(--out "$OUT")
[[ $QUICK -eq 1 ]] && UPSTREAM_FLAGS+=(--quick)
"$ROOT/bench/upstream.sh" "${UPSTREAM_FLAGS[@]}" >&2 || log "bench/upstream.sh failed (see above)"
log "8. CPU per enrollment (bench/cpu_per_enrollment.sh: ratios, s_server floor, callgrind)"
cpu_per_enrollment() {  # its own servers, so that the load of items 1-7 does not count
    local args=(--out "$OUT")
    [[ $QUICK -eq 1 ]] && args+=(--quick)
    if ESTGW="$ESTGW" "$ROOT/bench/cpu_per_enrollment.sh" "${args[@]}"; then
        record "cpu-per-enrollment" "[$(paste -sd, "$OUT/cpu.jsonl")]"  # its items, verdict last
    else
        record "cpu-per-enrollment" "\"failed (see above)\""
    fi
}
cpu_per_enrollment

log "plot"
# Columns: concurrency, ops/s and p99 ms for each of server/gateway x persistent/new-session.
PLOT_DATA="$OUT/concurrency.dat"
: >"$PLOT_DATA"
for n in "${LEVELS[@]}"; do
    row="$n"
    for key in server-c$n-persistent server-c$n-new-session gateway-c$n-persistent gateway-c$n-new-session; do
        line="$(grep "\"item\":\"$key\"" "$RESULTS" || true)"
        ops="$(grep -oE '"ops_per_s": *[0-9.]+' <<<"$line" | grep -oE '[0-9.]+$' || echo 0)"
        p99="$(grep -oE '"p99": *[0-9.]+' <<<"$line" | grep -oE '[0-9.]+$' || echo 0)"
        row="$row ${ops:-0} ${p99:-0}"
    done
    echo "$row" >>"$PLOT_DATA"
done
if command -v gnuplot >/dev/null; then
    gnuplot <<EOF
set terminal png size 1100,450 noenhanced
set output "$OUT/concurrency.png"
set multiplot layout 1,2 title "estgw: enrollments vs concurrency ($(date -u +%F), $(nproc) cores)"
set logscale x
set xlabel "concurrent sessions"
set key left top
set title "throughput"
set ylabel "enrollments/s"
plot "$PLOT_DATA" using 1:2 with linespoints title "server, persistent", \
     "" using 1:4 with linespoints title "server, new session", \
     "" using 1:6 with linespoints title "gateway, persistent", \
     "" using 1:8 with linespoints title "gateway, new session"
set title "p99 latency"
set ylabel "ms"
set logscale y
plot "$PLOT_DATA" using 1:3 with linespoints title "server, persistent", \
     "" using 1:5 with linespoints title "server, new session", \
     "" using 1:7 with linespoints title "gateway, persistent", \
     "" using 1:9 with linespoints title "gateway, new session"
unset multiplot
EOF
    log "plot: $OUT/concurrency.png"
else
    log "gnuplot not installed (apt-get install gnuplot-nox): no plot"
fi
log "results: $RESULTS"
