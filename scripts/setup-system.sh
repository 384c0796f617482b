#!/usr/bin/env bash
# Installs the system packages jct's full build and tests need on Debian/Ubuntu:
# libpcsclite-dev (PC/SC for the loader), libssl-dev (jct emu's RSA and
# triple DES on OpenSSL, feature openssl), pcscd and vsmartcard-vpcd (a virtual
# reader for the real-PC/SC tests), pkg-config, and a JDK (javac and java: the
# applets build from Java source, and jcardsim-harness runs jCardSim) when
# there is none, softhsm2 (a PKCS#11 token in software for the HSM key
# tests: hsm/tests, tests/hsm_*.rs) and postgresql (initdb and pg_ctl for the
# shared audit log test of jct keyserver). Does nothing when present.
set -euo pipefail
need=()
for pkg in libpcsclite-dev libssl-dev pcscd vsmartcard-vpcd pkg-config softhsm2 postgresql; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ! command -v javac >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
  need+=(default-jdk-headless)
fi
# jcardsim-harness/bin/jcardsim-harness serializes concurrent builds with flock.
command -v flock >/dev/null 2>&1 || need+=(util-linux)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
