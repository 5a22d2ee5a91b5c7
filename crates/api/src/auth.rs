//! Who may call what: bearer tokens stored as digests, roles, and the one authorisation
//! function.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// A caller's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Full detail of case data.
    Investigator,
    /// Case data with relatives' names pseudonymised; no personal-data export.
    Analyst,
    /// Tokens and loads; no case data.
    Admin,
    /// The audit log only.
    Auditor,
}

impl Role {
    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "investigator" => Some(Role::Investigator),
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }

    /// Name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Investigator => "investigator",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Investigator,
        Role::Analyst,
        Role::Admin,
        Role::Auditor,
    ];
}

/// Every authenticated route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// GET /v1/openapi.json
    OpenApi,
    /// GET /v1/entities
    Search,
    /// GET /v1/entities/{id}
    Entity,
    /// GET /v1/paths
    Paths,
    /// POST /v1/screen
    Screen,
    /// GET /v1/findings
    Findings,
    /// GET /v1/alerts
    Alerts,
    /// GET /v1/officials/{id}/risk
    OfficialRisk,
    /// GET /v1/subgraph
    Subgraph,
    /// GET /v1/declarations/sample, GET /v1/officials/{id}/declarations
    Declarations,
    /// POST /v1/evidence/{finding}
    Evidence,
    /// POST /v1/clearances/verify
    VerifyClearance,
    /// GET/POST/DELETE /v1/admin/tokens
    Tokens,
    /// GET /v1/admin/loads
    Loads,
    /// GET /v1/audit, GET /v1/audit/verify
    Audit,
    /// GET /v1/findings/summary: the dashboard's counts
    Summary,
    /// POST /v1/findings/{id}/state: status, assignee, dismissal reason, comment
    Triage,
    /// GET /v1/cases, GET /v1/cases/{number}
    Cases,
    /// POST /v1/cases, POST /v1/cases/{number}
    CaseEdit,
    /// GET /v1/cases/{number}/audit: who looked at what for one case
    CaseAudit,
    /// GET/POST /ui/session, POST /ui/session/case, POST /ui/session/end
    Session,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 21] = [
        Route::OpenApi,
        Route::Search,
        Route::Entity,
        Route::Paths,
        Route::Screen,
        Route::Findings,
        Route::Alerts,
        Route::OfficialRisk,
        Route::Subgraph,
        Route::Declarations,
        Route::Evidence,
        Route::VerifyClearance,
        Route::Tokens,
        Route::Loads,
        Route::Audit,
        Route::Summary,
        Route::Triage,
        Route::Cases,
        Route::CaseEdit,
        Route::CaseAudit,
        Route::Session,
    ];

    /// Name in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::OpenApi => "openapi",
            Route::Search => "entities.search",
            Route::Entity => "entities.get",
            Route::Paths => "paths",
            Route::Screen => "screen",
            Route::Findings => "findings",
            Route::Alerts => "alerts",
            Route::OfficialRisk => "officials.risk",
            Route::Subgraph => "subgraph",
            Route::Declarations => "declarations",
            Route::Evidence => "evidence",
            Route::VerifyClearance => "clearances.verify",
            Route::Tokens => "admin.tokens",
            Route::Loads => "admin.loads",
            Route::Audit => "audit",
            Route::Summary => "findings.summary",
            Route::Triage => "findings.state",
            Route::Cases => "cases.get",
            Route::CaseEdit => "cases.edit",
            Route::CaseAudit => "cases.audit",
            Route::Session => "ui.session",
        }
    }

    /// Whether the route returns personal data (and so needs a case number and purpose).
    pub fn personal(self) -> bool {
        matches!(
            self,
            Route::Search
                | Route::Entity
                | Route::Paths
                | Route::Screen
                | Route::Findings
                | Route::Alerts
                | Route::OfficialRisk
                | Route::Subgraph
                | Route::Declarations
                | Route::Evidence
                | Route::Summary
                | Route::Triage
                | Route::Cases
                | Route::CaseEdit
        )
    }
}

/// The one authorisation decision: deny unless listed.
#[allow(clippy::match_like_matches_macro)] // a table, one row per role, reads better than one long pattern
pub fn authorize(role: Role, route: Route) -> bool {
    use Role::*;
    use Route::*;
    match (role, route) {
        (_, OpenApi | Session) => true,
        (
            Investigator,
            Search | Entity | Paths | Screen | Findings | Alerts | OfficialRisk | Subgraph
            | Declarations | Evidence | VerifyClearance | Summary | Triage | Cases | CaseEdit
            | CaseAudit,
        ) => true,
        (
            Analyst,
            Search | Entity | Paths | Screen | Findings | Alerts | OfficialRisk | VerifyClearance
            | Summary,
        ) => true,
        (Admin, Tokens | Loads) => true,
        (Auditor, Audit | VerifyClearance | CaseAudit) => true,
        _ => false,
    }
}

