#!/usr/bin/env bash
# I/O threads 1 vs 2 (issue 15 §2; docs/BENCHMARKS.md, "I/O threads 1 vs 2"): new-session enrollments a
# second (`estgw bench --op sen --concurrency 8 --new-session-per-request`) against a full server run with
# --io-threads 1 and then 2, and how busy each of the server's threads was meanwhile, from
# /proc/PID/task/*/schedstat (time on a CPU; the I/O threads are named coap-io-0, coap-io-1, ...).
# For each run it prints: enrollments/s, the server's CPU ms per enrollment, and the busiest thread with its
# CPU time as a share of the run's wall time (1.00: it had a core to itself all along, the limit), as a
# share of the server's CPU, and the rate at which it would have no time left (enrollments per CPU second
# of that thread): the ceiling that thread puts on the server however many cores there are.
# Usage: bench/io_threads.sh [--requests N] [--threads "1 2"] [--out DIR]
# Loopback only; every server it starts is stopped at the end. Needs ./estgw.sh build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUESTS=2000
THREADS="1 2"
OUT="$ROOT/bench/results"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --requests) REQUESTS="$2"; shift ;;
        --threads) THREADS="$2"; shift ;;
        --out) OUT="$2"; shift ;;
        *) echo "usage: bench/io_threads.sh [--requests N] [--threads \"1 2\"] [--out DIR]" >&2; exit 2 ;;
    esac
    shift
done
ESTGW="$ROOT/build/estgw"
[[ -x "$ESTGW" ]] || { echo "build first: ./estgw.sh build" >&2; exit 2; }
mkdir -p "$OUT"
# shellcheck source=bench/work_dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/work_dir.sh"

# "tid name cpu_ns" for every thread of $1: the time on a CPU from schedstat (ns), the name from comm.
thread_cpu() {
    local task
    for task in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "${task##*/}" "$(cat "$task/comm" 2>/dev/null || echo '?')" \
            "$(cut -d' ' -f1 "$task/schedstat" 2>/dev/null || echo 0)"
    done
}

"$ESTGW" pki init --dir "$WORK/pki" >/dev/null
PKI="$WORK/pki"
RESULTS="$OUT/io_threads.txt"
: >"$RESULTS"
note() { printf '%s\n' "$*" | tee -a "$RESULTS"; }
note "machine: $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

for n in $THREADS; do
    port="$(free_port)"
    "$ESTGW" serve --config "$PKI/estgw.conf" --listen "127.0.0.1:$port" --db "$WORK/bench-$n.db" \
        --io-threads "$n" --log-level warn --queue-limit 100000 --max-handshakes-per-address 1000 \
        >"$WORK/server-$n.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_ready "$port"
    # A short warm-up (page cache, the store, libcoap's first allocations), not measured.
    "$ESTGW" bench --server "coaps://127.0.0.1:$port" --cert "$PKI/pledge.crt" --key "$PKI/pledge.key" \
        --ca "$PKI/ca.crt" --op sen --concurrency 8 --requests 100 --new-session-per-request >/dev/null 2>&1 || true
    thread_cpu "$pid" >"$WORK/before-$n"
    start_ns="$(date +%s%N)"
    report="$("$ESTGW" bench --server "coaps://127.0.0.1:$port" --cert "$PKI/pledge.crt" \
        --key "$PKI/pledge.key" --ca "$PKI/ca.crt" --op sen --concurrency 8 --requests "$REQUESTS" \
        --new-session-per-request --timeout 60 --json 2>/dev/null)" || true
    end_ns="$(date +%s%N)"
    thread_cpu "$pid" >"$WORK/after-$n"
    kill -TERM "$pid"
    wait "$pid" || true
    ok="$(printf '%s' "$report" | grep -o '"ok":[0-9]*' | head -1 | cut -d: -f2)"
    rate="$(printf '%s' "$report" | grep -o '"ops_per_s":[0-9.]*' | head -1 | cut -d: -f2)"
    # Per thread: CPU seconds in the run; then the busiest, its share of the wall time and of the process.
    awk -v wall_ns="$((end_ns - start_ns))" -v n="$n" -v ok="${ok:-0}" -v rate="${rate:-0}" '
        FNR == NR { before[$1] = $3; next }
        { cpu = ($3 - before[$1]) / 1e9; total += cpu; name[$1] = $2; used[$1] = cpu
          if (cpu > best) { best = cpu; busiest = $1 } }
        END {
            wall = wall_ns / 1e9
            printf "io-threads %d: %d enrollments ok, %.0f enrollments/s, server CPU %.2f ms per enrollment, " \
                   "wall %.1f s\n", n, ok, rate, ok ? total * 1000 / ok : 0, wall
            printf "  busiest thread %s (tid %s): %.2f of the wall time, %.0f%% of the server CPU; " \
                   "it would be saturated at %.0f enrollments/s\n",
                   name[busiest], busiest, best / wall, total ? best * 100 / total : 0, best ? ok / best : 0
            for (t in used) if (used[t] > 0.01 * total)
                printf "    %-12s tid %-8s %6.2f s CPU  %.2f of wall\n", name[t], t, used[t], used[t] / wall
        }' "$WORK/before-$n" "$WORK/after-$n" | tee -a "$RESULTS"
done
note "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
log "written to $RESULTS"
