# shellcheck shell=bash
# Sourced by estgw-docker.sh test once the image is built: runs it as a registrar and as a gateway in front of
# it and checks what README "Container" promises. Every container uses the host's network on free loopback
# ports (no bridge), and all traffic stays on 127.0.0.1.

CT_PREFIX="estgw-test-$$"
CT_DIR=""
CT_PASSED=0

ct_pass() {  # what was checked
    CT_PASSED=$((CT_PASSED + 1))
    log "ok: $*"
}

ct_cleanup() {
    docker rm -f "$CT_PREFIX-registrar" "$CT_PREFIX-gateway" "$CT_PREFIX-scan" >/dev/null 2>&1 || true
    docker volume rm "$CT_PREFIX-etc" "$CT_PREFIX-lib" >/dev/null 2>&1 || true
    [[ -z "$CT_DIR" ]] || rm -rf "$CT_DIR"
}

ct_fail() {
    local c
    for c in registrar gateway; do
        if docker inspect "$CT_PREFIX-$c" >/dev/null 2>&1; then
            printf '\n---- docker logs %s (last 30 lines)\n' "$c" >&2
            docker logs --tail 30 "$CT_PREFIX-$c" >&2 2>&1 || true
        fi
    done
    die "docker-test: $*"
}

# A port no socket uses at the moment, for UDP or TCP, below the kernel's range of ephemeral ports: a
# restarted container binds its ports again, and an outgoing connection must not have taken one meanwhile.
ct_free_port() {  # udp|tcp
    local flag=-t port first
    [[ "$1" == udp ]] && flag=-u
    first="$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
    while true; do
        port=$((10000 + RANDOM % (first - 10000)))
        if ss -Han "$flag" | awk -v p="$port" '$4 ~ ("[:.]" p "$") { used = 1 } END { exit used }'; then
            echo "$port"
            return
        fi
    done
}

# coap-client-openssl as the pledge (IDevID from the volume); prints the last response code, the body goes to
# $3. It exits 0 on errors, so the code comes from its -v 7 PDU log, where requests and the empty ACK of a
# separate response are class 0.
ct_coap() {  # port path out [coap-client options...]
    local port="$1" path="$2" out="$3"
    shift 3
    rm -f "$out"
    coap-client-openssl -v 7 -B 30 -c "$CT_DIR/pledge.crt" -j "$CT_DIR/pledge.key" -R "$CT_DIR/ca.crt" "$@" \
        -o "$out" "coaps://127.0.0.1:$port$path" 2>&1 | sed -nE 's/.* c:([2-5]\.[0-9]{2}) .*/\1/p' | tail -n1
}

# crts (2.05, a PKCS#7 of CA certificates) and sen with Accept 287 (2.04, a certificate that verifies against
# the volume's CA); the certificate's serial goes to the named variable.
ct_enroll() {  # port name serial-variable
    local port="$1" name="$2" code
    # A gateway answers 5.03 + Max-Age until its first fetch of the upstream's CA certificates is in.
    for _ in $(seq 1 20); do
        code="$(ct_coap "$port" /.well-known/est/crts "$CT_DIR/$name-crts.p7")"
        [[ "$code" == 5.03 ]] || break
        sleep 0.5
    done
    [[ "$code" == 2.05 ]] || ct_fail "$name: crts answered '$code'"
    openssl pkcs7 -inform DER -in "$CT_DIR/$name-crts.p7" -print_certs -noout >/dev/null 2>&1 ||
        ct_fail "$name: the crts answer is not a PKCS#7 of certificates"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CT_DIR/$name.key" \
        -subj "/CN=$name" -outform DER -out "$CT_DIR/$name.csr" 2>/dev/null
    code="$(ct_coap "$port" /.well-known/est/sen "$CT_DIR/$name.der" -m post -t 286 -A 287 -f "$CT_DIR/$name.csr")"
    [[ "$code" == 2.04 ]] || ct_fail "$name: sen answered '$code'"
    openssl x509 -inform DER -in "$CT_DIR/$name.der" -out "$CT_DIR/$name.pem" ||
        ct_fail "$name: sen did not answer a certificate"
    openssl verify -CAfile "$CT_DIR/ca.crt" "$CT_DIR/$name.pem" >/dev/null ||
        ct_fail "$name: the certificate does not verify against the volume's ca.crt"
    printf -v "$3" '%s' "$(openssl x509 -in "$CT_DIR/$name.pem" -noout -serial | cut -d= -f2)"
    ct_pass "$name: crts 2.05, sen 2.04 with a certificate that verifies against the volume's CA"
}

