//! Typed reading of rows: every field parsed once, every problem located.
//!
//! Each file's arm destructures the row's schema columns once (`cx.fields()`), so no field is
//! looked up by name in the hot loop.

use crate::diag::FileDiags;
use crate::schema::FileKind;
use crate::table::{Header, Row};
use qinglian_model::ident::{looks_like_credit_code, looks_like_resident_id};
use qinglian_model::{kinds, Attrs, CreditCode, Date, EdgeKind, Interval, NodeKind, ResidentId};
use std::borrow::Cow;

/// A field of the row: its text and 1-based column.
#[derive(Clone, Copy, Debug)]
pub(crate) struct F<'a> {
    pub s: &'a str,
    pub col: usize,
}

/// A reference from a row to an entity by its bundle id (borrowed from the row while it is
/// streamed, owned when it must wait for every entity to be known).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Ref<'a> {
    /// The id as written.
    pub ext: Cow<'a, str>,
    /// 1-based column it was read from.
    pub col: usize,
}

impl Ref<'_> {
    fn owned(&self) -> Ref<'static> {
        Ref {
            ext: Cow::Owned(self.ext.clone().into_owned()),
            col: self.col,
        }
    }
}

/// An edge a row implies (a relationship row, or a foreign key of an entity row).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct EdgeDraft<'a> {
    pub kind: EdgeKind,
    pub from: Ref<'a>,
    pub to: Ref<'a>,
    pub label: Cow<'a, str>,
    pub valid: Interval,
    pub value: Option<f64>,
    pub date: Option<Date>,
    pub flag: Option<bool>,
    pub props: Vec<(String, String)>,
    pub line: u64,
}

/// An entity row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct NodeDraft {
    /// Hash of `ext_id` (computed while parsing, in parallel).
    pub key: u128,
    /// Hash of `identifier`.
    pub ident_key: Option<u128>,
    pub kind: NodeKind,
    pub ext_id: String,
    pub name: String,
    pub identifier: Option<String>,
    pub attrs: Attrs,
    pub props: Vec<(String, String)>,
    /// Foreign-key edges of the row (agency parent, contract's agency and company, ...).
    pub refs: Vec<EdgeDraft<'static>>,
    pub line: u64,
}

/// A blacklist row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BlacklistDraft {
    pub entity: Ref<'static>,
    pub reason: String,
    pub listed: Option<Date>,
    pub source: String,
    pub props: Vec<(String, String)>,
    pub line: u64,
}

/// A file's entity drafts in row order, in the parts they were parsed in: joined into one
/// array, the people file's 10 M drafts (272 bytes each) were copied into 2.7 GB of fresh
/// memory at the end of parsing, the parts' memory not yet reusable (docs/performance.md,
/// "Memory").
#[derive(Debug, Default)]
pub(crate) struct NodeDrafts {
    parts: Vec<Vec<NodeDraft>>,
    /// Index of each part's first draft.
    starts: Vec<usize>,
    len: usize,
}

impl NodeDrafts {
    /// Appends the drafts of the next part.
    pub fn push_part(&mut self, part: Vec<NodeDraft>) {
        if !part.is_empty() {
            self.starts.push(self.len);
            self.len += part.len();
            self.parts.push(part);
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Draft `i` (row order).
    pub fn get(&self, i: usize) -> Option<&NodeDraft> {
        let p = self.starts.partition_point(|&s| s <= i).checked_sub(1)?;
        self.parts.get(p)?.get(i - self.starts[p])
    }

    pub fn iter(&self) -> impl Iterator<Item = &NodeDraft> + '_ {
        self.parts.iter().flatten()
    }

    /// The drafts as slices of at most `n`, each with the index of its first draft: units of
    /// parallel work.
    pub fn pieces(&self, n: usize) -> Vec<(usize, &[NodeDraft])> {
        self.parts
            .iter()
            .zip(&self.starts)
            .flat_map(|(p, &s)| {
                p.chunks(n.max(1))
                    .enumerate()
                    .map(move |(k, c)| (s + k * n.max(1), c))
            })
            .collect()
    }
}

impl std::ops::Index<usize> for NodeDrafts {
    type Output = NodeDraft;

