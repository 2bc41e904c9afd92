#!/usr/bin/env bash
# Builds leakwatch against vectorscan instead of Hyperscan and runs the unit
# and e2e tests, without touching the system's libhyperscan-dev: Debian's
# libvectorscan-dev and libvectorscan5 packages are downloaded with apt-get
# and unpacked into a scratch folder, and pkg-config is pointed at them.
# Usage: tests/tools/build_with_vectorscan.sh [SCRATCH_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
scratch=${1:-$(mktemp -d)}
mkdir -p "$scratch/debs" "$scratch/root" "$scratch/pc"
(cd "$scratch/debs" && apt-get download libvectorscan-dev libvectorscan5 >/dev/null)
for d in "$scratch"/debs/*.deb; do dpkg-deb -x "$d" "$scratch/root"; done
libdir=$(dirname "$(find "$scratch/root" -name libhs.so -print -quit)")
# The packaged libhs.pc says prefix=/usr; rewrite it for the unpacked tree.
sed -e "s|^prefix=.*|prefix=$scratch/root/usr|" \
    -e "s|^exec_prefix=.*|exec_prefix=$scratch/root/usr|" \
    -e "s|^libdir=.*|libdir=$libdir|" \
    -e "s|^includedir=.*|includedir=$scratch/root/usr/include|" \
    "$libdir/pkgconfig/libhs.pc" >"$scratch/pc/libhs.pc"
echo "vectorscan $(PKG_CONFIG_PATH=$scratch/pc pkg-config --modversion libhs) from $scratch"
PKG_CONFIG_PATH="$scratch/pc" cmake -S "$top" -B "$scratch/build" -DCMAKE_BUILD_TYPE=Debug \
    -DLW_WERROR=ON -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$scratch/build" -j "$(nproc)"
ldd "$scratch/build/leakwatch" | grep libhs
cd "$scratch/build" && ctest --output-on-failure -j "$(nproc)" -E 'real_pcaps'
