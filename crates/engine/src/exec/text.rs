//! Plans and conditions in words: `rules explain`, and the time windows a finding cites.

use super::expr::Val;
use super::graph::{Bind, G};
use super::ir::{
    CExpr, CLit, ColAt, EdgeAt, EdgeProp, NodeProp, PathOrEdge, Plan, RelSpec, Start, Step,
};
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::{CmpOp, Dir};

/// A value as text, for explanations and windows.
pub(crate) fn show(g: &G<'_>, v: Val<'_>) -> String {
    match v {
        Val::Null => "—".into(),
        Val::Bool(b) => b.to_string(),
        Val::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", n as i64),
        Val::Num(n) => format!("{n}"),
        Val::Date(d) => qinglian_model::Date(d).to_string(),
        Val::Str(s) => s.to_owned(),
        Val::Code(tag, c) => g.snap.code_text(tag as usize, c).to_owned(),
        Val::Node(n) => g.snap.name(n).to_owned(),
    }
}

fn name_of(map: &std::collections::BTreeMap<String, usize>, s: usize) -> String {
    map.iter()
        .find(|(_, v)| **v == s)
        .map_or_else(|| format!("#{s}"), |(k, _)| k.clone())
}

fn rel_text(r: &RelSpec) -> String {
    let types: Vec<String> = r
        .types
        .iter()
        .map(|t| {
            let k = EdgeKind::ALL[t.kind as usize];
            match (&t.mask, t.min) {
                (_, Some(m)) => format!("{k}{{min {m}}}"),
                (None, None) => k.to_string(),
                (Some(_), None) => format!("{k}{{…}}"),
            }
        })
        .collect();
    types.join("|")
}

fn arrow(dir: Dir, from_left: bool, body: &str) -> String {
    match (dir, from_left) {
        (Dir::Out, true) | (Dir::In, false) => format!("-[{body}]->"),
        (Dir::In, true) | (Dir::Out, false) => format!("<-[{body}]-"),
        (Dir::Both, _) => format!("-[{body}]-"),
    }
}

/// The plan, one line per step.
pub(crate) fn plan_text(p: &Plan) -> String {
    let n = |s| name_of(&p.node_slot, s);
    let mut out = String::new();
    match &p.start {
        Start::Nodes { slot, kinds } => {
            let ks: Vec<&str> = (0..NodeKind::COUNT)
                .filter(|&k| kinds[k])
                .map(|k| NodeKind::ALL[k].as_str())
                .collect();
            out.push_str(&format!(
                "  start: every {} node as ({})\n",
                ks.join("|"),
                n(*slot)
            ));
        }
        Start::Edges {
            rel, a, b, edge, ..
        } => {
            out.push_str(&format!(
                "  start: every {} edge as ({}){}({})\n",
                rel_text(rel),
                n(*a),
                arrow(rel.dir, true, &name_of(&p.edge_slot, *edge)),
                n(*b)
            ));
        }
        Start::Bound => out.push_str("  start: the outer match\n"),
        Start::Given { slot, nodes } => out.push_str(&format!(
            "  start: the {} node(s) given as ({})\n",
            nodes.len(),
            n(*slot)
        )),
    }
    for (i, s) in p.steps.iter().enumerate() {
        let line = match s {
            Step::Expand {
                rel,
                from,
                to,
                from_left,
                to_bound,
                edge,
                ..
            } => format!(
                "{} ({}){}({}){}",
                if *to_bound { "check" } else { "expand" },
                n(*from),
                arrow(
                    rel.dir,
                    *from_left,
                    &format!("{}:{}", name_of(&p.edge_slot, *edge), rel_text(rel))
                ),
                n(*to),
                if *to_bound { "  (both ends bound)" } else { "" }
            ),
            Step::Path {
                rel,
                from,
                to,
                from_left,
                to_bound,
                path,
                lo,
                hi,
                valid_at,
                ..
            } => format!(
                "{} ({}){}({}){}{}",
                if *to_bound { "check path" } else { "walk" },
                n(*from),
                arrow(
                    rel.dir,
                    *from_left,
                    &format!(
                        "{}:{}*{lo}..{hi}",
                        name_of(&p.path_slot, *path),
                        rel_text(rel)
                    )
                ),
                n(*to),
                if valid_at.is_some() {
                    "  (each edge valid on the date, checked while walking)"
                } else {
                    ""
                },
                if *from_left {
                    ""
                } else {
                    "  (walked from its right end)"
                }
            ),
            Step::Code {
                from,
                to,
                tag,
                to_bound,
                ..
            } => format!(
                "{} ({}) and ({}) share a normalised {} (code index)",
                if *to_bound { "check" } else { "join" },
                n(*from),
                n(*to),
                if *tag == 0 { "phone" } else { "address" }
            ),
            Step::Filter(c) => format!("filter {}", expr_text(p, c)),
            Step::Given {
                slot,
                nodes,
                to_bound,
            } => format!(
                "{} ({}) {} the {} node(s) given",
                if *to_bound { "check" } else { "bind" },
                n(*slot),
                if *to_bound { "is one of" } else { "to each of" },
                nodes.len()
            ),
        };
        out.push_str(&format!("  {}. {line}\n", i + 1));
        let sub = match s {
            Step::Filter(CExpr::Exists(sub)) => Some(sub),
            Step::Filter(CExpr::Not(x)) => match &**x {
                CExpr::Exists(sub) => Some(sub),
                _ => None,
            },
            _ => None,
        };
        if let Some(sub) = sub {
            for l in plan_text(sub).lines() {
                out.push_str(&format!("       | {l}\n"));
            }
        }
    }
    out
}

