#!/usr/bin/env bash
# Whole zero-touch journeys through a full-server registrar: N pledges, each a real `estgw pledge` process
# with its own IDevID, run C at a time against `estgw serve --mode server` and the lab MASA (`estgw masa`),
# all on loopback. Each journey: DTLS with the IDevID, /rv (the registrar calls the MASA), voucher checks,
# /vs, sen, /crts, /es over a new DTLS session with the LDevID.
#
# Reports journeys/s, the journey time p50/p99 (one `estgw pledge` process from start to exit, as a pledge
# sees it) and the registrar's CPU time per journey (utime + stime of every thread, from /proc/PID/stat).
# With --check it then verifies what the acceptance asks and exits 1 on any shortfall: every pledge exited 0,
# the registrar's journal holds every pledge with its whole journey (voucher-request, masa-call,
# voucher-issued, voucher-status, enrolled, enroll-status over the LDevID session), and the MASA was called
# exactly once per pledge (its audit file: one voucher per serial).
#
# Usage: bench/brski.sh [--pledges N] [--concurrency C] [--check] [--out DIR] [--estgw PATH]
#        (defaults: 100 pledges, all at once; results in DIR/brski.txt when --out is given)
# Needs a built estgw (./estgw.sh build) and openssl; every process it starts is stopped at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLEDGES=100
CONCURRENCY=""
CHECK=0
OUT=""
ESTGW="$ROOT/build/estgw"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --pledges) PLEDGES="$2"; shift ;;
        --concurrency) CONCURRENCY="$2"; shift ;;
        --check) CHECK=1 ;;
        --out) OUT="$2"; shift ;;
        --estgw) ESTGW="$2"; shift ;;
        *) echo "usage: bench/brski.sh [--pledges N] [--concurrency C] [--check] [--out DIR] [--estgw PATH]" >&2
           exit 2 ;;
    esac
    shift
done
CONCURRENCY="${CONCURRENCY:-$PLEDGES}"
[[ -x "$ESTGW" ]] || { echo "brski.sh: no estgw binary at $ESTGW (./estgw.sh build)" >&2; exit 2; }
[[ "$PLEDGES" =~ ^[1-9][0-9]*$ && "$CONCURRENCY" =~ ^[1-9][0-9]*$ ]] ||
    { echo "brski.sh: --pledges and --concurrency take positive integers" >&2; exit 2; }

log() { printf '==> %s\n' "$*" >&2; }
free_port() {  # tcp|udp: a port free on loopback right now
    local p flag
    [[ "$1" == udp ]] && flag=-Hlnu || flag=-Hlnt
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        if ! ss "$flag" "sport = :$p" | grep -q .; then
            echo "$p"
            return
        fi
    done
    echo "brski.sh: no free port" >&2
    exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of all threads, clock ticks

WORK="$(mktemp -d "${TMPDIR:-/tmp}/estgw-brski.XXXXXX")"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

MASA_PORT="$(free_port tcp)"
COAP_PORT="$(free_port udp)"
"$ESTGW" pki init --dir "$WORK/pki" --masa-authority "localhost:$MASA_PORT" >/dev/null
PKI="$WORK/pki"

log "issuing $PLEDGES IDevIDs (serialNumber BENCH-1..$PLEDGES, id-pe-masa-url 127.0.0.1:$MASA_PORT)"
cat >"$WORK/idevid.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
1.3.6.1.5.5.7.1.32 = ASN1:IA5STRING:127.0.0.1:$MASA_PORT
EOF
mkdir -p "$WORK/idevid"
for i in $(seq "$PLEDGES"); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/idevid/$i.key" \
        -subj "/CN=bench-pledge-$i/serialNumber=BENCH-$i" -out "$WORK/idevid/$i.csr" 2>/dev/null
    openssl x509 -req -in "$WORK/idevid/$i.csr" -CA "$PKI/mfg-ca.crt" -CAkey "$PKI/mfg-ca.key" \
        -set_serial "$((1000000 + i))" -days 3650 -extfile "$WORK/idevid.ext" \
        -out "$WORK/idevid/$i.crt" 2>/dev/null
done

# The MASA signs with the manufacturer CA's key, the pledges' only anchor (the registrar strips the bag).
"$ESTGW" masa --listen "127.0.0.1:$MASA_PORT" --tls-cert "$PKI/masa.crt" --tls-key "$PKI/masa.key" \
    --signing-cert "$PKI/mfg-ca.crt" --signing-key "$PKI/mfg-ca.key" --pledge-ca "$PKI/mfg-ca.crt" \
    --audit "$WORK/masa-audit.jsonl" >"$WORK/masa.log" 2>&1 &
PIDS+=($!)
"$ESTGW" serve --config "$PKI/estgw.conf" --listen "127.0.0.1:$COAP_PORT" \
    >"$WORK/serve.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 150); do
    if coap-client-openssl -B 2 -c "$PKI/pledge.crt" -j "$PKI/pledge.key" -R "$PKI/ca.crt" -v 7 \
        "coaps://127.0.0.1:$COAP_PORT/.well-known/core" 2>&1 | grep -q 'c:2.05' &&
        ss -Hlnt "sport = :$MASA_PORT" | grep -q .; then
        break
    fi
    sleep 0.1
done
kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }

