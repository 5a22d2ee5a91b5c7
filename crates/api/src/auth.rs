//! Who may call what: bearer tokens stored as digests, roles, and the one authorisation
//! function.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
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
    /// GET /v1/officials/{id}/risk
    OfficialRisk,
    /// GET /v1/subgraph
    Subgraph,
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
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 13] = [
        Route::OpenApi,
        Route::Search,
        Route::Entity,
        Route::Paths,
        Route::Screen,
        Route::Findings,
        Route::OfficialRisk,
        Route::Subgraph,
        Route::Evidence,
        Route::VerifyClearance,
        Route::Tokens,
        Route::Loads,
        Route::Audit,
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
            Route::OfficialRisk => "officials.risk",
            Route::Subgraph => "subgraph",
            Route::Evidence => "evidence",
            Route::VerifyClearance => "clearances.verify",
            Route::Tokens => "admin.tokens",
            Route::Loads => "admin.loads",
            Route::Audit => "audit",
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
                | Route::OfficialRisk
                | Route::Subgraph
                | Route::Evidence
        )
    }
}

/// The one authorisation decision: deny unless listed.
#[allow(clippy::match_like_matches_macro)] // a table, one row per role, reads better than one long pattern
pub fn authorize(role: Role, route: Route) -> bool {
    use Role::*;
    use Route::*;
    match (role, route) {
        (_, OpenApi) => true,
        (
            Investigator,
            Search | Entity | Paths | Screen | Findings | OfficialRisk | Subgraph | Evidence
            | VerifyClearance,
        ) => true,
        (Analyst, Search | Entity | Paths | Screen | Findings | OfficialRisk | VerifyClearance) => {
            true
        }
        (Admin, Tokens | Loads) => true,
        (Auditor, Audit | VerifyClearance) => true,
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

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    tokens: Vec<TokenRecord>,
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
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    cache: Mutex<(Option<FileStamp>, Vec<TokenRecord>)>,
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

impl TokenStore {
    /// The token file of a database folder.
    pub fn new(db: &Path) -> TokenStore {
        TokenStore {
            path: db.join("tokens.json"),
            cache: Mutex::new((None, Vec::new())),
        }
    }

    fn read(&self) -> Result<Vec<TokenRecord>, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(t) => serde_json::from_str::<TokenFile>(&t)
                .map(|f| f.tokens)
                .map_err(|e| format!("{}: {e}", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(format!("{}: {e}", self.path.display())),
        }
    }

    fn write(&self, tokens: &[TokenRecord]) -> Result<(), String> {
        let text = serde_json::to_string_pretty(&TokenFile {
            tokens: tokens.to_vec(),
        })
        .map_err(|e| e.to_string())?;
        let tmp = self.path.with_extension("tmp");
        let io = |e: std::io::Error| format!("{}: {e}", self.path.display());
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    /// Every token record.
    pub fn list(&self) -> Result<Vec<TokenRecord>, String> {
        self.read()
    }

    /// Creates a token; returns its record and the token, which is shown once and never
    /// stored.
    pub fn create(
        &self,
        role: Role,
        days: u64,
        note: &str,
    ) -> Result<(TokenRecord, String), String> {
        let mut id = [0u8; 6];
        let mut secret = [0u8; 32];
        rand::fill(&mut id);
        rand::fill(&mut secret);
        let id = hex(&id);
        let secret = hex(&secret);
        let rec = TokenRecord {
            id: id.clone(),
            role,
            digest: digest(&secret),
            created: now(),
            expires: now().saturating_add(days.saturating_mul(86_400)),
            revoked: false,
            note: note.to_owned(),
        };
        let mut all = self.read()?;
        all.push(rec.clone());
        self.write(&all)?;
        Ok((rec, format!("qlt_{id}_{secret}")))
    }

    /// Revokes a token by id.
    pub fn revoke(&self, id: &str) -> Result<bool, String> {
        let mut all = self.read()?;
        let mut found = false;
        for t in all.iter_mut().filter(|t| t.id == id) {
            t.revoked = true;
            found = true;
        }
        if found {
            self.write(&all)?;
        }
        Ok(found)
    }

    /// Checks a bearer token: `qlt_<id>_<secret>`. The secret's digest is compared in
    /// constant time.
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

    fn current(&self) -> Result<Vec<TokenRecord>, String> {
        let now = stamp(&self.path);
        let mut c = self
            .cache
            .lock()
            .map_err(|_| "token cache poisoned".to_owned())?;
        if c.0.is_none() || c.0 != now {
            *c = (now, self.read()?);
        }
        Ok(c.1.clone())
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
                OfficialRisk,
                Subgraph,
                Evidence,
                VerifyClearance
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
                OfficialRisk,
                VerifyClearance
            ]
        );
        assert_eq!(allowed(Role::Admin), vec![OpenApi, Tokens, Loads]);
        assert_eq!(
            allowed(Role::Auditor),
            vec![OpenApi, VerifyClearance, Audit]
        );
    }
}
