#!/usr/bin/env bash
# estgw developer entry point: installs what is missing, builds, tests, fuzzes, measures coverage.
# Usage: ./estgw.sh deps [build|docker] | build | test | fuzz [SECONDS] | coverage | docker | docker-test | help
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
JOBS="$(nproc 2>/dev/null || echo 2)"

# What a Release build of the estgw binary needs, and no more: the container's build stage installs exactly
# these (`./estgw.sh deps build`, docker/Dockerfile).
BUILD_PACKAGES=(
    cmake g++ make pkg-config
    libssl-dev
    libcoap3-dev
    libcpp-httplib-dev
    libboost-program-options-dev
    libsqlite3-dev
    libpq-dev  # --db postgresql://…: several servers on one PostgreSQL (certs/postgres_store.cpp)
)
# Debian 12 packages the project needs; each later feature appends its own.
PACKAGES=(
    "${BUILD_PACKAGES[@]}"
    openssl curl
    libcoap3-bin
    libgtest-dev googletest
    clang-14 libclang-rt-14-dev
    lcov
    iproute2  # ss: tests read socket buffers, bench/run.sh finds free ports
    prometheus  # promtool and a real Prometheus server for the metrics tests
    postgresql  # the PostgreSQL store tests start their own cluster (tests/support/postgres.sh)
    nginx libnginx-mod-stream  # the UDP load balancer of the scale-out test (tests/scaling/, docs/SCALING.md)
    valgrind  # callgrind: instructions per enrollment in bench/cpu_per_enrollment.sh (bench/run.sh item 8)
)
# Only for `./estgw.sh docker` and `docker-test`: the Docker engine and what builds a base image without a
# registry.
DOCKER_PACKAGES=(docker.io debootstrap)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'estgw.sh: %s\n' "$*" >&2; exit 1; }

missing_packages() {  # package...
    local p
    for p in "$@"; do
        dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || printf '%s\n' "$p"
    done
}

cmd_deps() {  # [build|docker]: only the Release build's packages, or only Docker's
    local missing
    case "${1:-}" in
        "") missing="$(missing_packages "${PACKAGES[@]}")" ;;
        build) missing="$(missing_packages "${BUILD_PACKAGES[@]}")" ;;
        docker) missing="$(missing_packages "${DOCKER_PACKAGES[@]}")" ;;
        *) die "deps: unknown set '$1' (build or docker)" ;;
    esac
    if [[ -z "$missing" ]]; then
        log "all packages present"
        return 0
    fi
    command -v apt-get >/dev/null || die "missing packages and no apt-get: $(echo $missing)"
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || die "run as root (or install sudo) to install: $(echo $missing)"
        sudo=(sudo)
    fi
    log "installing: $(echo $missing)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
        </dev/null
}

configure_and_build() {  # dir, cmake args...
    local dir="$1"
    shift
    cmake -S "$ROOT" -B "$ROOT/$dir" "$@" >/dev/null
    cmake --build "$ROOT/$dir" -j "$JOBS"
}

cmd_build() {
    log "Release build in build/"
    configure_and_build build -DCMAKE_BUILD_TYPE=Release
    log "binary: build/estgw"
}

run_ctest() {  # dir, label
    local dir="$1" label="$2" rc=0
    log "ctest: $label"
    ctest --test-dir "$ROOT/$dir" --output-on-failure -j "$JOBS" --timeout 600 || rc=$?
    return $rc
}

# The demo's MASA: the manufacturer's voucher service that the demo pledge's IDevID names (id-pe-masa-url
# localhost:9443). It signs vouchers with the manufacturer CA's own key, so that a pledge holding nothing but
# its IDevID and mfg-ca.crt can check them: the registrar strips the voucher's x5bag before the pledge sees it
# (cBRSKI §6.8), so the pledge's trust anchor must be the signing certificate itself.
start_demo_masa() {  # demo dir; prints the PID
    local demo="$1"
    if ss -Hltn 'sport = :9443' 2>/dev/null | grep -q .; then
        die "port 9443 (the demo MASA named in demo/pledge.crt) is taken; stop what listens there and retry"
    fi
    "$ROOT/build/estgw" masa --listen localhost:9443 --tls-cert "$demo/masa.crt" --tls-key "$demo/masa.key" \
        --signing-cert "$demo/mfg-ca.crt" --signing-key "$demo/mfg-ca.key" --pledge-ca "$demo/mfg-ca.crt" \
        --audit "$demo/masa-audit.jsonl" >>"$demo/masa.log" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 50; i++)); do
        if ss -Hltn 'sport = :9443' 2>/dev/null | grep -q .; then
            echo "$pid"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "the demo MASA did not start; see demo/masa.log"
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    die "the demo MASA did not listen on localhost:9443 within 5 s; see demo/masa.log"
}

