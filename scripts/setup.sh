#!/usr/bin/env bash
# Installs the Debian packages Qube builds with. Idempotent: does nothing when
# they are all present. Runs apt-get through sudo when not root.
set -euo pipefail
PACKAGES=(cmake ninja-build g++ pkg-config libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libboost-dev
          libboost-filesystem-dev libyaml-cpp-dev libspdlog-dev libgtest-dev libcli11-dev
          libsqlite3-dev nlohmann-json3-dev
          libpqxx-dev postgresql  # the PostgreSQL store (optional at build time) and its tests' throwaway server
          clang libclang-rt-14-dev llvm  # fuzz/: libFuzzer and its sanitizers; llvm-symbolizer for reports
          blender   # the blender job type's tests render with the real Blender
          python3-aiosmtpd jq  # a local SMTP sink for the mail callback test; bench/run_suite.sh
          libcpp-httplib-dev python3-pytest  # the HTTP API; the Python qb module's tests
          libsystemd-dev help2man  # sd_notify and the journal (optional); man pages (packaging/)
          dpkg-dev file  # CPack's .deb packages (dpkg-shlibdeps); packaging/test-debs.sh
          chromium chromium-driver python3-selenium)  # the dashboard's browser tests (tests/browser/)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