fn pe_text(p: &Plan, pe: &PathOrEdge) -> String {
    match pe {
        PathOrEdge::Path(s) => name_of(&p.path_slot, *s),
        PathOrEdge::Edge(s) => name_of(&p.edge_slot, *s),
        PathOrEdge::Missing => "—".into(),
    }
}

fn node_prop_name(np: NodeProp) -> &'static str {
    match np {
        NodeProp::Id => "id",
        NodeProp::Name => "name",
        NodeProp::Kind => "kind",
        NodeProp::MainDate(NodeKind::Person) => "birth_date",
        NodeProp::MainDate(NodeKind::Company) => "founded",
        NodeProp::MainDate(NodeKind::Tender) => "published",
        NodeProp::MainDate(NodeKind::Contract) => "signed",
        NodeProp::MainDate(_) => "paid",
        NodeProp::Death => "death_date",
        NodeProp::Identifier(_) => "identifier",
        NodeProp::Listed => "listed",
        NodeProp::Blacklisted => "blacklisted",
        NodeProp::Official => "official",
        NodeProp::Amount => "amount",
        NodeProp::Budget => "budget",
        NodeProp::Phone => "phone",
        NodeProp::Address => "address",
        NodeProp::PhoneShared => "phone_shared",
        NodeProp::AddressShared => "address_shared",
        NodeProp::Title => "title",
    }
}

fn edge_prop_name(ep: EdgeProp) -> &'static str {
    match ep {
        EdgeProp::Start => "start",
        EdgeProp::End => "end",
        EdgeProp::Label => "label",
        EdgeProp::Kind => "kind",
        EdgeProp::Value => "value",
        EdgeProp::Won => "won",
        EdgeProp::Submitted => "submitted",
    }
}