cmd_run() {
    cmd_deps
    cmd_build
    local demo="$ROOT/demo"
    if [[ ! -f "$demo/estgw.conf" ]]; then
        log "generating the demo PKI in demo/ (first run only)"
        "$ROOT/build/estgw" pki init --dir "$demo"
    fi
    [[ -f "$demo/masa.crt" && -f "$demo/mfg-ca.key" ]] ||
        die "demo/ predates the MASA certificates; regenerate it: build/estgw pki init --dir demo --force"
    if ss -Hlun 'sport = :5684' 2>/dev/null | grep -q .; then
        die "UDP port 5684 is taken; stop what listens there (or edit listen in demo/estgw.conf) and retry"
    fi
    # Global, not local: the EXIT trap that stops the MASA runs after this function has returned.
    DEMO_MASA_PID="$(start_demo_masa "$demo")"
    log "demo MASA listening on https://localhost:9443 (PID $DEMO_MASA_PID, log demo/masa.log)"
    cat <<EOF

estgw is starting in full-server mode (config: demo/estgw.conf, CoAP over DTLS on port 5684, database
demo/estgw.db), with the demo MASA on https://localhost:9443. In another terminal, from $ROOT:

Zero-touch onboarding: the demo pledge holds only its IDevID (demo/pledge.crt, .key) and its manufacturer's
trust anchor (demo/mfg-ca.crt). It asks for a voucher, which estgw obtains from the MASA, pins the domain CA,
enrolls and reports:

  build/estgw pledge --server coaps://127.0.0.1:5684 --idevid demo/pledge.crt --key demo/pledge.key \\
      --masa-anchor demo/mfg-ca.crt --out /tmp/estgw-pledge
  openssl verify -CAfile /tmp/estgw-pledge/domain-ca.pem /tmp/estgw-pledge/cert.pem

  # the pledge's journey as the registrar recorded it, and what was issued:
  build/estgw pledges list --db demo/estgw.db
  build/estgw pledges show SERIAL --db demo/estgw.db     # SERIAL: a device-serial from the list
  build/estgw certs list --db demo/estgw.db

Plain EST-coaps with coap-client-openssl (this pledge trusts demo/ca.crt beforehand):

  # 1. the CA certificates (the pledge authenticates with its IDevID, demo/pledge.crt)
  coap-client-openssl -c demo/pledge.crt -j demo/pledge.key -R demo/ca.crt \\
      -o /tmp/estgw-cacerts.p7 coaps://127.0.0.1:5684/.well-known/est/crts
  openssl pkcs7 -inform DER -in /tmp/estgw-cacerts.p7 -print_certs -noout

  # 2. a new key and CSR for the pledge's operational certificate
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /tmp/estgw-ldevid.key \\
      -subj "/CN=demo-pledge" -outform DER -out /tmp/estgw-ldevid.csr

  # 3. enroll (Accept 287: the bare certificate)
  coap-client-openssl -c demo/pledge.crt -j demo/pledge.key -R demo/ca.crt -m post -t 286 -A 287 \\
      -f /tmp/estgw-ldevid.csr -o /tmp/estgw-ldevid.der coaps://127.0.0.1:5684/.well-known/est/sen
  openssl x509 -inform DER -in /tmp/estgw-ldevid.der -out /tmp/estgw-ldevid.pem
  openssl verify -CAfile demo/ca.crt /tmp/estgw-ldevid.pem

Stop the server (and the MASA) with Ctrl-C.

EOF
    cd "$ROOT"
    local rc=0
    trap 'kill "${DEMO_MASA_PID:-}" 2>/dev/null || true' EXIT
    trap ':' INT TERM  # the server gets the signal too and stops; the MASA is stopped on EXIT
    "$ROOT/build/estgw" serve --config "$demo/estgw.conf" || rc=$?
    return $rc
}

cmd_test() {
    cmd_deps
    cmd_build
    log "ASan+UBSan build of the unit tests in build-asan/"
    configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DESTGW_SANITIZE=ON -DESTGW_BUILD_PROGRAM=OFF
    local rc=0
    run_ctest build "release build (all tests)" || rc=1
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_ctest build-asan "sanitizer build (unit tests)" || rc=1
    if [[ $rc -ne 0 ]]; then
        log "FAILED: see the ctest output above"
    else
        log "all tests passed"
    fi
    return $rc
}

