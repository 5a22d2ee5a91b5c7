//! The audit trail: every request leaves a record, made durable before the response is sent.
//!
//! `audit.log` (in the database folder, outside sled's files) holds one JSON record per line;
//! each names the previous record's hash and carries its own, `sha256(prev + "\n" + body)`, so an
//! edited, deleted or reordered record breaks the chain. `audit.head` holds the last sequence
//! number and hash, so that cutting records off the end is detected too. (Someone able to
//! rewrite both files consistently defeats any local check; `qinglian audit verify` prints the
//! head hash so that it can be recorded elsewhere.)
//!
//! Records are written by one thread that takes every record waiting, writes them, fsyncs
//! once, updates the head and only then releases the requests: concurrent requests share an
//! fsync instead of queueing on one each.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// What a request contributes to its record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// Unix milliseconds.
    pub ts: u64,
    /// Token id ("" when the token was not accepted).
    pub token_id: String,
    /// Role ("" when unauthenticated).
    pub role: String,
    /// HTTP method.
    pub method: String,
    /// Route name.
    pub route: String,
    /// Request path.
    pub path: String,
    /// Query parameters and request body (bounded).
    pub params: serde_json::Value,
    /// X-Case-Id.
    pub case: String,
    /// X-Purpose.
    pub purpose: String,
    /// HTTP status returned.
    pub status: u16,
    /// Ids returned (at most 100), their count, and the SHA-256 of all of them.
    pub result: serde_json::Value,
}

#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    prev: &'a str,
    entry: &'a Entry,
}

/// A record as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// 1-based position.
    pub seq: u64,
    /// The previous record's hash ("" for the first).
    pub prev: String,
    /// The request.
    pub entry: Entry,
    /// sha256(prev + "\n" + JSON of {seq, prev, entry}).
    pub hash: String,
}

fn hash_of(seq: u64, prev: &str, entry: &Entry) -> String {
    let body = serde_json::to_string(&Hashed { seq, prev, entry }).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(body.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

type Reply = tokio::sync::oneshot::Sender<Result<u64, String>>;

/// A handle to the writer thread.
#[derive(Debug, Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<(Entry, Reply)>,
}

/// The files of the audit trail in a database folder.
pub fn paths(db: &Path) -> (PathBuf, PathBuf) {
    (db.join("audit.log"), db.join("audit.head"))
}

impl AuditLog {
    /// Opens (or creates) the log and starts the writer thread. Refuses a log whose chain is
    /// broken: an accountable server does not write on top of a tampered trail.
    pub fn open(db: &Path) -> Result<AuditLog, String> {
        let (log_path, head_path) = paths(db);
        let report = verify(db).map_err(|e| {
            format!("the audit trail does not verify ({e}); run `qinglian audit verify`")
        })?;
        let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| io(&log_path, e))?;
        let mut head = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&head_path)
            .map_err(|e| io(&head_path, e))?;
        let (tx, rx) = mpsc::channel::<(Entry, Reply)>();
        let (mut seq, mut last) = (report.records, report.last_hash);
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while let Ok(more) = rx.try_recv() {
                        batch.push(more);
                        if batch.len() >= 4096 {
                            break;
                        }
                    }
                    let (s0, l0) = (seq, last.clone());
                    let mut text = String::new();
                    let mut seqs = Vec::with_capacity(batch.len());
                    for (e, _) in &batch {
                        seq += 1;
                        let h = hash_of(seq, &last, e);
                        let rec = Record {
                            seq,
                            prev: last.clone(),
                            entry: e.clone(),
                            hash: h.clone(),
                        };
                        text.push_str(&serde_json::to_string(&rec).unwrap_or_default());
                        text.push('\n');
                        last = h;
                        seqs.push(seq);
                    }
                    let result = log
                        .write_all(text.as_bytes())
                        .and_then(|()| log.sync_data())
                        .and_then(|()| head.seek(std::io::SeekFrom::Start(0)).map(|_| ()))
                        .and_then(|()| head.write_all(format!("{seq:020} {last}\n").as_bytes()))
                        .and_then(|()| head.sync_data());
                    match result {
                        Ok(()) => {
                            for ((_, reply), s) in batch.into_iter().zip(seqs) {
                                let _ = reply.send(Ok(s));
                            }
                        }
                        Err(e) => {
                            // Nothing is acknowledged; the next batch continues the chain from
                            // what is known to be on disk.
                            seq = s0;
                            last = l0;
                            for (_, reply) in batch {
                                let _ = reply.send(Err(e.to_string()));
                            }
                        }
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(AuditLog { tx })
    }

    /// Appends a record and waits until it is on disk. Returns its sequence number.
    pub async fn append(&self, e: Entry) -> Result<u64, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send((e, tx))
            .map_err(|_| "the audit writer has stopped".to_owned())?;
        rx.await
            .map_err(|_| "the audit writer has stopped".to_owned())?
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Records in the chain.
    pub records: u64,
    /// The last record's hash ("" when empty).
    pub last_hash: String,
}

