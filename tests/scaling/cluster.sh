# shellcheck shell=bash
# Sourced by tests/scaling/two_servers_nginx.sh and bench/nginx.sh: several `estgw serve --mode server` on one
# store (a PostgreSQL cluster of tests/support/postgres.sh, or one SQLite file) behind nginx's UDP stream
# proxy rendered from docs/nginx-estgw-stream.conf, all on free loopback ports. Every process started here is
# stopped, and the working folder removed, when the sourcing script exits.
#
# The sourcing script sets ESTGW (the binary) before calling anything; functions fail with `cluster_die`.
# After cluster_start_store, cluster_start_server (once per server) and cluster_start_nginx:
#   CLUSTER_WORK          temporary folder (PKI in pki/, logs *.log)
#   CLUSTER_DB            the --db every server uses (postgresql://… or a file)
#   SERVER_PIDS[i] SERVER_PORTS[i] METRICS_PORTS[i]   of server i (0, 1, …)
#   NGINX_PORT            the UDP port clients use

CLUSTER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER_WORK="$(mktemp -d "${TMPDIR:-/tmp}/estgw-cluster.XXXXXX")"
# postgres.sh runs the cluster as an unprivileged user when we are root: it must reach its folder.
chmod 0755 "$CLUSTER_WORK"
CLUSTER_DB=""
CLUSTER_PG_DIR=""
CLUSTER_PIDS=()
SERVER_PIDS=()
SERVER_PORTS=()
METRICS_PORTS=()
NGINX_PORT=""
NGINX_PID=""

cluster_log() { printf '==> %s\n' "$*" >&2; }
cluster_die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# SIGTERM first: nginx's master stops its workers only then (a SIGKILLed master leaves them running); what
# has not exited 5 s later is killed.
cluster_cleanup() {
    local p
    for p in "${CLUSTER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for p in "${CLUSTER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [[ $alive == 0 ]] && break
        sleep 0.1
    done
    for p in "${CLUSTER_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "${CLUSTER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ -n "$CLUSTER_PG_DIR" ]]; then bash "$CLUSTER_ROOT/tests/support/postgres.sh" stop "$CLUSTER_PG_DIR" || true; fi
    if [[ -n "${CLUSTER_KEEP:-}" ]]; then
        printf 'kept %s\n' "$CLUSTER_WORK" >&2
    else
        rm -rf "$CLUSTER_WORK"
    fi
}
trap cluster_cleanup EXIT
trap 'exit 130' INT TERM

cluster_free_port() {  # tcp|udp: a port free on loopback right now
    local p flag
    [[ "$1" == udp ]] && flag=-Hlnu || flag=-Hlnt
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        if ! ss "$flag" "sport = :$p" | grep -q .; then
            echo "$p"
            return
        fi
    done
    cluster_die "no free $1 port"
}

# The demo PKI: the servers share its CA, DTLS certificate and client trust; pki/pledge.* is the pledge.
cluster_pki() {
    "$ESTGW" pki init --dir "$CLUSTER_WORK/pki" >/dev/null
    PKI="$CLUSTER_WORK/pki"
}

# postgresql: a fresh cluster from tests/support/postgres.sh; sqlite: one file all servers open.
cluster_start_store() {  # postgresql|sqlite
    case "$1" in
        postgresql)
            CLUSTER_PG_DIR="$CLUSTER_WORK/pg"
            CLUSTER_DB="$(bash "$CLUSTER_ROOT/tests/support/postgres.sh" start "$CLUSTER_PG_DIR")" ||
                cluster_die "PostgreSQL did not start"
            ;;
        sqlite) CLUSTER_DB="$CLUSTER_WORK/estgw.db" ;;
        *) cluster_die "unknown store '$1' (postgresql or sqlite)" ;;
    esac
}

