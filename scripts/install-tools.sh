#!/usr/bin/env bash
# Installs the pinned tools Tern needs, and nothing that is already there.
#
#   scripts/install-tools.sh run    # what `scripts/run.sh` needs: wasm target, cargo-leptos,
#                                   # wasm-bindgen-cli, wasm-opt (npm binaryen), the database server
#   scripts/install-tools.sh test   # all of the above plus headless Chromium, chromedriver,
#                                   # the npm packages of the browser tests, rustfmt, clippy
#                                   # and cargo-deny
#   scripts/install-tools.sh release  # what `run` needs plus the pinned release toolchain
#                                     # with rust-src (scripts/build-release.sh)
#
# Idempotent: every step checks the exact pinned version first and skips when it is present.
# Nothing is downloaded from outside the package registries (crates.io, npm, Debian apt, rustup).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$ROOT/scripts/versions.env"

CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
TOOLS="$ROOT/.tools"
export PATH="$TOOLS/node_modules/.bin:$CARGO_BIN:$PATH"

say() { printf '\033[1;34m[install]\033[0m %s\n' "$*" >&2; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG... : installs the Debian packages that are not installed yet.
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# has_version BIN WANT : true when BIN is on PATH and `BIN --version` mentions WANT.
has_version() {
  command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -qF "$2"
}

install_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
}

install_wasm_bindgen() {
  has_version wasm-bindgen "$WASM_BINDGEN_VERSION" && return 0
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
}

install_cargo_leptos() {
  has_version cargo-leptos "$CARGO_LEPTOS_VERSION" && return 0
  say "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes on 2 cores, once)"
  # LTO off: the install is a build tool, not a product; this halves its build time.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" --features no_downloads --force
}

install_node_tools() {
  # npm's binaryen: Debian's binaryen 108 produces wasm that fails in the browser.
  if ! has_version "$TOOLS/node_modules/.bin/wasm-opt" "$BINARYEN_VERSION"; then
    say "npm install binaryen@$BINARYEN_VERSION into .tools/"
    mkdir -p "$TOOLS"
    (cd "$TOOLS" && npm install --silent --no-audit --no-fund --no-save "binaryen@$BINARYEN_VERSION" >/dev/null)
  fi
}

install_database() {
  # SecantusDB: a MongoDB-wire-compatible server over WiredTiger (GPL-2.0; we only run it as a
  # separate process). It needs Rust >= 1.98 and cmake to build.
  has_version secantusd-rs "$SECANTUS_VERSION" && return 0
  apt_install cmake
  if ! rustup toolchain list | grep -q "^$SECANTUS_RUST"; then
    say "rustup toolchain install $SECANTUS_RUST (only to build the database server)"
    rustup toolchain install "$SECANTUS_RUST" --profile minimal
  fi
  say "cargo +$SECANTUS_RUST install secantus-mdb $SECANTUS_VERSION (about 4 minutes, once)"
  cargo "+$SECANTUS_RUST" install secantus-mdb --version "$SECANTUS_VERSION" --force
}

install_release_toolchain() {
  # The release build uses unstable flags of exactly this toolchain and rebuilds its standard
  # library for the wasm (scripts/build-release.sh), so it pins the version and needs rust-src.
  if ! rustup toolchain list | grep -q "^$RELEASE_RUST-" ||
     ! rustup component list --toolchain "$RELEASE_RUST" --installed | grep -q '^rust-src' ||
     ! rustup target list --toolchain "$RELEASE_RUST" --installed | grep -qx wasm32-unknown-unknown; then
    say "rustup toolchain install $RELEASE_RUST (release builds)"
    rustup toolchain install "$RELEASE_RUST" --profile minimal \
      --component rust-src --target wasm32-unknown-unknown
  fi
}

install_checks() {
  # rustfmt and clippy come with the toolchain's default profile; a minimal one lacks them.
  for c in rustfmt clippy; do
    rustup component list --installed | grep -q "^$c" || rustup component add "$c"
  done
  has_version cargo-deny "$CARGO_DENY_VERSION" && return 0
  say "cargo install cargo-deny $CARGO_DENY_VERSION (about 10 minutes on 2 cores, once)"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION" --force
}

install_browser() {
  # python3: scripts/check-modules.py, the test command's module-graph check.
  apt_install chromium chromium-driver python3
}

install_e2e_packages() {
  if [ ! -d "$ROOT/end2end/node_modules/playwright-core" ] ||
     ! grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$ROOT/end2end/node_modules/playwright-core/package.json"; then
    say "npm ci in end2end/"
    (cd "$ROOT/end2end" && npm ci --silent --no-audit --no-fund >/dev/null)
  fi
}

what="${1:-run}"
install_wasm_target
install_database
install_wasm_bindgen
install_node_tools
install_cargo_leptos
if [ "$what" = "release" ]; then
  install_release_toolchain
fi
if [ "$what" = "test" ]; then
  install_checks
  install_browser
  install_e2e_packages
fi
say "tools ready"
