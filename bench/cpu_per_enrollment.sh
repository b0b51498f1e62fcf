#!/usr/bin/env bash
# The server's CPU per enrollment against the cryptography an enrollment needs (issue 15 §1; the method is in
# docs/BENCHMARKS.md "CPU per enrollment" and PLATFORM-NOTES "Where the CPU of a new-session enrollment goes").
# One run measures, on a fresh full server (--log-level warn), the CPU time of all its threads
# (/proc/PID/task/*/schedstat) per operation of `estgw bench --concurrency 4`:
#   a. sen with a new DTLS session each (the whole new-session enrollment)
#   b. sen on 4 open sessions (the enrollment alone)
#   c. crts with a new DTLS session each (the handshake, almost alone), against the floor of OpenSSL itself:
#      `openssl s_server` under `openssl s_time -new`, TLS 1.2 ECDHE-ECDSA P-256 with a client certificate,
#      the same certificates
#   d. callgrind instructions per enrollment: the server under valgrind --tool=callgrind, counters zeroed
#      once it is up, then sen on one open session and sen with a new session each (instructions / count)
# and prices the cryptography with `openssl speed -seconds 2 ecdsap256 ecdhp256` on one core:
#   new-session sen: 3 verifies + 2 signs + 1 ECDH; sen alone: 1 verify (CSR) + 1 sign (certificate);
#   handshake: 2 verifies + 1 sign + 1 ECDH.
# The target (ratio = cryptography / CPU >= 0.3) is met when the new-session ratio reaches it, or when the
# enrollment alone reaches it and the handshake costs no more than the s_server floor.
# Usage: bench/cpu_per_enrollment.sh [--quick] [--no-callgrind] [--out DIR]   (JSON lines to DIR/cpu.jsonl)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
CALLGRIND=1
OUT="$ROOT/bench/results"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --no-callgrind) CALLGRIND=0 ;;
        --out) OUT="$2"; shift ;;
        *) echo "usage: bench/cpu_per_enrollment.sh [--quick] [--no-callgrind] [--out DIR]" >&2; exit 2 ;;
    esac
    shift
done
ESTGW="${ESTGW:-$ROOT/build/estgw}"
[[ -x "$ESTGW" ]] || { echo "build first: ./estgw.sh build" >&2; exit 2; }
if [[ $CALLGRIND -eq 1 ]] && ! command -v valgrind >/dev/null; then
    echo "valgrind not installed (apt-get install valgrind): callgrind part skipped" >&2
    CALLGRIND=0
fi
mkdir -p "$OUT"
# shellcheck source=bench/work_dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/work_dir.sh"

if [[ $QUICK -eq 1 ]]; then
    N=300; N_TLS_SECONDS=4; N_CALLGRIND=40
else
    N=1500; N_TLS_SECONDS=10; N_CALLGRIND=200
fi
CONCURRENCY=4

# CPU nanoseconds of every thread of a process so far (schedstat's first field is time on the CPU). Threads
# that ended are not counted: estgw's I/O thread and workers live as long as the server.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
bench() {  # port op requests [extra...]: the JSON report; exits unless every request succeeded
    local port="$1" op="$2" m="$3" out
    shift 3
    out="$("$ESTGW" bench --server "coaps://127.0.0.1:$port" --cert "$PKI/pledge.crt" --key "$PKI/pledge.key" \
        --ca "$PKI/ca.crt" --op "$op" --concurrency "$CONCURRENCY" --requests "$m" --timeout 60 --json "$@")"
    if [[ "$(grep -oE '"ok": *[0-9]+' <<<"$out" | grep -oE '[0-9]+$')" != "$m" ]]; then
        echo "bench $op: not every request succeeded: $out" >&2
        exit 1
    fi
    echo "$out"
}
RESULTS="$OUT/cpu.jsonl"
: >"$RESULTS"
record() { printf '{"item":"%s","result":%s}\n' "$1" "$2" >>"$RESULTS"; }

