#!/usr/bin/env bash
# Scale-out end to end (issue 15 §3): two `estgw serve --mode server` on one PostgreSQL behind nginx's UDP
# stream proxy (docs/nginx-estgw-stream.conf), everything on free loopback ports and stopped at the end.
#
#  1. `estgw bench --op sen --concurrency 50 --requests 2000 --new-session-per-request` through nginx: no
#     errors; 2000 rows in the database, all serials distinct, each certificate the bench received among
#     them; both servers issued a share (their estgw_certificates_issued_total, which add up to 2000).
#  2. A second run of the same kind, and one server SIGKILLed once some of its certificates are in the
#     database: every certificate a client received is in the database (no answer before its commit), the
#     serials stay distinct; the survivor keeps serving: a further run through nginx succeeds in full, all of
#     it issued by the survivor.
# What the pledges of run 2 saw (the errors of its report) is printed: the requests in flight on the killed
# server get no answer (timeout), or their handshake fails (dtls); new sessions go to the survivor.
#
# Usage: tests/scaling/two_servers_nginx.sh [--estgw PATH] [--store postgresql|sqlite] [--keep]
#   --store sqlite: both servers on one SQLite file instead (no PostgreSQL needed; for comparison)
#   --keep: leave the working folder (logs, nginx config) for a look afterwards
# Registered in ctest (label e2e); needs nginx, libnginx-mod-stream, postgresql, coap-client-openssl, curl
# (./estgw.sh deps). Exits 1 with the reason on any failed check.
set -euo pipefail

ESTGW="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/estgw"
STORE=postgresql
while [[ $# -gt 0 ]]; do
    case "$1" in
        --estgw) ESTGW="$2"; shift ;;
        --store) STORE="$2"; shift ;;
        --keep) CLUSTER_KEEP=1 ;;
        *) echo "usage: tests/scaling/two_servers_nginx.sh [--estgw PATH] [--store postgresql|sqlite] [--keep]" >&2
           exit 2 ;;
    esac
    shift
done
[[ -x "$ESTGW" ]] || { echo "two_servers_nginx.sh: no estgw binary at $ESTGW (./estgw.sh build)" >&2; exit 2; }

# shellcheck source=tests/scaling/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
# Each run takes seconds when it works; one that does not is cut off (exit 124 fails its check).
CLUSTER_BENCH_LIMIT=90

FAILURES=0
check() {  # description command...: runs the command; a failure is counted and reported
    local what="$1"
    shift
    if "$@"; then
        printf 'ok: %s\n' "$what"
    else
        printf 'CHECK FAILED: %s\n' "$what" >&2
        FAILURES=$((FAILURES + 1))
    fi
}
equals() { [[ "$1" == "$2" ]] || { echo "  got '$1', expected '$2'" >&2; return 1; }; }
positive() { [[ "$1" =~ ^[0-9]+$ && "$1" -gt 0 ]] || { echo "  got '$1', expected more than 0" >&2; return 1; }; }
# Every line of file $1 is a line of file $2 (both sorted here).
all_in() {
    local missing
    missing="$(comm -23 <(sort "$1") <(sort "$2") | wc -l)"
    [[ "$missing" == 0 ]] || { echo "  $missing of $(wc -l <"$1") not found, e.g. $(comm -23 <(sort "$1") <(sort "$2") | head -3 | tr '\n' ' ')" >&2; return 1; }
}
db_rows() { cluster_db_serials | wc -l; }
bench_via_nginx() { cluster_bench "$NGINX_PORT" --op sen "$@"; }

cluster_log "store: $STORE"
cluster_pki
cluster_start_store "$STORE"
cluster_start_server 0
cluster_start_server 1
cluster_start_nginx
cluster_log "servers on UDP ${SERVER_PORTS[0]} and ${SERVER_PORTS[1]}, nginx on UDP $NGINX_PORT"

# ---- 1. 2000 new-session enrollments through nginx
cluster_log "run 1: 2000 enrollments, 50 at a time, a new DTLS session each, through nginx"
rc=0
report="$(bench_via_nginx --concurrency 50 --requests 2000 --new-session-per-request --timeout 30 \
    --serials "$CLUSTER_WORK/run1.serials")" || rc=$?
echo "$report"
check "run 1: the bench exits 0" equals "$rc" 0
check "run 1: 2000 enrollments succeeded" equals "$(json_number ok "$report")" 2000
check "run 1: no errors" equals "$(json_number errors "$report")" 0
cluster_db_serials >"$CLUSTER_WORK/db1.serials"
check "run 1: 2000 rows in the database" equals "$(wc -l <"$CLUSTER_WORK/db1.serials")" 2000
check "run 1: all serials in the database are distinct" equals "$(sort -u "$CLUSTER_WORK/db1.serials" | wc -l)" 2000
check "run 1: the bench received 2000 certificates" equals "$(wc -l <"$CLUSTER_WORK/run1.serials")" 2000
check "run 1: every certificate received is in the database" all_in "$CLUSTER_WORK/run1.serials" "$CLUSTER_WORK/db1.serials"
issued0="$(cluster_issued_by 0)"
issued1="$(cluster_issued_by 1)"
cluster_log "run 1: server 0 issued $issued0, server 1 issued $issued1"
check "run 1: server 0 issued a share" positive "$issued0"
check "run 1: server 1 issued a share" positive "$issued1"
check "run 1: the servers' counts add up to the rows" equals "$((issued0 + issued1))" 2000

