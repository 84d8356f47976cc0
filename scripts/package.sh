#!/usr/bin/env bash
# Builds portable fu binaries and packs them: dist/fu-VERSION-linux-ARCH.tar.gz holds
# fu-VERSION-linux-ARCH/bin/ (every tool, fu-serve included), README.md and LICENSE when
# present. The Swift runtime and Foundation are linked in (--static-swift-stdlib), so the
# tools need only the C libraries (libc, libm, libstdc++, libgcc_s), libzstd and (fu-serve)
# libcrypto: they run on a Linux node without a Swift toolchain. scripts/test-package.sh checks that.
#   scripts/package.sh                 build (in .build-static, apart from .build) and pack
#   FU_STATIC_BUILD=DIR scripts/package.sh   another scratch folder for the build
# Prints the tarball's path on stdout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scratch=${FU_STATIC_BUILD:-.build-static}
# A separate scratch folder: .build keeps its ordinary builds (the tests and the workflows
# use those), and neither rebuilds the other's objects.
swift build -c release --static-swift-stdlib --scratch-path "$scratch" >&2
bin_dir=$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)

tools=()
for source in Sources/fu-*/; do
    tools+=("$(basename "$source")")
done
version=$("$bin_dir/fu-synth" --version)
arch=$(uname -m)
name=fu-$version-linux-$arch

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/$name/bin"
for tool in "${tools[@]}"; do
    cp "$bin_dir/$tool" "$staging/$name/bin/"
done
# Symbols only; Swift's runtime metadata stays (it lives in sections, not the symbol table).
if command -v strip >/dev/null; then strip --strip-unneeded "$staging/$name/bin/"*; fi
cp README.md "$staging/$name/"
[ ! -f LICENSE ] || cp LICENSE "$staging/$name/"

mkdir -p dist
tarball=dist/$name.tar.gz
# Written beside the target and renamed, as every fu output.
tar -C "$staging" --owner=0 --group=0 --numeric-owner -czf "$tarball.tmp" "$name"
mv -f "$tarball.tmp" "$tarball"
echo "package: $tarball ($(du -h "$tarball" | cut -f1); ${#tools[@]} tools: ${tools[*]})" >&2
echo "$tarball"
