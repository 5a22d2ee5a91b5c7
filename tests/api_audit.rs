//! The audit trail under hostile input, in process through the real router: for arbitrary
//! requests — any method, path, query string, headers (including bytes that are not UTF-8 and
//! oversized values) and body (floats that do not round-trip, deep nesting, invalid UTF-8) —
//! every request leaves a record, every record parses, and the chain verifies afterwards.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request};
use proptest::prelude::*;
use qinglian_store::{GraphDb, SledStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A database of the tiny fixture bundle and a server state on it.
fn state(dir: &Path, config: qinglian_api::Config) -> Arc<qinglian_api::AppState> {
    let db = dir.join("db");
    if !db.join("store").exists() {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_qinglian"))
            .args(["ingest", "--db"])
            .arg(&db)
            .arg(root().join("tests/fixtures/bundles/tiny"))
            .output()
            .expect("runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let store = SledStore::open(&db.join("store")).expect("store");
    let g = GraphDb::open(store).expect("db");
    let (snap, _) = qinglian_engine::open_snapshot(&g, &db.join("snapshot.bin")).expect("snapshot");
    let generation = g.state().generation;
    let (loads, files) = (g.loads().expect("loads"), g.files().expect("files"));
    drop(g);
    Arc::new(
        qinglian_api::AppState::new(
            snap,
            db,
            generation,
            loads,
            files,
            config,
            qinglian_rules::builtins().expect("rules"),
        )
        .expect("state"),
    )
}

fn permissive() -> qinglian_api::Config {
    qinglian_api::Config {
        anon_rate_per_second: 1e6,
        anon_rate_burst: 1e6,
        anon_global_per_second: 1e6,
        rate_per_second: 1e6,
        rate_burst: 1e6,
        ..qinglian_api::Config::default()
    }
}

const PATHS: &[&str] = &[
    "/v1/screen",
    "/v1/entities",
    "/v1/entities/P1",
    "/v1/paths",
    "/v1/findings",
    "/v1/admin/tokens",
    "/v1/audit",
    "/v1/evidence/x",
    "/v1/clearances/verify",
    "/v1/nope",
    "/v1/entities/%FF%FE",
];

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"{\"x\":123456789.123456789}".to_vec()),
        Just(b"{\"x\":1e400, \"y\":-0.0, \"z\":0.1000000000000000055511151231257827}".to_vec()),
        (1usize..300).prop_map(|d| {
            let mut v = "[".repeat(d).into_bytes();
            v.extend("]".repeat(d).bytes());
            v
        }),
        (1usize..200).prop_map(|d| {
            let mut s = String::new();
            for _ in 0..d {
                s.push_str("{\"a\":");
            }
            s.push('1');
            s.push_str(&"}".repeat(d));
            s.into_bytes()
        }),
        proptest::collection::vec(any::<u8>(), 0..600),
        "\\PC{0,200}".prop_map(String::into_bytes),
    ]
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[ -~]{0,80}".prop_map(String::into_bytes),
        // obs-text: bytes that are not UTF-8.
        proptest::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff], 0..80),
        (1usize..20_000).prop_map(|n| vec![b'A'; n]),
    ]
}

#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: &'static str,
    query: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    /// Sent with a valid investigator token and a case number, so that handlers run.
    authed: bool,
}

fn request() -> impl Strategy<Value = Req> {
    let method = prop::sample::select(vec!["GET", "POST", "DELETE", "PUT", "PATCH"]);
    let path = prop::sample::select(PATHS.to_vec());
    let query = prop_oneof![
        Just(String::new()),
        "[a-z_]{1,8}=[ -~&&[^#]]{0,40}".prop_map(|s| s.replace(' ', "+")),
        Just("q=%FF%FE%00&limit=-1".to_owned()),
        (1usize..6000).prop_map(|n| format!("q={}", "x".repeat(n))),
    ];
    let names = prop::sample::select(vec![
        "x-case-id",
        "x-purpose",
        "authorization",
        "content-type",
        "user-agent",
        "x-other",
    ]);
    let headers = proptest::collection::vec((names, header_value()), 0..5);
    (method, path, query, headers, body(), any::<bool>()).prop_map(
        |(method, path, query, headers, body, authed)| Req {
            method,
            path,
            query,
            headers,
            body,
            authed,
        },
    )
}

