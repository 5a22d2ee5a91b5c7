//! `qinglian token` run by several processes at once against one database (issue 8, item 3):
//! no write may corrupt `tokens.json`, lose another process's token, or undo a revocation.

use qinglian_api::auth::{Denied, TokenStore};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qinglian"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], db: &Path) -> Output {
    bin()
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("the qinglian binary runs")
}

fn ok(args: &[&str], db: &Path) -> String {
    let o = run(args, db);
    assert!(
        o.status.success(),
        "qinglian {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A database folder that the `token` command accepts.
fn database() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let zone = root().join("data-samples/zone");
    ok(&["ingest", zone.to_str().expect("utf-8 path")], &db);
    (dir, db)
}

/// `token create` run `n` times in one thread; the tokens printed.
fn creator(db: &Path, n: usize) -> std::thread::JoinHandle<Vec<String>> {
    let db = db.to_owned();
    std::thread::spawn(move || {
        (0..n)
            .map(|_| {
                ok(
                    &["token", "create", "--role", "analyst", "--days", "1"],
                    &db,
                )
                .trim()
                .to_owned()
            })
            .collect()
    })
}

fn id_of(token: &str) -> &str {
    token.split('_').nth(1).expect("qlt_<id>_<secret>")
}

#[test]
fn concurrent_creates_keep_every_token() {
    let (_dir, db) = database();
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..4).map(|_| creator(&db, 25)).collect();
    let tokens: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("a creator thread"))
        .collect();
    assert_eq!(tokens.len(), 100);
    let listed = ok(&["token", "list"], &db);
    let ids: Vec<&str> = listed.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(ids.len(), 100, "{listed}");
    let store = TokenStore::new(&db);
    for t in &tokens {
        assert!(ids.contains(&id_of(t)), "{t} is not listed");
        assert!(store.check(t).is_ok(), "{t}: {:?}", store.check(t));
    }
    // Dates, not Unix seconds.
    let first = listed.lines().next().expect("a line");
    assert!(first.contains(" UTC"), "{first}");
    // No temporary file is left behind.
    let stray: Vec<_> = std::fs::read_dir(&db)
        .expect("db folder")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    eprintln!("100 creates in {:?}", started.elapsed());
}

#[test]
fn a_revocation_racing_creates_is_never_lost() {
    let (_dir, db) = database();
    let store = TokenStore::new(&db);
    for round in 0..10 {
        let victim = ok(&["token", "create", "--role", "admin"], &db)
            .trim()
            .to_owned();
        let workers: Vec<_> = (0..4).map(|_| creator(&db, 4)).collect();
        // Let the creators get going, then revoke in the middle of them.
        std::thread::sleep(std::time::Duration::from_millis(15));
        let out = ok(&["token", "revoke", id_of(&victim)], &db);
        assert_eq!(out.trim(), format!("revoked {}", id_of(&victim)));
        assert_eq!(
            store.check(&victim).map(|r| r.id),
            Err(Denied::Revoked),
            "round {round}: just after revoke"
        );
        for w in workers {
            for t in w.join().expect("a creator thread") {
                assert!(store.check(&t).is_ok(), "round {round}: {t}");
            }
        }
        assert_eq!(
            TokenStore::new(&db).check(&victim).map(|r| r.id),
            Err(Denied::Revoked),
            "round {round}: after the racing creates finished"
        );
    }
}

#[test]
fn a_corrupt_token_file_is_named_and_denies() {
    let (_dir, db) = database();
    let token = ok(&["token", "create", "--role", "analyst"], &db)
        .trim()
        .to_owned();
    let path = db.join("tokens.json");
    let text = std::fs::read_to_string(&path).expect("tokens.json");
    std::fs::write(&path, format!("{text}}}")).expect("write");
    for args in [
        &["token", "list"][..],
        &["token", "create", "--role", "admin"],
        &["token", "revoke", id_of(&token)],
    ] {
        let o = run(args, &db);
        assert!(!o.status.success(), "{args:?} succeeded on a corrupt file");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("tokens.json"), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(&path).expect("tokens.json"),
        format!("{text}}}"),
        "a corrupt file is left for the operator, not overwritten"
    );
    assert_eq!(TokenStore::new(&db).check(&token), Err(Denied::Invalid));
}

/// The server, killed when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The status code of `GET /v1/openapi.json` with a bearer token.
fn status(addr: &str, token: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET /v1/openapi.json HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    )
    .expect("request");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("reply");
    reply
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {reply:?}"))
}

#[test]
fn the_server_refuses_every_token_on_a_corrupt_file_and_logs_it() {
    use std::io::{BufRead, BufReader, Read};
    let (_dir, db) = database();
    let token = ok(&["token", "create", "--role", "analyst"], &db)
        .trim()
        .to_owned();
    let mut server = Server(
        bin()
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(&db)
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("serve starts"),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listening line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line}"))
        .to_owned();
    assert_eq!(status(&addr, &token), 200);
    let path = db.join("tokens.json");
    let good = std::fs::read_to_string(&path).expect("tokens.json");
    let broken = db.join("broken.json");
    std::fs::write(&broken, format!("{good}}}")).expect("write");
    std::fs::rename(&broken, &path).expect("rename");
    assert_eq!(status(&addr, &token), 401, "fails closed");
    assert_eq!(status(&addr, &token), 401, "fails closed");
    std::fs::write(&broken, &good).expect("write");
    std::fs::rename(&broken, &path).expect("rename");
    assert_eq!(status(&addr, &token), 200, "a restored file is read again");
    let _ = server.0.kill();
    let _ = server.0.wait();
    let mut err = String::new();
    server
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    let logged: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("tokens.json") && l.contains("corrupt"))
        .collect();
    assert_eq!(
        logged.len(),
        1,
        "logged once per version of the file:\n{err}"
    );
}
