//! The audit trail: every request leaves a record, made durable before the response is sent.
//!
//! `audit.log` (in the database folder, outside sled's files) holds one JSON record per line:
//!
//! ```text
//! {"seq":7,"prev":"<hash of record 6>","entry":{…},"hash":"<sha256>"}
//! ```
//!
//! The hash covers `prev + "\n" + B`, where `B` is **exactly the bytes of the line** up to the
//! `,"hash":` suffix, with the closing brace put back. Verification hashes those bytes as they
//! are on disk and never re-encodes a record: a record must verify whatever a request put in it
//! (a float that does not round-trip, deep nesting, any string). Entries carry only strings and
//! numbers that the server made or capped (see [`Entry`]), so every record also parses.
//!
//! `audit.head` holds the last sequence number, its hash and the log's length at that point. The
//! server checks the log from that checkpoint on when it starts (time independent of the log's
//! length); `qinglian audit verify` checks the whole chain. An edited, deleted, reordered or
//! cut-off record breaks the chain; someone able to rewrite both files consistently defeats any
//! local check, so `audit verify` prints the head hash for recording elsewhere.
//!
//! A broken trail is never written on. The operator seals it (`qinglian audit seal`): the broken
//! file is kept, renamed, and a new segment starts with a record that names the sealed file, its
//! SHA-256, how far it verified and why it was sealed (docs/api.md, "A broken audit trail").
//!
//! Records are written by one thread that takes every record waiting, writes them, fsyncs
//! once, updates the head and only then releases the requests: concurrent requests share an
//! fsync instead of queueing on one each.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// What a request contributes to its record: strings the server capped, numbers it made.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Entry {
    /// Unix milliseconds.
    pub ts: u64,
    /// The client's address ("" when unknown).
    #[serde(default)]
    pub client: String,
    /// Token id ("" when the token was not accepted).
    pub token_id: String,
    /// Role ("" when unauthenticated).
    pub role: String,
    /// HTTP method.
    pub method: String,
    /// Route name ("" when the path names no route).
    pub route: String,
    /// Request path, as sent (percent-encoded), capped.
    pub path: String,
    /// Query string, as sent (percent-encoded, so lossless), capped.
    #[serde(default)]
    pub query: String,
    /// Request body: the text when it is UTF-8, else its bytes in hex; capped.
    #[serde(default)]
    pub body: String,
    /// `utf-8`, `hex`, or "" for no body.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body_encoding: String,
    /// X-Case-Id, capped.
    pub case: String,
    /// X-Purpose, capped.
    pub purpose: String,
    /// The fields that were cut to their cap, each as `name:original_bytes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
    /// HTTP status returned.
    pub status: u16,
    /// Ids returned (at most 100), their count, and the SHA-256 of all of them; or the error
    /// code; made by the server.
    pub result: serde_json::Value,
    /// Format-1 records (before request fields were capped strings) carried the request's
    /// parameters as JSON; read, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    prev: &'a str,
    entry: &'a Entry,
}

/// A record as read back: the parsed entry when it parses (format-1 records with deep
/// parameters may not), else the line itself.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// 1-based position.
    pub seq: u64,
    /// The previous record's hash ("" for the first).
    pub prev: String,
    /// The request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
    /// The line as stored (capped to 4 KiB) when the entry could not be parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unparsed: Option<String>,
    /// Its hash.
    pub hash: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn digest(prev: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex(&h.finalize())
}

/// The line of a new record (without its newline) and its hash.
fn encode(seq: u64, prev: &str, entry: &Entry) -> Result<(String, String), String> {
    let body = serde_json::to_string(&Hashed { seq, prev, entry }).map_err(|e| e.to_string())?;
    let hash = digest(prev, body.as_bytes());
    let open = body.strip_suffix('}').ok_or("record does not end with }")?;
    Ok((format!("{open},\"hash\":\"{hash}\"}}"), hash))
}

/// A line taken apart without parsing its entry: sequence number, previous hash, own hash,
/// and whether the hash matches the bytes.
#[derive(Debug)]
struct Parsed {
    seq: u64,
    prev: String,
    hash: String,
    intact: bool,
}

const HASH_SUFFIX: &str = ",\"hash\":\"";

