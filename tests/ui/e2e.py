#!/usr/bin/env python3
"""The workbench end to end, in headless Chromium over WebDriver (issue 11).

Run by tests/ui.rs (which passes the binary) when QINGLIAN_UI_VENV names a virtual environment
with selenium and Chromium with its driver is installed (.ci/run installs both):

    QINGLIAN_BIN=target/release/qinglian .ci/ui-venv/bin/python tests/ui/e2e.py [--shots DIR]

What it does, as an investigator, an analyst and an auditor would, on the demo bundle:
`serve --demo` prints one-time links that sign in; with no session every page is the sign-in
page; sign in with a token and enter a case; search 吴紫育 and the two 张伟 (told apart by birth
year); open a red finding and ask the graph library for the chain's nodes and edges; attach it
to a case; dismiss it with a reason; a forged CSRF token is refused; paths; a pre-award check
whose clearance is downloaded and verified; the data is loaded again (a new load) and the
finding stays dismissed; an analyst sees no real name of a person without a position on any
page visited; an auditor sees the trail of all of it. With --shots, a screenshot of every page
(docs/ui/*.png). Exits non-zero with the step that failed.
"""

import argparse
import csv
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "data-samples" / "zone"
BIN = os.environ.get("QINGLIAN_BIN", str(ROOT / "target" / "release" / "qinglian"))
CASE = "C-2026-001"


def step(msg):
    print(f"-- {msg}", flush=True)


def run(*args):
    return subprocess.run([BIN, *args], check=True, capture_output=True, text=True).stdout


class Server:
    """`qinglian serve` on a free port; its printed lines kept."""

    def __init__(self, *args):
        self.p = subprocess.Popen(
            [BIN, "serve", "--addr", "127.0.0.1:0", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise SystemExit(f"serve {' '.join(args)} ended before listening")
            self.lines.append(line.rstrip("\n"))
            if line.startswith("listening on "):
                self.base = "http://" + line.split()[-1]
            if line.startswith("demo database:") or (
                    "--demo" not in args and line.startswith("listening on ")):
                break

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        self.p.wait(timeout=20)


def browser(downloads):
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1366,768", "--lang=zh-CN"):
        o.add_argument(a)
    o.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    o.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                        "download.prompt_for_download": False})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    svc = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    d = webdriver.Chrome(service=svc, options=o)
    d.set_script_timeout(20)
    return d


def wait(d, css, secs=10):
    try:
        return WebDriverWait(d, secs).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))
    except TimeoutException:
        raise AssertionError(f"{css} did not appear on {d.current_url}:\n{body(d)[:2000]}")


def wait_text(d, css, pattern, secs=10):
    """The element at `css` once its text matches `pattern`. The page may re-render the element
    while we wait (a sign-in replaces the header): it is looked up afresh on every poll, and a
    stale reference is one more poll, not a failure."""
    wait(d, css, secs)

    def matches(_):
        try:
            el = d.find_element(By.CSS_SELECTOR, css)
            return el if re.search(pattern, el.text) else False
        except (StaleElementReferenceException, NoSuchElementException):
            return False

    try:
        return WebDriverWait(d, secs).until(matches)
    except TimeoutException:
        raise AssertionError(f"{css} says {text_of(d, css)!r}, not /{pattern}/, on {d.current_url}")


def text_of(d, css):
    """The text at `css` now, or why there is none."""
    try:
        return d.find_element(By.CSS_SELECTOR, css).text
    except (StaleElementReferenceException, NoSuchElementException) as e:
        return f"<{type(e).__name__}>"


def wait_attr(d, css, attr, value, secs=10):
    """An element whose `attr` becomes `value` (badges carry their raw value beside the text
    of the chosen language)."""
    try:
        # A badge re-rendered between finding it and reading it is one more poll.
        WebDriverWait(d, secs, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda _: any(e.get_attribute(attr) == value
                          for e in d.find_elements(By.CSS_SELECTOR, css)))
    except TimeoutException:
        found = [e.get_attribute(attr) for e in d.find_elements(By.CSS_SELECTOR, css)]
        raise AssertionError(f"{css}[{attr}] is {found}, not {value!r}, on {d.current_url}")


