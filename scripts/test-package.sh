#!/usr/bin/env bash
# Checks the portable package (scripts/package.sh): unpacks it into a temporary folder,
# checks with ldd that every tool needs only libc, libm, libstdc++, libgcc_s, libzstd,
# (fu-serve) libcrypto and the loader, then, in a mount namespace where the Swift toolchain's folder is an empty
# tmpfs, runs every tool's --version, a fu-synth | fu-featurize | fu-fit pipeline (and
# fu-drift on its test users),
# partition → featurize → merge, and fu-serve answering /health and /predict; then
# scripts/check-shuffle.sh with the packaged tools (200,000 users, 4 and 16 buckets).
# The static build takes several minutes, so .ci/run calls this after `swift test`.
#   scripts/test-package.sh            build the package, then check it
#   scripts/test-package.sh TARBALL    check a package already built
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() { echo "test-package: FAIL: $*" >&2; exit 1; }

tarball=${1:-$(bash scripts/package.sh)}
[ -f "$tarball" ] || fail "no package $tarball"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
root=$(echo "$work"/fu-*)
[ -f "$root/README.md" ] || fail "README.md is not in the package"
tools=()
for source in Sources/fu-*/; do tools+=("$(basename "$source")"); done
for tool in "${tools[@]}"; do
    [ -x "$root/bin/$tool" ] || fail "$tool is not in the package"
done

# Only the C libraries and libzstd, never libswiftCore, libFoundation, libdispatch…; and
# fu-serve libcrypto (OpenSSL 3, on every current distribution) for the model's SHA-256.
allowed='^(linux-vdso\.so|linux-gate\.so|/?[^ ]*ld-linux[^ ]*|libc\.so|libm\.so|libstdc\+\+\.so|libgcc_s\.so|libzstd\.so)'
for tool in "${tools[@]}"; do
    libraries=$(ldd "$root/bin/$tool" | awk '{print $1}')
    pattern=$allowed
    [ "$tool" != fu-serve ] || pattern="$allowed|^libcrypto\.so"
    unexpected=$(grep -vE "$pattern" <<< "$libraries" || true)
    [ -z "$unexpected" ] || fail "$tool needs $(echo "$unexpected" | tr '\n' ' ')"
    echo "test-package: $tool: $(echo "$libraries" | tr '\n' ' ')" >&2
done

# The folder holding the Swift toolchain (…/usr/bin/swift → …), hidden below.
swift_bin=$(readlink -f "$(command -v swift)")
toolchain=$(cd "$(dirname "$swift_bin")/../.." && pwd)
[ "$toolchain" != / ] || toolchain=/usr/lib/swift   # a toolchain installed in /usr: hide its runtime
runtime=$(find "$toolchain" -name 'libswiftCore.so' -print -quit)
[ -n "$runtime" ] || fail "no libswiftCore.so under $toolchain: is that the toolchain?"

cat > "$work/run.sh" <<'INNER'
set -euo pipefail
toolchain=$1 runtime=$2 bin=$3 work=$4
mount -t tmpfs tmpfs "$toolchain"
[ ! -e "$runtime" ] || { echo "test-package: FAIL: $runtime is still visible" >&2; exit 1; }
! command -v swift >/dev/null || { echo "test-package: FAIL: swift is still on PATH" >&2; exit 1; }
export PATH=$bin:/usr/bin:/bin
cd "$work"
for tool in "$bin"/*; do
    [ "$("$tool" --version)" = "$(fu-synth --version)" ] || { echo "test-package: FAIL: $tool --version" >&2; exit 1; }
done
fu-synth --users 400 --seed 3 | fu-featurize > features.csv
[ "$(head -c 18 features.csv)" = "UserId,Fake,total_" ] || { echo "test-package: FAIL: fu-featurize output" >&2; exit 1; }
fu-split --test-size 0.25 --test test.csv < features.csv > train.csv
fu-fit < train.csv > model.json
fu-cv --folds 3 < train.csv > cv.json
fu-score -m model.json < test.csv > predictions.csv
fu-drift -m model.json -o drift.json test.csv > drift.txt
grep -q '^overall (mean of ' drift.txt || { echo "test-package: FAIL: fu-drift output" >&2; exit 1; }
fu-synth --users 400 --seed 3 -o events.csv.zst
fu-partition --buckets 3 --output-dir buckets events.csv.zst
mkdir parts
for f in buckets/*; do fu-featurize -i "$f" -o "parts/$(basename "$f")"; done
fu-merge -o merged.csv parts
cmp merged.csv features.csv || { echo "test-package: FAIL: partition → featurize → merge differs" >&2; exit 1; }
fu-serve -m model.json --port 0 2> serve.log &
server=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' serve.log | head -1)
    [ -z "$port" ] || break
    sleep 0.1
done
[ -n "$port" ] || { echo "test-package: FAIL: fu-serve did not start: $(cat serve.log)" >&2; kill "$server"; exit 1; }
if command -v curl >/dev/null; then
    curl -sf "http://127.0.0.1:$port/health" | grep -q '"ok"' || { echo "test-package: FAIL: /health" >&2; kill "$server"; exit 1; }
    fu-synth --users 20 --seed 5 --no-label > new.csv
    curl -sf --data-binary @new.csv -H 'Content-Type: text/csv' "http://127.0.0.1:$port/predict" | grep -q Probability ||
        { echo "test-package: FAIL: /predict" >&2; kill "$server"; exit 1; }
fi
kill -TERM "$server"
wait "$server"
echo "test-package: every tool ran with $toolchain hidden" >&2
INNER

if [ "$(id -u)" = 0 ]; then
    unshare --mount bash "$work/run.sh" "$toolchain" "$runtime" "$root/bin" "$work"
else
    unshare --mount --map-root-user bash "$work/run.sh" "$toolchain" "$runtime" "$root/bin" "$work"
fi
# With optimized tools at hand: partition → featurize → merge at 200,000 users.
bash scripts/check-shuffle.sh "$root/bin"
echo "test-package: ok: $tarball ($(du -h "$tarball" | cut -f1))" >&2
