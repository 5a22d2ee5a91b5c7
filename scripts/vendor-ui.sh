#!/usr/bin/env bash
# Vendors the pinned cytoscape build that the workbench (crates/api/ui/) loads.
#
#   scripts/vendor-ui.sh           fetch the pinned tarball from the npm registry, check its
#                                  integrity, and write crates/api/ui/vendor/{cytoscape.min.js,
#                                  LICENSE.cytoscape,SHA256SUMS}
#   scripts/vendor-ui.sh --check   fetch again into a temporary folder and compare with what is
#                                  vendored; exits non-zero on any difference
#
# To move to another version: take `dist.integrity` from
# https://registry.npmjs.org/cytoscape/<version>, set VERSION and INTEGRITY below, run the
# script, and update crates/api/ui/vendor/README.md.
set -euo pipefail

VERSION="3.35.0"
# dist.integrity the npm registry publishes for cytoscape@3.35.0 (SHA-512 of the .tgz, base64).
INTEGRITY="sha512-sMvBIXiGMnhkCaWz2R06FwF/27MNlS+Tqvi17foO9UhnUg3XGZccKjxsvEqQFAQYMSSZmN5SxYzUYlQ0DOJJ3g=="
URL="https://registry.npmjs.org/cytoscape/-/cytoscape-${VERSION}.tgz"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/crates/api/ui/vendor"
FILES=(cytoscape.min.js LICENSE.cytoscape)

die() { echo "vendor-ui: $*" >&2; exit 1; }

for tool in curl tar openssl base64 sha256sum cmp; do
    command -v "$tool" >/dev/null || die "needs $tool"
done

mode="vendor"
case "${1:-}" in
    "") ;;
    --check) mode="check" ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (use --check or nothing)" ;;
esac

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Fetch the tarball into $1, refuse it unless its SHA-512 is the pinned one, and leave the
# two vendored files (under their vendored names) and their SHA256SUMS in $1/out.
fetch_verified() {
    local dir="$1" tgz="$1/cytoscape.tgz" actual
    curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 \
        --max-time 300 --retry 2 -o "$tgz" "$URL" || die "download failed: $URL"
    actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 | tr -d '\n')"
    [[ "$actual" == "$INTEGRITY" ]] || die "integrity mismatch for $URL
  expected $INTEGRITY
  got      $actual"
    mkdir -p "$dir/x" "$dir/out"
    tar -xzf "$tgz" -C "$dir/x" package/dist/cytoscape.min.js package/LICENSE \
        || die "tarball lacks package/dist/cytoscape.min.js or package/LICENSE"
    cp "$dir/x/package/dist/cytoscape.min.js" "$dir/out/cytoscape.min.js"
    cp "$dir/x/package/LICENSE" "$dir/out/LICENSE.cytoscape"
    (cd "$dir/out" && sha256sum "${FILES[@]}" > SHA256SUMS)
}

fetch_verified "$TMP"

if [[ "$mode" == "vendor" ]]; then
    mkdir -p "$VENDOR"
    for f in "${FILES[@]}" SHA256SUMS; do
        cp "$TMP/out/$f" "$VENDOR/$f.tmp"
        mv -f "$VENDOR/$f.tmp" "$VENDOR/$f"
    done
    echo "vendor-ui: cytoscape $VERSION written to ${VENDOR#"$ROOT"/}"
    (cd "$VENDOR" && cat SHA256SUMS)
    exit 0
fi

# --check: the vendored files must be byte-identical to a fresh, verified fetch, and
# SHA256SUMS must describe them.
status=0
for f in "${FILES[@]}" SHA256SUMS; do
    if [[ ! -f "$VENDOR/$f" ]]; then
        echo "vendor-ui: missing ${VENDOR#"$ROOT"/}/$f" >&2; status=1
    elif ! cmp -s "$TMP/out/$f" "$VENDOR/$f"; then
        echo "vendor-ui: ${VENDOR#"$ROOT"/}/$f differs from cytoscape $VERSION" >&2; status=1
    fi
done
if [[ -f "$VENDOR/SHA256SUMS" ]] && ! (cd "$VENDOR" && sha256sum --quiet -c SHA256SUMS); then
    echo "vendor-ui: SHA256SUMS does not match the vendored files" >&2; status=1
fi
if [[ $status -eq 0 ]]; then
    echo "vendor-ui: vendored cytoscape $VERSION matches the registry"
fi
exit $status