fn build(r: &Req, token: &str) -> Option<Request<Body>> {
    let uri = if r.query.is_empty() {
        r.path.to_owned()
    } else {
        format!("{}?{}", r.path, r.query)
    };
    let mut b = Request::builder().method(r.method).uri(uri);
    if r.authed {
        b = b
            .header("authorization", format!("Bearer {token}"))
            .header("x-case-id", "C-1")
            .header("x-purpose", "property test");
    }
    for (k, v) in &r.headers {
        let v = HeaderValue::from_bytes(v).ok()?;
        b = b.header(HeaderName::from_static(k), v);
    }
    let mut req = b.body(Body::from(r.body.clone())).ok()?;
    req.extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40000,
        ))));
    Some(req)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn the_chain_verifies_after_any_requests(reqs in proptest::collection::vec(request(), 1..12)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let st = state(dir.path(), permissive());
        let app = qinglian_api::router(st.clone());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let (_, token) = st.tokens.create(qinglian_api::auth::Role::Investigator, 1, "proptest").expect("token");
        let mut sent = 0u64;
        for r in &reqs {
            let Some(req) = build(r, &token) else { continue };
            let resp = rt.block_on(app.clone().oneshot(req)).expect("infallible");
            let status = resp.status();
            let ct = resp.headers().get("content-type").map(|v| v.as_bytes().to_vec());
            let bytes = rt.block_on(axum::body::to_bytes(resp.into_body(), usize::MAX)).expect("body");
            if status.as_u16() >= 400 {
                prop_assert_eq!(ct.as_deref(), Some(&b"application/json"[..]), "{} {:?}", status, String::from_utf8_lossy(&bytes));
                let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON error");
                prop_assert!(v["error"]["code"].is_string());
            }
            sent += 1;
        }
        let report = qinglian_api::audit::verify(&st.db).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(report.records, sent, "one record per request");
        let (recs, total) = qinglian_api::audit::read(&st.db, 0, 1000).expect("read");
        prop_assert_eq!(total as u64, sent);
        for r in recs {
            let e = r.entry.expect("every record parses");
            prop_assert!(e.case.len() <= 256 && e.purpose.len() <= 256 && e.body.len() <= 4096);
            prop_assert!(e.query.len() <= 4096);
        }
        // The server starts again on this trail.
        drop(app);
        drop(st);
        let _again = state(dir.path(), permissive());
    }
}

/// The reproduction of the issue: one anonymous request with a float.
#[test]
fn an_anonymous_float_does_not_break_the_trail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let st = state(dir.path(), qinglian_api::Config::default());
    let app = qinglian_api::router(st.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    for body in [
        "{\"x\":123456789.123456789}".to_owned(),
        format!("{}1{}", "[".repeat(125), "]".repeat(125)),
    ] {
        let r = Req {
            method: "POST",
            path: "/v1/screen",
            query: String::new(),
            headers: vec![("content-type", b"application/json".to_vec())],
            body: body.into_bytes(),
            authed: false,
        };
        let resp = rt
            .block_on(app.clone().oneshot(build(&r, "").expect("request")))
            .expect("infallible");
        assert_eq!(resp.status(), 401);
    }
    assert_eq!(
        qinglian_api::audit::verify(&st.db).map(|r| r.records).ok(),
        Some(2)
    );
    let (recs, _) = qinglian_api::audit::read(&st.db, 0, 10).expect("read");
    assert_eq!(
        recs[0].entry.as_ref().map(|e| e.body.as_str()),
        Some("{\"x\":123456789.123456789}"),
        "the body is kept as sent"
    );
    drop(app);
    drop(st);
    let _restart = state(dir.path(), qinglian_api::Config::default());
}