    /// Draft `i`; like a slice, out of range is a bug in the caller.
    fn index(&self, i: usize) -> &NodeDraft {
        let p = self.starts.partition_point(|&s| s <= i).saturating_sub(1);
        &self.parts[p][i - self.starts[p]]
    }
}

/// The drafts of the parts of a file already resolved, kept encoded (postcard, about the size
/// of their CSV text) for a later row with the same id or identifier to compare against: the
/// entity rows are resolved a few parts at a time as they are parsed, so that a file's drafts
/// (272 bytes each plus their strings, 13.75 M at 10M people) are never all decoded at once
/// (docs/performance.md, "Memory").
#[derive(Debug, Default)]
pub(crate) struct KeptDrafts {
    parts: Vec<KeptPart>,
}

/// One part's drafts, encoded back to back.
#[derive(Debug)]
pub(crate) struct KeptPart {
    /// Index (in the file) of its first draft.
    first: usize,
    bytes: Vec<u8>,
    /// End of each draft's encoding in `bytes`.
    ends: Vec<u32>,
}

impl KeptPart {
    /// Encodes `drafts`, the first of which is the file's draft `first`.
    pub fn encode(first: usize, drafts: &[NodeDraft]) -> Result<KeptPart, postcard::Error> {
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(drafts.len());
        for d in drafts {
            bytes = postcard::to_extend(d, bytes)?;
            ends.push(
                u32::try_from(bytes.len()).map_err(|_| postcard::Error::SerializeBufferFull)?,
            );
        }
        bytes.shrink_to_fit();
        Ok(KeptPart { first, bytes, ends })
    }
}

impl KeptDrafts {
    /// Appends the next part (parts come in file order).
    pub fn push(&mut self, part: KeptPart) {
        if !part.ends.is_empty() {
            self.parts.push(part);
        }
    }

    /// Draft `i` of the file, decoded; `None` if it is not kept.
    pub fn get(&self, i: usize) -> Option<NodeDraft> {
        let p = self
            .parts
            .partition_point(|p| p.first <= i)
            .checked_sub(1)?;
        let part = &self.parts[p];
        let k = i - part.first;
        let end = *part.ends.get(k)? as usize;
        let start = k.checked_sub(1).map_or(0, |j| part.ends[j] as usize);
        postcard::from_bytes(part.bytes.get(start..end)?).ok()
    }
}

/// The drafts a resolution step may consult: the window of parts being resolved (decoded)
/// and the file's earlier parts (kept encoded).
#[derive(Clone, Copy)]
pub(crate) struct Window<'a> {
    pub drafts: &'a NodeDrafts,
    /// Index in the file of the window's first draft.
    pub base: usize,
    pub kept: &'a KeptDrafts,
}

impl<'a> Window<'a> {
    /// Draft `i` of the file (row order).
    pub fn get(&self, i: usize) -> Option<Cow<'a, NodeDraft>> {
        match i.checked_sub(self.base) {
            Some(k) => self.drafts.get(k).map(Cow::Borrowed),
            None => self.kept.get(i).map(Cow::Owned),
        }
    }
}

/// What the entity and blacklist rows of one file yield.
#[derive(Debug, Default)]
pub(crate) struct Drafts {
    pub nodes: Vec<NodeDraft>,
    pub blacklist: Vec<BlacklistDraft>,
    /// Rows whose national identifier was not Chinese-shaped and was kept as a property.
    pub foreign_ids: u64,
}

/// A row being read: its header, its fields, and where problems go.
pub(crate) struct Cx<'a> {
    pub t: &'a Header,
    pub row: &'a Row,
    pub d: &'a mut FileDiags,
    /// Columns (bit `col`, 63 for any beyond) from which zero-width characters were removed.
    cleaned: u64,
}

/// Characters that show as nothing and are never part of an id, name or identifier: zero
/// width space, non-joiner and joiner, word joiner, and a byte-order mark inside a field
/// (copied from web pages and Word, or left by joining files).
const ZERO_WIDTH: [char; 5] = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