# The serials of every issued certificate in the store, one per line, uppercase hex.
cluster_db_serials() {
    if [[ "$CLUSTER_DB" == postgresql://* ]]; then
        psql -X -q -A -t -v ON_ERROR_STOP=1 "$CLUSTER_DB" -c 'SELECT serial FROM issuance'
    else
        "$ESTGW" certs list --db "$CLUSTER_DB" | tail -n +2 | cut -f1
    fi
}

cluster_ready() {  # port: discovery answers 2.05 over DTLS with the pledge's certificate
    coap-client-openssl -B 2 -c "$PKI/pledge.crt" -j "$PKI/pledge.key" -R "$PKI/ca.crt" -v 7 \
        "coaps://127.0.0.1:$1/.well-known/core" 2>&1 | grep -q 'c:2.05'
}

cluster_wait_ready() {  # port pid name
    for _ in $(seq 150); do
        cluster_ready "$1" && return 0
        kill -0 "$2" 2>/dev/null || { tail -20 "$CLUSTER_WORK/$3.log" >&2; cluster_die "$3 exited at start"; }
        sleep 0.1
    done
    tail -20 "$CLUSTER_WORK/$3.log" >&2
    cluster_die "$3 did not answer on UDP port $1"
}

# Server i on its own CoAP and metrics ports, sharing CLUSTER_DB. Every client of a server behind nginx
# comes from nginx's address, so the per-address handshake bound (against floods from one address) is lifted
# to --max-handshakes: the proxy is the one "address" (docs/SCALING.md).
cluster_start_server() {  # i [extra serve options...]
    local i="$1" port metrics
    shift
    port="$(cluster_free_port udp)"
    metrics="$(cluster_free_port tcp)"
    "$ESTGW" serve --config "$PKI/estgw.conf" --mode server --listen "127.0.0.1:$port" --db "$CLUSTER_DB" \
        --metrics-listen "127.0.0.1:$metrics" --max-handshakes-per-address 1000 --queue-limit 100000 \
        --log-level warn "$@" >"$CLUSTER_WORK/server$i.log" 2>&1 &
    SERVER_PIDS[i]=$!
    SERVER_PORTS[i]=$port
    METRICS_PORTS[i]=$metrics
    CLUSTER_PIDS+=("$!")
    cluster_wait_ready "$port" "${SERVER_PIDS[i]}" "server$i"
}

# Certificates issued (operation enroll) by server i since it started, from its /metrics.
cluster_issued_by() {  # i
    curl -fsS "http://127.0.0.1:${METRICS_PORTS[$1]}/metrics" |
        awk '$1 == "estgw_certificates_issued_total{operation=\"enroll\"}" {print $2; found = 1}
             END {if (!found) print "missing"}'
}

# docs/nginx-estgw-stream.conf with our ports and paths: each spelling it is rendered from must be there
# exactly as often as expected, so that the operators' file and this test cannot drift apart silently.
cluster_render_nginx_conf() {  # out
    local conf="$CLUSTER_ROOT/docs/nginx-estgw-stream.conf" spelling expected
    for spelling in 'listen 5684 udp' 'server 192.0.2.11:5684' 'server 192.0.2.12:5684' \
        'pid /run/nginx-estgw.pid;' '/var/log/nginx/' 'worker_rlimit_nofile 140000;'; do
        expected=1
        [[ "$spelling" == /var/log/nginx/ ]] && expected=2
        [[ "$(grep -cF -- "$spelling" "$conf")" == "$expected" ]] ||
            cluster_die "$conf: expected '$spelling' $expected time(s); keep the spellings the test renders"
    done
    # nginx may raise its descriptor limit only up to the hard limit it inherits (a service manager's
    # LimitNOFILE for an operator; here whatever started the test).
    local hard
    hard="$(ulimit -Hn)"
    [[ "$hard" == unlimited ]] && hard=140000
    sed -e "s|listen 5684 udp|listen 127.0.0.1:$NGINX_PORT udp|" \
        -e "s|worker_rlimit_nofile 140000;|worker_rlimit_nofile $((hard < 140000 ? hard : 140000));|" \
        -e "s|server 192.0.2.11:5684|server 127.0.0.1:${SERVER_PORTS[0]}|" \
        -e "s|server 192.0.2.12:5684|server 127.0.0.1:${SERVER_PORTS[1]}|" \
        -e "s|pid /run/nginx-estgw.pid;|pid $CLUSTER_WORK/nginx/nginx.pid;|" \
        -e "s|/var/log/nginx/|$CLUSTER_WORK/nginx/|g" "$conf" >"$1"
}

# nginx in the foreground (a child we can signal), its config, pid and logs in CLUSTER_WORK/nginx. The
# module comes from the load_module line of the config; without a systemd unit nothing else starts nginx.
cluster_start_nginx() {
    command -v nginx >/dev/null || cluster_die "no nginx: ./estgw.sh deps installs nginx and libnginx-mod-stream"
    [[ -f /usr/lib/nginx/modules/ngx_stream_module.so ]] ||
        cluster_die "no nginx stream module: ./estgw.sh deps installs libnginx-mod-stream"
    # Every UDP session holds a socket towards a server until proxy_timeout (300 s) after its last datagram,
    # also after the bench is done with it: the scale-out test leaves about 4 200 sessions behind.
    local hard
    hard="$(ulimit -Hn)"
    [[ "$hard" == unlimited || "$hard" -ge 8192 ]] ||
        cluster_die "the hard limit on open files is $hard; nginx needs 8192 for the sessions of this run (ulimit -Hn)"
    mkdir -p "$CLUSTER_WORK/nginx"
    NGINX_PORT="$(cluster_free_port udp)"
    cluster_render_nginx_conf "$CLUSTER_WORK/nginx/nginx.conf"
    nginx -t -q -p "$CLUSTER_WORK/nginx" -e "$CLUSTER_WORK/nginx/startup-error.log" \
        -c "$CLUSTER_WORK/nginx/nginx.conf" >"$CLUSTER_WORK/nginx.log" 2>&1 ||
        { cat "$CLUSTER_WORK/nginx.log" >&2; cluster_die "nginx refused the rendered configuration"; }
    nginx -p "$CLUSTER_WORK/nginx" -e "$CLUSTER_WORK/nginx/startup-error.log" \
        -c "$CLUSTER_WORK/nginx/nginx.conf" -g 'daemon off;' >>"$CLUSTER_WORK/nginx.log" 2>&1 &
    NGINX_PID=$!
    CLUSTER_PIDS+=("$NGINX_PID")
    # Ready when it answers through to a server (nginx binds before its workers run).
    for _ in $(seq 100); do
        cluster_ready "$NGINX_PORT" && return 0
        kill -0 "$NGINX_PID" 2>/dev/null ||
            { cat "$CLUSTER_WORK/nginx.log" "$CLUSTER_WORK/nginx/estgw-error.log" >&2 2>/dev/null
              cluster_die "nginx exited at start"; }
        sleep 0.1
    done
    cat "$CLUSTER_WORK/nginx/estgw-error.log" >&2 2>/dev/null || true
    cluster_die "nothing answered through nginx on UDP port $NGINX_PORT"
}

# `estgw bench` with the pledge's identity against a UDP port, as a command in CLUSTER_BENCH_CMD (so that a
# script can start it in the background with a pid of its own), stopped after CLUSTER_BENCH_LIMIT seconds
# (default 600; exit 124 then): a run whose every request times out would otherwise take
# requests / concurrency × --timeout.
cluster_bench_command() {  # port [bench options...]
    local port="$1"
    shift
    CLUSTER_BENCH_CMD=(timeout "${CLUSTER_BENCH_LIMIT:-600}" "$ESTGW" bench --server "coaps://127.0.0.1:$port"
        --cert "$PKI/pledge.crt" --key "$PKI/pledge.key" --ca "$PKI/ca.crt" --json "$@")
}
# The same, run: prints its JSON report.
cluster_bench() {  # port [bench options...]
    cluster_bench_command "$@"
    "${CLUSTER_BENCH_CMD[@]}"
}

# A number from the bench's JSON report: ok, ops_per_s, latency p50/p99, or the sum of the errors.
json_number() {  # key json
    case "$1" in
        errors) grep -o '"errors":{[^}]*}' <<<"$2" | grep -oE ':[0-9]+' | tr -d : | awk '{s += $1} END {print s + 0}' ;;
        *) grep -oE "\"$1\":[0-9.]+" <<<"$2" | head -1 | cut -d: -f2 ;;
    esac
}