one_pledge() {  # i: runs one journey, prints "i exit-code milliseconds"
    local i="$1" start end rc=0
    start=$(date +%s%N)
    "$ESTGW" pledge --server "coaps://127.0.0.1:$COAP_PORT" --idevid "$WORK/idevid/$i.crt" \
        --key "$WORK/idevid/$i.key" --masa-anchor "$PKI/mfg-ca.crt" --out "$WORK/out/$i" \
        >"$WORK/out/$i.log" 2>&1 || rc=$?
    end=$(date +%s%N)
    echo "$i $rc $(((end - start) / 1000000))"
}
export -f one_pledge
export ESTGW COAP_PORT WORK PKI
mkdir -p "$WORK/out"

log "$PLEDGES journeys, $CONCURRENCY at a time"
ticks_before=$(cpu_ticks "$SERVER")
t0=$(date +%s%N)
seq "$PLEDGES" | xargs -P "$CONCURRENCY" -I{} bash -c 'one_pledge {}' >"$WORK/results.txt"
t1=$(date +%s%N)
ticks_after=$(cpu_ticks "$SERVER")
hz=$(getconf CLK_TCK)

ok=$(awk '$2 == 0' "$WORK/results.txt" | wc -l)
wall_ms=$(((t1 - t0) / 1000000))
report="$(
    sort -n -k3 "$WORK/results.txt" | awk -v n="$PLEDGES" -v ok="$ok" -v wall="$wall_ms" -v c="$CONCURRENCY" \
        -v ticks="$((ticks_after - ticks_before))" -v hz="$hz" '
        { ms[NR] = $3 }
        END {
            p50 = ms[int((NR - 1) * 0.50) + 1]; p99 = ms[int((NR - 1) * 0.99) + 1]
            printf "pledges %d, concurrency %d, succeeded %d\n", n, c, ok
            printf "wall %.2f s, %.1f journeys/s\n", wall / 1000, n * 1000 / wall
            printf "journey p50 %d ms, p99 %d ms, max %d ms\n", p50, p99, ms[NR]
            printf "registrar CPU %.2f s in all, %.1f ms per journey\n", ticks / hz, ticks / hz * 1000 / n
        }'
)"
echo "$report"
if [[ -n "$OUT" ]]; then
    mkdir -p "$OUT"
    { echo "# bench/brski.sh --pledges $PLEDGES --concurrency $CONCURRENCY, $(date -u +%FT%TZ), $(nproc) cores"
      echo "$report"; } >"$OUT/brski.txt"
fi

[[ $CHECK -eq 1 ]] || exit 0
failures=0
fail() { echo "CHECK FAILED: $*" >&2; failures=$((failures + 1)); }
if [[ "$ok" -ne "$PLEDGES" ]]; then
    fail "$((PLEDGES - ok)) of $PLEDGES pledges did not finish their journey"
    awk '$2 != 0 {print $1}' "$WORK/results.txt" | head -3 | while read -r i; do
        echo "--- pledge $i:" >&2
        cat "$WORK/out/$i.log" >&2
    done
fi
audit_lines=$(wc -l <"$WORK/masa-audit.jsonl" 2>/dev/null || echo 0)
audit_serials=$(grep -o '"serial": *"[^"]*"' "$WORK/masa-audit.jsonl" 2>/dev/null | sort -u | wc -l || echo 0)
[[ "$audit_lines" -eq "$PLEDGES" && "$audit_serials" -eq "$PLEDGES" ]] ||
    fail "the MASA issued $audit_lines vouchers for $audit_serials serials; expected one for each of $PLEDGES"
"$ESTGW" pledges list --db "$PKI/estgw.db" >"$WORK/pledges.txt" ||
    fail "estgw pledges list failed"
listed=$(($(wc -l <"$WORK/pledges.txt") - 1))
[[ "$listed" -eq "$PLEDGES" ]] || fail "the journal lists $listed pledges, expected $PLEDGES"
incomplete=0
for i in $(seq "$PLEDGES"); do
    "$ESTGW" pledges show "BENCH-$i" --db "$PKI/estgw.db" >"$WORK/journey.txt" 2>&1 || true
    for step in voucher-request masa-call voucher-issued voucher-status enrolled enroll-status; do
        if ! grep -q " $step" "$WORK/journey.txt"; then
            incomplete=$((incomplete + 1))
            [[ $incomplete -le 3 ]] && { echo "--- journey of BENCH-$i lacks $step:" >&2; cat "$WORK/journey.txt" >&2; }
            break
        fi
    done
    if ! grep " enroll-status" "$WORK/journey.txt" | grep -q "session=ldevid"; then
        incomplete=$((incomplete + 1))
        [[ $incomplete -le 3 ]] && { echo "--- BENCH-$i: no enroll-status over the LDevID session:" >&2; cat "$WORK/journey.txt" >&2; }
    fi
done
[[ $incomplete -eq 0 ]] || fail "$incomplete journeys are incomplete in the journal"
masa_calls=$(grep -c ' masa-call' <(for i in $(seq "$PLEDGES"); do
    "$ESTGW" pledges show "BENCH-$i" --db "$PKI/estgw.db" 2>/dev/null; done) || true)
[[ "$masa_calls" -eq "$PLEDGES" ]] || fail "the journal records $masa_calls MASA calls for $PLEDGES pledges"
if [[ $failures -ne 0 ]]; then
    echo "--- registrar log (tail):" >&2
    tail -20 "$WORK/serve.log" >&2
    exit 1
fi
echo "check: all $PLEDGES journeys complete, $audit_lines MASA vouchers, $masa_calls MASA calls in the journal"
