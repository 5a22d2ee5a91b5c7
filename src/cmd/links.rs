//! `qinglian links`: candidate identity links between records that probably denote one person
//! or company, and the investigators' judgements on them.

use super::out::{Align, Table};
use super::DbArg;
use anyhow::{bail, Result};
use clap::Subcommand;
use qinglian_engine::linkage;
use qinglian_store::judgements::{self, Judgement, Verdict};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum LinksCmd {
    /// Candidate links at or above a probability, with the judgements in force.
    List(ListArgs),
    /// The model's estimates: per field and level, m, u and the match weight; λ.
    Params(ParamsArgs),
    /// Record that two records denote one person or company (the link becomes certain).
    Confirm(JudgeArgs),
    /// Record that two records do not denote one (the link is dropped).
    Reject(JudgeArgs),
    /// Every judgement made, in time order, with who and when.
    History(ParamsArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The lowest probability listed.
    #[arg(long, default_value_t = 0.5)]
    pub min: f64,
    /// Only people or only companies.
    #[arg(long, value_parser = ["person", "company"])]
    pub kind: Option<String>,
    /// Also list the pairs an investigator rejected.
    #[arg(long)]
    pub all: bool,
    /// Print JSON: {"params": [...], "links": [{"a", "b", "kind", "name", "name_count",
    /// "probability", "weight", "levels", "status", "judgement"}]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ParamsArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct JudgeArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// One record's bundle id.
    pub a: String,
    /// The other's.
    pub b: String,
    /// Who judges (kept with the judgement).
    #[arg(long)]
    pub by: String,
    /// Why.
    #[arg(long, default_value = "")]
    pub note: String,
}

pub fn run(c: &LinksCmd) -> Result<ExitCode> {
    match c {
        LinksCmd::List(a) => list(a),
        LinksCmd::Params(a) => params(a),
        LinksCmd::Confirm(a) => judge(a, Verdict::Confirmed),
        LinksCmd::Reject(a) => judge(a, Verdict::Rejected),
        LinksCmd::History(a) => history(a),
    }
}

fn list(a: &ListArgs) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&a.min) {
        bail!("--min {}: a probability between 0 and 1", a.min);
    }
    let (db, snap) = super::db::snapshot_at(&a.db.db, None)?;
    let mut l = linkage::candidates(&snap, a.min);
    linkage::apply(&snap, &mut l, &judgements::current(db.store())?, a.all);
    if let Some(k) = &a.kind {
        let want = if k == "person" { "Person" } else { "Company" };
        l.links.retain(|x| x.kind == want);
        l.params.retain(|p| p.kind == want);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&l)?);
        return Ok(ExitCode::SUCCESS);
    }
    let right = Align::Right;
    let mut t = Table::new(&[
        right,
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Left,
    ]);
    t.row(["p", "a", "b", "name (records)", "levels", "status"].map(str::to_owned));
    for x in &l.links {
        let levels: Vec<String> = x.levels.iter().map(|(f, v)| format!("{f}={v}")).collect();
        let status = match &x.judgement {
            Some(j) => format!("{} by {}", x.status, j.by),
            None => x.status.to_owned(),
        };
        t.row([
            format!("{:.3}", x.probability),
            x.a.clone(),
            x.b.clone(),
            format!("{} ({})", x.name, x.name_count),
            levels.join(" "),
            status,
        ]);
    }
    t.print();
    eprintln!("{} links at p >= {}", l.links.len(), a.min);
    Ok(ExitCode::SUCCESS)
}

fn params(a: &ParamsArgs) -> Result<ExitCode> {
    let (_db, snap) = super::db::snapshot_at(&a.db.db, None)?;
    let l = linkage::candidates(&snap, 1.1);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&l.params)?);
        return Ok(ExitCode::SUCCESS);
    }
    for p in &l.params {
        println!(
            "{}: {} records, {} pairs sharing a name, expected matches {:.1}",
            p.kind, p.records, p.blocked_pairs, p.expected_matches
        );
        for c in &p.prior {
            println!(
                "  names shared by {}+ records: {} pairs, π = {:.4}",
                c.from, c.pairs, c.pi
            );
        }
        let mut t = Table::new(&[
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
        ])
        .indent("  ");
        t.row(["field", "level", "m", "u", "log2(m/u)"].map(str::to_owned));
        for f in &p.fields {
            for l in &f.levels {
                t.row([
                    f.field.to_owned(),
                    l.level.to_owned(),
                    format!("{:.4}", l.m),
                    format!("{:.3e}", l.u),
                    format!("{:.2}", l.weight),
                ]);
            }
        }
        print!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}

fn judge(a: &JudgeArgs, verdict: Verdict) -> Result<ExitCode> {
    let (db, snap) = super::db::snapshot_at(&a.db.db, None)?;
    let (Some(x), Some(y)) = (snap.lookup(&a.a), snap.lookup(&a.b)) else {
        bail!("{} or {} is no record of the database", a.a, a.b);
    };
    if x == y {
        bail!("{} and {} are already one record", a.a, a.b);
    }
    if snap.kind_of(x) != snap.kind_of(y) {
        bail!(
            "{} is a {} and {} a {}: only records of one kind can be one",
            a.a,
            snap.kind_of(x).as_str(),
            a.b,
            snap.kind_of(y).as_str()
        );
    }
    if a.by.trim().is_empty() {
        bail!("--by: say who judges");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let j = Judgement::new(snap.ext(x), snap.ext(y), verdict, a.by.trim(), now, &a.note);
    judgements::put(db.store(), &j)?;
    println!("{} {} {} by {}", j.a, j.b, verdict.as_str(), j.by);
    Ok(ExitCode::SUCCESS)
}

fn history(a: &ParamsArgs) -> Result<ExitCode> {
    let db = super::db::open(&a.db.db, false)?;
    let mut h = judgements::history(db.store())?;
    h.sort_by_key(|j| j.at_ms);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&h)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[Align::Left; 6]);
    t.row(["a", "b", "verdict", "by", "at (unix ms)", "note"].map(str::to_owned));
    for j in &h {
        t.row([
            j.a.clone(),
            j.b.clone(),
            j.verdict.as_str().to_owned(),
            j.by.clone(),
            j.at_ms.to_string(),
            j.note.clone(),
        ]);
    }
    t.print();
    Ok(ExitCode::SUCCESS)
}