def body(d):
    return d.find_element(By.TAG_NAME, "body").text


def fetch(d, method, path, body_=None, csrf=None):
    """A request from the page itself (its cookie): status and JSON."""
    return d.execute_async_script("""
        const [method, path, body, csrf, done] = arguments;
        const h = {'Content-Type': 'application/json'};
        if (csrf !== null) h['X-CSRF-Token'] = csrf;
        fetch(path, {method, headers: h, credentials: 'same-origin',
                     body: body === null ? undefined : JSON.stringify(body)})
          .then(async r => done([r.status, await r.json().catch(() => null)]))
          .catch(e => done([0, String(e)]));""", method, path, body_, csrf)


def csp_violations(d):
    return [e["message"] for e in d.get_log("browser")
            if "Content Security Policy" in e.get("message", "")]


class Shots:
    def __init__(self, folder):
        self.folder = pathlib.Path(folder) if folder else None
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, d, name):
        """The whole page, 1366 pixels wide (the window grows to the page's height for the
        shot, at most 2,400 pixels, and returns to 1366×768)."""
        if self.folder:
            time.sleep(0.6)  # the graph's layout animation
            height = d.execute_script("return document.documentElement.scrollHeight")
            d.set_window_size(1366, min(max(768, height + 140), 2400))
            time.sleep(0.4)
            d.save_screenshot(str(self.folder / f"{name}.png"))
            d.set_window_size(1366, 768)


def sign_in(d, base, token, case=True):
    d.delete_all_cookies()
    d.get(base + "/ui/")
    wait(d, "#signin-token").send_keys(token)
    d.find_element(By.CSS_SELECTOR, "#signin-submit").click()
    if case:
        wait(d, "#case-number").send_keys(CASE)
        d.find_element(By.CSS_SELECTOR, "#case-purpose").send_keys("端到端测试 e2e")
        d.find_element(By.CSS_SELECTOR, "#case-submit").click()
        wait_text(d, "#session-case", re.escape(CASE))


def check_demo(d):
    step("serve --demo: a one-time link signs in; the demo database goes with the server")
    s = Server("--demo")
    links = {l.split()[0]: l.split()[-1] for l in s.lines if "sign in once:" in l}
    assert set(links) == {"investigator", "analyst", "auditor"}, s.lines
    folder = next(l.split(": ", 1)[1].split(" (")[0] for l in s.lines if l.startswith("demo database:"))
    d.delete_all_cookies()
    d.get(links["investigator"])
    wait(d, "#case-number")
    d.delete_all_cookies()
    d.get(links["investigator"])
    wait(d, "#signin-token")  # used once
    s.stop(signal.SIGINT)
    assert not os.path.exists(folder), f"{folder} left behind"


