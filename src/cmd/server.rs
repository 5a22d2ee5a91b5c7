//! `qinglian serve`, `qinglian token`, `qinglian audit`.

use super::out::{self, Align, Table};
use super::DbArg;
use anyhow::{bail, Context, Result};
use qinglian_api::auth::{Role, TokenStore};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Serve the investigator HTTP API.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Address to listen on (port 0: any free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// A TOML file of limits (see docs/api.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A folder of rule files that add to or override the built-in rules, as for `screen`:
    /// the API's findings come from the same rule files as the CLI's.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Serve what the database knew after this load (read-only history: findings, entities,
    /// paths and pre-award checks as they were then; clearances name this load).
    #[arg(long, value_name = "LOAD")]
    pub known_at: Option<u32>,
    /// Try the workbench: load this bundle (default: the demo zone) into a temporary database,
    /// create an investigator, an analyst and an auditor, and print a one-time sign-in link
    /// for each. The database is removed when the server stops.
    #[arg(long, value_name = "BUNDLE", num_args = 0..=1, default_missing_value = "data-samples/zone", conflicts_with_all = ["known_at", "rules"])]
    pub demo: Option<PathBuf>,
}

/// A temporary database holding `bundle`: `ingest` exactly as the command runs it.
fn demo_db(bundle: &std::path::Path) -> Result<tempfile::TempDir> {
    #[derive(clap::Parser)]
    struct Ingest {
        #[command(flatten)]
        a: super::ingest::Args,
    }
    if !bundle.join("people.csv").is_file() {
        bail!(
            "--demo {}: no bundle there (run from the repository's folder, or give the bundle's path)",
            bundle.display()
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("qinglian-demo-")
        .tempdir()?;
    let db = dir.path().join("db");
    let one = <Ingest as clap::Parser>::try_parse_from([
        std::ffi::OsStr::new("ingest"),
        bundle.as_os_str(),
        std::ffi::OsStr::new("--db"),
        db.as_os_str(),
    ])?;
    let code = super::ingest::run(&one.a)?;
    if code != ExitCode::SUCCESS {
        bail!("--demo: the bundle {} did not load", bundle.display());
    }
    Ok(dir)
}

/// One token per workbench role, each behind a one-time sign-in link.
fn demo_links(state: &qinglian_api::AppState) -> Result<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    for role in [Role::Investigator, Role::Analyst, Role::Auditor] {
        let (rec, _) = state
            .tokens
            .create(role, 1, "serve --demo")
            .map_err(anyhow::Error::msg)?;
        out.push((role.as_str(), state.sessions.one_time_code(&rec.id)));
    }
    Ok(out)
}

/// Manage API tokens (stored only as digests, in the database folder).
#[derive(Debug, clap::Subcommand)]
pub enum TokenCmd {
    /// Create a token and print it once.
    Create {
        /// What the token may do (docs/api.md, "Roles").
        #[arg(long, value_parser = ["investigator", "analyst", "admin", "auditor"])]
        role: String,
        /// Days until it expires.
        #[arg(long, default_value_t = 90)]
        days: u64,
        /// What it is for.
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Revoke a token by id (takes effect on a running server at once).
    Revoke {
        /// Token id.
        id: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

/// Inspect the audit trail.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCmd {
    /// Check the hash chain: exits non-zero on any edited, deleted, reordered or cut-off record.
    Verify {
        #[command(flatten)]
        db: DbArg,
    },
    /// Seal a broken trail so that the server can write again: the broken log is kept, renamed
    /// (`audit.sealed-<time>.log`), and a new segment starts with a record naming it, its
    /// SHA-256, how far it verified, the problem and your reason (docs/api.md).
    Seal {
        #[command(flatten)]
        db: DbArg,
        /// Why it is sealed (who found the break, the incident number); written into the trail.
        #[arg(long)]
        reason: String,
    },
    /// Print records, one JSON object per line, each with a readable UTC `time` first (the
    /// record's `entry.ts` is Unix milliseconds).
    Show {
        #[command(flatten)]
        db: DbArg,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Print at most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

/// The findings of the current load when its screening was imported (`qinglian findings
/// import`): derived again by the engine from the keys the findings store holds, so the server
/// answers with them instead of screening the whole graph. `None` otherwise, or when `usable`
/// is false (other rules, or the past asked for).
fn imported_findings(
    db: &qinglian_store::GraphDb<qinglian_store::SledStore>,
    snap: &qinglian_engine::snapshot::Snapshot,
    rules: &[qinglian_rules::Rule],
    usable: bool,
) -> Result<Option<Vec<qinglian_engine::findings::Finding>>> {
    let load = db.state().loads;
    let imported = qinglian_store::lifecycle::imported(db.store())?;
    let Some(from) = imported.get(&load).filter(|_| usable) else {
        return Ok(None);
    };
    let life = qinglian_engine::lifecycle::Lifecycle::read(db)?;
    let (found, lost) = qinglian_engine::import::restore(snap, rules, &life.held(load))?;
    eprintln!(
        "load #{load}'s screening was imported from {} ({} lines): {} findings derived again from their keys",
        from.file,
        from.lines,
        found.len()
    );
    if lost > 0 {
        eprintln!(
            "warning: {lost} imported finding(s) no longer derived by the engine (changed rules?)"
        );
    }
    Ok(Some(found))
}

pub fn serve(a: &ServeArgs) -> Result<ExitCode> {
    let config = match &a.config {
        Some(p) => qinglian_api::Config::from_file(p).map_err(anyhow::Error::msg)?,
        None => qinglian_api::Config::default(),
    };
    let demo = a.demo.as_deref().map(demo_db).transpose()?;
    let folder = demo
        .as_ref()
        .map_or(a.db.db.clone(), |d| d.path().join("db"));
    let (db, snap) = super::db::snapshot_at(&folder, a.known_at)?;
    let generation = db.state().generation;
    let upto = a.known_at.unwrap_or(u32::MAX);
    let loads: Vec<_> = db
        .loads()?
        .into_iter()
        .filter(|l| l.number <= upto)
        .collect();
    let files = db.files()?;
    let t = std::time::Instant::now();
    let rules = super::rules::load_rules(a.rules.as_ref())?;
    let builtin = a.rules.is_none();
    let state = match imported_findings(&db, &snap, &rules, builtin && a.known_at.is_none())? {
        Some(found) => qinglian_api::AppState::with_findings(
            snap,
            folder.clone(),
            (generation, loads, files),
            config,
            rules,
            found,
        ),
        None => qinglian_api::AppState::new(
            snap,
            folder.clone(),
            generation,
            loads,
            files,
            config,
            rules,
        ),
    }
    .map_err(anyhow::Error::msg)?;
    // The built-in rules' screening of the current data is what the findings store records:
    // a load it lacks (a database from before it existed, a load cut short) is recorded now.
    if builtin && a.known_at.is_none() {
        let done = qinglian_engine::lifecycle::record_missing(&db, &state.findings, &state.rules)?;
        for (l, r) in done {
            eprintln!(
                "findings store: load #{l} recorded ({} new, {} resolved, {} changed)",
                r.new, r.resolved, r.changed
            );
        }
    }
    let lifecycle = qinglian_engine::lifecycle::Lifecycle::read(&db)?;
    drop(db); // the server reads only the snapshot; release sled's lock for `token` commands
    let state = state.with_history(lifecycle, builtin, a.known_at);
    eprintln!(
        "screened {} findings in {:.1}s",
        state.findings.len(),
        t.elapsed().as_secs_f64()
    );
    // The finding index and evidence digests the workbench's lists join with decisions:
    // built now rather than in the first request.
    let _ = state.finding("");
    let links = if demo.is_some() {
        demo_links(&state)?
    } else {
        Vec::new()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = qinglian_api::serve(Arc::new(state), a.addr, |addr| {
        println!("listening on {addr}");
        for (role, code) in &links {
            println!("{role:<12} sign in once: http://{addr}/ui/login/{code}");
        }
        if let Some(d) = &demo {
            println!(
                "demo database: {} (removed when the server stops: Ctrl-C)",
                d.path().display()
            );
        }
        let _ = std::io::stdout().flush();
    });
    rt.block_on(async {
        tokio::select! {
            r = served => r.context("serving"),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })?;
    drop(demo);
    Ok(ExitCode::SUCCESS)
}

pub fn token(c: &TokenCmd) -> Result<ExitCode> {
    let folder = |db: &DbArg| -> Result<PathBuf> {
        if !db.db.join("store").exists() {
            bail!("{}: no database here", db.db.display());
        }
        Ok(db.db.clone())
    };
    match c {
        TokenCmd::Create {
            role,
            days,
            note,
            db,
        } => {
            let r = Role::parse(role).with_context(|| {
                format!("--role {role}: expected investigator, analyst, admin or auditor")
            })?;
            let (rec, token) = TokenStore::new(&folder(db)?)
                .create(r, *days, note)
                .map_err(anyhow::Error::msg)?;
            eprintln!(
                "token {} ({}) expires {}; it is shown once:",
                rec.id,
                rec.role.as_str(),
                out::unix_secs(rec.expires)
            );
            println!("{token}");
        }
        TokenCmd::Revoke { id, db } => {
            if !TokenStore::new(&folder(db)?)
                .revoke(id)
                .map_err(anyhow::Error::msg)?
            {
                bail!("no token {id}");
            }
            println!("revoked {id}");
        }
        TokenCmd::List { db } => {
            // No header: every line starts with a token id, for scripts.
            let mut table = Table::new(&[Align::Left; 6]);
            for t in TokenStore::new(&folder(db)?)
                .list()
                .map_err(anyhow::Error::msg)?
            {
                table.row([
                    t.id.clone(),
                    t.role.as_str().to_owned(),
                    format!("created {}", out::unix_secs(t.created)),
                    format!("expires {}", out::unix_secs(t.expires)),
                    if t.revoked { "REVOKED" } else { "" }.to_owned(),
                    t.note.clone(),
                ]);
            }
            table.print();
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn audit(c: &AuditCmd) -> Result<ExitCode> {
    match c {
        AuditCmd::Verify { db } => match qinglian_api::audit::verify_full(&db.db) {
            Ok(r) => {
                println!(
                    "audit trail intact: {} records; head {}",
                    r.records,
                    if r.last_hash.is_empty() {
                        "(empty)"
                    } else {
                        &r.last_hash
                    }
                );
                for (file, note) in &r.sealed {
                    println!("earlier segment {file}: {note}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!(
                    "audit trail BROKEN: {e} ({} record(s) verified before it); to let the server write again, `qinglian audit seal --reason TEXT` (docs/api.md)",
                    e.good_records
                );
                Ok(ExitCode::from(1))
            }
        },
        AuditCmd::Seal { db, reason } => {
            let operator = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            let msg = qinglian_api::audit::seal(&db.db, reason, &format!("operator:{operator}"))
                .map_err(anyhow::Error::msg)?;
            println!("{msg}");
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Show { db, offset, limit } => {
            let (recs, total) =
                qinglian_api::audit::read(&db.db, *offset, *limit).map_err(anyhow::Error::msg)?;
            for r in recs {
                println!("{}", with_time(&r)?);
            }
            eprintln!("{total} records");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// An audit record as one JSON line with `"time"` first: its `entry.ts` (Unix milliseconds) as
/// `YYYY-MM-DD HH:MM:SS.mmm UTC`. The record's own fields follow unchanged, in stored order; a
/// record whose entry could not be parsed has no time.
fn with_time(r: &qinglian_api::audit::Record) -> Result<String> {
    let json = serde_json::to_string(r)?;
    Ok(match (&r.entry, json.strip_prefix('{')) {
        (Some(e), Some(rest)) => format!(
            "{{\"time\":{},{rest}",
            serde_json::to_string(&out::unix_millis(e.ts))?
        ),
        _ => json,
    })
}