/// A stored token: never the secret, only its digest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TokenRecord {
    /// Public id (also the token's prefix).
    pub id: String,
    /// Role.
    pub role: Role,
    /// SHA-256 of the secret, hex.
    pub digest: String,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds; no access after.
    pub expires: u64,
    /// Revoked tokens stay listed.
    pub revoked: bool,
    /// What it is for.
    pub note: String,
}

#[derive(Debug, Default, Deserialize)]
struct TokenFile {
    tokens: Vec<TokenRecord>,
}

/// [`TokenFile`] as written, without copying the records.
#[derive(Serialize)]
struct TokenFileRef<'a> {
    tokens: &'a [TokenRecord],
}

/// Why a bearer token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No or malformed Authorization header.
    Missing,
    /// Unknown id or wrong secret.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

/// Tokens in `tokens.json` in the database folder, re-read when the file changes so that a
/// revocation by `qinglian token revoke` takes effect on the running server at once.
///
/// Any number of processes (the CLI, the server) may use one folder at once. A change
/// ([`create`](Self::create), [`revoke`](Self::revoke)) holds an exclusive lock on
/// `tokens.lock` in the folder while it reads the file, changes it, writes the new version to a
/// temporary file of its own, syncs it, renames it over `tokens.json` and syncs the folder: no
/// change is lost to another, and a change is on disk before it returns. Readers take no lock;
/// the rename means they see the old file or the new one, never part of one. A token file that
/// is not valid JSON is reported with its path and never overwritten; meanwhile
/// [`check`](Self::check) refuses every token (and logs why, once per version of the file).
#[derive(Debug)]
pub struct TokenStore {
    dir: PathBuf,
    path: PathBuf,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    /// The version of the file `tokens` was read from; `None`: read again (no file yet).
    stamp: Option<FileStamp>,
    tokens: Vec<TokenRecord>,
    /// The version of the file last logged as unreadable, so a broken file is logged once
    /// rather than on every request.
    reported: Option<Option<FileStamp>>,
}

/// What identifies a version of the token file. Every write replaces the file by rename, so
/// the inode changes even when two writes fall within one tick of the file system's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    modified: Option<std::time::SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(p: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(p).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some(FileStamp {
        modified: m.modified().ok(),
        len: m.len(),
        inode,
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// SHA-256 of a secret, hex.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// How long a change waits for another process's change before giving up with an error
/// (rather than hanging, say, behind a stopped process).
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Creates `path` (which must not exist), readable only by its owner, writes `bytes` and syncs.
fn write_new_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir; // no way to open a directory; the rename is as durable as the platform makes it
    Ok(())
}

