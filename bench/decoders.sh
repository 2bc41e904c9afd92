#!/usr/bin/env bash
# decoders.sh BUILD_DIR - input and content throughput of each application
# decoder, with a same-run baseline (see decoder_bench.c).
set -euo pipefail
build=${1:?usage: bench/decoders.sh BUILD_DIR}
"$build/bench/decoder_bench"
