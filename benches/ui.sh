#!/usr/bin/env bash
# Server time of every workbench page on a 1,000,000-person database (issue 11: p95 under
# 100 ms per page). Not a test: a measurement, printed as a table.
#
# usage: benches/ui.sh [DATA]   (default: a bundle from `qinglian generate --people 1000000`)
# environment: WORK (default target/ui-bench), REPS per page (default 40), PORT (18090)
#
# Builds (or reuses) the database, starts `qinglian serve`, signs in to the workbench as an
# investigator (a session cookie, as the browser does), sets the case, and requests, page by
# page, exactly what the page's script requests (the shell, /ui/session, then its /v1 calls),
# REPS times each over one keep-alive connection, with pages picked from the data (the red
# finding, its official, a name, a path between a finding's official and target, a tender).
# A page's time is the sum of its requests, measured by the client on the loopback interface:
# the server's time plus a loopback round trip per request.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$ROOT/target/ui-bench}
REPS=${REPS:-40}
PORT=${PORT:-18090}
mkdir -p "$WORK"
cd "$ROOT"
cargo build --release --quiet
QL=$ROOT/target/release/qinglian
DATA=${1:-$WORK/data}
if [ ! -f "$DATA/people.csv" ]; then
    "$QL" generate --people 1000000 --seed 1 --out "$DATA" | tail -1
fi
DB=$WORK/db
if [ ! -d "$DB" ]; then
    "$QL" ingest "$DATA" --db "$DB" | tail -2
fi
cat > "$WORK/server.toml" <<TOML
rate_per_second = 1000000.0
rate_burst = 1000000.0
TOML
TOKEN=$("$QL" token create --role investigator --days 1 --note "ui bench" --db "$DB")
AUDITOR=$("$QL" token create --role auditor --days 1 --note "ui bench" --db "$DB")
"$QL" serve --db "$DB" --addr "127.0.0.1:$PORT" --config "$WORK/server.toml" > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.1
done
python3 - "$PORT" "$TOKEN" "$REPS" "$AUDITOR" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse
port, token, reps, auditor = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", int(port))

def req(method, path, body=None, headers=None):
    h = {"Cookie": cookie} if cookie else {}
    h.update(headers or {})
    if body is not None:
        h["Content-Type"] = "application/json"
        h["X-CSRF-Token"] = csrf
    t = time.perf_counter()
    c.request(method, path, body=None if body is None else json.dumps(body), headers=h)
    r = c.getresponse()
    data = r.read()
    dt = time.perf_counter() - t
    if r.status >= 400:
        raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
    return dt, r, data

cookie = csrf = None
_, r, data = req("POST", "/ui/session", headers={"Authorization": "Bearer " + token})
cookie = r.getheader("Set-Cookie").split(";")[0]
csrf = json.loads(data)["csrf"]
req("POST", "/ui/session/case", {"case": "BENCH-1", "purpose": "ui bench"})
req("POST", "/v1/cases", {"number": "BENCH-1", "title": "bench"})

def get(path):
    return json.loads(req("GET", path)[2])

q = urllib.parse.quote
red = get("/v1/findings?severity=red&rule=relative_wins&limit=1")["findings"][0]
req("POST", "/v1/cases/BENCH-1", {"attach": [red["id"]]})
official, target = red["official"], red["target"]
name = get("/v1/entities/" + q(official) + "?limit=1")["name"]
tender = get("/v1/findings?rule=bid_rigging&limit=1")["findings"][0]["ref"]
shell = ["/ui/", "/ui/session"]
pages = {
    "dashboard": shell + ["/v1/findings/summary"],
    "findings (red, page 1)": shell + ["/v1/findings/summary", "/v1/findings?severity=red&limit=50"],
    "finding": shell + ["/v1/findings/" + red["id"]],
    "search (name)": shell + ["/v1/entities?q=" + q(name)],
    "entity (official)": shell + ["/v1/entities/" + q(official) + "?limit=50", "/v1/findings?official=" + q(official)],
    "paths (4 hops)": shell + [f"/v1/paths?from={q(official)}&to={q(target)}&max_hops=4"],
    "pre-award (tender)": shell + [("POST", "/v1/screen", {"tender": tender})],
    "cases": shell + ["/v1/cases"],
    "case": shell + ["/v1/cases/BENCH-1", "/v1/cases/BENCH-1/audit?limit=50"],
    # The auditor's page, with a bearer token (the trail grows as the bench runs).
    "audit (auditor)": [("AUDIT", "/v1/audit?limit=50"), ("AUDIT", "/v1/audit/verify")],
}
rows = []
for page, calls in pages.items():
    times = []
    for _ in range(reps):
        total = 0.0
        for call in calls:
            if isinstance(call, tuple) and call[0] == "AUDIT":
                saved = globals()["cookie"]
                globals()["cookie"] = None
                total += req("GET", call[1], headers={"Authorization": "Bearer " + auditor})[0]
                globals()["cookie"] = saved
            elif isinstance(call, tuple):
                total += req(call[0], call[1], call[2])[0]
            else:
                total += req("GET", call)[0]
        times.append(total * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    rows.append((page, len(calls), statistics.median(times), p95))
print(f"| page | requests | median ms | p95 ms |")
print(f"|---|---|---|---|")
for page, n, med, p95 in rows:
    print(f"| {page} | {n} | {med:.1f} | {p95:.1f} |")
PY
echo "audit records: $(wc -l < "$DB/audit.log")"
