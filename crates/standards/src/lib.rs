//! The field's data standards in: FollowTheMoney entities (Aleph, OpenSanctions), OCDS
//! releases and records (procurement portals, Cardinal), BODS statements (beneficial
//! ownership registers). Each is translated into rows of the bundle files
//! (`docs/format.md`), every row remembering the line of the source file it came from; the
//! ingest then loads them as it loads a bundle — validated, identity-resolved, all or nothing —
//! citing `file:line` of the source. What a standard says that the model has no place for is
//! counted and reported, never dropped silently. `docs/formats.md` maps every field.

mod bods;
mod bundle;
pub mod ftm;
pub mod json;
pub mod ocds;

use qinglian_ingest::TranslatedFile;
use std::collections::BTreeMap;
use std::path::Path;

/// An input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// FollowTheMoney entities, JSON lines.
    Ftm,
    /// OCDS release or record packages, compiled releases (JSON or JSON lines).
    Ocds,
    /// BODS statements (0.4, and the older shapes).
    Bods,
}

impl Format {
    /// The format's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ftm => "ftm",
            Format::Ocds => "ocds",
            Format::Bods => "bods",
        }
    }
}

/// A source that cannot be translated.
#[derive(Debug, thiserror::Error)]
pub enum StandardsError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not JSON (a document), or not of the format asked for.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Lines that are not JSON (JSON lines): each named; nothing is loaded.
    #[error("{path}: {} line(s) are not JSON, first at line {}: {}", .lines.len(), .lines[0].0, .lines[0].1)]
    BadLines {
        /// The file.
        path: String,
        /// Line and why, for each.
        lines: Vec<(u32, String)>,
    },
}

/// A source translated into bundle files.
#[derive(Debug)]
pub struct Translation {
    /// The format read.
    pub format: Format,
    /// The bundle files, citing the source.
    pub files: Vec<TranslatedFile>,
    /// Records read.
    pub records: usize,
    /// What had no place in the model, with counts.
    pub left_out: BTreeMap<String, u64>,
}

/// The format of a JSON record, from its content.
fn detect_record(v: &serde_json::Value) -> Option<Format> {
    let has = |k: &str| v.get(k).is_some();
    if has("schema") && has("properties") {
        Some(Format::Ftm)
    } else if has("ocid") || has("releases") || has("records") {
        Some(Format::Ocds)
    } else if has("statementID") || has("statementId") || has("statementType") || has("recordType")
    {
        Some(Format::Bods)
    } else {
        None
    }
}

/// Detects the format of a file's text from its content.
pub fn detect(text: &str) -> Option<Format> {
    if json::is_lines(text) {
        let first = text.lines().find(|l| !l.trim().is_empty())?;
        return detect_record(&serde_json::from_str(first).ok()?);
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    match &v {
        serde_json::Value::Array(items) => items.first().and_then(detect_record),
        _ => detect_record(&v),
    }
}

/// Reads and translates `path` (a file). `format` is detected from the content when `None`.
pub fn translate(path: &Path, format: Option<Format>) -> Result<Translation, StandardsError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| StandardsError::Io {
        path: shown.clone(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(StandardsError::Format {
            path: shown,
            message: "the file is empty: nothing to load".to_owned(),
        });
    }
    let format = match format.or_else(|| detect(&text)) {
        Some(f) => f,
        None => {
            return Err(StandardsError::Format {
                path: shown,
                message: "not FtM, OCDS or BODS JSON (give --format to say which)".to_owned(),
            })
        }
    };
    let records = read_records(&text, format, &shown)?;
    let name = path
        .file_name()
        .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());
    let (bundle, left_out) = match format {
        Format::Ftm => ftm::translate(&records),
        Format::Ocds => ocds::translate(&records),
        Format::Bods => bods::translate(&records),
    };
    let files = bundle.finish(&name);
    if files.is_empty() {
        let why: Vec<String> = left_out.iter().map(|(k, n)| format!("{k} {n}")).collect();
        return Err(StandardsError::Format {
            path: shown,
            message: format!(
                "{} {} records hold nothing the model can load{}",
                records.len(),
                format.as_str(),
                if why.is_empty() {
                    " (OCDS records that only link to releases published elsewhere have no data)"
                        .to_owned()
                } else {
                    format!(" ({})", why.join(", "))
                }
            ),
        });
    }
    Ok(Translation {
        format,
        files,
        records: records.len(),
        left_out,
    })
}

/// The records of a file: its lines (JSON lines), or the elements of its record array.
fn read_records(
    text: &str,
    format: Format,
    path: &str,
) -> Result<Vec<json::Record>, StandardsError> {
    if json::is_lines(text) {
        let (records, bad) = json::lines(text);
        if !bad.is_empty() {
            return Err(StandardsError::BadLines {
                path: path.to_owned(),
                lines: bad,
            });
        }
        return Ok(records);
    }
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| StandardsError::Format {
        path: path.to_owned(),
        message: format!("not JSON: {e}"),
    })?;
    let key = match format {
        Format::Ocds if v.get("releases").is_some() => Some("releases"),
        Format::Ocds if v.get("records").is_some() => Some("records"),
        Format::Bods if v.get("statements").is_some() => Some("statements"),
        _ if v.is_array() => None,
        _ => {
            // One record as a document.
            return Ok(vec![json::Record {
                line: 1,
                pointer: String::new(),
                value: v,
            }]);
        }
    };
    json::document(text, key).map_err(|message| StandardsError::Format {
        path: path.to_owned(),
        message,
    })
}