log "demo PKI"
"$ESTGW" pki init --dir "$WORK/pki" >/dev/null
PKI="$WORK/pki"
ONE_ADDRESS=(--max-handshakes-per-address 1000)  # every bench client is 127.0.0.1 (see bench/run.sh)
start_server() {  # name [wrapper...]: starts a full server, sets SERVER and PORT
    local name="$1"
    shift
    PORT="$(free_port)"
    "$@" "$ESTGW" serve --config "$PKI/estgw.conf" --listen "127.0.0.1:$PORT" --db "$WORK/$name.db" \
        --log-level warn --queue-limit 100000 "${ONE_ADDRESS[@]}" >"$WORK/$name.log" 2>&1 &
    SERVER=$!
    PIDS+=("$SERVER")
    wait_ready "$PORT"
}
stop_server() {
    kill -TERM "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
}
cpu_per_op() {  # op requests [extra...]: server CPU µs per operation on SERVER/PORT
    local before after
    before="$(cpu_ns "$SERVER")"
    bench "$PORT" "$@" >"$WORK/last.json"
    after="$(cpu_ns "$SERVER")"
    awk -v b="$before" -v a="$after" -v n="$2" 'BEGIN { printf "%.0f", (a - b) / 1000 / n }'
}

log "price of the cryptography (openssl speed -seconds 2 ecdsap256 ecdhp256, one core)"
SPEED="$(openssl speed -seconds 2 ecdsap256 ecdhp256 2>/dev/null)"
SIGN="$(awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1)}' <<<"$SPEED")"
VERIFY="$(awk '/256 bits ecdsa \(nistp256\)/ {print $NF}' <<<"$SPEED")"
ECDH="$(awk '/256 bits ecdh \(nistp256\)/ {print $NF}' <<<"$SPEED")"
crypto_us() { awk -v s="$SIGN" -v v="$VERIFY" -v e="$ECDH" -v nv="$1" -v ns="$2" -v ne="$3" \
    'BEGIN { printf "%.1f", 1e6 * (nv / v + ns / s + ne / e) }'; }
CRYPTO_NEW="$(crypto_us 3 2 1)"
CRYPTO_ALONE="$(crypto_us 1 1 0)"
CRYPTO_HANDSHAKE="$(crypto_us 2 1 1)"
record "crypto-price" "{\"sign_per_s\":$SIGN,\"verify_per_s\":$VERIFY,\"ecdh_per_s\":$ECDH,\"new_session_us\":$CRYPTO_NEW,\"enrollment_alone_us\":$CRYPTO_ALONE,\"handshake_us\":$CRYPTO_HANDSHAKE}"

log "server CPU per operation, concurrency $CONCURRENCY, $N operations each"
start_server cpu
bench "$PORT" sen 100 >/dev/null  # warm-up: first-use allocations, SQLite pages
NEW_US="$(cpu_per_op sen "$N" --new-session-per-request)"
ALONE_US="$(cpu_per_op sen "$N")"
HANDSHAKE_US="$(cpu_per_op crts "$N" --new-session-per-request)"
stop_server
ratio() { awk -v c="$1" -v u="$2" 'BEGIN { printf "%.3f", c / u }'; }
RATIO_NEW="$(ratio "$CRYPTO_NEW" "$NEW_US")"
RATIO_ALONE="$(ratio "$CRYPTO_ALONE" "$ALONE_US")"
record "cpu-new-session-sen" "{\"cpu_us\":$NEW_US,\"crypto_us\":$CRYPTO_NEW,\"ratio\":$RATIO_NEW}"
record "cpu-sen-open-sessions" "{\"cpu_us\":$ALONE_US,\"crypto_us\":$CRYPTO_ALONE,\"ratio\":$RATIO_ALONE}"
record "cpu-new-session-crts" "{\"cpu_us\":$HANDSHAKE_US,\"crypto_us\":$CRYPTO_HANDSHAKE}"

log "the stack's floor: openssl s_server under s_time -new, ${N_TLS_SECONDS} s, TLS 1.2 ECDHE-ECDSA with client certificate"
TLS_PORT="$(free_port)"
openssl s_server -quiet -accept "127.0.0.1:$TLS_PORT" -cert "$PKI/server.crt" -key "$PKI/server.key" \
    -CAfile "$PKI/client-trust.pem" -Verify 3 -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -no_ticket \
    -naccept 1000000 </dev/null >"$WORK/s_server.log" 2>&1 &
