//! Signatures for clearances and evidence bundles: HMAC-SHA256 with the server's key
//! (`server.key` in the database folder, 32 random bytes, created on first use, mode 0600).

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::path::Path;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The server's signing key.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

impl Key {
    /// Loads the key of a database folder, creating it if needed.
    pub fn load_or_create(db: &Path) -> Result<Key, crate::Error> {
        Self::load(db).map_err(crate::Error::Key)
    }

    fn load(db: &Path) -> Result<Key, String> {
        let p = db.join("server.key");
        match std::fs::read(&p) {
            Ok(b) if b.len() == 32 => {
                let mut k = [0u8; 32];
                k.copy_from_slice(&b);
                Ok(Key(k))
            }
            Ok(_) => Err(format!("{}: not a 32-byte key", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = [0u8; 32];
                rand::fill(&mut k);
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create_new(true)
                    .write(true)
                    .open(&p)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    f.set_permissions(std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| e.to_string())?;
                }
                f.write_all(&k)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                Ok(Key(k))
            }
            Err(e) => Err(format!("{}: {e}", p.display())),
        }
    }

    /// HMAC of the canonical JSON of `v`, hex.
    pub fn sign(&self, v: &serde_json::Value) -> String {
        // HMAC accepts keys of any length: this cannot fail.
        let Ok(mut m) = <HmacSha256 as KeyInit>::new_from_slice(&self.0) else {
            return String::new();
        };
        m.update(canonical(v).as_bytes());
        m.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `sig` is this key's signature of `v` (constant-time).
    pub fn verify(&self, v: &serde_json::Value, sig: &str) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.sign(v).as_bytes().ct_eq(sig.as_bytes()))
    }

    /// A stable pseudonym for an id.
    pub fn pseudonym(&self, id: &str) -> String {
        let h = self.sign(&serde_json::Value::String(id.to_owned()));
        format!("某人-{}", &h[..8])
    }
}

/// JSON with object keys sorted at every level (serde_json's maps are sorted already) and no
/// white space: the bytes a signature and a hash cover.
pub fn canonical(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// SHA-256 of the canonical JSON, hex.
pub fn sha256(v: &serde_json::Value) -> String {
    Sha256::digest(canonical(v).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