/// The text without zero-width characters (borrowed when it has none, the usual case).
fn strip_zero_width(s: &str) -> Cow<'_, str> {
    // Every one of them is encoded starting with 0xE2 or 0xEF: a byte scan rules most
    // fields out without decoding them.
    if !s.bytes().any(|b| b == 0xE2 || b == 0xEF) || !s.contains(ZERO_WIDTH) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.replace(ZERO_WIDTH, ""))
}

/// `3.30122E+17`: what Excel shows (and then saves) for a number of more than 11 digits in a
/// cell not formatted as text; only the first few digits survive.
fn excel_scientific(s: &str) -> bool {
    let Some((mantissa, exponent)) = s.trim().split_once(['e', 'E']) else {
        return false;
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa = mantissa.strip_prefix(['+', '-']).unwrap_or(mantissa);
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let (int, frac) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, "0"));
    digits(int) && digits(frac) && digits(exponent)
}

impl<'a> Cx<'a> {
    pub fn new(t: &'a Header, row: &'a Row, d: &'a mut FileDiags) -> Cx<'a> {
        Cx {
            t,
            row,
            d,
            cleaned: 0,
        }
    }

    /// Counts the fields of the row that were cleaned of zero-width characters.
    pub fn finish(self) {
        self.d.zero_width += u64::from(self.cleaned.count_ones());
    }

    /// The field without zero-width characters; the field is counted when it had any.
    fn clean<'s>(&mut self, f: F<'s>) -> Cow<'s, str> {
        let s = strip_zero_width(f.s);
        if let Cow::Owned(_) = s {
            self.cleaned |= 1u64 << f.col.min(63);
        }
        s
    }

    /// The row's schema columns, in SCHEMA.md order.
    fn fields<const N: usize>(&self) -> [F<'a>; N] {
        let row: &'a Row = self.row;
        std::array::from_fn(|i| {
            let c = self.t.cols.get(i).copied().unwrap_or(usize::MAX);
            F {
                s: row.rec.get(c).unwrap_or(""),
                col: c.saturating_add(1),
            }
        })
    }

    fn name_of(&self, f: F<'_>) -> &str {
        self.d
            .headers
            .get(f.col.wrapping_sub(1))
            .map_or("?", String::as_str)
    }

    fn opt_text(f: F<'_>) -> Option<String> {
        (!f.s.is_empty()).then(|| f.s.to_owned())
    }

    fn required(&mut self, f: F<'a>) -> Option<Ref<'a>> {
        let ext = self.clean(f);
        if ext.is_empty() {
            let msg = format!("`{}` is empty; it is required", self.name_of(f));
            self.d.error(self.row.line, f.col, msg);
            return None;
        }
        Some(Ref { ext, col: f.col })
    }

    fn optional_ref(&mut self, f: F<'a>) -> Option<Ref<'a>> {
        let ext = self.clean(f);
        (!ext.is_empty()).then_some(Ref { ext, col: f.col })
    }

    fn date(&mut self, f: F<'_>) -> Option<Date> {
        let s = self.clean(f);
        if s.is_empty() {
            return None;
        }
        match Date::parse(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.d.error(self.row.line, f.col, e.to_string());
                None
            }
        }
    }

    fn number(&mut self, f: F<'_>) -> Option<f64> {
        let s = self.clean(f);
        if s.is_empty() {
            return None;
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                self.d.error(
                    self.row.line,
                    f.col,
                    format!("expected a number such as 1250.50, found {:?}", f.s),
                );
                None
            }
        }
    }

    /// A sum of money: a number; a negative one is kept with a warning.
    fn amount(&mut self, f: F<'_>) -> Option<f64> {
        let v = self.number(f)?;
        if v < 0.0 {
            let msg = format!(
                "{} {v} is negative; kept as written (a refund, or a sign error?)",
                self.name_of(f)
            );
            self.d.warn(self.row.line, f.col, msg);
        }
        Some(v)
    }

    fn boolean(&mut self, f: F<'_>) -> Option<bool> {
        match f.s {
            "" => None,
            "true" | "TRUE" | "True" | "1" | "yes" | "y" | "t" => Some(true),
            "false" | "FALSE" | "False" | "0" | "no" | "n" | "f" => Some(false),
            s => {
                self.d.error(
                    self.row.line,
                    f.col,
                    format!("expected true or false, found {s:?}"),
                );
                None
            }
        }
    }

    /// A closed-vocabulary label: unknown values are kept as written, with a warning.
    fn label(&mut self, f: F<'a>, known: &[&str]) -> Cow<'a, str> {
        let s = self.clean(f);
        if known.contains(&s.as_ref()) || s.is_empty() {
            return s;
        }
        let l = s.to_ascii_lowercase().replace(['-', ' '], "_");
        if !known.contains(&l.as_str()) {
            let msg = format!(
                "unknown {} {:?} (known: {}); kept as written, no built-in rule matches it",
                self.name_of(f),
                f.s,
                known.join(", ")
            );
            self.d.warn(self.row.line, f.col, msg);
        }
        Cow::Owned(l)
    }

    fn interval(&mut self, start: F<'_>, end: F<'_>) -> Interval {
        let iv = Interval::new(self.date(start), self.date(end));
        if iv.is_empty() {
            let (e, s) = (
                iv.end_date().map(|d| d.to_string()),
                iv.start_date().map(|d| d.to_string()),
            );
            self.d.warn(
                self.row.line,
                end.col,
                format!(
                    "ends ({}) before it starts ({}): it never holds",
                    e.unwrap_or_default(),
                    s.unwrap_or_default()
                ),
            );
        }
        iv
    }

    fn props(&self) -> Vec<(String, String)> {
        self.t
            .extras
            .iter()
            .filter_map(|(i, n)| {
                self.row
                    .rec
                    .get(*i)
                    .filter(|v| !v.is_empty())
                    .map(|v| (n.clone(), v.to_owned()))
            })
            .collect()
    }

    fn edge<'b>(&self, kind: EdgeKind, from: Ref<'b>, to: Ref<'b>) -> EdgeDraft<'b> {
        EdgeDraft {
            kind,
            from,
            to,
            label: Cow::Borrowed(""),
            valid: Interval::ALWAYS,
            value: None,
            date: None,
            flag: None,
            props: Vec::new(),
            line: self.row.line,
        }
    }

    /// A foreign-key edge of an entity row: owned, since it is resolved after every entity.
    fn fk(&self, kind: EdgeKind, from: &Ref<'_>, to: &Ref<'_>) -> EdgeDraft<'static> {
        self.edge(kind, from.owned(), to.owned())
    }

    fn node(&mut self, kind: NodeKind, id: F<'a>, name: Option<F<'a>>) -> Option<NodeDraft> {
        let id = self.required(id)?;
        let n = match name {
            Some(f) => qinglian_model::normalize::name(&self.clean(f)),
            None => String::new(),
        };
        if let Some(f) = name.filter(|_| n.is_empty() && kind != NodeKind::Tender) {
            self.d.warn(
                self.row.line,
                f.col,
                format!("{kind} {} has no name", id.ext),
            );
        }
        Some(NodeDraft {
            key: crate::resolve::key(&id.ext),
            ident_key: None,
            kind,
            ext_id: id.ext.into_owned(),
            name: n,
            identifier: None,
            attrs: Attrs::empty(kind),
            props: self.props(),
            refs: Vec::new(),
            line: self.row.line,
        })
    }
}

