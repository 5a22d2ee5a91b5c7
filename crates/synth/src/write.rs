//! CSV files (SCHEMA.md) and truth.jsonl.

use crate::data::{PROJECTS, SURNAMES};
use crate::truth::{RefId, Tok, Truth};
use crate::util::*;
use crate::world::*;
use crate::SynthError;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Zero-padded id widths.
pub(crate) struct Ids {
    p: usize,
    c: usize,
    a: usize,
    t: usize,
    k: usize,
    s: usize,
}

impl Ids {
    pub(crate) fn new(w: &World) -> Ids {
        Ids {
            p: width(w.people.len(), 7),
            c: width(w.comps.len(), 6),
            a: width(w.agencies.len(), 5),
            t: width(w.tenders.len(), 6),
            k: width(w.contracts.len(), 6),
            s: width(w.subsidies.len(), 6),
        }
    }

    fn push(out: &mut Vec<u8>, prefix: u8, i: u32, w: usize) {
        out.push(prefix);
        let mut buf = [b'0'; 20];
        let mut x = i;
        let mut n = 0;
        loop {
            buf[19 - n] = b'0' + (x % 10) as u8;
            n += 1;
            x /= 10;
            if x == 0 {
                break;
            }
        }
        for _ in n..w {
            out.push(b'0');
        }
        out.extend_from_slice(&buf[20 - n..]);
    }

    pub(crate) fn p(&self, o: &mut Vec<u8>, i: u32) {
        Ids::push(o, b'P', i, self.p);
    }
    pub(crate) fn c(&self, o: &mut Vec<u8>, i: u32) {
        Ids::push(o, b'C', i, self.c);
    }
    pub(crate) fn a(&self, o: &mut Vec<u8>, i: u32) {
        Ids::push(o, b'A', i, self.a);
    }
    pub(crate) fn t(&self, o: &mut Vec<u8>, i: u32) {
        Ids::push(o, b'T', i, self.t);
    }
    pub(crate) fn k(&self, o: &mut Vec<u8>, i: u32) {
        Ids::push(o, b'K', i, self.k);
    }
    pub(crate) fn s(&self, o: &mut Vec<u8>, i: u32) {
        Ids::push(o, b'S', i, self.s);
    }
    pub(crate) fn ent(&self, o: &mut Vec<u8>, e: Ent) {
        match e {
            Ent::P(i) => self.p(o, i),
            Ent::C(i) => self.c(o, i),
        }
    }
    /// An optional person reference (nothing for NONE).
    fn opt_p(&self, o: &mut Vec<u8>, i: u32) {
        if i != NONE {
            self.p(o, i);
        }
    }
}

/// One CSV file, written through a large buffer.
struct Csv {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    rows: u64,
}

impl Csv {
    fn create(dir: &Path, name: &str, header: &str) -> Result<Csv, SynthError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| SynthError::Io {
            path: path.clone(),
            source,
        })?;
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(header.as_bytes());
        buf.push(b'\n');
        Ok(Csv {
            path,
            file,
            buf,
            rows: 0,
        })
    }

    /// Ends a row; writes the buffer out when it is large.
    fn end(&mut self) -> Result<(), SynthError> {
        self.buf.push(b'\n');
        self.rows += 1;
        if self.buf.len() >= 1 << 20 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SynthError> {
        let r = self.file.write_all(&self.buf);
        self.buf.clear();
        r.map_err(|source| SynthError::Io {
            path: self.path.clone(),
            source,
        })
    }

    fn finish(mut self) -> Result<(String, u64), SynthError> {
        self.flush()?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok((name, self.rows))
    }
}