fn parse_line(line: &[u8]) -> Result<Parsed, &'static str> {
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8")?;
    let rest = text.strip_prefix("{\"seq\":").ok_or("not a record")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let seq: u64 = rest[..digits].parse().map_err(|_| "no sequence number")?;
    let rest = rest[digits..]
        .strip_prefix(",\"prev\":\"")
        .ok_or("not a record")?;
    let plen = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
    let prev = rest[..plen].to_owned();
    if !rest[plen..].starts_with("\",\"entry\":") {
        return Err("not a record");
    }
    let at = text.rfind(HASH_SUFFIX).ok_or("no hash")?;
    let hash = text[at + HASH_SUFFIX.len()..]
        .strip_suffix("\"}")
        .ok_or("no hash")?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("no hash");
    }
    let mut body = Vec::with_capacity(at + 1);
    body.extend_from_slice(&line[..at]);
    body.push(b'}');
    let intact = digest(&prev, &body) == hash;
    Ok(Parsed {
        seq,
        prev,
        hash: hash.to_owned(),
        intact,
    })
}

type Reply = tokio::sync::oneshot::Sender<Result<u64, String>>;

/// A handle to the writer thread.
#[derive(Debug, Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<(Entry, Reply)>,
    /// Where each record starts and each case's records: pages without reading the trail.
    index: std::sync::Arc<crate::trail::TrailIndex>,
}

/// The files of the audit trail in a database folder.
pub fn paths(db: &Path) -> (PathBuf, PathBuf) {
    (db.join("audit.log"), db.join("audit.head"))
}

/// The checkpoint in `audit.head`.
#[derive(Debug, Clone, PartialEq)]
struct Head {
    seq: u64,
    hash: String,
    /// The log's length after record `seq`; absent in format-1 heads.
    offset: Option<u64>,
}

fn read_head(p: &Path) -> Result<Option<Head>, String> {
    let text = match std::fs::read_to_string(p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", p.display())),
    };
    let mut f = text.split_whitespace();
    let (Some(seq), Some(hash)) = (f.next(), f.next()) else {
        return if text.trim().is_empty() {
            Ok(None)
        } else {
            Err("audit.head: unreadable".into())
        };
    };
    let seq = seq.parse().map_err(|_| "audit.head: unreadable")?;
    let offset = match f.next() {
        Some(o) => Some(o.parse().map_err(|_| "audit.head: unreadable")?),
        None => None,
    };
    Ok(Some(Head {
        seq,
        hash: hash.to_owned(),
        offset,
    }))
}

fn head_line(seq: u64, hash: &str, offset: u64) -> String {
    format!("{seq:020} {hash} {offset:020}\n")
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Sequence number of the last record (0 when empty).
    pub records: u64,
    /// The last record's hash ("" when empty).
    pub last_hash: String,
    /// Bytes of the log that verified.
    pub bytes: u64,
    /// Earlier segments sealed after a break, oldest last: (file, what was recorded about it).
    pub sealed: Vec<(String, String)>,
}

/// Where a full check stopped: how far the chain verified, and the problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Break {
    /// What is wrong, naming the first bad line.
    pub problem: String,
    /// Records that verified before it.
    pub good_records: u64,
    /// The hash of the last good record.
    pub good_hash: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problem)
    }
}

/// State carried along the chain while checking it.
struct Walk {
    seq: u64,
    last: String,
    bytes: u64,
    sealed: Vec<(String, String)>,
}

impl Walk {
    fn broken(&self, problem: String) -> Break {
        Break {
            problem,
            good_records: self.seq,
            good_hash: self.last.clone(),
        }
    }

    /// Checks one line (without its newline) at 1-based line number `n`.
    fn step(&mut self, db: &Path, line: &[u8], n: u64) -> Result<(), Break> {
        let p = parse_line(line)
            .map_err(|e| self.broken(format!("audit.log:{n}: {e} (not a record)")))?;
        if !p.intact {
            return Err(self.broken(format!(
                "audit.log:{n}: record {} was altered (its hash does not match its content)",
                p.seq
            )));
        }
        let first_of_segment = n == 1 && p.seq != 1;
        if first_of_segment {
            // A segment opened by `audit seal`: its first record says where the chain went.
            let what =
                seal_record(db, line).map_err(|e| self.broken(format!("audit.log:1: {e}")))?;
            self.sealed.push(what);
        } else if p.seq != self.seq + 1 {
            return Err(self.broken(format!(
                "audit.log:{n}: record {} where {} was expected (deleted or reordered records)",
                p.seq,
                self.seq + 1
            )));
        } else if p.prev != self.last {
            return Err(self.broken(format!(
                "audit.log:{n}: record {} does not follow the previous record (deleted or reordered records)",
                p.seq
            )));
        }
        self.seq = p.seq;
        self.last = p.hash;
        self.bytes += line.len() as u64 + 1;
        Ok(())
    }
}

