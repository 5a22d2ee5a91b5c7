#!/usr/bin/env bash
# Schema-driven probe of the API (issue 8): serves the demo zone, then runs schemathesis with
# every check against the served OpenAPI document once per role, and verifies the audit trail
# afterwards. Exits non-zero on any schemathesis failure or a trail that does not verify.
#
#   tests/probe/schemathesis.sh [MAX_EXAMPLES]      (default 30 per operation)
#
# Needs: a release build (cargo build --release, or QINGLIAN_BIN), python3; installs
# schemathesis into .ci/st-venv (PyPI) the first time, or uses ST_VENV. `cargo test` runs it
# (tests/api_schema.rs) when .ci/run has installed schemathesis.
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-30}"
BIN=${QINGLIAN_BIN:-target/release/qinglian}
VENV=${ST_VENV:-.ci/st-venv}
if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi
WORK=$(mktemp -d)
OUT=${ST_OUT:-$WORK}
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN" ingest data-samples/zone --db "$WORK/db" >/dev/null 2>&1
cat > "$WORK/server.toml" <<'TOML'
rate_per_second = 100000.0
rate_burst = 100000.0
anon_rate_per_second = 100000.0
anon_rate_burst = 100000.0
anon_global_per_second = 100000.0
max_concurrent = 64
TOML
"$BIN" serve --db "$WORK/db" --addr 127.0.0.1:0 --config "$WORK/server.toml" > "$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER=$!
for _ in $(seq 100); do grep -q listening "$WORK/serve.out" && break; sleep 0.1; done
BASE="http://$(sed -n 's/^listening on //p' "$WORK/serve.out")"
status=0
# One worker: with two, schemathesis's generator calls Python's `ast.parse` from two threads at
# once, and CPython 3.11 keeps the AST constructor's recursion depth per interpreter, not per
# thread ("AST constructor recursion depth mismatch", CPython gh-106905): a crash of the tool,
# not a finding, that the richer response schemas made frequent.
for role in investigator analyst admin auditor; do
    TOKEN=$("$BIN" token create --role "$role" --db "$WORK/db" 2>/dev/null)
    curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/v1/openapi.json" > "$WORK/openapi.json"
    echo "== $role"
    "$VENV/bin/schemathesis" --config-file tests/probe/schemathesis.toml run "$WORK/openapi.json" --url "$BASE" --checks all \
        --max-examples "$N" --workers 1 --seed 1 \
        -H "Authorization: Bearer $TOKEN" -H "X-Case-Id: ST-1" -H "X-Purpose: schemathesis" \
        --suppress-health-check all > "$OUT/st-$role.txt" 2>&1 || status=1
    tail -n 25 "$OUT/st-$role.txt"
done
"$BIN" audit verify --db "$WORK/db" || status=1
exit $status
