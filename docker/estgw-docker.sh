#!/usr/bin/env bash
# `./estgw.sh docker` and `./estgw.sh docker-test`: the container image, built and tested on this machine
# with no registry. Needs root for the engine (or a running one it may use). Usage: estgw-docker.sh build|test
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VERSION="$(sed -nE 's/^project\(estgw VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)"
IMAGE="estgw:$VERSION"
BASE="${ESTGW_DOCKER_BASE:-debian:bookworm-slim}"  # pulled when possible
LOCAL_BASE="estgw-base:bookworm"                   # else made here from Debian's packages
MIRROR="${ESTGW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKERD_LOG="${TMPDIR:-/tmp}/estgw-dockerd.log"
STARTED_ENGINE=""  # the pid of the dockerd this script started, if it did
# The Docker CLI of newer releases wants the buildx plugin for BuildKit, which Debian's docker.io lacks; the
# classic builder reads this Dockerfile as well.
export DOCKER_BUILDKIT=0

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'estgw.sh docker: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
megabytes() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }

# overlay2 needs overlayfs mounts, which some sandboxes refuse; vfs (full copies, slower, larger) always
# works. One probe mount tells which.
choose_storage_driver() {
    local probe
    probe="$(mktemp -d)"
    mkdir -p "$probe"/{lower,upper,work,merged}
    if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
        "$probe/merged" 2>/dev/null; then
        umount "$probe/merged"
        rm -rf "$probe"
        echo overlay2
    else
        rm -rf "$probe"
        echo vfs
    fi
}

# A Docker engine: the one that answers, else Debian's dockerd started here in the background, without a
# bridge or iptables rules (containers use the host's network).
ensure_engine() {
    if docker info >/dev/null 2>&1; then
        log "using the running Docker engine"
        return 0
    fi
    command -v dockerd >/dev/null || die "no Docker engine answers and dockerd is missing (./estgw.sh deps docker)"
    [[ "$(id -u)" == 0 ]] || die "no Docker engine answers, and starting one needs root"
    local driver
    driver="$(choose_storage_driver)"
    if [[ "$driver" == overlay2 ]]; then
        log "starting dockerd (storage driver overlay2: overlay mounts work here); log: $DOCKERD_LOG"
    else
        log "starting dockerd (storage driver vfs: this machine refuses overlay mounts); log: $DOCKERD_LOG"
    fi
    setsid dockerd --bridge=none --iptables=false --ip6tables=false --storage-driver="$driver" \
        </dev/null >"$DOCKERD_LOG" 2>&1 &
    STARTED_ENGINE=$!
    for _ in $(seq 1 60); do
        if docker info >/dev/null 2>&1; then
            log "dockerd is up (pid $STARTED_ENGINE)"
            return 0
        fi
        kill -0 "$STARTED_ENGINE" 2>/dev/null || break
        sleep 1
    done
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    die "dockerd did not start; its log is $DOCKERD_LOG"
}

stop_started_engine() {
    [[ -n "$STARTED_ENGINE" ]] || return 0
    log "stopping the dockerd this run started (pid $STARTED_ENGINE)"
    kill -TERM "$STARTED_ENGINE" 2>/dev/null || return 0
    for _ in $(seq 1 30); do
        kill -0 "$STARTED_ENGINE" 2>/dev/null || return 0
        sleep 1
    done
    kill -KILL "$STARTED_ENGINE" 2>/dev/null || true
}

# A minimal Debian 12 root file system as an image, trimmed the way debian:bookworm-slim is (no package
# caches, documentation or man pages, and dpkg told to leave them out of later installs too), with apt
# reading the same suites as the host: bookworm, its updates and its security fixes.
build_local_base() {
    command -v debootstrap >/dev/null || die "debootstrap is missing (./estgw.sh deps docker)"
    local root started
    root="$(mktemp -d)"
    started="$(now)"
    log "making the base image $LOCAL_BASE: debootstrap --variant=minbase bookworm from $MIRROR"
    if ! debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1; then
        tail -n 20 "$root.log" >&2
        rm -rf "$root" "$root.log"
        die "debootstrap failed"
    fi
    rm -f "$root.log"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
        "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$LOCAL_BASE" >/dev/null
    rm -rf "$root"
    log "base image $LOCAL_BASE made in $(seconds_since "$started") s"
}

# The base: debian:bookworm-slim when present or pullable, else our own (made once, then reused).
choose_base() {
    if docker image inspect "$BASE" >/dev/null 2>&1; then
        echo "$BASE"
        return
    fi
    if timeout 60 docker pull -q "$BASE" >/dev/null 2>&1; then
        echo "$BASE"
        return
    fi
    log "$BASE is not here and cannot be pulled"
    docker image inspect "$LOCAL_BASE" >/dev/null 2>&1 || build_local_base
    echo "$LOCAL_BASE"
}

build_image() {
    ensure_engine
    USED_BASE="$(choose_base)"
    log "building $IMAGE on $USED_BASE"
    local started
    started="$(now)"
    docker build --network host --build-arg "BASE=$USED_BASE" -f docker/Dockerfile -t "$IMAGE" . >&2
    BUILD_SECONDS="$(seconds_since "$started")"
    log "built $IMAGE in $BUILD_SECONDS s"
    print_sizes
}

print_sizes() {
    local size base_size
    size="$(docker image inspect -f '{{.Size}}' "$IMAGE")"
    base_size="$(docker image inspect -f '{{.Size}}' "$USED_BASE")"
    log "image $IMAGE: $(megabytes "$size"), of which $(megabytes $((size - base_size))) over the base $USED_BASE ($(megabytes "$base_size"))"
}

case "${1:-}" in
    build)
        build_image
        [[ -z "$STARTED_ENGINE" ]] || log "dockerd keeps running for the image (pid $STARTED_ENGINE, log $DOCKERD_LOG)"
        ;;
    test)
        trap stop_started_engine EXIT
        started="$(now)"
        build_image
        # shellcheck source=docker/container-test.sh
        source "$ROOT/docker/container-test.sh"
        container_test
        log "docker-test passed in $(seconds_since "$started") s (image build $BUILD_SECONDS s)"
        print_sizes
        ;;
    *)
        echo "Usage: $0 build|test" >&2
        exit 2
        ;;
esac
