#!/usr/bin/env bash
# Installs the Debian 12 packages Waymark needs, only when something is missing.
# Safe to run repeatedly; needs root (or sudo) only when it has to install.
set -euo pipefail

PKGS=(
  g++ cmake make pkg-config
  libcaf-dev libssl-dev                 # CAF 0.17.6 (actors, io::broker); caf_openssl needs ssl headers
  libboost1.81-dev libboost-json1.81-dev # Boost.JSON + Beast (HTTP)
  liblmdb-dev lmdb-utils                # embedded store (+ mdb_stat for operators)
  libspdlog-dev libfmt-dev              # logging
  libcurl4-openssl-dev                  # webhook / SMTP delivery
  libabsl-dev                           # IANA time zones (quiet hours)
  libxxhash-dev                         # stable partition / split hashing
  libcli11-dev                          # command line parsing
  libnlopt-dev                          # Nelder-Mead for the lifetime-value (BG/NBD) fits
  libjemalloc-dev                       # allocator for the node (measured faster than glibc malloc)
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-yaml                  # docs/openapi.yaml syntax check in the API tests
  openssl                               # CLI: the TLS delivery tests make their CA and certificates
  curl
  chromium chromium-driver              # the web console's browser tests (headless, driven by playwright-core)
)

missing=()
# Node.js runs the real Segment client in the ingest tests; keep a newer one if present.
if ! command -v node >/dev/null 2>&1; then PKGS+=(nodejs npm); fi
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