/// A compiled condition in the rule's own words.
pub(crate) fn expr_text(p: &Plan, e: &CExpr) -> String {
    let t = |x: &CExpr| expr_text(p, x);
    match e {
        CExpr::Lit(CLit::Null) => "null".into(),
        CExpr::Lit(CLit::Bool(b)) => b.to_string(),
        CExpr::Lit(CLit::Num(n)) => n.to_string(),
        CExpr::Lit(CLit::Str(s)) => format!("'{s}'"),
        CExpr::Lit(CLit::Date(d)) => format!("date('{}')", qinglian_model::Date(*d)),
        CExpr::Node(s) => name_of(&p.node_slot, *s),
        CExpr::Missing => "(unbound)".into(),
        CExpr::NodeProp(s, np) => format!("{}.{}", name_of(&p.node_slot, *s), node_prop_name(*np)),
        CExpr::EdgeProp(at, ep) => match at {
            EdgeAt::Slot(s) => format!("{}.{}", name_of(&p.edge_slot, *s), edge_prop_name(*ep)),
            EdgeAt::First(s) => format!(
                "first({}).{}",
                name_of(&p.path_slot, *s),
                edge_prop_name(*ep)
            ),
            EdgeAt::Last(s) => format!(
                "last({}).{}",
                name_of(&p.path_slot, *s),
                edge_prop_name(*ep)
            ),
        },
        CExpr::Len(pe) => format!("len({})", pe_text(p, pe)),
        CExpr::ValidAt(pe, d) => format!("valid_at({}, {})", pe_text(p, pe), t(d)),
        CExpr::Controlling(pe) => format!("controlling({})", pe_text(p, pe)),
        CExpr::During(d, pe) => format!("{} DURING {}", t(d), pe_text(p, pe)),
        CExpr::Not(x) => format!("NOT {}", t(x)),
        CExpr::And(v) => v.iter().map(t).collect::<Vec<_>>().join(" AND "),
        CExpr::Or(v) => format!("({})", v.iter().map(t).collect::<Vec<_>>().join(" OR ")),
        CExpr::Cmp(op, a, b) => format!("{} {} {}", t(a), op.symbol(), t(b)),
        CExpr::Within { a, days, after, b } => format!(
            "{} WITHIN {days} DAYS {} {}",
            t(a),
            if *after { "AFTER" } else { "BEFORE" },
            t(b)
        ),
        CExpr::IsNull(x, n) => format!("{} IS {}NULL", t(x), if *n { "" } else { "NOT " }),
        CExpr::In(x, l) => format!("{} IN [{} values]", t(x), l.len()),
        CExpr::KindTest(s, m) => {
            let ks: Vec<&str> = (0..NodeKind::COUNT)
                .filter(|&k| m[k])
                .map(|k| NodeKind::ALL[k].as_str())
                .collect();
            format!("{}:{}", name_of(&p.node_slot, *s), ks.join("|"))
        }
        CExpr::Arith(op, a, b) => format!("{} {op} {}", t(a), t(b)),
        CExpr::Exists(_) => "EXISTS {…}".into(),
        CExpr::Col(at, c) => match at {
            ColAt::Node(s) => format!("{}.{}", name_of(&p.node_slot, *s), c.name),
            ColAt::Edge(EdgeAt::Slot(s)) => format!("{}.{}", name_of(&p.edge_slot, *s), c.name),
            ColAt::Edge(EdgeAt::First(s)) => {
                format!("first({}).{}", name_of(&p.path_slot, *s), c.name)
            }
            ColAt::Edge(EdgeAt::Last(s)) => {
                format!("last({}).{}", name_of(&p.path_slot, *s), c.name)
            }
        },
    }
}

fn is_temporal(e: &CExpr) -> bool {
    match e {
        CExpr::Cmp(CmpOp::Eq, a, _)
            if matches!(**a, CExpr::NodeProp(_, NodeProp::Phone | NodeProp::Address)) =>
        {
            true
        }
        CExpr::During(..) | CExpr::ValidAt(..) | CExpr::Within { .. } => true,
        CExpr::Cmp(_, a, b) => is_date(a) || is_date(b),
        CExpr::Not(x) => matches!(**x, CExpr::Exists(_)),
        CExpr::IsNull(x, _) => is_date(x),
        _ => false,
    }
}

