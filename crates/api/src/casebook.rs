//! The workbench's own durable state: what investigators decided about findings (status,
//! assignee, a dismissal's reason, comments) and their cases (title, status, assignee, attached
//! findings, notes), each change with who and when. Kept through the [`Store`] trait in its own
//! store beside the graph (`<db>/workbench`), so that the server can write it while `ingest`
//! holds the graph's lock, and a refresh of the data never touches a decision.
//!
//! Keys: `S/<finding>` the finding's current decision, `H/<finding>/<seq>` its history;
//! `C/<case>` the case, `E/<case>/<seq>` its history and notes. Sequences are 8-byte big-endian
//! so that a prefix scan returns history in order; every value stays far below the store's
//! value bound because history is one key per event.
//!
//! A dismissal (or confirmation) remembers the digest of the finding's evidence it was made on
//! (`engine::lifecycle::digest`, which ignores source rows and load numbers): on later screens
//! the finding stays dismissed while the digest is the same, and is shown open again, marked
//! `stale`, once its evidence changed — adjudicated false positives stay quiet, new facts do
//! not.

use qinglian_store::{Batch, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// Most findings one case holds.
pub const MAX_CASE_FINDINGS: usize = 1000;
/// Longest case number.
pub const MAX_CASE_NUMBER: usize = 64;
/// Longest title, reason, assignee or note, in characters.
pub const MAX_TEXT: usize = 2000;

/// Who and when.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Stamp {
    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub at: String,
    /// The token id.
    pub by: String,
}

/// A finding's decision.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Decision {
    /// open, confirmed or dismissed.
    pub status: String,
    /// Who works on it.
    pub assignee: Option<String>,
    /// Why it was dismissed.
    pub reason: Option<String>,
    /// Hex digest of the evidence the status was set on.
    pub digest: Option<String>,
    /// The last change.
    pub updated: Option<Stamp>,
}

/// One change of a finding or a case.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Who and when.
    #[serde(flatten)]
    pub stamp: Stamp,
    /// What changed, in words (`status dismissed`, `assignee 王五`, `attached 3 findings`).
    pub what: String,
    /// A comment or note, when the change carried one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A case.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Case {
    /// The case number (as entered; also what requests name in `X-Case-Id`).
    pub number: String,
    /// Title.
    pub title: String,
    /// open or closed.
    pub status: String,
    /// Who works on it.
    pub assignee: Option<String>,
    /// Created by, when.
    pub created: Stamp,
    /// Attached finding ids, in the order attached.
    pub findings: Vec<String>,
}

/// Why a change was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// Bad input: the message says which field.
    #[error("{0}")]
    Invalid(String),
    /// No such case.
    #[error("no case numbered {0:?}")]
    NoCase(String),
    /// No finding with that id in the current screening.
    #[error("no finding with id {0:?} in the current screening")]
    NoFinding(String),
    /// A case with that number exists.
    #[error("a case numbered {0:?} exists")]
    Exists(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored value could not be read.
    #[error("workbench store: {0}")]
    Corrupt(String),
}

/// A change of a finding's decision.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionChange {
    /// open, confirmed or dismissed (dismissed needs a reason).
    pub status: Option<String>,
    /// Assignee ("" clears).
    pub assignee: Option<String>,
    /// The dismissal's reason.
    pub reason: Option<String>,
    /// A comment.
    pub comment: Option<String>,
}

/// A change of a case.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseChange {
    /// open or closed.
    pub status: Option<String>,
    /// Assignee ("" clears).
    pub assignee: Option<String>,
    /// A note.
    pub note: Option<String>,
    /// Findings to attach.
    #[serde(default)]
    pub attach: Vec<String>,
    /// Findings to detach.
    #[serde(default)]
    pub detach: Vec<String>,
}

/// The workbench store.
pub struct Casebook {
    store: Box<dyn Store>,
    /// Serialises writers: history sequence numbers are read, then written.
    write: Mutex<()>,
}

impl std::fmt::Debug for Casebook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Casebook")
    }
}

