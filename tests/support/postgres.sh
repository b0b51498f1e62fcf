#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for tests and benchmarks (Debian's `postgresql` package, installed by
# `./estgw.sh deps`).
#
#   postgres.sh start DIR   initdb a cluster in DIR (created; must not exist or be empty), start it on a free
#                           127.0.0.1 port (and a Unix socket in DIR), create the database "estgw" and print its
#                           connection URI on stdout: postgresql://estgw:PASSWORD@127.0.0.1:PORT/estgw
#   postgres.sh stop DIR    stop that cluster and remove DIR
#
# initdb and postgres refuse to run as root (CI runs as root): the cluster then belongs to an unprivileged
# user, ESTGW_PG_USER or else Debian's `postgres` or else `nobody`, who must be able to reach DIR (so put DIR
# under /tmp, not under a 0700 home). Logs go to DIR/postgres.log; everything but the URI goes to stderr.
set -euo pipefail

die() { printf 'postgres.sh: %s\n' "$*" >&2; exit 1; }

bindir() {
    local dir="${ESTGW_PG_BINDIR:-}"
    # The newest installed server version: Debian keeps the binaries off PATH, one folder per version.
    # ESTGW_PG_BINDIR names another (a PostgreSQL built elsewhere).
    [[ -n "$dir" ]] || dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]] ||
        die "PostgreSQL server not installed (no initdb in ${dir:-/usr/lib/postgresql/*/bin}): run ./estgw.sh deps"
    printf '%s\n' "$dir"
}

cluster_user() {
    if [[ -n "${ESTGW_PG_USER:-}" ]]; then printf '%s\n' "$ESTGW_PG_USER"; return; fi
    if getent passwd postgres >/dev/null; then printf 'postgres\n'; return; fi
    printf 'nobody\n'
}

# Runs a command as the cluster's owner: the unprivileged user when we are root, ourselves otherwise.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
            printf '%s\n' "$port"
            return
        fi
    done
    die "no free loopback port found"
}

cmd_start() {
    local dir="$1" bin port password
    bin="$(bindir)"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [[ -z "$(ls -A "$dir")" ]] || die "$dir is not empty"
    OWNER="$(id -un)"
    if [[ "$(id -u)" == 0 ]]; then
        OWNER="$(cluster_user)"
        chown "$OWNER" "$dir"
        chmod 0700 "$dir"
        as_owner test -w "$dir" || die "user $OWNER cannot reach $dir (a parent folder is closed to it)"
    fi
    printf '%s\n' "$OWNER" >"$dir/owner"
    password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
    (umask 077 && printf '%s\n' "$password" >"$dir/pwfile")
    chown "$OWNER" "$dir/pwfile" "$dir/owner" 2>/dev/null || true
    # Password (SCRAM) over TCP, so that clients use the URI as a real deployment would; trust on the socket
    # in DIR, which only the owner can reach, for createdb below. --no-sync: a test cluster need not survive
    # power loss, and syncing its template files costs seconds.
    as_owner "$bin/initdb" -D "$dir/data" -U estgw --pwfile="$dir/pwfile" --auth-host=scram-sha-256 \
        --auth-local=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -n 5 "$dir/initdb.log")"
    rm -f "$dir/pwfile"
    # A port found free can be taken before postgres binds it: try another a few times.
    local started=0
    for _ in 1 2 3 4 5; do
        port="$(free_port)"
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null 2>&1; then
            started=1
            break
        fi
        grep -q 'could not bind\|could not create listen socket' "$dir/postgres.log" 2>/dev/null ||
            die "postgres did not start: $(tail -n 5 "$dir/postgres.log" 2>/dev/null)"
    done
    [[ "$started" == 1 ]] || die "postgres did not start on a free port: $(tail -n 5 "$dir/postgres.log")"
    printf '%s\n' "$port" >"$dir/port"
    as_owner "$bin/createdb" -h "$dir" -p "$port" -U estgw estgw >/dev/null 2>>"$dir/postgres.log" ||
        die "createdb failed: $(tail -n 5 "$dir/postgres.log")"
    printf 'postgresql://estgw:%s@127.0.0.1:%s/estgw\n' "$password" "$port"
}

cmd_stop() {
    local dir="$1" bin
    [[ -d "$dir" ]] || return 0
    OWNER="$(cat "$dir/owner" 2>/dev/null || id -un)"
    # Without a running cluster (a start that failed early) there is only the folder to remove.
    if [[ -f "$dir/data/postmaster.pid" ]] && bin="$(bindir)"; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            printf 'postgres.sh: pg_ctl stop failed for %s\n' "$dir" >&2
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) [[ $# == 2 ]] || die "usage: postgres.sh start DIR"; cmd_start "$2" ;;
    stop) [[ $# == 2 ]] || die "usage: postgres.sh stop DIR"; cmd_stop "$2" ;;
    *) die "usage: postgres.sh start DIR | stop DIR" ;;
esac
