//! Helpers shared by the API tests: a database, a server on it (the real binary on a loopback
//! port), tokens, and a client call that returns status, JSON and content type.
#![allow(dead_code)] // each test file uses its own subset

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qinglian"))
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn qinglian(args: &[&str]) -> String {
    let o = bin().args(args).output().expect("runs");
    assert!(
        o.status.success(),
        "qinglian {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// A database, a server on it, and one token per role.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub db: PathBuf,
    pub _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(bundle: &Path, config: &str) -> Server {
    start_with(bundle, config, &[])
}

/// A server started with extra `serve` arguments.
pub fn start_with(bundle: &Path, config: &str, extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    qinglian(&[
        "ingest",
        bundle.to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    serve_on(dir, db, config, extra)
}

/// A server on an existing database `db` (the server keeps `dir` alive).
pub fn serve_on(dir: tempfile::TempDir, db: PathBuf, config: &str, extra: &[&str]) -> Server {
    let cfg = dir.path().join("server.toml");
    std::fs::write(&cfg, config).expect("config");
    let mut child = bin()
        .args([
            "serve",
            "--db",
            db.to_str().expect("path"),
            "--addr",
            "127.0.0.1:0",
            "--config",
            cfg.to_str().expect("path"),
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listening line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line}"))
        .to_owned();
    Server {
        child,
        base: format!("http://{addr}"),
        db,
        _dir: dir,
    }
}

impl Server {
    pub fn token(&self, role: &str) -> String {
        qinglian(&[
            "token",
            "create",
            "--role",
            role,
            "--db",
            self.db.to_str().expect("path"),
        ])
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// (status, body as JSON or as text in a string, content-type)
pub fn call(
    s: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    case: bool,
    body: Option<String>,
) -> (u16, Value, String) {
    let url = format!("{}{path}", s.base);
    let a = agent();
    macro_rules! go {
        ($req:expr) => {{
            let mut r = $req;
            if let Some(t) = token {
                r = r.header("Authorization", &format!("Bearer {t}"));
            }
            if case {
                r = r
                    .header("X-Case-Id", "C-2026-0042")
                    .header("X-Purpose", "integration test");
            }
            r
        }};
    }
    let resp = match (method, body) {
        ("GET", _) => go!(a.get(&url)).call(),
        ("DELETE", _) => go!(a.delete(&url)).call(),
        ("POST", Some(b)) => go!(a.post(&url))
            .header("Content-Type", "application/json")
            .send(b),
        ("POST", None) => go!(a.post(&url)).send_empty(),
        _ => panic!("method {method}"),
    };
    let mut resp = resp.expect("the server answers");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = resp.body_mut().read_to_string().expect("body");
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v, ct)
}

pub fn tiny() -> PathBuf {
    root().join("tests/fixtures/bundles/tiny")
}

/// Copies a folder tree (a database folder, say).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).expect("copy");
        }
    }
}