fn text(field: &str, v: &str, max: usize) -> Result<String, CaseError> {
    let v = v.trim();
    if v.chars().count() > max {
        return Err(CaseError::Invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(CaseError::Invalid(format!(
            "{field} holds a control character"
        )));
    }
    Ok(v.to_owned())
}

/// A case number: 1 to [`MAX_CASE_NUMBER`] printable characters, none of `/ ? # %`, so
/// that it is one clean segment of a URL.
pub fn case_number(v: &str) -> Result<String, CaseError> {
    let n = text("number", v, MAX_CASE_NUMBER)?;
    if n.is_empty() || n != v || n.contains(['/', '?', '#', '%', '\n']) {
        return Err(CaseError::Invalid(
            "number must be 1 to 64 printable characters without spaces around it and without / ? # %"
                .into(),
        ));
    }
    Ok(n)
}

fn optional(field: &str, v: Option<&str>) -> Result<Option<String>, CaseError> {
    v.map(|s| text(field, s, MAX_TEXT))
        .transpose()
        .map(|o| o.filter(|s| !s.is_empty()))
}

fn key(prefix: &str, id: &str) -> Vec<u8> {
    format!("{prefix}/{id}").into_bytes()
}

fn seq_key(prefix: &str, id: &str, seq: u64) -> Vec<u8> {
    let mut k = key(prefix, id);
    k.push(b'/');
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

impl Casebook {
    /// The workbench over a store.
    pub fn new(store: Box<dyn Store>) -> Casebook {
        Casebook {
            store,
            write: Mutex::new(()),
        }
    }

    fn read<T: serde::de::DeserializeOwned>(&self, k: &[u8]) -> Result<Option<T>, CaseError> {
        self.store
            .get(k)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| CaseError::Corrupt(e.to_string())))
            .transpose()
    }

    fn history(&self, prefix: &str, id: &str) -> Result<Vec<Event>, CaseError> {
        let mut p = key(prefix, id);
        p.push(b'/');
        let mut out = Vec::new();
        for kv in self.store.scan_prefix(&p) {
            let (_, v) = kv?;
            out.push(serde_json::from_slice(&v).map_err(|e| CaseError::Corrupt(e.to_string()))?);
        }
        Ok(out)
    }

    fn put<T: Serialize>(b: &mut Batch, k: Vec<u8>, v: &T) -> Result<(), CaseError> {
        let bytes = serde_json::to_vec(v).map_err(|e| CaseError::Corrupt(e.to_string()))?;
        b.put(k, bytes)?;
        Ok(())
    }

    /// A finding's decision (default: open) and its history.
    pub fn decision(&self, finding: &str) -> Result<(Decision, Vec<Event>), CaseError> {
        let d = self.read(&key("S", finding))?.unwrap_or_else(|| Decision {
            status: "open".into(),
            ..Decision::default()
        });
        Ok((d, self.history("H", finding)?))
    }

    /// Every finding with a stored decision.
    pub fn decisions(&self) -> Result<Vec<(String, Decision)>, CaseError> {
        let mut out = Vec::new();
        for kv in self.store.scan_prefix(b"S/") {
            let (k, v) = kv?;
            let id = String::from_utf8_lossy(&k[2..]).into_owned();
            let d = serde_json::from_slice(&v).map_err(|e| CaseError::Corrupt(e.to_string()))?;
            out.push((id, d));
        }
        Ok(out)
    }

    /// Applies a change to a finding whose current evidence digest is `digest`.
    pub fn decide(
        &self,
        finding: &str,
        digest: &str,
        change: &DecisionChange,
        stamp: Stamp,
    ) -> Result<Decision, CaseError> {
        let _w = self
            .write
            .lock()
            .map_err(|_| CaseError::Corrupt("lock".into()))?;
        let (mut d, past) = self.decision(finding)?;
        let reason = optional("reason", change.reason.as_deref())?;
        let comment = optional("comment", change.comment.as_deref())?;
        let mut what = Vec::new();
        if let Some(s) = &change.status {
            if !matches!(s.as_str(), "open" | "confirmed" | "dismissed") {
                return Err(CaseError::Invalid(
                    "status must be open, confirmed or dismissed".into(),
                ));
            }
            if s == "dismissed" && reason.is_none() {
                return Err(CaseError::Invalid("a dismissal needs a reason".into()));
            }
            d.status = s.clone();
            d.reason = if s == "dismissed" {
                reason.clone()
            } else {
                None
            };
            d.digest = (s != "open").then(|| digest.to_owned());
            what.push(format!("status {s}"));
        }
        if let Some(a) = &change.assignee {
            d.assignee = optional("assignee", Some(a))?;
            what.push(format!("assignee {}", d.assignee.as_deref().unwrap_or("-")));
        }
        if what.is_empty() && comment.is_none() {
            // Nothing given (or only blank text): nothing to record.
            return Ok(d);
        }
        if what.is_empty() {
            what.push("comment".into());
        }
        d.updated = Some(stamp.clone());
        let text = match (&change.status, reason, comment) {
            (Some(s), Some(r), c) if s == "dismissed" => {
                Some(c.map_or(r.clone(), |c| format!("{r}\n{c}")))
            }
            (_, _, c) => c,
        };
        let mut b = Batch::new();
        Self::put(&mut b, key("S", finding), &d)?;
        let ev = Event {
            stamp,
            what: what.join(", "),
            text,
        };
        Self::put(&mut b, seq_key("H", finding, past.len() as u64), &ev)?;
        self.store.commit(b)?;
        Ok(d)
    }

    /// Every case, by number.
    pub fn cases(&self) -> Result<Vec<Case>, CaseError> {
        let mut out = Vec::new();
        for kv in self.store.scan_prefix(b"C/") {
            let (_, v) = kv?;
            out.push(serde_json::from_slice(&v).map_err(|e| CaseError::Corrupt(e.to_string()))?);
        }
        Ok(out)
    }

    /// A case and its history.
    pub fn case(&self, number: &str) -> Result<(Case, Vec<Event>), CaseError> {
        let c: Case = self
            .read(&key("C", number))?
            .ok_or_else(|| CaseError::NoCase(number.to_owned()))?;
        Ok((c, self.history("E", number)?))
    }

    /// Creates a case.
    pub fn create(&self, number: &str, title: &str, stamp: Stamp) -> Result<Case, CaseError> {
        let number = case_number(number)?;
        let title = text("title", title, MAX_TEXT)?;
        let _w = self
            .write
            .lock()
            .map_err(|_| CaseError::Corrupt("lock".into()))?;
        if self.store.get(&key("C", &number))?.is_some() {
            return Err(CaseError::Exists(number));
        }
        let c = Case {
            number: number.clone(),
            title,
            status: "open".into(),
            assignee: None,
            created: stamp.clone(),
            findings: Vec::new(),
        };
        let mut b = Batch::new();
        Self::put(&mut b, key("C", &number), &c)?;
        let ev = Event {
            stamp,
            what: "created".into(),
            text: None,
        };
        Self::put(&mut b, seq_key("E", &number, 0), &ev)?;
        self.store.commit(b)?;
        Ok(c)
    }

    /// Applies a change to a case; `known` says whether a finding id exists.
    pub fn change(
        &self,
        number: &str,
        ch: &CaseChange,
        known: impl Fn(&str) -> bool,
        stamp: Stamp,
    ) -> Result<Case, CaseError> {
        let _w = self
            .write
            .lock()
            .map_err(|_| CaseError::Corrupt("lock".into()))?;
        let (mut c, past) = self.case(number)?;
        let note = optional("note", ch.note.as_deref())?;
        let mut what = Vec::new();
        if let Some(s) = &ch.status {
            if !matches!(s.as_str(), "open" | "closed") {
                return Err(CaseError::Invalid("status must be open or closed".into()));
            }
            c.status = s.clone();
            what.push(format!("status {s}"));
        }
        if let Some(a) = &ch.assignee {
            c.assignee = optional("assignee", Some(a))?;
            what.push(format!("assignee {}", c.assignee.as_deref().unwrap_or("-")));
        }
        if ch
            .detach
            .iter()
            .chain(&ch.attach)
            .any(|f| f.is_empty() || f.chars().count() > 256)
        {
            return Err(CaseError::Invalid(
                "attach, detach: finding ids are 1 to 256 characters".into(),
            ));
        }
        if let Some(bad) = ch.attach.iter().find(|f| !known(f)) {
            return Err(CaseError::NoFinding(bad.clone()));
        }
        let before = c.findings.len();
        for f in &ch.attach {
            if !c.findings.contains(f) {
                c.findings.push(f.clone());
            }
        }
        if c.findings.len() > MAX_CASE_FINDINGS {
            return Err(CaseError::Invalid(format!(
                "a case holds at most {MAX_CASE_FINDINGS} findings"
            )));
        }
        if c.findings.len() > before {
            what.push(format!("attached {}", c.findings[before..].join(" ")));
        }
        let had = c.findings.len();
        c.findings.retain(|f| !ch.detach.contains(f));
        if c.findings.len() < had {
            what.push(format!("detached {}", had - c.findings.len()));
        }
        if note.is_some() {
            what.push("note".into());
        }
        if what.is_empty() {
            return Ok(c);
        }
        let mut b = Batch::new();
        Self::put(&mut b, key("C", number), &c)?;
        let ev = Event {
            stamp,
            what: what.join(", "),
            text: note,
        };
        Self::put(&mut b, seq_key("E", number, past.len() as u64), &ev)?;
        self.store.commit(b)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qinglian_store::MemStore;

    fn stamp(by: &str) -> Stamp {
        Stamp {
            at: "2026-11-30 12:00:00 UTC".into(),
            by: by.into(),
        }
    }

    #[test]
    fn a_dismissal_needs_a_reason_and_keeps_its_digest() {
        let cb = Casebook::new(Box::new(MemStore::default()));
        let dismiss = DecisionChange {
            status: Some("dismissed".into()),
            ..Default::default()
        };
        assert!(matches!(
            cb.decide("f1", "d1", &dismiss, stamp("t1")),
            Err(CaseError::Invalid(_))
        ));
        let with_reason = DecisionChange {
            reason: Some("same person, two records".into()),
            ..dismiss
        };
        let d = cb
            .decide("f1", "d1", &with_reason, stamp("t1"))
            .expect("casebook");
        assert_eq!(d.status, "dismissed");
        assert_eq!(d.digest.as_deref(), Some("d1"));
        let comment = DecisionChange {
            comment: Some("checked the register".into()),
            ..Default::default()
        };
        cb.decide("f1", "d1", &comment, stamp("t2"))
            .expect("casebook");
        let (d, h) = cb.decision("f1").expect("casebook");
        assert_eq!(d.status, "dismissed", "a comment keeps the status");
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].stamp.by, "t2");
        assert_eq!(cb.decision("other").expect("casebook").0.status, "open");
    }

    #[test]
    fn cases_attach_known_findings_only() {
        let cb = Casebook::new(Box::new(MemStore::default()));
        cb.create("C-2026-001", "亲属中标", stamp("t1"))
            .expect("casebook");
        assert!(matches!(
            cb.create("C-2026-001", "again", stamp("t1")),
            Err(CaseError::Exists(_))
        ));
        assert!(cb.create("a/b", "x", stamp("t1")).is_err());
        let known = |f: &str| f.starts_with('f');
        let attach = CaseChange {
            attach: vec!["f1".into(), "f2".into()],
            ..Default::default()
        };
        let c = cb
            .change("C-2026-001", &attach, known, stamp("t1"))
            .expect("casebook");
        assert_eq!(c.findings, ["f1", "f2"]);
        let bad = CaseChange {
            attach: vec!["zzz".into()],
            ..Default::default()
        };
        assert!(matches!(
            cb.change("C-2026-001", &bad, known, stamp("t1")),
            Err(CaseError::NoFinding(_))
        ));
        let note = CaseChange {
            note: Some("called the registry".into()),
            detach: vec!["f1".into()],
            ..Default::default()
        };
        let c = cb
            .change("C-2026-001", &note, known, stamp("t2"))
            .expect("casebook");
        assert_eq!(c.findings, ["f2"]);
        let (_, h) = cb.case("C-2026-001").expect("casebook");
        assert_eq!(h.len(), 3);
        assert_eq!(h[2].text.as_deref(), Some("called the registry"));
        assert!(matches!(cb.case("nope"), Err(CaseError::NoCase(_))));
    }
}
