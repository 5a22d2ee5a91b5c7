//! The peer benchmark's queries, run by Qinglian on a database built by `qinglian ingest`.
//!
//! What it measures, on the bundle the peers load (`shared/bench/gen.py`): opening the
//! database ready to answer (snapshot mapped and checked), then
//! * Q1 `relative_wins` over all officials (the rule file from `queries/`),
//! * Q2 the shortest undirected path, at most 6 hops over RELATION/OWNS/ROLE, for the pairs in
//!   `bench/q2_pairs.csv` (distance only, as the peers compute),
//! * Q3 the 2-hop neighbourhood (every edge kind) of the officials in `bench/q3_officials.csv`,
//! * Q4 `bid_rigging`,
//! * and the screening with every built-in rule.
//!
//! It writes the answers in the peers' formats (`qinglian-<scale>-q1.jsonl`, `-q2.csv`,
//! `-q3.csv`, `-q4.jsonl`) and prints one JSON line per step with wall time and peak RSS, like
//! the peer harnesses, so that `benches/peers.sh` can put everything in one table.
//!
//! Run: `cargo bench --bench queries -- --db DB --data BUNDLE --results DIR --scale M`

use anyhow::{Context, Result};
use qinglian_engine::exec::ExecOptions;
use qinglian_engine::paths::{neighbourhood, PathOptions, Searcher};
use qinglian_model::EdgeKind;
use rayon::prelude::*;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn emit(scale: &str, query: &str, t: Instant, rows: usize, extra: &serde_json::Value) {
    let mut v = serde_json::json!({
        "peer": "qinglian", "scale": scale, "query": query, "status": "ok",
        "wall_s": (t.elapsed().as_secs_f64() * 1e4).round() / 1e4, "rows": rows, "peak_rss_mb": peak_rss_mb(),
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    println!("{v}");
}

fn read_csv(path: &PathBuf) -> Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    Ok(text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect())
}

fn main() -> Result<()> {
    // `cargo bench` also passes `--bench`; without our arguments there is nothing to do.
    let (Some(db), Some(data)) = (arg("--db"), arg("--data")) else {
        eprintln!("usage: queries --db DB --data BUNDLE [--results DIR] [--scale S] [--repeat N]");
        return Ok(());
    };
    let results = PathBuf::from(arg("--results").unwrap_or_else(|| "bench-results".into()));
    let scale = arg("--scale").unwrap_or_else(|| "M".into());
    let repeat: usize = arg("--repeat").and_then(|r| r.parse().ok()).unwrap_or(1);
    std::fs::create_dir_all(&results)?;
    let data = PathBuf::from(data);
    let out = |q: &str, ext: &str| results.join(format!("qinglian-{scale}-{q}.{ext}"));

    let t = Instant::now();
    let store = qinglian_store::SledStore::open(&PathBuf::from(&db).join("store"))?;
    let gdb = qinglian_store::GraphDb::open(store)?;
    let (snap, rebuilt) =
        qinglian_engine::open_snapshot(&gdb, &PathBuf::from(&db).join("snapshot.bin"))?;
    emit(
        &scale,
        "open",
        t,
        snap.node_count() as usize,
        &serde_json::json!({"rebuilt": rebuilt}),
    );

    let rules = qinglian_rules::builtins()?;
    let rule = |id: &str| {
        rules
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .context("built-in rule")
    };
    let opts = ExecOptions::default();

    // Q1 and Q4: the rule files, as `qinglian screen --rule` runs them.
    for (q, id) in [("q1", "relative_wins"), ("q4", "bid_rigging")] {
        let r0 = rule(id)?;
        let mut run = None;
        for _ in 0..repeat {
            // Compiled afresh each time: planning and the pruning sets are part of the query.
            let t = Instant::now();
            let r = qinglian_engine::screen(&snap, std::slice::from_ref(&r0), &opts)?;
            emit(&scale, q, t, r.findings.len(), &serde_json::json!({}));
            run = Some(r);
        }
        let mut f = std::io::BufWriter::new(std::fs::File::create(out(q, "jsonl"))?);
        for x in run.map(|r| r.findings).unwrap_or_default() {
            let v = if q == "q1" {
                serde_json::json!({"pattern": x.pattern, "official": x.official, "target": x.target, "ref": x.ref_id})
            } else {
                serde_json::json!({"pattern": x.pattern, "ref": x.ref_id, "target": x.target, "target2": x.target2})
            };
            writeln!(f, "{v}")?;
        }
    }

    // Q2: distances for the pairs.
    let pairs = read_csv(&data.join("bench/q2_pairs.csv"))?;
    let popts = PathOptions {
        max_hops: 6,
        kinds: vec![EdgeKind::Relation, EdgeKind::Owns, EdgeKind::Role],
        ..PathOptions::default()
    };
    let ids: Vec<(u32, Option<u32>, Option<u32>)> = pairs
        .iter()
        .map(|r| {
            (
                r[0].parse().unwrap_or(0),
                snap.lookup(&r[1]),
                snap.lookup(&r[2]),
            )
        })
        .collect();
    let mut lengths = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        // A searcher holds two visited arrays of the node count: one per worker, not one per
        // rayon split (on 13.7M nodes each is 137 MB of fresh pages to fault in).
        let per_job = ids.len().div_ceil(4 * rayon::current_num_threads()).max(1);
        lengths = ids
            .par_iter()
            .with_min_len(per_job)
            .map_init(
                || Searcher::new(&snap),
                |s, &(id, a, b)| {
                    let len = match (a, b) {
                        (Some(a), Some(b)) => s.distance(a, b, &popts).hops.map_or(-1, i64::from),
                        _ => -1,
                    };
                    (id, len)
                },
            )
            .collect::<Vec<_>>();
        emit(
            &scale,
            "q2",
            t,
            lengths.len(),
            &serde_json::json!({"found": lengths.iter().filter(|x| x.1 >= 0).count()}),
        );
    }
    lengths.sort_unstable();
    let mut f = std::io::BufWriter::new(std::fs::File::create(out("q2", "csv"))?);
    writeln!(f, "pair_id,length")?;
    for (id, len) in &lengths {
        writeln!(f, "{id},{len}")?;
    }

    // Q3: 2-hop neighbourhoods.
    let officials: Vec<String> = read_csv(&data.join("bench/q3_officials.csv"))?
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let mut counts = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        counts = officials
            .par_iter()
            .map(|o| {
                let (n, e) = match snap.lookup(o) {
                    Some(c) => {
                        let (nodes, edges, _) = neighbourhood(&snap, c, 2, None, usize::MAX);
                        (nodes.len(), edges.len())
                    }
                    None => (0, 0),
                };
                (o.clone(), n, e)
            })
            .collect::<Vec<_>>();
        emit(
            &scale,
            "q3",
            t,
            counts.len(),
            &serde_json::json!({"total_nodes": counts.iter().map(|c| c.1).sum::<usize>(), "total_edges": counts.iter().map(|c| c.2).sum::<usize>()}),
        );
    }
    counts.sort();
    let mut f = std::io::BufWriter::new(std::fs::File::create(out("q3", "csv"))?);
    writeln!(f, "official_id,n_nodes,n_edges")?;
    for (o, n, e) in &counts {
        writeln!(f, "{o},{n},{e}")?;
    }

    // Every built-in rule, compiled and run as `qinglian screen` does.
    for _ in 0..repeat {
        let t = Instant::now();
        let n = qinglian_engine::screen(&snap, &rules, &opts)?
            .findings
            .len();
        emit(
            &scale,
            "screen_all",
            t,
            n,
            &serde_json::json!({"rules": rules.len()}),
        );
    }
    Ok(())
}