/// The first record of a sealed-off segment: checks that the sealed file it names still has
/// the SHA-256 it recorded. Returns (file, description).
fn seal_record(db: &Path, line: &[u8]) -> Result<(String, String), String> {
    #[derive(Deserialize)]
    struct Rec {
        entry: Entry,
    }
    let r: Rec = serde_json::from_slice(line).map_err(|e| format!("not a record ({e})"))?;
    if r.entry.route != SEAL_ROUTE {
        return Err("the first record does not start the chain and is not a seal record".into());
    }
    let res = &r.entry.result;
    let file = res["sealed_file"].as_str().unwrap_or_default().to_owned();
    if file.contains('/') || file.contains('\\') || file.is_empty() {
        return Err("the seal record names no sealed file".into());
    }
    let want = res["sealed_sha256"].as_str().unwrap_or_default();
    let have = file_sha256(&db.join(&file)).map_err(|e| format!("{file}: {e}"))?;
    if have != want {
        return Err(format!(
            "{file} was changed after it was sealed (SHA-256 {have}, sealed as {want})"
        ));
    }
    Ok((
        file,
        format!(
            "sealed {}: {} record(s) verified, then: {}; reason: {}",
            res["sealed_at"].as_str().unwrap_or("?"),
            res["verified_records"],
            res["problem"].as_str().unwrap_or("?"),
            res["reason"].as_str().unwrap_or("?")
        ),
    ))
}

fn file_sha256(p: &Path) -> Result<String, String> {
    let mut f = std::fs::File::open(p).map_err(|e| e.to_string())?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Route name of the record that opens a segment after a seal.
pub const SEAL_ROUTE: &str = "audit.seal";

/// Reads complete lines from `from` on; an unterminated last line is returned separately.
fn lines_from(
    f: &mut std::fs::File,
    from: u64,
    mut each: impl FnMut(&[u8]) -> Result<(), Break>,
) -> Result<Vec<u8>, Break> {
    let io = |e: std::io::Error| Break {
        problem: format!("audit.log: {e}"),
        good_records: 0,
        good_hash: String::new(),
    };
    f.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut r = std::io::BufReader::with_capacity(1 << 16, f);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line).map_err(io)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        if line.last() != Some(&b'\n') {
            return Ok(line);
        }
        line.pop();
        each(&line)?;
    }
}

/// Checks the whole chain and the head: any edited, deleted, reordered or cut-off record is an
/// error naming the first bad line.
pub fn verify(db: &Path) -> Result<Report, crate::Error> {
    verify_full(db).map_err(|b| crate::Error::Audit(b.problem))
}

/// [`verify`], with how far the chain held when it did not.
pub fn verify_full(db: &Path) -> Result<Report, Break> {
    let (log_path, head_path) = paths(db);
    let mut w = Walk {
        seq: 0,
        last: String::new(),
        bytes: 0,
        sealed: Vec::new(),
    };
    if let Ok(mut f) = std::fs::File::open(&log_path) {
        let mut n = 0u64;
        let tail = lines_from(&mut f, 0, |line| {
            n += 1;
            w.step(db, line, n)
        })?;
        if !tail.is_empty() {
            return Err(w.broken(format!(
                "audit.log:{}: an unfinished record ({} bytes without a line end): a write was cut off",
                n + 1,
                tail.len()
            )));
        }
    }
    check_head(&w, &read_head(&head_path).map_err(|e| w.broken(e))?)?;
    Ok(Report {
        records: w.seq,
        last_hash: w.last,
        bytes: w.bytes,
        sealed: w.sealed,
    })
}

fn check_head(w: &Walk, head: &Option<Head>) -> Result<(), Break> {
    match head {
        None if w.seq > 0 => {
            Err(w.broken("audit.head is missing or empty while the log has records".into()))
        }
        None => Ok(()),
        Some(h) if h.seq > w.seq => Err(w.broken(format!(
            "audit.log was cut: the head records {} records, the log holds {}",
            h.seq, w.seq
        ))),
        Some(_) => Ok(()),
    }
}