/// A text field, quoted when it holds a comma, a quote or a line break.
fn text(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// A non-negative amount in hundredths, as `123.45`.
fn hundredths(out: &mut Vec<u8>, v: i64) {
    let v = v.max(0);
    let _ = write!(out, "{}.{:02}", v / 100, v % 100);
}

fn sep(out: &mut Vec<u8>) {
    out.push(b',');
}

fn write_people(w: &World, ids: &Ids, dir: &Path) -> Result<(String, u64), SynthError> {
    let mut f = Csv::create(dir, "people.csv", "id,name,id_number,birth_date,death_date")?;
    for (i, p) in w.people.iter().enumerate() {
        let b = &mut f.buf;
        ids.p(b, i as u32);
        sep(b);
        text(b, SURNAMES[p.sur as usize].0);
        text(b, &w.names.given[p.given as usize]);
        sep(b);
        if p.idn != 0 {
            b.extend_from_slice(&resident_id(p.idn));
        }
        sep(b);
        push_date(b, p.birth);
        sep(b);
        push_date(b, p.death);
        f.end()?;
    }
    f.finish()
}

fn write_small(w: &World, ids: &Ids, dir: &Path) -> Result<Vec<(String, u64)>, SynthError> {
    let mut files = Vec::new();

    let mut f = Csv::create(dir, "agencies.csv", "id,name,parent_id,region")?;
    for (i, a) in w.agencies.iter().enumerate() {
        let b = &mut f.buf;
        ids.a(b, i as u32);
        sep(b);
        text(b, &a.name);
        sep(b);
        if a.parent != NONE {
            ids.a(b, a.parent);
        }
        sep(b);
        text(b, &a.region);
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(
        dir,
        "companies.csv",
        "id,name,credit_code,address,phone,founded,status,status_date",
    )?;
    for (i, c) in w.comps.iter().enumerate() {
        let b = &mut f.buf;
        ids.c(b, i as u32);
        sep(b);
        text(b, &c.name);
        sep(b);
        text(b, &c.code);
        sep(b);
        text(b, &c.addr);
        sep(b);
        text(b, &c.phone);
        sep(b);
        push_date(b, c.founded);
        sep(b);
        text(b, c.status);
        sep(b);
        if let Some(d) = c.status_date {
            push_date(b, d);
        }
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(dir, "positions.csv", "person_id,agency_id,title,start,end")?;
    for p in &w.pos {
        let b = &mut f.buf;
        ids.p(b, p.o);
        sep(b);
        ids.a(b, p.a);
        sep(b);
        text(b, p.title);
        sep(b);
        push_date(b, p.s);
        sep(b);
        push_date(b, p.e);
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(dir, "relations.csv", "person_id,relative_id,relation")?;
    for x in &w.rel {
        let b = &mut f.buf;
        ids.p(b, x.a);
        sep(b);
        ids.p(b, x.b);
        sep(b);
        text(b, x.t.as_str());
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(
        dir,
        "ownership.csv",
        "owner_id,company_id,share_pct,start,end",
    )?;
    for o in &w.own {
        let b = &mut f.buf;
        ids.ent(b, o.owner);
        sep(b);
        ids.c(b, o.c);
        sep(b);
        hundredths(b, i64::from(o.share));
        sep(b);
        push_date(b, o.s);
        sep(b);
        push_date(b, o.e);
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(dir, "roles.csv", "person_id,company_id,role,start,end")?;
    for x in &w.roles {
        let b = &mut f.buf;
        ids.p(b, x.p);
        sep(b);
        ids.c(b, x.c);
        sep(b);
        text(b, x.role.as_str());
        sep(b);
        push_date(b, x.s);
        sep(b);
        push_date(b, x.e);
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(dir, "tenders.csv", "id,agency_id,title,budget,published")?;
    for (i, t) in w.tenders.iter().enumerate() {
        let b = &mut f.buf;
        ids.t(b, i as u32);
        sep(b);
        ids.a(b, t.a);
        sep(b);
        let title = format!(
            "{}{}年{}",
            w.agencies[t.a as usize].name,
            year_of(t.published),
            PROJECTS[t.project as usize]
        );
        text(b, &title);
        sep(b);
        hundredths(b, t.budget);
        sep(b);
        push_date(b, t.published);
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(dir, "tender_officials.csv", "tender_id,person_id,role")?;
    for x in &w.tender_off {
        let b = &mut f.buf;
        ids.t(b, x.t);
        sep(b);
        ids.p(b, x.p);
        sep(b);
        text(b, x.role.as_str());
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(dir, "bids.csv", "tender_id,company_id,amount,submitted,won")?;
    for x in &w.bids {
        let b = &mut f.buf;
        ids.t(b, x.t);
        sep(b);
        ids.c(b, x.c);
        sep(b);
        hundredths(b, x.amount);
        sep(b);
        push_date(b, x.submitted);
        sep(b);
        b.extend_from_slice(if x.won { b"true" } else { b"false" });
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(
        dir,
        "contracts.csv",
        "id,agency_id,company_id,tender_id,amount,signed,approver_id",
    )?;
    for (i, k) in w.contracts.iter().enumerate() {
        let b = &mut f.buf;
        ids.k(b, i as u32);
        sep(b);
        ids.a(b, k.a);
        sep(b);
        ids.c(b, k.c);
        sep(b);
        if k.t != NONE {
            ids.t(b, k.t);
        }
        sep(b);
        hundredths(b, k.amount);
        sep(b);
        push_date(b, k.signed);
        sep(b);
        ids.opt_p(b, k.approver);
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(
        dir,
        "subsidies.csv",
        "id,agency_id,recipient_id,amount,paid,approver_id,program,period",
    )?;
    for (i, s) in w.subsidies.iter().enumerate() {
        let b = &mut f.buf;
        ids.s(b, i as u32);
        sep(b);
        ids.a(b, s.a);
        sep(b);
        ids.ent(b, s.r);
        sep(b);
        hundredths(b, s.amount);
        sep(b);
        push_date(b, s.paid);
        sep(b);
        ids.opt_p(b, s.approver);
        sep(b);
        text(b, s.program);
        sep(b);
        if let Some(y) = s.period {
            b.extend_from_slice(y.to_string().as_bytes());
        }
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(dir, "declarations.csv", "person_id,subject_id,relation")?;
    for d in &w.decl {
        let b = &mut f.buf;
        ids.p(b, d.o);
        sep(b);
        ids.ent(b, d.subject);
        sep(b);
        text(b, d.rel);
        f.end()?;
    }
    files.push(f.finish()?);

    let mut f = Csv::create(dir, "blacklist.csv", "entity_id,reason,listed,source")?;
    for x in &w.blacklist {
        let b = &mut f.buf;
        ids.ent(b, x.ent);
        sep(b);
        text(b, x.reason);
        sep(b);
        push_date(b, x.listed);
        sep(b);
        text(b, x.source);
        f.end()?;
    }
    files.push(f.finish()?);
    Ok(files)
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes quotes, backslashes and control characters, keeps UTF-8 as is
    match serde_json::to_string(s) {
        Ok(j) => out.extend_from_slice(j.as_bytes()),
        Err(_) => out.extend_from_slice(b"\"\""),
    }
}

fn json_key(out: &mut Vec<u8>, k: &str) {
    out.push(b',');
    json_str(out, k);
    out.push(b':');
}

/// `links.jsonl`: each person with a second record, and that record (`generate --duplicates`).
fn write_links(w: &World, ids: &Ids, dir: &Path) -> Result<(String, u64), SynthError> {
    let mut f = Csv::create(dir, "links.jsonl", "")?;
    f.buf.clear();
    for &(a, b) in &w.dups {
        let buf = &mut f.buf;
        buf.extend_from_slice(b"{\"a\":\"");
        ids.ent(buf, a);
        buf.extend_from_slice(b"\",\"b\":\"");
        ids.ent(buf, b);
        buf.extend_from_slice(b"\"}");
        f.end()?;
    }
    f.finish()
}

fn write_truth(w: &World, ids: &Ids, truth: &[Truth], dir: &Path) -> Result<u64, SynthError> {
    let mut f = Csv::create(dir, "truth.jsonl", "")?;
    f.buf.clear();
    for t in truth {
        let x = &t.f;
        let b = &mut f.buf;
        b.extend_from_slice(b"{\"pattern\":");
        json_str(b, x.pattern.as_str());
        json_key(b, "kind");
        json_str(b, t.kind.as_str());
        json_key(b, "official");
        b.push(b'"');
        ids.opt_p(b, x.official);
        b.push(b'"');
        json_key(b, "target");
        b.push(b'"');
        ids.ent(b, x.target);
        b.push(b'"');
        if let Some(t2) = x.target2 {
            json_key(b, "target2");
            b.push(b'"');
            ids.ent(b, t2);
            b.push(b'"');
        }
        json_key(b, "ref");
        b.push(b'"');
        let ref_type = match x.r {
            RefId::None => "",
            RefId::Contract(i) => {
                ids.k(b, i);
                "contract"
            }
            RefId::Tender(i) => {
                ids.t(b, i);
                "tender"
            }
            RefId::Subsidy(i) => {
                ids.s(b, i);
                "subsidy"
            }
        };
        b.push(b'"');
        json_key(b, "ref_type");
        json_str(b, ref_type);
        json_key(b, "path");
        b.push(b'[');
        for (i, tok) in x.path.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            match *tok {
                Tok::Phone(c) => json_str(b, &format!("phone:{}", w.comps[c as usize].phone)),
                Tok::Addr(c) => json_str(b, &format!("addr:{}", w.comps[c as usize].addr)),
                _ => {
                    b.push(b'"');
                    match *tok {
                        Tok::P(i) => ids.p(b, i),
                        Tok::C(i) => ids.c(b, i),
                        Tok::A(i) => ids.a(b, i),
                        Tok::T(i) => ids.t(b, i),
                        Tok::K(i) => ids.k(b, i),
                        Tok::S(i) => ids.s(b, i),
                        Tok::Phone(_) | Tok::Addr(_) => {}
                    }
                    b.push(b'"');
                }
            }
        }
        b.push(b']');
        for (k, v) in &x.extra {
            json_key(b, k);
            // agency references are recorded as "A<index>"; write them as bundle ids
            match v.strip_prefix('A').and_then(|n| n.parse::<u32>().ok()) {
                Some(a) if *k == "agency" => {
                    b.push(b'"');
                    ids.a(b, a);
                    b.push(b'"');
                }
                _ => match v.parse::<i64>() {
                    Ok(n) if *k != "agency" => {
                        let _ = write!(b, "{n}");
                    }
                    _ => json_str(b, v),
                },
            }
        }
        b.push(b'}');
        f.end()?;
    }
    Ok(f.finish()?.1)
}

/// Writes `bench/q2_pairs.csv` and `bench/q3_officials.csv`: the inputs of the peer
/// benchmark's Q2 and Q3, in the format of `shared/bench/gen.py`, so that the peers' harnesses
/// run on a bundle of any size from this generator (`gen.py` needs about 17 GB at 10 M
/// people). Q3: 100 officials. Q2: 500 "near" pairs (a person who owns or holds a role in a
/// company, moved 0-3 random family steps away) and 500 random person/company pairs.
fn write_bench(w: &World, ids: &Ids, dir: &Path, seed: u64) -> Result<(), SynthError> {
    let bench = dir.join("bench");
    std::fs::create_dir_all(&bench).map_err(|source| SynthError::Io {
        path: bench.clone(),
        source,
    })?;
    let io = |path: PathBuf| move |source| SynthError::Io { path, source };
    let mut r = Rng::new(seed, 31);
    let mut officials = w.officials.clone();
    officials.sort_unstable();
    officials.dedup();
    r.shuffle(&mut officials);
    let mut q3: Vec<u32> = officials.into_iter().take(100).collect();
    q3.sort_unstable();
    let mut out = b"official_id\n".to_vec();
    for o in q3 {
        ids.p(&mut out, o);
        out.push(b'\n');
    }
    let path = bench.join("q3_officials.csv");
    std::fs::write(&path, &out).map_err(io(path.clone()))?;

    // Controllers: people owning or holding a role in a company.
    let mut ctl: Vec<(u32, u32)> = w
        .own
        .iter()
        .filter_map(|o| match o.owner {
            Ent::P(p) => Some((p, o.c)),
            Ent::C(_) => None,
        })
        .chain(w.roles.iter().map(|x| (x.p, x.c)))
        .collect();
    ctl.sort_unstable();
    let mut out = b"pair_id,person_id,company_id,kind\n".to_vec();
    for i in 0..1000u32 {
        let (p, c, kind) = if i < 500 && !ctl.is_empty() {
            let (mut p, c) = r.pick(&ctl);
            for _ in 0..r.below(4) {
                let next = w.fam.of(p);
                if next.is_empty() {
                    break;
                }
                p = r.pick(next);
            }
            (p, c, "near")
        } else {
            (
                r.below(w.people.len()) as u32,
                r.below(w.comps.len().max(1)) as u32,
                "random",
            )
        };
        out.extend_from_slice(i.to_string().as_bytes());
        out.push(b',');
        ids.p(&mut out, p);
        out.push(b',');
        ids.c(&mut out, c);
        out.push(b',');
        out.extend_from_slice(kind.as_bytes());
        out.push(b'\n');
    }
    let path = bench.join("q2_pairs.csv");
    std::fs::write(&path, &out).map_err(io(path.clone()))?;
    Ok(())
}

/// Writes every file; returns (file, data rows) in a fixed order.
pub(crate) fn write_all(
    w: &World,
    truth: &[Truth],
    dir: &Path,
    seed: u64,
) -> Result<Vec<(String, u64)>, SynthError> {
    let ids = Ids::new(w);
    let (people, rest) = std::thread::scope(|s| {
        let h = s.spawn(|| write_people(w, &ids, dir));
        let rest = write_small(w, &ids, dir).and_then(|mut v| {
            let n = write_truth(w, &ids, truth, dir)?;
            v.push(("truth.jsonl".to_owned(), n));
            if !w.dups.is_empty() {
                v.push(write_links(w, &ids, dir)?);
            }
            Ok(v)
        });
        let people = h
            .join()
            .unwrap_or_else(|_| Err(SynthError::Internal("people writer panicked".into())));
        (people, rest)
    });
    let mut files = vec![people?];
    files.extend(rest?);
    write_bench(w, &ids, dir, seed)?;
    Ok(files)
}
