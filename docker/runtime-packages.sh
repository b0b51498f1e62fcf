#!/bin/sh
# Prints the Debian packages that hold the shared libraries BINARY links, one a line: what the runtime image
# installs, found from the binary itself so that a new library dependency needs no change in the Dockerfile.
# Usage: runtime-packages.sh BINARY
set -eu
binary="$1"
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
    # Debian 12 is usr-merged: dpkg knows a library under /lib or /usr/lib, whichever its package shipped.
    real="$(readlink -f "$lib")"
    for path in "$lib" "$real" "/usr${real#/usr}" "${real#/usr}"; do
        owner="$(dpkg-query -S "$path" 2>/dev/null | head -n1 | cut -d: -f1)" || true
        if [ -n "$owner" ]; then
            echo "$owner"
            break
        fi
    done
    [ -n "$owner" ] || { echo "runtime-packages.sh: no package holds $lib" >&2; exit 1; }
done | sort -u