/// Checks the whole chain and the head: any edited, deleted, reordered or cut-off record is an
/// error naming the first bad line.
pub fn verify(db: &Path) -> Result<Report, String> {
    let (log_path, head_path) = paths(db);
    let mut last = String::new();
    let mut n = 0u64;
    let mut hashes: Vec<String> = Vec::new();
    if let Ok(f) = std::fs::File::open(&log_path) {
        for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
            let line = line.map_err(|e| format!("audit.log:{}: {e}", i + 1))?;
            let rec: Record = serde_json::from_str(&line)
                .map_err(|e| format!("audit.log:{}: not a record ({e})", i + 1))?;
            if rec.seq != n + 1 {
                return Err(format!(
                    "audit.log:{}: record {} where {} was expected (deleted or reordered records)",
                    i + 1,
                    rec.seq,
                    n + 1
                ));
            }
            if rec.prev != last {
                return Err(format!("audit.log:{}: record {} does not follow the previous record (deleted or reordered records)", i + 1, rec.seq));
            }
            if hash_of(rec.seq, &rec.prev, &rec.entry) != rec.hash {
                return Err(format!(
                    "audit.log:{}: record {} was altered (its hash does not match its content)",
                    i + 1,
                    rec.seq
                ));
            }
            last = rec.hash;
            hashes.push(last.clone());
            n += 1;
        }
    }
    let head = std::fs::read_to_string(&head_path).unwrap_or_default();
    let head = head.trim();
    if !head.is_empty() {
        let (s, h) = head.split_once(' ').ok_or("audit.head: unreadable")?;
        let s: u64 = s.parse().map_err(|_| "audit.head: unreadable")?;
        if s > n {
            return Err(format!(
                "audit.log was cut: the head records {s} records, the log holds {n}"
            ));
        }
        if s > 0 && hashes.get(s as usize - 1).map(String::as_str) != Some(h) {
            return Err(format!("audit.head does not match record {s} of the log"));
        }
    } else if n > 0 {
        return Err("audit.head is missing or empty while the log has records".into());
    }
    Ok(Report {
        records: n,
        last_hash: last,
    })
}

/// The records, for the auditor's view.
pub fn read(db: &Path, offset: usize, limit: usize) -> Result<(Vec<Record>, usize), String> {
    let (log_path, _) = paths(db);
    let f = match std::fs::File::open(&log_path) {
        Ok(f) => f,
        Err(_) => return Ok((Vec::new(), 0)),
    };
    let mut out = Vec::new();
    let mut total = 0;
    for line in std::io::BufReader::new(f).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if total >= offset && out.len() < limit {
            out.push(serde_json::from_str(&line).map_err(|e| e.to_string())?);
        }
        total += 1;
    }
    Ok((out, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u64) -> Entry {
        Entry {
            ts: i,
            token_id: "t".into(),
            role: "investigator".into(),
            method: "GET".into(),
            route: "paths".into(),
            path: "/v1/paths".into(),
            params: serde_json::json!({"from": "P1"}),
            case: "C-1".into(),
            purpose: "p".into(),
            status: 200,
            result: serde_json::json!({"count": 0}),
        }
    }

    fn write(db: &Path, n: u64) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let log = AuditLog::open(db).expect("open");
        rt.block_on(async {
            for i in 0..n {
                log.append(entry(i)).await.expect("append");
            }
        });
    }

    fn lines(db: &Path) -> Vec<String> {
        std::fs::read_to_string(db.join("audit.log"))
            .expect("log")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_reopening_continues_it() {
        let d = tempfile::tempdir().expect("tempdir");
        write(d.path(), 3);
        write(d.path(), 2);
        assert_eq!(verify(d.path()).map(|r| r.records), Ok(5));
    }

    #[test]
    fn edits_deletions_reorders_and_truncation_are_detected() {
        let d = tempfile::tempdir().expect("tempdir");
        write(d.path(), 4);
        let orig = lines(d.path());
        let put = |l: &[String]| {
            std::fs::write(d.path().join("audit.log"), l.join("\n") + "\n").expect("write");
        };
        // An edit.
        let mut l = orig.clone();
        l[1] = l[1].replace("\"C-1\"", "\"C-2\"");
        put(&l);
        assert!(verify(d.path())
            .expect_err("edit")
            .contains("record 2 was altered"));
        // A deletion.
        let mut l = orig.clone();
        l.remove(1);
        put(&l);
        assert!(verify(d.path())
            .expect_err("deletion")
            .contains("record 3 where 2 was expected"));
        // A reorder.
        let mut l = orig.clone();
        l.swap(1, 2);
        put(&l);
        assert!(verify(d.path()).is_err());
        // Cutting the last record off.
        put(&orig[..3]);
        assert!(verify(d.path()).expect_err("truncation").contains("cut"));
        put(&orig);
        assert_eq!(verify(d.path()).map(|r| r.records), Ok(4));
        // A tampered trail is not written on.
        put(&orig[..3]);
        assert!(AuditLog::open(d.path()).is_err());
    }
}