S_SERVER=$!
PIDS+=("$S_SERVER")
for _ in $(seq 50); do ss -Hlnt "sport = :$TLS_PORT" | grep -q . && break; sleep 0.1; done
before="$(cpu_ns "$S_SERVER")"
S_TIME="$(openssl s_time -connect "127.0.0.1:$TLS_PORT" -new -time "$N_TLS_SECONDS" -cert "$PKI/pledge.crt" \
    -key "$PKI/pledge.key" -CAfile "$PKI/ca.crt" -cipher ECDHE-ECDSA-AES128-GCM-SHA256 2>&1)" || true
after="$(cpu_ns "$S_SERVER")"
kill -TERM "$S_SERVER" 2>/dev/null || true
wait "$S_SERVER" 2>/dev/null || true
CONNECTIONS="$(grep -oE '^[0-9]+ connections in' <<<"$S_TIME" | head -1 | awk '{print $1}')"
if [[ -z "$CONNECTIONS" || "$CONNECTIONS" -eq 0 ]]; then
    echo "openssl s_time made no connection: $S_TIME" >&2
    exit 1
fi
FLOOR_US="$(awk -v b="$before" -v a="$after" -v n="$CONNECTIONS" 'BEGIN { printf "%.0f", (a - b) / 1000 / n }')"
record "s_server-floor" "{\"connections\":$CONNECTIONS,\"cpu_us\":$FLOOR_US}"

INSTR_ALONE=null
INSTR_NEW=null
if [[ $CALLGRIND -eq 1 ]]; then
    log "callgrind: $N_CALLGRIND enrollments on one open session, then $N_CALLGRIND with a new session each"
    CG="$WORK/callgrind.out"
    start_server callgrind valgrind --tool=callgrind --callgrind-out-file="$CG.%p" --dump-instr=no
    instructions() {  # zero the counters, run the bench, dump: Ir per operation
        local dump
        callgrind_control -z "$SERVER" >/dev/null
        CONCURRENCY=1 bench "$PORT" "$@" >/dev/null
        rm -f "$CG".*.[0-9]*
        callgrind_control -d "$SERVER" >/dev/null
        dump="$(ls "$CG".*.[0-9]* 2>/dev/null | tail -1)"
        awk -v n="$2" '/^(summary|totals):/ { printf "%.0f", $2 / n; exit }' "$dump"
    }
    bench "$PORT" sen 5 >/dev/null
    INSTR_ALONE="$(instructions sen "$N_CALLGRIND")"
    INSTR_NEW="$(instructions sen "$N_CALLGRIND" --new-session-per-request)"
    stop_server
fi
record "callgrind" "{\"ir_per_enrollment_open_session\":$INSTR_ALONE,\"ir_per_enrollment_new_session\":$INSTR_NEW}"

TARGET=0.3
VERDICT="$(awk -v rn="$RATIO_NEW" -v ra="$RATIO_ALONE" -v h="$HANDSHAKE_US" -v f="$FLOOR_US" -v t="$TARGET" 'BEGIN {
    if (rn >= t) print "met: the new-session ratio reaches " t;
    else if (ra >= t && h <= f) print "met: the enrollment alone reaches " t " and the handshake is within the s_server floor";
    else if (ra >= t) print "not met: the enrollment alone reaches " t " but the handshake exceeds the s_server floor";
    else print "not met";
}')"
record "cpu-target" "\"$VERDICT\""
{
    echo "CPU per enrollment (server, all threads, concurrency $CONCURRENCY, $N operations each; crypto from openssl speed)"
    printf '  crypto price: sign %s/s, verify %s/s, ecdh %s/s\n' "$SIGN" "$VERIFY" "$ECDH"
    printf '  new-session sen:      %6s µs/enrollment, crypto %6s µs\n' "$NEW_US" "$CRYPTO_NEW"
    printf '  sen on open sessions: %6s µs/enrollment, crypto %6s µs\n' "$ALONE_US" "$CRYPTO_ALONE"
    printf '  ratio (new-session) %s\n' "$RATIO_NEW"
    printf '  ratio (enrollment alone) %s\n' "$RATIO_ALONE"
    printf '  handshake %s µs vs s_server floor %s µs (new-session crts; s_server: %s connections)\n' \
        "$HANDSHAKE_US" "$FLOOR_US" "$CONNECTIONS"
    printf '  callgrind instructions per enrollment: %s on an open session, %s with a new session\n' \
        "$INSTR_ALONE" "$INSTR_NEW"
    printf '  target ratio >= %s: %s\n' "$TARGET" "$VERDICT"
} | tee "$OUT/cpu.txt"
