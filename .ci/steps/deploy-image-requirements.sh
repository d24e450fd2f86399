#!/usr/bin/env bash
# What `pip install -r requirements.txt` does in each checked-in deploy/ image, resolved against PyPI for the
# image's platform (linux/arm64, CPython 3.11, binary wheels only: python:3.11-slim has no compiler), without
# installing anything. The offline test (tests/deploy/test_deploy_image.py) cannot reach PyPI, so ADOT
# (aws-opentelemetry-distro) and its dependencies are only checked here, together with our pins.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="$(mktemp -d)"
trap 'rm -rf "$target"' EXIT
for folder in deploy/*/; do
  echo "== $folder"
  python -m pip install --dry-run --ignore-installed --quiet --only-binary=:all: \
    --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 \
    --python-version 3.11 --implementation cp --abi cp311 --target "$target" -r "$folder/requirements.txt"
done