/// A reference from an entity row to itself (the row's cleaned id).
fn me(n: &NodeDraft, id: F<'_>) -> Ref<'static> {
    Ref {
        ext: Cow::Owned(n.ext_id.clone()),
        col: id.col,
    }
}

fn excel_message(column: &str, raw: &str) -> String {
    format!(
        "{column} {raw:?} is a number in scientific notation: Excel turned the identifier into a \
         number and its digits are lost, so the identity cannot be recovered from it; the row is \
         kept without it (raw value kept as property {column}_invalid). Re-export the column \
         formatted as Text"
    )
}

/// Reads an entity or blacklist row into `out`. Errors and warnings go to `cx.d`.
pub(crate) fn read_entity_row(kind: FileKind, cx: &mut Cx<'_>, out: &mut Drafts) {
    let line = cx.row.line;
    match kind {
        FileKind::People => {
            let [id, name, idn, birth_f, death_f] = cx.fields();
            let birth = cx.date(birth_f);
            let death = cx.date(death_f);
            let Some(mut n) = cx.node(NodeKind::Person, id, Some(name)) else {
                return;
            };
            n.attrs = Attrs::Person {
                birth_date: birth,
                death_date: death,
            };
            if let (Some(b), Some(dd)) = (birth, death) {
                if dd < b {
                    cx.d.warn(
                        line,
                        death_f.col,
                        format!("death date {dd} is before birth date {b}"),
                    );
                }
            }
            let raw = cx.clean(idn);
            let raw = raw.as_ref();
            if excel_scientific(raw) {
                cx.d.warn(line, idn.col, excel_message("id_number", raw));
                n.props.push(("id_number_invalid".into(), raw.to_owned()));
            } else if !raw.is_empty() {
                if looks_like_resident_id(raw) {
                    match ResidentId::parse(raw) {
                        Ok(rid) => {
                            if let Some(b) = birth.filter(|b| *b != rid.birth_date()) {
                                cx.d.warn(
                                    line,
                                    birth_f.col,
                                    format!(
                                        "birth date {b} differs from the {} embedded in id_number",
                                        rid.birth_date()
                                    ),
                                );
                            }
                            n.identifier = Some(rid.as_str().to_owned());
                        }
                        Err(e) => {
                            cx.d.warn(line, idn.col, format!("id_number {raw:?} is not a valid resident ID ({e}); the row is kept without it (raw value kept as property id_number_invalid)"));
                            n.props.push(("id_number_invalid".into(), raw.to_owned()));
                        }
                    }
                } else {
                    // Not a Chinese resident ID at all (a foreign tax number, say): keep it, do
                    // not merge on it.
                    n.props.push(("id_number".into(), raw.to_owned()));
                    out.foreign_ids += 1;
                }
            }
            n.ident_key = n.identifier.as_deref().map(crate::resolve::key);
            out.nodes.push(n);
        }
        FileKind::Agencies => {
            let [id, name, parent, region] = cx.fields();
            let Some(mut n) = cx.node(NodeKind::Agency, id, Some(name)) else {
                return;
            };
            n.attrs = Attrs::Agency {
                region: Cx::opt_text(region),
            };
            if let Some(p) = cx.optional_ref(parent) {
                n.refs.push(cx.fk(EdgeKind::PartOf, &me(&n, id), &p));
            }
            out.nodes.push(n);
        }
        FileKind::Companies => {
            let [id, name, code, address, phone, founded, status] = cx.fields();
            let founded = cx.date(founded);
            let Some(mut n) = cx.node(NodeKind::Company, id, Some(name)) else {
                return;
            };
            n.attrs = Attrs::Company {
                address: Cx::opt_text(address),
                phone: Cx::opt_text(phone),
                founded,
                status: Cx::opt_text(status),
            };
            let raw = cx.clean(code);
            let raw = raw.as_ref();
            if excel_scientific(raw) {
                cx.d.warn(line, code.col, excel_message("credit_code", raw));
                n.props.push(("credit_code_invalid".into(), raw.to_owned()));
            } else if !raw.is_empty() {
                if looks_like_credit_code(raw) {
                    match CreditCode::parse(raw) {
                        Ok(c) => n.identifier = Some(c.as_str().to_owned()),
                        Err(e) => {
                            cx.d.warn(line, code.col, format!("credit_code {raw:?} is not a valid unified social credit code ({e}); the row is kept without it (raw value kept as property credit_code_invalid)"));
                            n.props.push(("credit_code_invalid".into(), raw.to_owned()));
                        }
                    }
                } else {
                    n.props.push(("credit_code".into(), raw.to_owned()));
                    out.foreign_ids += 1;
                }
            }
            n.ident_key = n.identifier.as_deref().map(crate::resolve::key);
            out.nodes.push(n);
        }
        FileKind::Tenders => {
            let [id, agency, title, budget, published] = cx.fields();
            let budget = cx.amount(budget);
            let published = cx.date(published);
            let agency = cx.required(agency);
            let Some(mut n) = cx.node(NodeKind::Tender, id, Some(title)) else {
                return;
            };
            let title = cx.clean(title);
            n.attrs = Attrs::Tender {
                title: (!title.is_empty()).then(|| title.into_owned()),
                budget,
                published,
            };
            if let Some(a) = agency {
                n.refs.push(cx.fk(EdgeKind::Ran, &a, &me(&n, id)));
            }
            out.nodes.push(n);
        }
        FileKind::Contracts => {
            let [id, agency, company, tender, amount, signed, approver] = cx.fields();
            let amount = cx.amount(amount);
            let signed = cx.date(signed);
            let agency = cx.required(agency);
            let company = cx.required(company);
            let Some(mut n) = cx.node(NodeKind::Contract, id, None) else {
                return;
            };
            n.attrs = Attrs::Contract { amount, signed };
            let me = me(&n, id);
            if let Some(a) = agency {
                n.refs.push(cx.fk(EdgeKind::Awarded, &a, &me));
            }
            if let Some(c) = company {
                n.refs.push(cx.fk(EdgeKind::To, &me, &c));
            }
            if let Some(t) = cx.optional_ref(tender) {
                n.refs.push(cx.fk(EdgeKind::Under, &me, &t));
            }
            if let Some(p) = cx.optional_ref(approver) {
                n.refs.push(cx.fk(EdgeKind::ApprovedBy, &me, &p));
            }
            out.nodes.push(n);
        }
        FileKind::Subsidies => {
            let [id, agency, recipient, amount, paid, approver] = cx.fields();
            let amount = cx.amount(amount);
            let paid = cx.date(paid);
            let agency = cx.required(agency);
            let recipient = cx.required(recipient);
            let Some(mut n) = cx.node(NodeKind::Subsidy, id, None) else {
                return;
            };
            n.attrs = Attrs::Subsidy { amount, paid };
            let me = me(&n, id);
            if let Some(a) = agency {
                n.refs.push(cx.fk(EdgeKind::Paid, &a, &me));
            }
            if let Some(r) = recipient {
                n.refs.push(cx.fk(EdgeKind::To, &me, &r));
            }
            if let Some(p) = cx.optional_ref(approver) {
                n.refs.push(cx.fk(EdgeKind::ApprovedBy, &me, &p));
            }
            out.nodes.push(n);
        }
        FileKind::Blacklist => {
            let [entity, reason, listed, source] = cx.fields();
            let listed = cx.date(listed);
            if let Some(entity) = cx.required(entity) {
                out.blacklist.push(BlacklistDraft {
                    entity: entity.owned(),
                    reason: reason.s.to_owned(),
                    listed,
                    source: source.s.to_owned(),
                    props: cx.props(),
                    line,
                });
            }
        }
        _ => {}
    }
}

/// Reads a relationship row into an edge draft that borrows the row's ids.
pub(crate) fn read_edge_row<'a>(kind: FileKind, cx: &mut Cx<'a>) -> Option<EdgeDraft<'a>> {
    let line = cx.row.line;
    let e = match kind {
        FileKind::Positions => {
            let [p, a, title, start, end] = cx.fields();
            let (p, a) = (cx.required(p), cx.required(a));
            let valid = cx.interval(start, end);
            let mut e = cx.edge(EdgeKind::Position, p?, a?);
            e.label = Cow::Borrowed(title.s);
            e.valid = valid;
            e
        }
        FileKind::Relations => {
            let [p, r, rel] = cx.fields();
            let (p, r) = (cx.required(p), cx.required(r));
            let label = cx.label(rel, kinds::RELATIONS);
            let (p, r) = (p?, r?);
            if p.ext == r.ext {
                cx.d.warn(
                    line,
                    r.col,
                    format!("{} is recorded as related to themself", p.ext),
                );
            }
            let mut e = cx.edge(EdgeKind::Relation, p, r);
            e.label = label;
            e
        }
        FileKind::Ownership => {
            let [o, c, share_f, start, end] = cx.fields();
            let (o, c) = (cx.required(o), cx.required(c));
            let share = cx.number(share_f);
            if let Some(s) = share.filter(|s| !(0.0..=100.0).contains(s)) {
                cx.d.warn(
                    line,
                    share_f.col,
                    format!("share_pct {s} is outside 0..100"),
                );
            }
            let valid = cx.interval(start, end);
            let mut e = cx.edge(EdgeKind::Owns, o?, c?);
            e.value = share;
            e.valid = valid;
            e
        }
        FileKind::Roles => {
            let [p, c, role, start, end] = cx.fields();
            let (p, c) = (cx.required(p), cx.required(c));
            let label = cx.label(role, kinds::ROLES);
            let valid = cx.interval(start, end);
            let mut e = cx.edge(EdgeKind::Role, p?, c?);
            e.label = label;
            e.valid = valid;
            e
        }
        FileKind::TenderOfficials => {
            let [t, p, role] = cx.fields();
            let (t, p) = (cx.required(t), cx.required(p));
            let label = cx.label(role, kinds::TENDER_ROLES);
            let mut e = cx.edge(EdgeKind::Handled, p?, t?);
            e.label = label;
            e
        }
        FileKind::Bids => {
            let [t, c, amount, submitted, won] = cx.fields();
            let (t, c) = (cx.required(t), cx.required(c));
            let amount = cx.amount(amount);
            let submitted = cx.date(submitted);
            let won = cx.boolean(won);
            let mut e = cx.edge(EdgeKind::Bid, c?, t?);
            e.value = amount;
            e.date = submitted;
            e.flag = won;
            e
        }
        FileKind::Declarations => {
            let [p, s, rel] = cx.fields();
            let (p, s) = (cx.required(p), cx.required(s));
            let label = cx.label(rel, kinds::DECLARATIONS);
            let mut e = cx.edge(EdgeKind::Declared, p?, s?);
            e.label = label;
            e
        }
        _ => return None,
    };
    let mut e = e;
    e.props = cx.props();
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(line: u64) -> NodeDraft {
        NodeDraft {
            key: u128::from(line),
            ident_key: None,
            kind: NodeKind::Person,
            ext_id: format!("P{line}"),
            name: String::new(),
            identifier: None,
            attrs: Attrs::empty(NodeKind::Person),
            props: Vec::new(),
            refs: Vec::new(),
            line,
        }
    }

    /// Drafts kept in their parts read as one array: every index finds its row across part
    /// boundaries and empty parts, and the pieces of parallel work cover the rows once, in
    /// order, each at its own index (identity resolution matches them with node ids by it).
    #[test]
    fn drafts_in_parts_read_as_one_array() {
        let mut d = NodeDrafts::default();
        let mut line = 0;
        for size in [3, 0, 2, 5, 1] {
            d.push_part((0..size).map(|k| draft(line + k)).collect());
            line += size;
        }
        assert_eq!(d.len(), 11);
        for i in 0..11 {
            assert_eq!(d.get(i).map(|x| x.line), Some(i as u64));
            assert_eq!(d[i].line, i as u64);
        }
        assert!(d.get(11).is_none());
        assert_eq!(
            d.iter().map(|x| x.line).collect::<Vec<_>>(),
            (0..11).collect::<Vec<_>>()
        );
        let mut seen = Vec::new();
        for (at, piece) in d.pieces(2) {
            assert!(piece.len() <= 2);
            for (k, x) in piece.iter().enumerate() {
                assert_eq!(x.line, (at + k) as u64);
                seen.push(x.line);
            }
        }
        assert_eq!(seen, (0..11).collect::<Vec<_>>());
    }
}