# ---- 2. the same again, and server 1 killed in the middle
cluster_log "run 2: 2000 more, server 1 SIGKILLed once 300 of them are in the database"
rows_before="$(db_rows)"
# --timeout 20: long enough for a handshake that met the dead server and was served by the survivor 7 s late
# (docs/SCALING.md), so that only the requests in flight on the dead server fail.
cluster_bench_command "$NGINX_PORT" --op sen --concurrency 50 --requests 2000 --new-session-per-request \
    --timeout 20 --serials "$CLUSTER_WORK/run2.serials"
"${CLUSTER_BENCH_CMD[@]}" >"$CLUSTER_WORK/run2.json" 2>"$CLUSTER_WORK/run2.err" &
BENCH_PID=$!
CLUSTER_PIDS+=("$BENCH_PID")
killed=0
for _ in $(seq 300); do  # at most 30 s
    kill -0 "$BENCH_PID" 2>/dev/null || break  # the run ended before the kill: that is a failure below
    if [[ "$(db_rows)" -ge $((rows_before + 300)) ]]; then
        issued1_at_kill="$(cluster_issued_by 1)"
        kill -KILL "${SERVER_PIDS[1]}"
        killed=1
        break
    fi
    sleep 0.1
done
check "run 2: server 1 was killed in the middle of the run" equals "$killed" 1
[[ $killed == 1 ]] || kill "$BENCH_PID" 2>/dev/null || true  # timeout(1) passes SIGTERM on to the bench
check "run 2: server 1 was serving this run when it was killed" positive "$((${issued1_at_kill:-0} - issued1))"
[[ $killed == 1 ]] && { wait "${SERVER_PIDS[1]}" 2>/dev/null || true; }
rc=0
wait "$BENCH_PID" || rc=$?
report="$(cat "$CLUSTER_WORK/run2.json")"
echo "$report"
ok2="$(json_number ok "$report")"
cluster_log "run 2: the bench exited $rc; ok $ok2, errors $(grep -o '"errors":{[^}]*}' <<<"$report")"
check "run 2: the bench finished its run (exit 0 or 1)" test "$rc" -le 1
check "run 2: enrollments succeeded" positive "$ok2"
# What the pledges see: the requests in flight on the killed server get no answer, and so do handshakes that
# keep meeting it through an nginx session still pinned to it (all clients here share one address, so a new
# client port often matches one of run 1's sessions to server 1); the survivor refuses nothing. Without
# failover about half the rest of the run would fail (850); seen: 8-41.
errors2="$(json_number errors "$report")"
check "run 2: at most 200 of 2000 requests failed (failover worked)" test "$errors2" -le 200
check "run 2: failures are timeouts or failed handshakes only" \
    equals "$(grep -o '"errors":{[^}]*}' <<<"$report" | grep -oE '"[^"]+":[0-9]+' | grep -vE '^"(timeout|dtls)":' | tr '\n' ' ')" ""
check "run 2: one serial written per success" equals "$(wc -l <"$CLUSTER_WORK/run2.serials")" "$ok2"
cluster_db_serials >"$CLUSTER_WORK/db2.serials"
check "run 2: every certificate a client received is in the database" \
    all_in "$CLUSTER_WORK/run2.serials" "$CLUSTER_WORK/db2.serials"
check "run 2: all serials in the database are distinct" \
    equals "$(sort -u "$CLUSTER_WORK/db2.serials" | wc -l)" "$(wc -l <"$CLUSTER_WORK/db2.serials")"
check "run 2: server 0 survived" kill -0 "${SERVER_PIDS[0]}"
# The converse need not hold: a server killed between its commit and its answer leaves a record no client
# received. Reported, not checked: how many depends on where the kill fell.
cluster_log "run 2: $(($(wc -l <"$CLUSTER_WORK/db2.serials") - 2000 - ok2)) record(s) in the database that no client received"

# ---- 3. the survivor keeps serving through nginx
cluster_log "run 3: 200 enrollments through nginx with server 1 dead"
before0="$(cluster_issued_by 0)"
rc=0
report="$(bench_via_nginx --concurrency 10 --requests 200 --new-session-per-request --timeout 20 \
    --serials "$CLUSTER_WORK/run3.serials")" || rc=$?
echo "$report"
check "run 3: the bench exits 0" equals "$rc" 0
check "run 3: 200 enrollments succeeded" equals "$(json_number ok "$report")" 200
check "run 3: no errors" equals "$(json_number errors "$report")" 0
check "run 3: the survivor issued them all" equals "$(($(cluster_issued_by 0) - before0))" 200
cluster_db_serials >"$CLUSTER_WORK/db3.serials"
check "run 3: every certificate received is in the database" \
    all_in "$CLUSTER_WORK/run3.serials" "$CLUSTER_WORK/db3.serials"

if [[ $FAILURES -ne 0 ]]; then
    for f in server0 server1; do
        echo "--- $f.log (tail)" >&2
        tail -15 "$CLUSTER_WORK/$f.log" >&2 || true
    done
    echo "--- nginx error log (tail)" >&2
    tail -15 "$CLUSTER_WORK/nginx/estgw-error.log" >&2 || true
    echo "$FAILURES check(s) failed" >&2
    exit 1
fi
echo "all checks passed"
