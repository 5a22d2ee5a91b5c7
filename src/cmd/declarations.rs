//! `qinglian declarations sample|sheet`: declaration spot-checks (个人有关事项报告 抽样、比对).
//! The sample and the sheets are `engine::declarations`; the files are `export::sheet`.

use super::DbArg;
use anyhow::{bail, Context, Result};
use qinglian_engine::declarations::{self, Sample, SampleOptions, Sheet, Size};
use qinglian_engine::snapshot::Snapshot;
use qinglian_model::NodeKind;
use std::path::PathBuf;
use std::process::ExitCode;

/// Draw officials for a declaration check, or print the comparison sheet of given officials.
#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// A reproducible, stratified random sample of officials (by agency and rank), each with
    /// their comparison sheet.
    Sample(SampleArgs),
    /// The comparison sheet of officials named on demand.
    Sheet(SheetArgs),
}

/// What to print and where.
#[derive(Debug, clap::Args)]
pub struct Output {
    #[command(flatten)]
    pub db: DbArg,
    /// Output format: json (sample and sheets), csv (one row per item), html (printable).
    #[arg(long, value_parser = ["json", "csv", "html"], default_value = "json")]
    pub format: String,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Rules folder whose files add to or replace the built-in ones (the sheet reads the
    /// definition of an interest from the rule named by --interest-rule).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// The rule whose pattern defines an interest.
    #[arg(long, default_value = "undeclared_interest")]
    pub interest_rule: String,
}

/// `declarations sample`.
#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// The seed: any text (a year and a notary's number, say). Same seed, same data, same sample.
    #[arg(long)]
    pub seed: String,
    /// Share of each stratum to draw, in (0, 1].
    #[arg(long, conflicts_with = "count", required_unless_present = "count")]
    pub rate: Option<f64>,
    /// Officials to draw in all, spread over the strata in proportion.
    #[arg(long)]
    pub count: Option<usize>,
    /// Only officials of these agencies and their sub-agencies (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    pub agency: Vec<String>,
    /// Only these ranks (position titles, e.g. 科长; repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    pub rank: Vec<String>,
    /// Offices held on this day (default: offices held now, with an open end).
    #[arg(long, value_parser = super::rules::date_arg)]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub output: Output,
}

/// `declarations sheet`.
#[derive(Debug, clap::Args)]
pub struct SheetArgs {
    /// Officials: bundle id, alias or identifier.
    #[arg(required = true)]
    pub officials: Vec<String>,
    #[command(flatten)]
    pub output: Output,
}

pub fn run(c: &Cmd) -> Result<ExitCode> {
    match c {
        Cmd::Sample(a) => {
            let (_, snap) = super::db::open_snapshot(&a.output.db.db)?;
            let opts = SampleOptions {
                seed: a.seed.clone(),
                size: match (a.rate, a.count) {
                    (Some(r), _) => Size::Rate(r),
                    (None, Some(n)) => Size::Count(n),
                    (None, None) => bail!("give --rate or --count"),
                },
                agencies: a.agency.clone(),
                ranks: a.rank.clone(),
                as_of: super::rules::parse_date(&a.as_of)?,
            };
            let sample = declarations::sample(&snap, &opts).map_err(anyhow::Error::msg)?;
            let ids: Vec<String> = sample
                .officials
                .iter()
                .map(|d| d.official.clone())
                .collect();
            let sheets = sheets(&snap, &a.output, &ids)?;
            write(&a.output, Some(&sample), &sheets)
        }
        Cmd::Sheet(a) => {
            let (_, snap) = super::db::open_snapshot(&a.output.db.db)?;
            let sheets = sheets(&snap, &a.output, &a.officials)?;
            write(&a.output, None, &sheets)
        }
    }
}

fn sheets(snap: &Snapshot, o: &Output, ids: &[String]) -> Result<Vec<Sheet>> {
    let rules = super::rules::load_rules(o.rules.as_ref())?;
    ids.iter()
        .map(|id| {
            let n = snap
                .lookup(id)
                .or_else(|| snap.lookup_identifier(id))
                .filter(|&n| snap.kind_of(n) == NodeKind::Person)
                .with_context(|| format!("no person with id or identifier {id}"))?;
            Ok(declarations::sheet(snap, &rules, &o.interest_rule, n)?)
        })
        .collect()
}

fn write(o: &Output, sample: Option<&Sample>, sheets: &[Sheet]) -> Result<ExitCode> {
    let bytes = match o.format.as_str() {
        "csv" => qinglian_export::sheet::csv(sheets)?,
        "html" => qinglian_export::sheet::html(sample, sheets)?.into_bytes(),
        _ => {
            let v = serde_json::json!({"sample": sample, "sheets": sheets});
            let mut b = serde_json::to_vec_pretty(&v)?;
            b.push(b'\n');
            b
        }
    };
    match &o.out {
        Some(p) => std::fs::write(p, bytes).with_context(|| format!("writing {}", p.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
