# shellcheck shell=bash
# Sourced by the bench scripts: a temporary working directory, and the processes started into PIDS, both
# cleaned up however the script ends; log, free_port and wait_ready.
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '==> %s\n' "$*" >&2; }
free_port() {  # a port that is free for both UDP and TCP on loopback right now
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        if ! ss -Hlnu "sport = :$p" | grep -q . && ! ss -Hlnt "sport = :$p" | grep -q .; then
            echo "$p"
            return
        fi
    done
    echo "no free port" >&2
    exit 1
}
wait_ready() {  # port: until /.well-known/core answers 2.05 to the demo pledge of $PKI (up to ~60 s)
    for _ in $(seq 300); do
        if coap-client-openssl -B 2 -c "$PKI/pledge.crt" -j "$PKI/pledge.key" -R "$PKI/ca.crt" -v 7 \
            "coaps://127.0.0.1:$1/.well-known/core" 2>&1 | grep -q 'c:2.05'; then return 0; fi
        sleep 0.2
    done
    echo "estgw on port $1 did not start" >&2
    exit 1
}
