#!/usr/bin/env bash
# Installs what fu needs from Debian's packages (when missing) and builds the tools.
#   scripts/setup.sh            release build (.build/release)
#   scripts/setup.sh --debug    debug build
#   scripts/setup.sh --deps     install only (.ci/run builds the package itself)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
pkg-config --exists libzstd 2>/dev/null || missing+=(libzstd-dev)
pkg-config --exists libcrypto 2>/dev/null || missing+=(libssl-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v zstd >/dev/null || missing+=(zstd)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

case ${1:-} in
    --deps) ;;
    --debug) swift build ;;
    *) swift build -c release ;;
esac