/// The check the server runs when it starts: the record at the head checkpoint is there and
/// intact, and every record after it follows. Its cost does not grow with the log. An
/// unfinished last line after the checkpoint (a write cut off by a crash, never acknowledged)
/// is reported so that the writer can cut it and record that it did.
fn verify_from_head(db: &Path) -> Result<(Report, Option<Vec<u8>>), String> {
    let (log_path, head_path) = paths(db);
    let head = read_head(&head_path)?;
    let Some(Head {
        seq,
        hash,
        offset: Some(offset),
    }) = head
    else {
        // No checkpoint yet (a new log, or one written by format 1): check it all once.
        return verify_full(db).map(|r| (r, None)).map_err(|b| b.problem);
    };
    let mut f = std::fs::File::open(&log_path).map_err(|e| format!("audit.log: {e}"))?;
    let len = f.metadata().map_err(|e| format!("audit.log: {e}"))?.len();
    if len < offset {
        return Err(format!(
            "audit.log was cut: it has {len} bytes, the head records {offset}"
        ));
    }
    let line = last_line_before(&mut f, offset)?;
    let p = parse_line(&line).map_err(|e| format!("the record at the head: {e}"))?;
    if p.seq != seq || p.hash != hash || !p.intact {
        return Err(format!(
            "audit.head does not match record {seq} of the log (or that record was altered)"
        ));
    }
    let mut w = Walk {
        seq,
        last: hash,
        bytes: offset,
        sealed: Vec::new(),
    };
    let mut n = 0;
    let tail = lines_from(&mut f, offset, |line| {
        n += 1;
        w.step(db, line, seq + n)
    })
    .map_err(|b| b.problem)?;
    Ok((
        Report {
            records: w.seq,
            last_hash: w.last,
            bytes: w.bytes,
            sealed: Vec::new(),
        },
        (!tail.is_empty()).then_some(tail),
    ))
}