fn is_date(e: &CExpr) -> bool {
    matches!(
        e,
        CExpr::NodeProp(
            _,
            NodeProp::MainDate(_) | NodeProp::Death | NodeProp::Listed
        ) | CExpr::EdgeProp(_, EdgeProp::Start | EdgeProp::End | EdgeProp::Submitted)
            | CExpr::Lit(CLit::Date(_))
    ) || matches!(e, CExpr::Col(_, c) if c.date)
}

/// The time windows that made a finding count: every temporal condition of the rule, with
/// the witness's values.
pub(crate) fn windows(g: &G<'_>, p: &Plan, b: &Bind) -> Vec<String> {
    let mut out = Vec::new();
    for c in p.conditions.iter().filter(|c| is_temporal(c)) {
        let val = |x: &CExpr| show(g, g.eval(x, b));
        let intervals = |pe: &PathOrEdge| {
            g.edges_of(b, *pe)
                .iter()
                .map(|e| {
                    format!(
                        "{} {}",
                        e.kind(),
                        g.ev[e.kind as usize].interval(e.idx as usize)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let s = match c {
            CExpr::During(d, pe) => format!(
                "{} = {} falls within {} [{}]",
                expr_text(p, d),
                val(d),
                pe_text(p, pe),
                intervals(pe)
            ),
            CExpr::ValidAt(pe, d) => format!(
                "every edge of {} holds on {} = {}: {}",
                pe_text(p, pe),
                expr_text(p, d),
                val(d),
                intervals(pe)
            ),
            CExpr::Within {
                a,
                days,
                after,
                b: y,
            } => format!(
                "{} = {} is within {days} days {} {} = {}",
                expr_text(p, a),
                val(a),
                if *after { "after" } else { "before" },
                expr_text(p, y),
                val(y)
            ),
            CExpr::Cmp(op, a, y) => format!(
                "{} = {} {} {} = {}",
                expr_text(p, a),
                val(a),
                op.symbol(),
                expr_text(p, y),
                val(y)
            ),
            CExpr::IsNull(x, n) => format!(
                "{} = {} IS {}NULL",
                expr_text(p, x),
                val(x),
                if *n { "" } else { "NOT " }
            ),
            CExpr::Not(x) => match &**x {
                CExpr::Exists(sub) => format!("no match for: {}", sub_text(sub)),
                _ => continue,
            },
            _ => continue,
        };
        let holds = g.truth(c, b) == Some(true);
        out.push(if holds {
            s
        } else {
            format!("{s} (does not hold)")
        });
        let _ = Val::Null;
    }
    out
}

fn sub_text(sub: &Plan) -> String {
    let mut parts = Vec::new();
    for s in &sub.steps {
        match s {
            Step::Expand {
                rel,
                from,
                to,
                from_left,
                ..
            } => {
                parts.push(format!(
                    "({}){}({})",
                    name_of(&sub.node_slot, *from),
                    arrow(rel.dir, *from_left, &rel_text(rel)),
                    name_of(&sub.node_slot, *to)
                ));
            }
            Step::Path {
                rel,
                from,
                to,
                from_left,
                lo,
                hi,
                ..
            } => parts.push(format!(
                "({}){}({})",
                name_of(&sub.node_slot, *from),
                arrow(
                    rel.dir,
                    *from_left,
                    &format!("{}*{lo}..{hi}", rel_text(rel))
                ),
                name_of(&sub.node_slot, *to)
            )),
            Step::Filter(c) => {
                // The planner splits a WHERE into one filter per condition: one WHERE, then AND.
                let word = if parts.iter().any(|p: &String| p.starts_with("WHERE ")) {
                    "AND"
                } else {
                    "WHERE"
                };
                parts.push(format!("{word} {}", expr_text(sub, c)));
            }
            Step::Given { slot, .. } => {
                parts.push(format!("({}) given", name_of(&sub.node_slot, *slot)));
            }
            Step::Code { from, to, .. } => parts.push(format!(
                "({}) ~ ({})",
                name_of(&sub.node_slot, *from),
                name_of(&sub.node_slot, *to)
            )),
        }
    }
    parts.join(" ")
}
