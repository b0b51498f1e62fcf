#!/usr/bin/env bash
# SQLite against PostgreSQL as estgw's database (docs/BENCHMARKS.md "SQLite vs PostgreSQL"):
#   1. the store alone: build/bench/store_insert, 1 and 4 threads, each insert returning after its commit
#   2. a full server: `estgw bench --op sen` (persistent sessions, so the CA and the store are what is
#      measured rather than DTLS handshakes) with --db FILE and with --db postgresql://…, and the server's
#      and PostgreSQL's CPU per enrollment
# Usage: bench/store.sh [--inserts N] [--requests N]      Loopback only; a throw-away PostgreSQL cluster
# (tests/support/postgres.sh) on the same disk as the SQLite file; everything is stopped at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INSERTS=1000
REQUESTS=2000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --inserts) INSERTS="$2"; shift ;;
        --requests) REQUESTS="$2"; shift ;;
        *) echo "usage: bench/store.sh [--inserts N] [--requests N]" >&2; exit 2 ;;
    esac
    shift
done
ESTGW="$ROOT/build/estgw"
STORE_INSERT="$ROOT/build/bench/store_insert"
[[ -x "$ESTGW" ]] || { echo "build first: ./estgw.sh build" >&2; exit 2; }
[[ -x "$STORE_INSERT" ]] || cmake --build "$ROOT/build" --target store_insert >/dev/null

# shellcheck source=bench/work_dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/work_dir.sh"
PG_DIR="$(mktemp -d /tmp/estgw-pg-bench.XXXXXX)"  # under /tmp: the cluster's unprivileged owner reaches it
trap 'cleanup; "$ROOT/tests/support/postgres.sh" stop "$PG_DIR" || true' EXIT
cpu_ticks() {  # pid...: user + system clock ticks of the processes
    local total=0 p
    for p in "$@"; do
        [[ -r "/proc/$p/stat" ]] || continue
        total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$total"
}
postgres_pids() {  # the postmaster and its children (the backends serving estgw among them)
    local pm
    pm="$(head -n 1 "$PG_DIR/data/postmaster.pid")"
    echo "$pm" $(pgrep -P "$pm" || true)
}

log "PostgreSQL $(ls /usr/lib/postgresql | sort -V | tail -n 1) in $PG_DIR"
PG_URI="$("$ROOT/tests/support/postgres.sh" start "$PG_DIR")"
PG_SETTINGS="$(psql "$PG_URI" -Atc "SELECT string_agg(name || '=' || setting, ' ') FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method')")"
log "PostgreSQL: $PG_SETTINGS"

log "1. the store alone: $INSERTS inserts per thread"
for threads in 1 4; do
    for kind in sqlite postgresql; do
        db="$WORK/store-$threads.db"
        [[ $kind == postgresql ]] && db="$PG_URI"
        printf '%-12s threads=%d %s\n' "$kind" "$threads" \
            "$("$STORE_INSERT" --db "$db" --threads "$threads" --inserts "$INSERTS")"
    done
done

log "2. a full server: estgw bench --op sen --concurrency 8 --requests $REQUESTS (persistent sessions)"
"$ESTGW" pki init --dir "$WORK/pki" >/dev/null
PKI="$WORK/pki"
for kind in sqlite postgresql; do
    db="$WORK/server.db"
    [[ $kind == postgresql ]] && db="$PG_URI"
    port="$(free_port)"
    "$ESTGW" serve --config "$PKI/estgw.conf" --listen "127.0.0.1:$port" --db "$db" --log-level warn \
        --queue-limit 100000 >"$WORK/server-$kind.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_ready "$port"
    server_before="$(cpu_ticks "$pid")"
    pg_before="$(cpu_ticks $(postgres_pids))"
    report="$("$ESTGW" bench --server "coaps://127.0.0.1:$port" --cert "$PKI/pledge.crt" --key "$PKI/pledge.key" \
        --ca "$PKI/ca.crt" --op sen --concurrency 8 --requests "$REQUESTS" --timeout 60 --json)"
    server_after="$(cpu_ticks "$pid")"
    pg_after="$(cpu_ticks $(postgres_pids))"
    hz="$(getconf CLK_TCK)"
    printf '%-12s %s server_cpu_us_per_op=%s postgres_cpu_us_per_op=%s\n' "$kind" "$report" \
        "$(awk -v a="$server_before" -v b="$server_after" -v n="$REQUESTS" -v hz="$hz" 'BEGIN { printf "%.0f", (b - a) * 1e6 / hz / n }')" \
        "$(awk -v a="$pg_before" -v b="$pg_after" -v n="$REQUESTS" -v hz="$hz" -v k="$kind" 'BEGIN { if (k == "sqlite") print "-"; else printf "%.0f", (b - a) * 1e6 / hz / n }')"
    kill -TERM "$pid"
    wait "$pid" || true
done