impl TokenStore {
    /// The token file of a database folder.
    pub fn new(db: &Path) -> TokenStore {
        let dir = if db.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            db.to_path_buf()
        };
        TokenStore {
            path: dir.join("tokens.json"),
            dir,
            cache: Mutex::new(Cache::default()),
        }
    }

    fn read(&self) -> Result<Vec<TokenRecord>, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(t) => serde_json::from_str::<TokenFile>(&t)
                .map(|f| f.tokens)
                .map_err(|e| {
                    format!(
                        "{}: corrupt token file ({e}); no token is accepted until it is \
                         repaired or restored",
                        self.path.display()
                    )
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(format!("{}: {e}", self.path.display())),
        }
    }

    /// The exclusive lock that serialises changes to the token file across processes; held
    /// until the returned file is dropped.
    fn lock(&self) -> Result<File, String> {
        let path = self.dir.join("tokens.lock");
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let f = o
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match f.try_lock() {
                Ok(()) => return Ok(f),
                Err(TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(format!(
                        "{}: another process has held the token lock for {}s; try again",
                        path.display(),
                        LOCK_WAIT.as_secs()
                    ))
                }
                Err(TryLockError::Error(e)) => {
                    return Err(format!("{}: cannot lock: {e}", path.display()))
                }
            }
        }
    }

    /// Reads the file, lets `change` edit the records and, if it says it changed them,
    /// replaces the file; all under the lock, so that no other process's change falls between
    /// the read and the write.
    fn modify<T>(
        &self,
        change: impl FnOnce(&mut Vec<TokenRecord>) -> (T, bool),
    ) -> Result<T, String> {
        let _lock = self.lock()?;
        let mut all = self.read()?;
        let (out, changed) = change(&mut all);
        if changed {
            self.replace(&all)?;
        }
        Ok(out)
    }

    /// Replaces the file: a temporary file of this call's own, synced, renamed over the token
    /// file, then the folder synced. Call only under the lock.
    fn replace(&self, tokens: &[TokenRecord]) -> Result<(), String> {
        let text = serde_json::to_string_pretty(&TokenFileRef { tokens })
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let mut nonce = [0u8; 8];
        rand::fill(&mut nonce);
        let tmp = self.dir.join(format!(
            ".tokens.json.{}.{}.tmp",
            std::process::id(),
            hex(&nonce)
        ));
        let written = write_new_synced(&tmp, text.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("{}: {e}", self.path.display()));
        }
        sync_dir(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))
    }

    /// Every token record.
    pub fn list(&self) -> Result<Vec<TokenRecord>, crate::Error> {
        self.list_records().map_err(crate::Error::Tokens)
    }

    fn list_records(&self) -> Result<Vec<TokenRecord>, String> {
        self.read()
    }

    /// Creates a token; returns its record and the token, which is shown once and never
    /// stored. The record is on disk when this returns.
    ///
    /// `days` is the lifetime from now, in whole days, saturating at the end of time; 0 makes
    /// a token that expires within the second. Bounding it (and refusing a negative or absurd
    /// request) is the caller's job.
    pub fn create(
        &self,
        role: Role,
        days: u64,
        note: &str,
    ) -> Result<(TokenRecord, String), crate::Error> {
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let secret = hex(&secret);
        let done = self.modify(|all| {
            // 48 random bits: a clash is all but impossible, but cheap to rule out here.
            let id = loop {
                let mut id = [0u8; 6];
                rand::fill(&mut id);
                let id = hex(&id);
                if !all.iter().any(|t| t.id == id) {
                    break id;
                }
            };
            let created = now();
            let rec = TokenRecord {
                id: id.clone(),
                role,
                digest: digest(&secret),
                created,
                expires: created.saturating_add(days.saturating_mul(86_400)),
                revoked: false,
                note: note.to_owned(),
            };
            all.push(rec.clone());
            ((rec, format!("qlt_{id}_{secret}")), true)
        });
        done.map_err(crate::Error::Tokens)
    }

    /// Revokes a token by id; `Ok(false)` if there is none. When this returns `Ok(true)` the
    /// revocation is on disk (renamed into place and the folder synced), every later
    /// [`check`](Self::check) in any process refuses the token, and no concurrent change can
    /// undo it.
    pub fn revoke(&self, id: &str) -> Result<bool, crate::Error> {
        self.revoke_record(id).map_err(crate::Error::Tokens)
    }

    fn revoke_record(&self, id: &str) -> Result<bool, String> {
        self.modify(|all| {
            let mut found = false;
            for t in all.iter_mut().filter(|t| t.id == id) {
                t.revoked = true;
                found = true;
            }
            (found, found)
        })
    }

    /// The record of a token id that is still good (a session's token: revoked or expired
    /// since sign-in ends the session at its next request).
    pub fn check_id(&self, id: &str) -> Result<TokenRecord, Denied> {
        let records = self.current().map_err(|_| Denied::Invalid)?;
        let rec = records.iter().find(|r| r.id == id).ok_or(Denied::Invalid)?;
        if rec.revoked {
            return Err(Denied::Revoked);
        }
        if now() > rec.expires {
            return Err(Denied::Expired);
        }
        Ok(rec.clone())
    }

    /// Checks a bearer token: `qlt_<id>_<secret>`. The secret's digest is compared in
    /// constant time. An unreadable or corrupt token file refuses every token (logged).
    pub fn check(&self, token: &str) -> Result<TokenRecord, Denied> {
        let mut parts = token.splitn(3, '_');
        let (Some("qlt"), Some(id), Some(secret)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Denied::Invalid);
        };
        let records = self.current().map_err(|_| Denied::Invalid)?;
        let Some(rec) = records.iter().find(|r| r.id == id) else {
            // Spend the same work as a real comparison.
            let _ = digest(secret).as_bytes().ct_eq(digest("").as_bytes());
            return Err(Denied::Invalid);
        };
        if !bool::from(digest(secret).as_bytes().ct_eq(rec.digest.as_bytes())) {
            return Err(Denied::Invalid);
        }
        if rec.revoked {
            return Err(Denied::Revoked);
        }
        if now() > rec.expires {
            return Err(Denied::Expired);
        }
        Ok(rec.clone())
    }

    /// The records, re-read if the file changed. On an error the cache is left as it was
    /// (the caller refuses the token) and the error is logged once per version of the file.
    fn current(&self) -> Result<Vec<TokenRecord>, String> {
        let now = stamp(&self.path);
        let mut c = self.cache.lock().map_err(|_| {
            tracing::error!("token cache poisoned; refusing tokens");
            "token cache poisoned".to_owned()
        })?;
        if c.stamp.is_none() || c.stamp != now {
            match self.read() {
                Ok(tokens) => {
                    c.stamp = now;
                    c.tokens = tokens;
                    c.reported = None;
                }
                Err(e) => {
                    if c.reported != Some(now) {
                        tracing::error!("{e}");
                        c.reported = Some(now);
                    }
                    return Err(e);
                }
            }
        }
        Ok(c.tokens.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_as_digests_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = TokenStore::new(dir.path());
        let (rec, token) = s.create(Role::Analyst, 30, "test").expect("create");
        let file = std::fs::read_to_string(dir.path().join("tokens.json")).expect("file");
        assert!(
            !file.contains(token.rsplit('_').next().expect("secret")),
            "the secret is never stored"
        );
        assert_eq!(token.len(), 4 + 12 + 1 + 64, "256-bit secret");
        assert_eq!(s.check(&token).map(|r| r.role), Ok(Role::Analyst));
        assert_eq!(s.check(&format!("{token}x")), Err(Denied::Invalid));
        assert_eq!(s.check("qlt_nope_abc"), Err(Denied::Invalid));
        assert_eq!(s.check("Bearer"), Err(Denied::Invalid));
        assert!(s.revoke(&rec.id).expect("revoke"));
        assert_eq!(s.check(&token), Err(Denied::Revoked));
        let (_, zero) = s.create(Role::Admin, 0, "expired").expect("create");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(s.check(&zero), Err(Denied::Expired));
    }

    #[test]
    fn changes_from_many_stores_at_once_are_all_kept() {
        // Separate stores on one folder lock one another out as separate processes do.
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = TokenStore::new(dir.path())
            .create(Role::Admin, 1, "victim")
            .expect("create");
        let made: Vec<String> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let st = TokenStore::new(dir.path());
                        (0..20)
                            .map(|_| st.create(Role::Analyst, 1, "").expect("create").1)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            assert_eq!(
                TokenStore::new(dir.path()).revoke(&victim.0.id).ok(),
                Some(true)
            );
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("worker"))
                .collect()
        });
        let s = TokenStore::new(dir.path());
        assert_eq!(s.list().expect("list").len(), 81);
        for t in &made {
            assert!(s.check(t).is_ok(), "{t}");
        }
        assert_eq!(s.check(&victim.1), Err(Denied::Revoked));
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| n == "tokens.json" || n == "tokens.lock"),
            "{names:?}"
        );
        assert_eq!(s.revoke("nope").ok(), Some(false));
    }

    #[test]
    fn a_corrupt_token_file_is_named_kept_and_denies_every_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = TokenStore::new(dir.path());
        let (rec, token) = s.create(Role::Analyst, 30, "").expect("create");
        assert!(s.check(&token).is_ok());
        let path = dir.path().join("tokens.json");
        let good = std::fs::read_to_string(&path).expect("file");
        let bad = format!("{good}\n}}");
        std::fs::write(&path, &bad).expect("write");
        assert_eq!(s.check(&token), Err(Denied::Invalid), "fails closed");
        for e in [
            s.list().map(|_| ()),
            s.create(Role::Admin, 1, "").map(|_| ()),
            s.revoke(&rec.id).map(|_| ()),
        ] {
            let e = e.expect_err("a corrupt file is an error").to_string();
            assert!(e.contains(&path.display().to_string()), "{e}");
            assert!(e.contains("corrupt"), "{e}");
        }
        assert_eq!(std::fs::read_to_string(&path).expect("file"), bad);
        // Restored, it is read again.
        std::fs::write(&path, &good).expect("write");
        assert_eq!(s.check(&token).map(|r| r.id), Ok(rec.id));
    }

    #[test]
    fn the_role_route_matrix_denies_by_default() {
        // The table of what each role may do; any change to `authorize` must change this.
        let allowed = |r: Role| -> Vec<Route> {
            Route::ALL
                .iter()
                .copied()
                .filter(|x| authorize(r, *x))
                .collect()
        };
        use Route::*;
        assert_eq!(
            allowed(Role::Investigator),
            vec![
                OpenApi,
                Search,
                Entity,
                Paths,
                Screen,
                Findings,
                Alerts,
                OfficialRisk,
                Subgraph,
                Declarations,
                Evidence,
                VerifyClearance,
                Summary,
                Triage,
                Cases,
                CaseEdit,
                CaseAudit,
                Session
            ]
        );
        assert_eq!(
            allowed(Role::Analyst),
            vec![
                OpenApi,
                Search,
                Entity,
                Paths,
                Screen,
                Findings,
                Alerts,
                OfficialRisk,
                VerifyClearance,
                Summary,
                Session
            ]
        );
        assert_eq!(allowed(Role::Admin), vec![OpenApi, Tokens, Loads, Session]);
        assert_eq!(
            allowed(Role::Auditor),
            vec![OpenApi, VerifyClearance, Audit, CaseAudit, Session]
        );
    }
}