/// The line that ends at byte `end` (which must follow a newline).
fn last_line_before(f: &mut std::fs::File, end: u64) -> Result<Vec<u8>, String> {
    let io = |e: std::io::Error| format!("audit.log: {e}");
    let mut back = 4096u64;
    loop {
        let start = end.saturating_sub(back);
        f.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut buf = vec![0u8; (end - start) as usize];
        f.read_exact(&mut buf).map_err(io)?;
        if buf.last() != Some(&b'\n') {
            return Err("audit.head does not point at the end of a record".into());
        }
        buf.pop();
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(buf[i + 1..].to_vec());
        }
        if start == 0 {
            return Ok(buf);
        }
        back *= 4;
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The writer's position and files.
struct Writer {
    log: std::fs::File,
    head: std::fs::File,
    seq: u64,
    last: String,
    offset: u64,
    /// Set when the log changed under the writer: nothing more is appended.
    broken: Option<String>,
    /// Told of every record once it is durable.
    index: std::sync::Arc<crate::trail::TrailIndex>,
}

impl Writer {
    /// Writes a batch, fsyncs, moves the head. On failure nothing of the batch counts.
    fn write(&mut self, entries: &[&Entry]) -> Result<Vec<u64>, String> {
        if let Some(b) = &self.broken {
            return Err(b.clone());
        }
        // Another writer (or an editor) would break the chain: refuse to write after it.
        let len = self.log.metadata().map_err(|e| e.to_string())?.len();
        if len != self.offset {
            let m = format!(
                "audit.log changed outside the server ({} bytes, {} expected); appends stopped: restart after `qinglian audit verify` (and `audit seal` if it is broken)",
                len, self.offset
            );
            tracing::error!("{m}");
            self.broken = Some(m.clone());
            return Err(m);
        }
        let (mut seq, mut last) = (self.seq, self.last.clone());
        let mut text = String::new();
        let mut seqs = Vec::with_capacity(entries.len());
        let mut starts = Vec::with_capacity(entries.len());
        for e in entries {
            seq += 1;
            let (line, h) = encode(seq, &last, e)?;
            starts.push(self.offset + text.len() as u64);
            text.push_str(&line);
            text.push('\n');
            last = h;
            seqs.push(seq);
        }
        let offset = self.offset + text.len() as u64;
        let r = self
            .log
            .write_all(text.as_bytes())
            .and_then(|()| self.log.sync_data())
            .and_then(|()| self.head.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| {
                self.head
                    .write_all(head_line(seq, &last, offset).as_bytes())
            })
            .and_then(|()| self.head.sync_data());
        match r {
            Ok(()) => {
                (self.seq, self.last, self.offset) = (seq, last, offset);
                for (start, e) in starts.into_iter().zip(entries) {
                    self.index.push(start, &e.case);
                }
                Ok(seqs)
            }
            Err(e) => {
                // The log may now hold part of the batch: cut it back to what is known.
                if self.log.set_len(self.offset).is_err() {
                    self.broken = Some(format!("audit.log could not be cut back after: {e}"));
                }
                Err(e.to_string())
            }
        }
    }
}

impl AuditLog {
    /// Opens (or creates) the log and starts the writer thread. Checks the chain from the
    /// head's checkpoint (`audit verify` checks all of it). Refuses a broken trail: an
    /// accountable server does not write on top of it; the error names the repair.
    pub fn open(db: &Path) -> Result<AuditLog, crate::Error> {
        Self::open_log(db).map_err(crate::Error::Audit)
    }

    fn open_log(db: &Path) -> Result<AuditLog, String> {
        let (log_path, head_path) = paths(db);
        let (report, cut) = verify_from_head(db).map_err(|e| {
            format!(
                "the audit trail does not verify ({e}); check it with `qinglian audit verify --db {0}`, \
                 and if it is broken seal it with `qinglian audit seal --db {0} --reason TEXT` (docs/api.md)",
                db.display()
            )
        })?;
        let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| io(&log_path, e))?;
        let head = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&head_path)
            .map_err(|e| io(&head_path, e))?;
        let index = std::sync::Arc::new(
            crate::trail::TrailIndex::build(&log_path, report.bytes)
                .map_err(|e| io(&log_path, e))?,
        );
        let mut w = Writer {
            log,
            head,
            seq: report.records,
            last: report.last_hash,
            offset: report.bytes,
            broken: None,
            index: index.clone(),
        };
        if let Some(tail) = cut {
            recover_cut_write(&mut w, &tail)?;
        }
        let (tx, rx) = mpsc::channel::<(Entry, Reply)>();
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
                    let entries: Vec<&Entry> = batch.iter().map(|(e, _)| e).collect();
                    match w.write(&entries) {
                        Ok(seqs) => {
                            for ((_, reply), s) in batch.into_iter().zip(seqs) {
                                let _ = reply.send(Ok(s));
                            }
                        }
                        Err(e) => {
                            for (_, reply) in batch {
                                let _ = reply.send(Err(e.clone()));
                            }
                        }
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(AuditLog { tx, index })
    }

    /// A page of the records a filter keeps, and how many it keeps: from the index (a seek per
    /// record shown) unless the filter searches text, which reads the whole trail.
    pub fn page(
        &self,
        db: &Path,
        filter: &Filter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Record>, usize), crate::Error> {
        // Text, or records without a case number: the index does not hold those.
        if filter.text.is_some() || filter.case.as_deref() == Some("") {
            return read_filtered(db, filter, offset, limit);
        }
        let (lines, total) = self
            .index
            .page(filter.case.as_deref(), offset, limit)
            .map_err(|e| crate::Error::Audit(format!("audit.log: {e}")))?;
        Ok((lines.iter().map(|l| record_of(l)).collect(), total))
    }

    /// Appends a record and waits until it is on disk. Returns its sequence number.
    pub async fn append(&self, e: Entry) -> Result<u64, crate::Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let stopped = || crate::Error::Audit("the audit writer has stopped".to_owned());
        self.tx.send((e, tx)).map_err(|_| stopped())?;
        rx.await
            .map_err(|_| stopped())?
            .map_err(crate::Error::Audit)
    }
}

/// A crash cut a write short after the last acknowledged record: the partial line was never
/// acknowledged to anyone. It is cut off, and a record says so (its length and SHA-256), so
/// that the repair is itself on the trail.
fn recover_cut_write(w: &mut Writer, tail: &[u8]) -> Result<(), String> {
    let len = w.offset + tail.len() as u64;
    tracing::warn!(
        "audit.log ends with an unfinished record ({} bytes) after record {}: cutting it and recording that",
        tail.len(),
        w.seq
    );
    w.log.set_len(w.offset).map_err(|e| e.to_string())?;
    w.log.sync_data().map_err(|e| e.to_string())?;
    let entry = Entry {
        ts: now_ms(),
        method: "START".into(),
        route: "audit.recover".into(),
        result: serde_json::json!({
            "cut_bytes": tail.len(),
            "cut_sha256": hex(&Sha256::digest(tail)),
            "log_bytes_before": len,
            "why": "an unfinished record after the last complete one: a write cut off by a crash, never acknowledged",
        }),
        ..Entry::default()
    };
    w.write(&[&entry]).map(|_| ())
}