def private_names():
    """Names of people who hold no position, minus names that also belong to, or are part of,
    a public name (the pseudonymiser leaves those: they name the public entity as much)."""
    def rows(f):
        with open(BUNDLE / f, encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    officials = {r["person_id"] for r in rows("positions.csv")}
    people = rows("people.csv")
    public = [r["name"] for r in people if r["id"] in officials]
    public += [r["name"] for r in rows("companies.csv")] + [r["name"] for r in rows("agencies.csv")]
    public += [r["title"] for r in rows("tenders.csv") if "title" in r]
    names = {r["name"] for r in people if r["id"] not in officials and len(r["name"]) > 1}
    return sorted(n for n in names if not any(n in p for p in public))


def investigator(d, base, tok, shots, downloads):
    step("no session: every page is the sign-in page")
    d.delete_all_cookies()
    d.get(base + "/ui/findings?severity=red")
    wait(d, "#signin-token")
    shots(d, "signin")
    wait(d, "#signin-token").send_keys("qlt_000000000000_forged")
    d.find_element(By.CSS_SELECTOR, "#signin-submit").click()
    wait_text(d, "#signin-error", r"\S")

    step("sign in, enter the case")
    d.delete_all_cookies()
    d.get(base + "/ui/")
    wait(d, "#signin-token").send_keys(tok)
    d.find_element(By.CSS_SELECTOR, "#signin-submit").click()
    wait(d, "#case-number")
    shots(d, "case-context")
    d.find_element(By.CSS_SELECTOR, "#case-number").send_keys(CASE)
    d.find_element(By.CSS_SELECTOR, "#case-purpose").send_keys("端到端测试 e2e")
    d.find_element(By.CSS_SELECTOR, "#case-submit").click()
    wait_text(d, "#session-case", re.escape(CASE))
    wait(d, "#dash-total")
    shots(d, "dashboard")

    step("search: 吴紫育, and the two 张伟 told apart")
    q = wait(d, "#search-q")
    q.clear()
    q.send_keys("吴紫育")
    d.find_element(By.CSS_SELECTOR, "#search-submit").click()
    wait(d, ".search-result")
    ids = [e.get_attribute("data-id") for e in d.find_elements(By.CSS_SELECTOR, ".search-result")]
    assert "P0000060" in ids, ids
    d.get(base + "/ui/search?q=" + "张伟")
    wait(d, ".search-result")
    res = d.find_elements(By.CSS_SELECTOR, ".search-result")
    exact = [r for r in res if r.get_attribute("data-id") in ("P0000151", "P0000156")]
    assert len(exact) == 2, [r.text for r in res]
    assert "1953" in exact[0].text + exact[1].text and "1974" in exact[0].text + exact[1].text
    shots(d, "search")

    step("an entity and its neighbourhood graph")
    d.get(base + "/ui/entity/P0000060")
    wait(d, "#graph")
    WebDriverWait(d, 10).until(lambda _: d.execute_script(
        "return window.qlGraph && window.qlGraph.nodes().length > 1"))
    shots(d, "entity")

    step("a red finding: the graph holds the chain")
    d.get(base + "/ui/findings?severity=red&rule=relative_wins")
    wait(d, "tr.finding-row")
    shots(d, "findings")
    fid = d.find_element(By.CSS_SELECTOR, "tr.finding-row").get_attribute("data-id")
    d.get(base + "/ui/finding/" + fid)
    wait(d, "#graph")
    status, one = fetch(d, "GET", "/v1/findings/" + fid)
    assert status == 200, one
    ev = one["finding"]["evidence"]
    WebDriverWait(d, 10).until(lambda _: d.execute_script("return !!window.qlGraph"))
    nodes = set(d.execute_script("return window.qlGraph.nodes().map(n => n.id())"))
    edges = d.execute_script(
        "return window.qlGraph.edges().map(e => [e.source().id(), e.target().id(), e.data('kind')])")
    assert {n["id"] for n in ev["nodes"]} <= nodes, (ev["nodes"], nodes)
    want = {(e["from"], e["to"], e["kind"]) for e in ev["edges"]}
    assert want <= {tuple(e) for e in edges}, (want, edges)
    shots(d, "finding")

    step("the official's declaration sheet is linked and printable")
    href = wait(d, "#declaration-sheet").get_attribute("href")
    path = "/" + href.split("://", 1)[1].split("/", 1)[1]
    st, _ = fetch(d, "GET", path)  # an HTML page: the status says it was served to this session
    assert st == 200 and path.endswith("/declarations?format=html"), (st, path)

    step("other signs on the same procedure: listed as the API gives them")
    wait(d, "#finding-related")
    shown = [li.get_attribute("data-id") for li in d.find_elements(By.CSS_SELECTOR, "#related-list li")]
    assert shown == [r["id"] for r in one["related"]], (shown, one["related"])

    step("a case: create it, attach the finding, add a note")
    d.get(base + "/ui/cases")
    wait(d, "#case-new-number").send_keys(CASE)
    d.find_element(By.CSS_SELECTOR, "#case-new-title").send_keys("钱塘区亲属中标线索")
    d.find_element(By.CSS_SELECTOR, "#case-new-submit").click()
    WebDriverWait(d, 10).until(lambda _: fetch(d, "GET", "/v1/cases/" + CASE)[0] == 200)
    d.get(base + "/ui/finding/" + fid)
    attach = wait(d, "#attach-case")
    attach.clear()
    attach.send_keys(CASE)
    d.find_element(By.CSS_SELECTOR, "#attach-submit").click()
    WebDriverWait(d, 10).until(lambda _: fid in json.dumps(fetch(d, "GET", "/v1/cases/" + CASE)[1]))
    # The related findings go with it (the box is checked by default): one case, every sign.
    held = json.dumps(fetch(d, "GET", "/v1/cases/" + CASE)[1])
    assert all(r["id"] in held for r in one["related"]), (one["related"], held)

    step("dismiss with a reason; a forged CSRF token is refused")
    csrf = fetch(d, "GET", "/ui/session")[1]["csrf"]
    for sent in (None, "forged", ""):
        st, err = fetch(d, "POST", f"/v1/findings/{fid}/state", {"status": "open"}, sent)
        assert st == 403 and err["error"]["code"] == "csrf", (sent, st, err)
    Select(wait(d, "#state-status")).select_by_value("dismissed")
    d.find_element(By.CSS_SELECTOR, "#state-reason").send_keys("亲属关系登记有误，已核实")
    d.find_element(By.CSS_SELECTOR, "#state-submit").click()
    WebDriverWait(d, 10).until(
        lambda _: fetch(d, "GET", "/v1/findings/" + fid)[1]["state"]["status"] == "dismissed")
    wait_attr(d, "#finding-status", "data-status", "dismissed")
    assert csrf  # the page had one, and used it
    shots(d, "finding-dismissed")

    d.get(base + "/ui/case/" + CASE)
    wait_text(d, "#main", re.escape(fid[:8]))
    shots(d, "case")

    step("paths")
    d.get(base + "/ui/paths?from=P0000031&to=C000102&max_hops=4")
    wait(d, "#graph")
    WebDriverWait(d, 10).until(lambda _: d.execute_script(
        "return window.qlGraph && window.qlGraph.nodes().length >= 3"))
    shots(d, "paths")

    step("pre-award check: clear, clearance downloaded and verified")
    d.get(base + "/ui/preaward")
    # The agency and the bidder by name: resolved to their ids before the check, and shown.
    wait(d, "#pa-agency").send_keys("杭州钱塘经济技术开发区财政局")
    d.find_element(By.CSS_SELECTOR, "#pa-bidders").send_keys("杭州美荣后勤服务有限公司")
    d.find_element(By.CSS_SELECTOR, "#pa-submit").click()
    wait_attr(d, "#pa-resolved li", "data-id", "C000015")
    wait_attr(d, "#pa-resolved li", "data-id", "A00003")
    wait_attr(d, "#pa-verdict", "data-verdict", "clear")
    wait(d, "#clearance-download").click()
    deadline = time.time() + 10
    files = []
    while time.time() < deadline and not files:
        files = [f for f in os.listdir(downloads) if f.startswith("clearance") and f.endswith(".json")]
        time.sleep(0.2)
    assert files, os.listdir(downloads)
    clearance = (pathlib.Path(downloads) / files[0]).read_text(encoding="utf-8")
    assert json.loads(clearance)["signature"]
    box = wait(d, "#verify-text")
    d.execute_script("arguments[0].value = arguments[1]", box, clearance)
    d.find_element(By.CSS_SELECTOR, "#verify-submit").click()
    wait_attr(d, "#verify-result [data-valid]", "data-valid", "true")
    shots(d, "preaward")

    step("the page ran under the Content-Security-Policy without a violation")
    assert not csp_violations(d), csp_violations(d)
    d.find_element(By.CSS_SELECTOR, "#signout").click()
    wait(d, "#signin-token")
    return fid


def still_dismissed(d, base, tok, fid):
    step("after a new load, the dismissed finding stays dismissed")
    sign_in(d, base, tok)
    d.get(base + "/ui/finding/" + fid)
    wait_attr(d, "#finding-status", "data-status", "dismissed")
    st = fetch(d, "GET", "/v1/findings/" + fid)[1]["state"]
    assert st["status"] == "dismissed" and not st["stale"], st


def analyst(d, base, tok, fid, shots):
    step("an analyst sees no real name of a person without a position")
    sign_in(d, base, tok)
    secret = private_names()
    assert len(secret) > 50, secret
    pages = ["/ui/", "/ui/findings?limit=500", "/ui/finding/" + fid]
    status, listing = fetch(d, "GET", "/v1/findings?severity=red&limit=20")
    assert status == 200, listing
    for f in listing["findings"]:
        pages.append("/ui/finding/" + f["id"])
        pages += ["/ui/entity/" + n["id"] for n in f["evidence"]["nodes"] if n["kind"] == "Person"][:3]
    pages.append("/ui/search?q=" + secret[0])
    seen = 0
    for p in pages:
        d.get(base + p)
        wait(d, "#main")
        time.sleep(0.3)
        # On the search page the query the analyst typed is echoed; the results must not name.
        shown = body(d) if "/ui/search" not in p else "\n".join(
            e.text for e in d.find_elements(By.CSS_SELECTOR, "#search-results"))
        text = shown + json.dumps(d.execute_script(
            "return window.qlGraph ? window.qlGraph.nodes().map(n => n.data('label')) : []"),
            ensure_ascii=False)
        leaked = [n for n in secret if n in text]
        assert not leaked, f"{p} shows {leaked}"
        seen += 1
        if p.startswith("/ui/finding/") and seen == 3:
            shots(d, "analyst-finding")
    return seen


def auditor(d, base, tok, shots):
    step("an auditor sees the trail of everything, and only the trail")
    sign_in(d, base, tok, case=False)
    d.get(base + "/ui/audit?case=" + CASE)
    wait(d, "#audit-verify")
    text = wait_text(d, "#main", "findings.state").text
    assert CASE in text, text[:500]
    shots(d, "audit")
    status, _ = fetch(d, "GET", "/v1/findings?limit=1")
    assert status == 403, status


def reload_bundle(db, work):
    """The same source loaded again with one new person: load #2, screened again."""
    copy = pathlib.Path(work) / "zone"
    shutil.copytree(BUNDLE, copy)
    with open(copy / "people.csv", "a", encoding="utf-8") as fh:
        fh.write("P0009999,新来的人,,1990-01-01,\n")
    run("ingest", str(copy), "--db", str(db), "--source", "zone")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", help="save a screenshot of every page here")
    a = ap.parse_args()
    shots = Shots(a.shots)
    work = tempfile.mkdtemp(prefix="qinglian-ui-")
    downloads = pathlib.Path(work) / "downloads"
    downloads.mkdir()
    d = browser(downloads)
    server = None
    try:
        check_demo(d)
        db = pathlib.Path(work) / "db"
        run("ingest", str(BUNDLE), "--db", str(db))
        tokens = {r: run("token", "create", "--role", r, "--db", str(db)).strip()
                  for r in ("investigator", "analyst", "auditor")}
        server = Server("--db", str(db))
        fid = investigator(d, server.base, tokens["investigator"], shots, downloads)
        server.stop()
        reload_bundle(db, work)
        server = Server("--db", str(db))
        still_dismissed(d, server.base, tokens["investigator"], fid)
        pages = analyst(d, server.base, tokens["analyst"], fid, shots)
        auditor(d, server.base, tokens["auditor"], shots)
        print(f"ok: every step passed ({pages} pages checked as an analyst)")
    finally:
        d.quit()
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
