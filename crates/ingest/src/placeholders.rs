//! `placeholders.csv`: the values a bundle declares no value — an agent's switchboard that
//! every client company gives as its phone, a registry's "见附件" in the address column — beyond
//! the built-in list of `qinglian_model::normalize`. The rows are kept with the load (and its
//! source and mode), so that every snapshot, as of any load, compares phones and addresses with
//! the list that load knew, and a shared listed value never ties two entities.

use crate::decode::{self, Encoding};
use crate::diag::{Diagnostic, FileDiags};
use crate::schema::FileSpec;
use crate::table;
use qinglian_model::normalize::{PlaceholderField, Placeholders};
use qinglian_store::FileSummary;

/// One listed value and the line that lists it.
pub(crate) struct Listed {
    pub value: String,
    pub field: PlaceholderField,
    pub line: u32,
}

/// What reading the file gave: its rows, its summary line and its diagnostics.
pub(crate) struct Read {
    pub rows: Vec<Listed>,
    pub summary: FileSummary,
    pub diags: Vec<Diagnostic>,
    /// The header could not be read: its errors are root causes.
    pub unreadable: bool,
}

/// Reads `placeholders.csv` (`value`, `field`): every row a value, `field` `phone`, `address`
/// or empty for both. An empty value or an unknown field is an error at its line and column;
/// a value that already compares as nothing (`N/A`, `0000000`) is a warning, since the row
/// changes nothing.
pub(crate) fn read(
    spec: &'static FileSpec,
    name: &str,
    bytes: Vec<u8>,
    sha256: String,
    enc: Encoding,
) -> Read {
    let mut diags = FileDiags::new(name);
    let text = decode::decode(bytes, enc, &mut diags).unwrap_or_default();
    let header = if diags.has_errors() {
        None
    } else {
        table::read_header(spec, &text, &mut diags)
    };
    let mut rows = Vec::new();
    let mut read = 0;
    if let Some(h) = &header {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(&text[h.body..]);
        let mut rec = csv::StringRecord::new();
        let mut check = Placeholders::default();
        loop {
            let line = h.body_line + rdr.position().line().saturating_sub(1);
            match rdr.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    diags.error(line, 0, format!("unreadable CSV: {e}"));
                    break;
                }
            }
            read += 1;
            let get = |i: usize| rec.get(h.cols[i]).unwrap_or("");
            let (value, field) = (get(0), get(1));
            let Some(field) = PlaceholderField::parse(field) else {
                let msg = format!("field {field:?}: expected phone, address, or empty for both");
                diags.error(line, h.cols[1] + 1, msg);
                continue;
            };
            if value.is_empty() {
                diags.error(
                    line,
                    h.cols[0] + 1,
                    "an empty value: write the text that means no value",
                );
                continue;
            }
            if !check.add(value, field) {
                let msg =
                    format!("{value:?} already compares as no value; the row changes nothing");
                diags.warn(line, h.cols[0] + 1, msg);
            }
            let line = u32::try_from(line).unwrap_or(u32::MAX);
            rows.push(Listed {
                value: value.to_owned(),
                field,
                line,
            });
        }
    }
    let summary = FileSummary {
        name: name.to_owned(),
        sha256,
        read,
        loaded: rows.len() as u64,
        merged: 0,
        warned: diags.warned_rows,
        rejected: diags.rejected_rows,
    };
    Read {
        rows,
        summary,
        diags: diags.items,
        unreadable: header.is_none(),
    }
}