/// Seals a broken trail so that the server can write again: the log and its head are renamed
/// to `audit.sealed-<unix>.log`/`.head` (kept as evidence, never edited), and a new segment
/// starts with a record naming the sealed file, its SHA-256, how far it verified, the problem
/// and the operator's reason. Refuses an intact trail.
pub fn seal(db: &Path, reason: &str, operator: &str) -> Result<String, crate::Error> {
    seal_trail(db, reason, operator).map_err(crate::Error::Audit)
}

fn seal_trail(db: &Path, reason: &str, operator: &str) -> Result<String, String> {
    let brk = match verify_full(db) {
        Ok(_) => return Err("the audit trail verifies: there is nothing to seal".into()),
        Err(b) => b,
    };
    if reason.trim().is_empty() {
        return Err("give a --reason: it is written into the new segment".into());
    }
    let (log_path, head_path) = paths(db);
    let stamp = now_ms() / 1000;
    let name = format!("audit.sealed-{stamp}.log");
    let sealed = db.join(&name);
    if sealed.exists() {
        return Err(format!("{name} exists already; try again in a second"));
    }
    let sha = file_sha256(&log_path).map_err(|e| format!("audit.log: {e}"))?;
    let bytes = std::fs::metadata(&log_path).map_or(0, |m| m.len());
    std::fs::rename(&log_path, &sealed).map_err(|e| e.to_string())?;
    if head_path.exists() {
        std::fs::rename(&head_path, db.join(format!("audit.sealed-{stamp}.head")))
            .map_err(|e| e.to_string())?;
    }
    let entry = Entry {
        ts: now_ms(),
        token_id: String::new(),
        role: "operator".into(),
        method: "CLI".into(),
        route: SEAL_ROUTE.into(),
        path: cap_str(operator, 256),
        result: serde_json::json!({
            "sealed_file": name, "sealed_sha256": sha, "sealed_bytes": bytes,
            "sealed_at": crate::time_text(stamp),
            "verified_records": brk.good_records, "verified_head": brk.good_hash,
            "problem": brk.problem, "reason": cap_str(reason, 2048),
        }),
        ..Entry::default()
    };
    let (line, hash) = encode(brk.good_records + 1, &brk.good_hash, &entry)?;
    let text = format!("{line}\n");
    let write = |p: &Path, t: &str| -> Result<(), String> {
        let mut f = std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?;
        f.write_all(t.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    write(&log_path, &text)?;
    write(
        &head_path,
        &head_line(brk.good_records + 1, &hash, text.len() as u64),
    )?;
    if let Ok(d) = std::fs::File::open(db) {
        let _ = d.sync_all();
    }
    Ok(format!(
        "sealed the broken trail as {name} (SHA-256 {sha}; {} record(s) verified, then: {}); a new segment starts at record {}",
        brk.good_records,
        brk.problem,
        brk.good_records + 1
    ))
}

/// `s` cut to at most `max` bytes at a character boundary.
pub(crate) fn cap_str(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Which records an auditor (or a case's own trail) asks for.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only records made under this case number.
    pub case: Option<String>,
    /// Only records whose token, route, path, query, case or purpose contains this text.
    pub text: Option<String>,
}

impl Filter {
    fn keeps(&self, r: &Record) -> bool {
        if self.case.is_none() && self.text.is_none() {
            return true;
        }
        let Some(e) = &r.entry else {
            // An unreadable line is shown to an unfiltered view only: it has no fields to match.
            return false;
        };
        let case = self.case.as_ref().is_none_or(|c| &e.case == c);
        let text = self.text.as_ref().is_none_or(|t| {
            [
                &e.token_id,
                &e.route,
                &e.path,
                &e.query,
                &e.case,
                &e.purpose,
            ]
            .iter()
            .any(|f| f.contains(t.as_str()))
        });
        case && text
    }
}

/// The records, for the auditor's view: at most `limit` after skipping `offset`, and the total.
pub fn read(db: &Path, offset: usize, limit: usize) -> Result<(Vec<Record>, usize), crate::Error> {
    read_filtered(db, &Filter::default(), offset, limit)
}

/// The records a filter keeps: at most `limit` after skipping `offset` of them, and how many
/// it keeps in all.
pub fn read_filtered(
    db: &Path,
    filter: &Filter,
    offset: usize,
    limit: usize,
) -> Result<(Vec<Record>, usize), crate::Error> {
    let (log_path, _) = paths(db);
    let f = match std::fs::File::open(&log_path) {
        Ok(f) => f,
        Err(_) => return Ok((Vec::new(), 0)),
    };
    let mut out = Vec::new();
    let mut total = 0;
    for line in std::io::BufReader::new(f).split(b'\n') {
        let line = line.map_err(|e| crate::Error::Audit(format!("audit.log: {e}")))?;
        let unfiltered = filter.case.is_none() && filter.text.is_none();
        if unfiltered && (total < offset || out.len() >= limit) {
            total += 1;
            continue;
        }
        let r = record_of(&line);
        if !filter.keeps(&r) {
            continue;
        }
        if total >= offset && out.len() < limit {
            out.push(r);
        }
        total += 1;
    }
    Ok((out, total))
}

/// A stored line as a record; never fails (an unreadable line is returned as text).
fn record_of(line: &[u8]) -> Record {
    #[derive(Deserialize)]
    struct Rec {
        seq: u64,
        prev: String,
        entry: Entry,
        hash: String,
    }
    match serde_json::from_slice::<Rec>(line) {
        Ok(r) => Record {
            seq: r.seq,
            prev: r.prev,
            entry: Some(r.entry),
            unparsed: None,
            hash: r.hash,
        },
        Err(_) => {
            let p = parse_line(line).ok();
            Record {
                seq: p.as_ref().map_or(0, |p| p.seq),
                prev: p.as_ref().map(|p| p.prev.clone()).unwrap_or_default(),
                entry: None,
                unparsed: Some(cap_str(&String::from_utf8_lossy(line), 4096)),
                hash: p.map(|p| p.hash).unwrap_or_default(),
            }
        }
    }
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
            query: "from=P1".into(),
            case: "C-1".into(),
            purpose: "p".into(),
            status: 200,
            result: serde_json::json!({"count": 0}),
            ..Entry::default()
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
    fn the_index_pages_as_the_scan_does_across_reopening() {
        let d = tempfile::tempdir().expect("tempdir");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let append = |log: &AuditLog, from: u64, to: u64| {
            rt.block_on(async {
                for i in from..to {
                    let case = ["C-1", "C-2", "", "案件-3"][(i % 4) as usize];
                    let e = Entry {
                        case: case.into(),
                        ..entry(i)
                    };
                    log.append(e).await.expect("append");
                }
            });
        };
        append(&AuditLog::open(d.path()).expect("open"), 0, 23);
        // Reopened: the index is rebuilt from the file, then kept by the writer.
        let log = AuditLog::open(d.path()).expect("reopen");
        append(&log, 23, 41);
        for case in [None, Some("C-1"), Some("案件-3"), Some(""), Some("none")] {
            for (offset, limit) in [(0, 5), (3, 100), (40, 10), (0, 0)] {
                let f = Filter {
                    case: case.map(str::to_owned),
                    text: None,
                };
                let (a, n) = log.page(d.path(), &f, offset, limit).expect("index");
                let (b, m) = read_filtered(d.path(), &f, offset, limit).expect("scan");
                let seqs = |r: &[Record]| r.iter().map(|x| x.seq).collect::<Vec<_>>();
                assert_eq!((seqs(&a), n), (seqs(&b), m), "{case:?} {offset} {limit}");
            }
        }
        let all = Filter::default();
        assert_eq!(log.page(d.path(), &all, 0, 1).expect("page").1, 41);
    }

    #[test]
    fn an_intact_chain_verifies_and_reopening_continues_it() {
        let d = tempfile::tempdir().expect("tempdir");
        write(d.path(), 3);
        write(d.path(), 2);
        assert_eq!(verify(d.path()).map(|r| r.records).ok(), Some(5));
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
            .to_string()
            .contains("record 2 was altered"));
        // A deletion.
        let mut l = orig.clone();
        l.remove(1);
        put(&l);
        assert!(verify(d.path())
            .expect_err("deletion")
            .to_string()
            .contains("record 3 where 2 was expected"));
        // A reorder.
        let mut l = orig.clone();
        l.swap(1, 2);
        put(&l);
        assert!(verify(d.path()).is_err());
        // Cutting the last record off.
        put(&orig[..3]);
        assert!(verify(d.path())
            .expect_err("truncation")
            .to_string()
            .contains("cut"));
        put(&orig);
        assert_eq!(verify(d.path()).map(|r| r.records).ok(), Some(4));
        // A tampered trail is not written on.
        put(&orig[..3]);
        assert!(AuditLog::open(d.path()).is_err());
    }

    /// Format-1 records hashed serde_json's re-encoding of the record; a line written by that
    /// writer is the same bytes, so old logs verify byte-wise. This line is one such record
    /// whose entry held a float that does not round-trip (the bug this format fixes).
    #[test]
    fn a_format_1_record_with_a_float_verifies_by_its_bytes() {
        let body = r#"{"seq":1,"prev":"","entry":{"ts":1,"token_id":"","role":"","method":"POST","route":"screen","path":"/v1/screen","params":{"x":123456789.12345679},"case":"","purpose":"","status":401,"result":{"error":"unauthenticated"}}}"#;
        let hash = digest("", body.as_bytes());
        let line = format!("{},\"hash\":\"{hash}\"}}", &body[..body.len() - 1]);
        let p = parse_line(line.as_bytes()).expect("parses");
        assert!(p.intact && p.seq == 1 && p.prev.is_empty());
        let rec = record_of(line.as_bytes());
        assert_eq!(rec.entry.expect("entry").route, "screen");
    }

    #[test]
    fn start_up_checks_from_the_checkpoint_and_cuts_an_unfinished_write() {
        let d = tempfile::tempdir().expect("tempdir");
        write(d.path(), 3);
        // An edit before the checkpoint is found by the full check, not at start-up.
        let mut l = lines(d.path());
        l[0] = l[0].replace("\"C-1\"", "\"C-9\"");
        std::fs::write(d.path().join("audit.log"), l.join("\n") + "\n").expect("write");
        assert!(verify(d.path()).is_err());
        assert!(verify_from_head(d.path()).is_ok());
        // Restore, then cut a write short.
        let mut l = lines(d.path());
        l[0] = l[0].replace("\"C-9\"", "\"C-1\"");
        let mut text = l.join("\n") + "\n";
        text.push_str("{\"seq\":4,\"prev\":\"ab");
        std::fs::write(d.path().join("audit.log"), text).expect("write");
        write(d.path(), 1);
        let rep = verify(d.path()).expect("verifies after the repair");
        assert_eq!(rep.records, 5, "3 + the recovery record + 1");
        let l = lines(d.path());
        assert!(l[3].contains("audit.recover"), "{}", l[3]);
    }

    #[test]
    fn a_broken_trail_is_sealed_and_a_new_segment_continues() {
        let d = tempfile::tempdir().expect("tempdir");
        write(d.path(), 4);
        let mut l = lines(d.path());
        // The record at the head: start-up finds it (one further back, only `verify` does).
        l[3] = l[3].replace("\"C-1\"", "\"C-2\"");
        std::fs::write(d.path().join("audit.log"), l.join("\n") + "\n").expect("write");
        assert!(AuditLog::open(d.path())
            .expect_err("refused")
            .to_string()
            .contains("audit seal"));
        assert!(seal(d.path(), "", "op").is_err(), "a reason is required");
        let msg = seal(d.path(), "record 4 edited by hand", "op").expect("sealed");
        assert!(msg.contains("3 record(s) verified"), "{msg}");
        assert!(
            seal(d.path(), "again", "op").is_err(),
            "nothing left to seal"
        );
        write(d.path(), 2);
        let rep = verify(d.path()).expect("the new segment verifies");
        assert_eq!(rep.records, 6, "seal record 4, then 5 and 6");
        assert_eq!(rep.sealed.len(), 1);
        // Editing the sealed file afterwards is detected.
        let sealed = d.path().join(&rep.sealed[0].0);
        let t = std::fs::read_to_string(&sealed).expect("sealed");
        std::fs::write(&sealed, t.replace("\"C-2\"", "\"C-1\"")).expect("write");
        assert!(verify(d.path())
            .expect_err("sealed file changed")
            .to_string()
            .contains("changed after it was sealed"));
    }

    #[test]
    fn a_log_changed_under_the_writer_stops_appends() {
        let d = tempfile::tempdir().expect("tempdir");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let log = AuditLog::open(d.path()).expect("open");
        rt.block_on(async {
            log.append(entry(1)).await.expect("append");
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(d.path().join("audit.log"))
                .expect("open");
            f.write_all(b"forged\n").expect("write");
            assert!(log.append(entry(2)).await.is_err());
            assert!(log.append(entry(3)).await.is_err(), "and stays stopped");
        });
    }
}
