//! Extra columns in rules: `t.deadline`, `b.status`, `c.status`. A rule names a column the
//! catalog does not hold; the rule checker knows its type (a standard column, or one the rule
//! file declares); here its values are read from the snapshot once, when the rule is compiled,
//! and typed, so that evaluating it is a hash lookup like any other property.

use super::ir::{CLit, Column};
use crate::snapshot::Snapshot;
use qinglian_rules::schema::{Columns, Owner, Ty};
use std::sync::Arc;

/// The values of column `name` on every owner that has it, or `None` when no owner declares
/// it (the expression is then null, as any property a kind lacks).
pub(crate) fn read(
    snap: &Snapshot,
    cols: &Columns,
    owners: &[Owner],
    name: &str,
) -> Option<Arc<Column>> {
    let mut col = Column {
        name: name.to_owned(),
        ..Column::default()
    };
    let mut any = false;
    for o in owners {
        let Some(ty) = cols.get([*o], name) else {
            continue;
        };
        any = true;
        col.date |= ty == Ty::Date;
        let (text, kind) = match *o {
            Owner::Node(k) => (snap.node_column(k, name), None),
            Owner::Edge(k) => (snap.edge_column(k, name), Some(k.index())),
        };
        for (&i, t) in text.iter() {
            if let Some(v) = typed(t, ty) {
                let at = kind.map_or(u64::from(i), |k| key(k, i));
                col.values.insert(at, v);
            }
        }
    }
    any.then(|| Arc::new(col))
}

/// The key of edge `idx` of kind `kind` in a column.
pub(crate) fn key(kind: usize, idx: u32) -> u64 {
    (kind as u64) << 32 | u64::from(idx)
}

/// Text read as the column's type; `None` for an empty or unreadable value.
fn typed(t: &str, ty: Ty) -> Option<CLit> {
    let t = t.trim();
    if t.is_empty() {
        return None;
    }
    match ty {
        Ty::Str => Some(CLit::Str(t.to_owned())),
        Ty::Num => t
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(CLit::Num),
        Ty::Date => qinglian_model::Date::parse(t).ok().map(|d| CLit::Date(d.0)),
        Ty::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(CLit::Bool(true)),
            "false" | "no" | "0" => Some(CLit::Bool(false)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::typed;
    use crate::exec::ir::CLit;
    use qinglian_rules::schema::Ty;

    #[test]
    fn values_read_as_their_type_or_not_at_all() {
        assert_eq!(
            typed("2020-03-01", Ty::Date),
            Some(CLit::Date(
                qinglian_model::Date::parse("2020-03-01").expect("a date").0
            ))
        );
        assert_eq!(typed("2020-13-01", Ty::Date), None);
        assert_eq!(typed(" 12.5 ", Ty::Num), Some(CLit::Num(12.5)));
        assert_eq!(typed("twelve", Ty::Num), None);
        assert_eq!(typed("Yes", Ty::Bool), Some(CLit::Bool(true)));
        assert_eq!(typed("", Ty::Str), None);
        assert_eq!(typed("open", Ty::Str), Some(CLit::Str("open".into())));
    }
}