ct_wait_ready() {  # port name: discovery answers (the DTLS endpoint and credentials work)
    local code
    for _ in $(seq 1 60); do
        code="$(ct_coap "$1" /.well-known/core "$CT_DIR/core.txt")"
        [[ "$code" == 2.05 ]] && return 0
        [[ "$(docker inspect -f '{{.State.Running}}' "$CT_PREFIX-$2" 2>/dev/null)" == true ]] ||
            ct_fail "the $2 container stopped"
        sleep 0.5
    done
    ct_fail "the $2 container does not answer on port $1"
}

ct_wait_healthy() {  # name
    local status
    for _ in $(seq 1 60); do
        status="$(docker inspect -f '{{.State.Health.Status}}' "$CT_PREFIX-$1")"
        [[ "$status" == healthy ]] && return 0
        sleep 0.5
    done
    ct_fail "the $1 container's health check says '$status'"
}

# docker stop: SIGTERM, the drain, and exit 0 well within docker's own 10 s before SIGKILL.
ct_stop() {  # name
    local started seconds code logs
    started="$(now)"
    docker stop -t 10 "$CT_PREFIX-$1" >/dev/null
    seconds="$(seconds_since "$started")"
    code="$(docker inspect -f '{{.State.ExitCode}}' "$CT_PREFIX-$1")"
    [[ "$code" == 0 ]] || ct_fail "the $1 container exited $code after docker stop"
    awk -v s="$seconds" 'BEGIN { exit !(s < 10) }' || ct_fail "docker stop of the $1 took $seconds s"
    # The log whole, not piped into grep -q, whose early exit would fail the pipe (pipefail).
    logs="$(docker logs "$CT_PREFIX-$1" 2>&1)"
    grep -q ' info draining ' <<<"$logs" || ct_fail "the $1 did not drain"
    [[ "$(tail -n1 <<<"$logs")" == *" info stopped"* ]] || ct_fail "the $1 did not log 'stopped' last"
    ct_pass "$1: docker stop took $seconds s, drained, exit 0"
}

# The runtime image: no compiler, no -dev package, no apt lists, and no private key anywhere.
ct_check_image_contents() {
    local found
    found="$(docker run --rm --network host --entrypoint sh "$IMAGE" -c '
        for c in cc gcc g++ c++ clang cpp ld as; do command -v "$c"; done
        dpkg-query -W -f "\${Package}\n" | grep -E -- "-dev(:|\$)"
        find /var/lib/apt/lists -type f ! -name lock
        grep -rlI -e "-----BEGIN [A-Z ]*PRIVATE KEY" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev \
            2>/dev/null
        true')"
    [[ -z "$found" ]] || ct_fail "the runtime image holds what it should not: $found"
    ct_pass "runtime image: no compiler, no -dev packages, no apt lists, no private key"
}

