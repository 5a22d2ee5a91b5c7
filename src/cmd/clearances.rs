//! `qinglian clearances verify`: a clearance checked again, offline, against what the database
//! knew when it was made (`known_at`) and against the current data.

use super::DbArg;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

/// Check signed clearances (docs/api.md, "Clearances").
#[derive(Debug, clap::Subcommand)]
pub enum ClearancesCmd {
    /// Verify a clearance's signature with the database's key, check it again against what
    /// the database knew after the load it was made on, and against the current data. Prints
    /// one JSON object; exits 0 when the signature is valid and the re-check at its load finds
    /// nothing, 3 when that re-check raises a finding, 4 when the signature is not valid.
    Verify {
        /// The clearance as the API returned it (the `clearance` object, or the whole answer
        /// of `POST /v1/screen`), a file or `-` for standard input.
        file: PathBuf,
        #[command(flatten)]
        db: DbArg,
        /// A folder of rule files that add to or override the built-in rules (the server's
        /// `--rules`, when it was started with one).
        #[arg(long)]
        rules: Option<PathBuf>,
    },
}

pub fn run(c: &ClearancesCmd) -> Result<ExitCode> {
    let ClearancesCmd::Verify { file, db, rules } = c;
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", file.display()))?;
    let c = if v.get("clearance").is_some() {
        &v["clearance"]
    } else {
        &v
    };
    if c.get("signature").is_none() || c.get("checked").is_none() {
        bail!(
            "{}: not a clearance (no signature or checked block)",
            file.display()
        );
    }
    let key_path = db.db.join("server.key");
    if !key_path.exists() {
        bail!(
            "{}: no signing key in this database folder; clearances are verified with the key of the server that issued them",
            key_path.display()
        );
    }
    let key = qinglian_api::sign::Key::load_or_create(&db.db).map_err(anyhow::Error::msg)?;
    let valid = qinglian_api::clearance::signed_by(&key, c);
    let known_at = qinglian_api::clearance::known_at(c);
    let rules = super::rules::load_rules(rules.as_ref())?;
    let asked = qinglian_engine::hypothesis::pre_award_rules(&rules);
    let then = match known_at {
        Some(l) => recheck(&db.db, Some(l), &asked, &c["checked"])?,
        None => json!({"clear": null, "why": "the clearance names no load"}),
    };
    let now = recheck(&db.db, None, &asked, &c["checked"])?;
    let out = json!({
        "clearance_id": c["clearance_id"],
        "valid": valid,
        "known_at": known_at,
        "recheck_at_load": then,
        "recheck_now": now,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(if !valid {
        ExitCode::from(4)
    } else if then["clear"] == json!(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// The clearance's check run again on the database as it was after `load` (current: `None`).
fn recheck(
    db: &std::path::Path,
    load: Option<u32>,
    asked: &[qinglian_engine::hypothesis::PreAward],
    checked: &Value,
) -> Result<Value> {
    let (dbh, snap) = super::db::snapshot_at(db, load)?;
    let at = load.unwrap_or(dbh.state().loads);
    drop(dbh);
    Ok(
        match qinglian_api::clearance::recheck(&snap, asked, checked) {
            Ok(found) => json!({
                "load": at,
                "clear": found.is_empty(),
                "findings": found,
            }),
            Err(e) => json!({"load": at, "clear": null, "why": e.to_string()}),
        },
    )
}
