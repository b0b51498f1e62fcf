#!/usr/bin/env bash
# The CTest fixture around postgres.sh (tests/CMakeLists.txt: postgres/start and postgres/stop), so that one
# cluster serves every PostgreSQL test of a run, each test in a database of its own (support/postgres_db.hpp).
#   postgres_fixture.sh start STATE   a cluster in a fresh folder under /tmp; STATE gets the folder (line 1)
#                                     and the connection URI (line 2)
#   postgres_fixture.sh stop STATE    stops it and removes the folder and STATE
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${2:?usage: postgres_fixture.sh start|stop STATE}"

stop() {
    [[ -f "$state" ]] || return 0
    "$here/postgres.sh" stop "$(head -n 1 "$state")"
    rm -f "$state"
}

case "$1" in
    start)
        stop  # what an interrupted run left behind
        # Under /tmp, not the build tree: the cluster's owner (not root) must reach it.
        dir="$(mktemp -d /tmp/estgw-pg.XXXXXX)"
        uri="$("$here/postgres.sh" start "$dir")" || { "$here/postgres.sh" stop "$dir"; exit 1; }
        printf '%s\n%s\n' "$dir" "$uri" >"$state.tmp"
        mv "$state.tmp" "$state"
        ;;
    stop) stop ;;
    *) echo "usage: postgres_fixture.sh start|stop STATE" >&2; exit 2 ;;
esac