container_test() {
    trap 'ct_cleanup; stop_started_engine' EXIT
    CT_DIR="$(mktemp -d)"
    ct_check_image_contents

    local coap1 https1 metrics1 coap2 metrics2 uid code serial_direct serial_gateway listed issued
    coap1="$(ct_free_port udp)"
    https1="$(ct_free_port tcp)"
    metrics1="$(ct_free_port tcp)"
    coap2="$(ct_free_port udp)"
    metrics2="$(ct_free_port tcp)"
    while [[ "$coap2" == "$coap1" ]]; do coap2="$(ct_free_port udp)"; done
    while [[ "$metrics1" == "$https1" ]]; do metrics1="$(ct_free_port tcp)"; done
    while [[ "$metrics2" == "$https1" || "$metrics2" == "$metrics1" ]]; do metrics2="$(ct_free_port tcp)"; done

    docker volume create "$CT_PREFIX-etc" >/dev/null
    docker volume create "$CT_PREFIX-lib" >/dev/null
    local volumes=(-v "$CT_PREFIX-etc:/etc/estgw" -v "$CT_PREFIX-lib:/var/lib/estgw")
    docker run --rm --network host "${volumes[@]}" "$IMAGE" pki init --dir /etc/estgw \
        --db /var/lib/estgw/estgw.db >/dev/null || ct_fail "estgw pki init in the container failed"
    local f
    for f in pledge.crt pledge.key ca.crt; do
        docker run --rm --network host "${volumes[@]}" --entrypoint cat "$IMAGE" "/etc/estgw/$f" >"$CT_DIR/$f"
    done
    chmod 0600 "$CT_DIR/pledge.key"
    ct_pass "demo PKI made in a volume by estgw pki init in the container"

    # The registrar: the image's default command with its ports moved to free loopback ones. Health checks
    # every second instead of every 15 s, so that the test need not wait; the check itself is the image's.
    docker run -d --name "$CT_PREFIX-registrar" --network host --health-interval 1s --health-start-period 1s \
        -e "ESTGW_METRICS_URL=http://127.0.0.1:$metrics1" "${volumes[@]}" "$IMAGE" \
        serve --config /etc/estgw/estgw.conf --listen "127.0.0.1:$coap1" --https-listen "127.0.0.1:$https1" \
        --metrics-listen "127.0.0.1:$metrics1" --workers 2 >/dev/null
    ct_wait_ready "$coap1" registrar
    ct_enroll "$coap1" direct serial_direct

    uid="$(awk '/^Uid:/ { print $2 }' "/proc/$(docker inspect -f '{{.State.Pid}}' "$CT_PREFIX-registrar")/status")"
    [[ "$uid" != 0 ]] || ct_fail "estgw runs as root in the container"
    ct_pass "registrar: estgw runs as UID $uid"
    ct_wait_healthy registrar
    ct_pass "registrar: the image's health check (estgw health) reports healthy"

    # The gateway: the same volume read-only for its DTLS identity and trust, in front of the registrar's
    # HTTPS front with the server certificate as its RA identity.
    docker run -d --name "$CT_PREFIX-gateway" --network host --health-interval 1s --health-start-period 1s \
        -e "ESTGW_METRICS_URL=http://127.0.0.1:$metrics2" -v "$CT_PREFIX-etc:/etc/estgw:ro" "$IMAGE" \
        serve --mode gateway --listen "127.0.0.1:$coap2" --cert /etc/estgw/server.crt \
        --key /etc/estgw/server.key --client-ca /etc/estgw/client-trust.pem \
        --upstream "https://127.0.0.1:$https1" --upstream-ca /etc/estgw/ca.crt \
        --upstream-cert /etc/estgw/server.crt --upstream-key /etc/estgw/server.key \
        --metrics-listen "127.0.0.1:$metrics2" --workers 2 >/dev/null
    ct_wait_ready "$coap2" gateway
    ct_enroll "$coap2" through-gateway serial_gateway
    ct_wait_healthy gateway
    ct_pass "gateway: the health check reports healthy (the upstream answers)"

    issued="$(curl -fsS "http://127.0.0.1:$metrics1/metrics" | awk '/^estgw_certificates_issued_total\{operation="enroll"\}/ { print $2 }')"
    [[ "$issued" == 2 ]] || ct_fail "the registrar's /metrics counts '$issued' enrollments, not 2"
    ct_pass "registrar: /metrics counts the 2 enrollments"

    ct_stop gateway
    ct_stop registrar

    docker start "$CT_PREFIX-registrar" >/dev/null
    ct_wait_ready "$coap1" registrar
    listed="$(docker exec "$CT_PREFIX-registrar" estgw certs list --db /var/lib/estgw/estgw.db)"
    for serial in "$serial_direct" "$serial_gateway"; do
        grep -q "^$serial	" <<<"$listed" || ct_fail "certificate $serial is not in estgw certs list after the restart:
$listed"
    done
    ct_pass "registrar restarted: both certificates are still in estgw certs list"
    ct_stop registrar
    echo "docker-test: $CT_PASSED passed, 0 failed"
}
