#!/usr/bin/env bash
# Installs BuildGrid (a REAPI server, PyPI `buildgrid`) into a virtualenv under the target
# directory when it is missing, and prints the path of its `bgd`. The shared-cache tests
# (tests/remote_cache.rs) call it, then start and stop their own server on a loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.9.1
target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target"
venv="$(realpath "$target")/buildgrid-$version"

# Tests run in parallel: one installs, the others wait for it.
exec 9>"$venv.lock"
flock 9
if [ ! -e "$venv/.installed" ]; then
    # BuildGrid 0.9 needs Python 3.13 or newer.
    python=""
    for candidate in python3.14 python3.13 "$HOME"/.pyenv/versions/3.1[3-9]*/bin/python python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null; then
            python="$candidate"
            break
        fi
    done
    if [ -z "$python" ]; then
        echo "error: BuildGrid needs Python >= 3.13, and none was found (install python3.13)" >&2
        exit 1
    fi
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "buildgrid==$version" >&2
    touch "$venv/.installed"
fi
echo "$venv/bin/bgd"
