#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs, only those that are missing.
#   deploy/install-deps.sh          what `make run` needs: compiler, cmake, the C libraries
#   deploy/install-deps.sh --test   plus what `make test` needs: cmocka, Python test packages,
#                                   Node.js (client unit tests), Chromium + chromedriver (browser tests),
#                                   iproute2 + nftables (network-namespace mesh test)
#   deploy/install-deps.sh --compose  plus what `make test-compose` needs: the Docker engine,
#                                   Compose v1, debootstrap (base image) and the Python client
# Idempotent: when nothing is missing it installs nothing and does not touch the network.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config curl
  libzmq3-dev libczmq-dev libwebsockets-dev libmsgpack-dev libjansson-dev libcmocka-dev libssl-dev
)
if [ "${1:-}" = "--test" ]; then
  PKGS+=(
    python3 python3-pytest python3-websockets python3-zmq python3-msgpack python3-selenium
    iproute2 nftables
    nodejs chromium chromium-driver
  )
fi
if [ "${1:-}" = "--compose" ]; then
  PKGS+=(docker.io docker-compose debootstrap python3 python3-websockets)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