cmd_fuzz() {
    local seconds="${1:-60}"
    [[ "$seconds" =~ ^[0-9]+$ ]] || die "fuzz: SECONDS must be a whole number, got '$seconds'"
    cmd_deps
    log "building fuzz targets with clang-14 in build-fuzz/"
    CXX=clang++-14 configure_and_build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DESTGW_FUZZ=ON
    local out="$ROOT/fuzz-out"
    mkdir -p "$out"
    local parallel="${FUZZ_PARALLEL:-$JOBS}"
    local targets=() t
    for t in "$ROOT"/build-fuzz/fuzz/fuzz_*; do
        [[ -x "$t" ]] && targets+=("$t")
    done
    [[ ${#targets[@]} -gt 0 ]] || die "no fuzz targets were built"
    log "running ${#targets[@]} targets for ${seconds}s each, $parallel at a time; logs in fuzz-out/"
    local pids=() names=()
    run_one() {
        local bin="$1" name corpus
        name="$(basename "$bin")"
        corpus="$out/corpus-${name#fuzz_}"
        mkdir -p "$corpus"
        # Work corpus in fuzz-out/ (grows), seeds read from the repo (never modified).
        "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$out/$name-" \
            -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
            "$corpus" "$ROOT/tests/fuzz/corpus/${name#fuzz_}" >"$out/$name.log" 2>&1
    }
    local i=0 failed=0
    for t in "${targets[@]}"; do
        run_one "$t" &
        pids+=($!)
        names+=("$(basename "$t")")
        i=$((i + 1))
        if (( ${#pids[@]} >= parallel )); then
            wait "${pids[0]}" || failed=1
            pids=("${pids[@]:1}")
        fi
    done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    printf '\n%-28s %14s %10s  %s\n' target executions exec/s result
    for t in "${names[@]}"; do
        local logf="$out/$t.log" runs speed result=ok
        runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logf" | grep -o '[0-9]*$' || echo '?')"
        speed="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$logf" | grep -o '[0-9]*$' || echo '?')"
        if grep -qE 'ERROR: (libFuzzer|AddressSanitizer|UndefinedBehaviorSanitizer)|runtime error:|SUMMARY: ' "$logf"; then
            result="CRASH (see fuzz-out/$t.log and fuzz-out/$t-*)"
            failed=1
        fi
        printf '%-28s %14s %10s  %s\n' "$t" "$runs" "$speed" "$result"
    done
    [[ $failed -eq 0 ]] || die "fuzzing found a problem"
    log "fuzzing found nothing"
}

cmd_coverage() {
    cmd_deps
    log "coverage build in build-cov/"
    configure_and_build build-cov -DCMAKE_BUILD_TYPE=Debug -DESTGW_COVERAGE=ON -DESTGW_BUILD_PROGRAM=OFF
    find "$ROOT/build-cov" -name '*.gcda' -delete
    ctest --test-dir "$ROOT/build-cov" -j "$JOBS" --timeout 600 >/dev/null || die "tests failed in the coverage build"
    # lcov rather than gcovr: Debian 12's gcovr 5.2 asserts while merging GCC 12's function records.
    local info="$ROOT/build-cov/coverage.info" rc=0 lib pct
    lcov --quiet --capture --directory "$ROOT/build-cov" --output-file "$info" 2>/dev/null
    mkdir -p "$ROOT/coverage"
    for lib in common mapping; do
        lcov --quiet --extract "$info" "$ROOT/$lib/*" --output-file "$ROOT/build-cov/$lib.info" 2>/dev/null
        pct="$(lcov --summary "$ROOT/build-cov/$lib.info" 2>&1 | sed -nE 's/.*lines[.]*: ([0-9.]+)%.*/\1/p')"
        printf '%-8s line coverage %s%%\n' "$lib/" "${pct:-?}"
        genhtml --quiet --output-directory "$ROOT/coverage/$lib" "$ROOT/build-cov/$lib.info" >/dev/null 2>&1 || true
        awk -v p="${pct:-0}" 'BEGIN { exit !(p >= 90) }' || { log "$lib/ is below 90% line coverage"; rc=1; }
    done
    log "HTML reports: coverage/common/index.html, coverage/mapping/index.html"
    return $rc
}

docker_deps() {  # Debian's engine only when no engine answers (another one may be installed)
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then DOCKER_PACKAGES=(debootstrap); fi
    cmd_deps docker
}

usage() {
    cat <<'EOF'
Usage: ./estgw.sh <command>
  run               deps + build + demo PKI (first time) + estgw in full-server mode on demo/estgw.conf
  deps [build|docker]  install the Debian 12 packages the tests need (no-op when present); `build`: only
                    those of a Release build, `docker`: only the Docker engine and debootstrap
  build             Release build in build/ (binary: build/estgw)
  test              deps + build + ASan/UBSan build + every test; non-zero exit on any failure
  fuzz [SECONDS]    build the libFuzzer targets (clang-14) and run each for SECONDS (default 60)
  coverage          line coverage of common/ and mapping/ (fails below 90%)
  docker            build the container image estgw:<version> (starts a Docker engine and makes a base
                    image from Debian's packages when needed; README "Container")
  docker-test       docker, then run the image as registrar and gateway and test it on 127.0.0.1
EOF
}

case "${1:-help}" in
    run) cmd_run ;;
    deps) shift; cmd_deps "${1:-}" ;;
    build) cmd_deps && cmd_build ;;
    test) cmd_test ;;
    fuzz) shift; cmd_fuzz "${1:-60}" ;;
    coverage) cmd_coverage ;;
    docker) docker_deps && exec bash "$ROOT/docker/estgw-docker.sh" build ;;
    docker-test) cmd_deps && docker_deps && exec bash "$ROOT/docker/estgw-docker.sh" test ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
esac
