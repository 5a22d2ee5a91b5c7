//! The workbench's sessions: a bearer token exchanged once for a random session id held in an
//! HttpOnly, SameSite=Strict cookie, so that the browser never keeps the token itself.
//!
//! A session remembers its token's id (the token is re-checked on every request, so revoking
//! it ends the session), a CSRF token every state-changing request must echo in
//! `X-CSRF-Token` (synchronizer pattern: SameSite alone does not protect older browsers or
//! same-site subdomains), and the case number and purpose the investigator entered, which the
//! guard writes into the audit record of every request made in the session. Sessions live in
//! memory: a restart signs everybody out, which is the safe failure.
//!
//! One-time sign-in links (`serve --demo`) map a random code to a token id; the first use
//! consumes the code.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The cookie's name.
pub const COOKIE: &str = "ql_session";

/// Most sessions held at once: sign-ins past it drop the least recently used session, so a
/// flood of sign-ins cannot grow memory without bound.
const MAX_SESSIONS: usize = 10_000;

/// What a session knows.
#[derive(Clone, Debug)]
pub struct Session {
    /// The token it was opened with.
    pub token_id: String,
    /// Echoed in `X-CSRF-Token` by every state-changing request.
    pub csrf: String,
    /// The case number entered ("" until entered).
    pub case: String,
    /// The purpose entered.
    pub purpose: String,
    last_seen: Instant,
}

/// Every open session, and the unused one-time sign-in codes.
#[derive(Debug)]
pub struct Sessions {
    idle: Duration,
    open: Mutex<HashMap<String, Session>>,
    codes: Mutex<HashMap<String, String>>,
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::fill(&mut b[..]);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Sessions {
    /// Sessions that end after `idle` without a request.
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            idle,
            open: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
        }
    }

    /// The idle timeout.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// Opens a session for a token id; returns its id (the cookie's value).
    pub fn open(&self, token_id: &str) -> String {
        let id = random_hex(32);
        let s = Session {
            token_id: token_id.to_owned(),
            csrf: random_hex(32),
            case: String::new(),
            purpose: String::new(),
            last_seen: Instant::now(),
        };
        if let Ok(mut m) = self.open.lock() {
            let idle = self.idle;
            m.retain(|_, s| s.last_seen.elapsed() < idle);
            if m.len() >= MAX_SESSIONS {
                if let Some(k) = m
                    .iter()
                    .min_by_key(|(_, s)| s.last_seen)
                    .map(|(k, _)| k.clone())
                {
                    m.remove(&k);
                }
            }
            m.insert(id.clone(), s);
        }
        id
    }

    /// The live session of a cookie value, touched; `None` when unknown or idle too long
    /// (then it is dropped).
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut m = self.open.lock().ok()?;
        let s = m.get_mut(id)?;
        if s.last_seen.elapsed() >= self.idle {
            m.remove(id);
            return None;
        }
        s.last_seen = Instant::now();
        Some(s.clone())
    }

    /// Sets the case number and purpose of a session.
    pub fn set_case(&self, id: &str, case: &str, purpose: &str) -> bool {
        let Ok(mut m) = self.open.lock() else {
            return false;
        };
        m.get_mut(id).is_some_and(|s| {
            s.case = case.to_owned();
            s.purpose = purpose.to_owned();
            true
        })
    }

    /// Ends a session.
    pub fn close(&self, id: &str) {
        if let Ok(mut m) = self.open.lock() {
            m.remove(id);
        }
    }

    /// A one-time sign-in code for a token id.
    pub fn one_time_code(&self, token_id: &str) -> String {
        let code = random_hex(24);
        if let Ok(mut c) = self.codes.lock() {
            c.insert(code.clone(), token_id.to_owned());
        }
        code
    }

    /// The token id of a one-time code, which is used up.
    pub fn redeem(&self, code: &str) -> Option<String> {
        self.codes.lock().ok()?.remove(code)
    }
}

/// Whether a request's `X-CSRF-Token` matches the session's, compared in constant time.
pub fn csrf_ok(session: &Session, sent: &str) -> bool {
    !sent.is_empty() && bool::from(sent.as_bytes().ct_eq(session.csrf.as_bytes()))
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_codes_are_used_once() {
        let s = Sessions::new(Duration::from_millis(30));
        let id = s.open("tok1");
        let got = s.get(&id).expect("open");
        assert_eq!(got.token_id, "tok1");
        assert!(csrf_ok(&got, &got.csrf));
        assert!(!csrf_ok(&got, ""));
        assert!(!csrf_ok(&got, &"0".repeat(64)));
        assert!(s.set_case(&id, "C-1", "check"));
        assert_eq!(s.get(&id).map(|x| x.case), Some("C-1".to_owned()));
        std::thread::sleep(Duration::from_millis(40));
        assert!(s.get(&id).is_none(), "idle session ended");
        let code = s.one_time_code("tok2");
        assert_eq!(s.redeem(&code).as_deref(), Some("tok2"));
        assert_eq!(s.redeem(&code), None, "a code works once");
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = "a=1; ql_session_x=2; ql_session=abc";
        assert_eq!(cookie(h, COOKIE), Some("abc"));
        assert_eq!(cookie("x=1", COOKIE), None);
    }
}
