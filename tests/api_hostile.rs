//! Hostile clients against the real server: oversized and malformed requests get audited JSON
//! errors, anonymous floods are limited and summarised rather than written one by one, slow
//! clients are cut off, and a broken audit trail stops the server until an operator seals it.

mod common;

use common::{bin, call, qinglian, start, tiny, Server};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn records(s: &Server) -> Vec<Value> {
    std::fs::read_to_string(s.db.join("audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every record parses"))
        .collect()
}

fn last(s: &Server) -> Value {
    records(s).pop().expect("a record")["entry"].clone()
}

/// Sends raw bytes and reads the answer (status line and body) until the server closes.
fn raw(s: &Server, request: &[u8]) -> (u16, String) {
    let addr = s.base.trim_start_matches("http://");
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn json_error(body: &str) -> String {
    // Bodies may arrive chunked: take the JSON object inside.
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map_or(body.len(), |e| e + 1);
    let v: Value = serde_json::from_str(&body[start..end]).unwrap_or(Value::Null);
    v["error"]["code"].as_str().unwrap_or("").to_owned()
}

#[test]
fn oversized_and_malformed_requests_get_audited_json_errors() {
    let s = start(&tiny(), "anon_rate_burst = 1000.0\nbody_timeout_ms = 500\n");
    let t = s.token("investigator");
    let huge = "C".repeat(60_000);
    // A 60 KB case number: refused with 431, and the record keeps 256 bytes of it.
    let req = format!(
        "GET /v1/findings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nX-Case-Id: {huge}\r\nX-Purpose: p\r\nConnection: close\r\n\r\n"
    );
    let (st, body) = raw(&s, req.as_bytes());
    assert_eq!((st, json_error(&body).as_str()), (431, "headers_too_large"));
    let e = last(&s);
    assert_eq!(e["status"], 431);
    assert_eq!(e["case"].as_str().map(str::len), Some(256));
    assert_eq!(e["truncated"], json!(["case:60000"]));
    // A 5,000-byte target: 414, audited.
    let long = format!(
        "GET /v1/entities?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "x".repeat(5000)
    );
    let (st, body) = raw(&s, long.as_bytes());
    assert_eq!((st, json_error(&body).as_str()), (414, "uri_too_long"));
    assert_eq!(last(&s)["status"], 414);
    // A method the route does not take: 405 as JSON, audited, with Allow.
    let (st, v, ct) = call(&s, "DELETE", "/v1/findings", Some(&t), true, None);
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    assert!(ct.starts_with("application/json"));
    assert_eq!(last(&s)["status"], 405);
    // A query that is not UTF-8: a JSON 400.
    let (st, v, _) = call(&s, "GET", "/v1/entities?q=%FF%FE", Some(&t), true, None);
    assert_eq!((st, v["error"]["code"].as_str()), (400, Some("bad_query")));
    // A body that never finishes arriving: 408 after body_timeout_ms.
    let slow = format!(
        "POST /v1/screen HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nX-Case-Id: c\r\nX-Purpose: p\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"tender\""
    );
    let started = Instant::now();
    let (st, body) = raw(&s, slow.as_bytes());
    assert_eq!((st, json_error(&body).as_str()), (408, "body_timeout"));
    assert!(started.elapsed() < Duration::from_secs(5));
    // The scheme is case-insensitive.
    let lower = format!(
        "GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nAuthorization: bearer {t}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(raw(&s, lower.as_bytes()).0, 200);
    // A token with a negative lifetime is refused.
    let admin = s.token("admin");
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/admin/tokens",
        Some(&admin),
        false,
        Some(json!({"role": "analyst", "days": -5}).to_string()),
    );
    assert_eq!((st, v["error"]["code"].as_str()), (400, Some("bad_body")));
    // Every one of these is on the trail, and it verifies.
    let statuses: Vec<u64> = records(&s)
        .iter()
        .filter_map(|r| r["entry"]["status"].as_u64())
        .collect();
    for code in [431, 414, 405, 400, 408, 200] {
        assert!(statuses.contains(&code), "{code} audited: {statuses:?}");
    }
    qinglian(&["audit", "verify", "--db", s.db.to_str().expect("path")]);
}

#[test]
fn anonymous_floods_are_limited_and_summarised() {
    let s = start(
        &tiny(),
        "anon_rate_per_second = 1.0\nanon_rate_burst = 5.0\nflood_summary_secs = 1\n",
    );
    let mut limited = 0;
    for _ in 0..200 {
        let (st, v, _) = call(
            &s,
            "POST",
            "/v1/screen",
            None,
            false,
            Some("{\"x\":1.5}".into()),
        );
        if st == 429 {
            assert_eq!(v["error"]["code"], "rate_limited");
            limited += 1;
        } else {
            assert_eq!(st, 401);
        }
    }
    assert!(limited >= 190, "{limited} of 200 refused");
    std::thread::sleep(Duration::from_millis(2500));
    let recs = records(&s);
    let single = recs.iter().filter(|r| r["entry"]["status"] == 401).count();
    let summarised: u64 = recs
        .iter()
        .filter(|r| r["entry"]["route"] == "rate_limited")
        .filter_map(|r| r["entry"]["result"]["refused"].as_u64())
        .sum();
    assert_eq!(
        single + limited,
        200,
        "each request either audited or counted"
    );
    assert_eq!(summarised, limited as u64, "every refusal is counted");
    assert!(
        recs.len() < 20,
        "the flood left {} records, not one per request",
        recs.len()
    );
    qinglian(&["audit", "verify", "--db", s.db.to_str().expect("path")]);
}

#[test]
fn slow_clients_are_cut_off_and_connections_are_bounded() {
    let s = start(&tiny(), "header_timeout_ms = 500\nmax_connections = 8\n");
    let addr = s.base.trim_start_matches("http://").to_owned();
    // Eight clients that never finish their headers hold every connection…
    let slow: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut c = TcpStream::connect(&addr).expect("connect");
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .expect("write");
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    // …so a ninth is closed at once…
    let (st, _) = raw(
        &s,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(st, 0, "no answer while every connection is taken");
    // …until the header timeout cuts them off.
    for mut c in slow {
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let started = Instant::now();
        let mut buf = Vec::new();
        let _ = c.read_to_end(&mut buf);
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "closed by the server"
        );
    }
    let (st, _) = raw(
        &s,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(st, 200);
}

#[test]
fn a_broken_trail_stops_the_server_until_an_operator_seals_it() {
    let mut s = start(&tiny(), "");
    let t = s.token("investigator");
    for _ in 0..3 {
        call(&s, "GET", "/v1/findings", Some(&t), true, None);
    }
    let db = s.db.clone();
    let dbs = db.to_str().expect("path").to_owned();
    // Stop the server, keep its folder.
    let _ = s.child.kill();
    let _ = s.child.wait();
    let path = db.join("audit.log");
    let text = std::fs::read_to_string(&path).expect("log");
    // Edit the record at the head: start-up checks from the checkpoint, so it finds this one
    // (an edit further back is found by the full `audit verify`).
    let at = text.rfind("C-2026-0042").expect("the case number");
    let edited = format!("{}C-2026-9999{}", &text[..at], &text[at + 11..]);
    std::fs::write(&path, edited).expect("write");
    let mut child = bin()
        .args(["serve", "--db", &dbs, "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the server started on a broken trail");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().expect("output");
    assert!(
        !o.status.success(),
        "the server does not write on a broken trail"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("audit seal"),
        "the error names the repair: {err}"
    );
    let o = bin()
        .args(["audit", "verify", "--db", &dbs])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    let msg = qinglian(&[
        "audit",
        "seal",
        "--db",
        &dbs,
        "--reason",
        "INC-7: record 1 edited",
    ]);
    assert!(msg.contains("record(s) verified"), "{msg}");
    let out = qinglian(&["audit", "verify", "--db", &dbs]);
    assert!(out.contains("earlier segment audit.sealed-"), "{out}");
    assert!(out.contains("INC-7"), "{out}");
}
