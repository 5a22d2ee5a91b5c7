//! Declaration comparison sheets out: JSON (the engine's structures), CSV (one row per
//! discovered item and per declaration, every official in one table, for a spreadsheet) and a
//! printable HTML page (one section per official, page breaks between; the sample's strata and
//! draw keys first when a sample is given). HTML comes from a template (`templates/sheet.html`,
//! compiled in) through minijinja with HTML auto-escaping, so that a name or a source path can
//! never become markup.

use crate::ExportError;
use qinglian_engine::declarations::{Sample, Sheet};
use qinglian_engine::findings::csv_safe;

const TEMPLATE: &str = include_str!("../templates/sheet.html");

/// The sheets (and the sample they were drawn for) as one printable HTML document.
pub fn html(sample: Option<&Sample>, sheets: &[Sheet]) -> Result<String, ExportError> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("sheet.html", TEMPLATE)
        .map_err(|e| ExportError::Render(e.to_string()))?;
    let title = match (sample, sheets) {
        (Some(s), _) => format!("seed {}", s.seed),
        (None, [one]) => format!("{} ({})", one.name, one.official),
        _ => format!("{} officials", sheets.len()),
    };
    env.get_template("sheet.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                title => title,
                sample => sample,
                sheets => sheets,
            })
        })
        .map_err(|e| ExportError::Render(e.to_string()))
}

/// Every sheet as CSV rows: `official, name, row (discovered | declared), kind, subject,
/// subject_name, relation, status, declared_as, sources`. Text from the bundle gets the
/// findings CSV's formula guard (`csv_safe`).
pub fn csv(sheets: &[Sheet]) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let head = [
        "official",
        "name",
        "row",
        "kind",
        "subject",
        "subject_name",
        "relation",
        "status",
        "declared_as",
        "sources",
    ];
    w.write_record(head).map_err(render)?;
    for s in sheets {
        for i in &s.discovered {
            let row = [
                &s.official,
                &s.name,
                "discovered",
                i.kind,
                &i.subject,
                &i.subject_name,
                &i.relation,
                i.status,
                i.declared_as.as_deref().unwrap_or(""),
                &sources(&i.evidence),
            ];
            w.write_record(row.map(csv_safe)).map_err(render)?;
        }
        for d in &s.declared {
            let status = if d.confirmed {
                "confirmed"
            } else {
                "not found in the registers"
            };
            let row = [
                &s.official,
                &s.name,
                "declared",
                "declaration",
                &d.subject,
                &d.subject_name,
                &d.relation,
                status,
                &d.relation,
                &sources(&d.evidence),
            ];
            w.write_record(row.map(csv_safe)).map_err(render)?;
        }
    }
    w.into_inner()
        .map_err(|e| ExportError::Render(e.to_string()))
}

/// A CSV error of the sheet stream (no file: the caller writes the bytes).
fn render(e: csv::Error) -> ExportError {
    ExportError::csv(std::path::Path::new(""), e)
}

fn sources(ev: &qinglian_engine::findings::Evidence) -> String {
    ev.edges
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e.source.file.as_deref().unwrap_or(""),
                e.source.line
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}
