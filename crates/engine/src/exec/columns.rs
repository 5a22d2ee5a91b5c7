//! Extra columns in rules: `t.deadline`, `b.status`, `c.status`. A rule names a column the
//! catalog does not hold; the rule checker knows its type (a standard column, or one the rule
//! file declares); here its values are read from the snapshot once, when the rule is compiled,
//! and typed, so that evaluating it is a hash lookup like any other property.

use super::ir::{CLit, Column};
use crate::snapshot::{NodeDetail, Snapshot};
use qinglian_model::{Attrs, NodeKind};
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
        match *o {
            Owner::Node(k) => {
                for n in snap.kind_range(k) {
                    let text = snap.detail(n).and_then(|d| node_text(d, k, name));
                    if let Some(v) = text.as_deref().and_then(|t| typed(t, ty)) {
                        col.values.insert(u64::from(n), v);
                    }
                }
            }
            Owner::Edge(k) => {
                for (i, props) in snap.edge_props_each(k) {
                    let text = props.into_iter().find(|(c, _)| c == name).map(|(_, v)| v);
                    if let Some(v) = text.as_deref().and_then(|t| typed(t, ty)) {
                        col.values.insert(key(k.index(), i), v);
                    }
                }
            }
        }
    }
    any.then(|| Arc::new(col))
}

/// The key of edge `idx` of kind `kind` in a column.
pub(crate) fn key(kind: usize, idx: u32) -> u64 {
    (kind as u64) << 32 | u64::from(idx)
}

/// A node's text for a column: an extra column of its rows, or the kind attributes the
/// catalog has no property for (a company's registry status, an agency's region).
fn node_text(d: NodeDetail, k: NodeKind, name: &str) -> Option<String> {
    match (&d.attrs, k, name) {
        (Attrs::Company { status, .. }, NodeKind::Company, "status") => status.clone(),
        (Attrs::Agency { region }, NodeKind::Agency, "region") => region.clone(),
        _ => d.props.into_iter().find(|(c, _)| c == name).map(|(_, v)| v),
    }
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
                qinglian_model::Date::parse("2020-03-01").unwrap().0
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
