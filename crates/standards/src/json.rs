//! Reading JSON sources with the line each record starts on: JSON lines (one record a line) or
//! a JSON document whose records are the elements of an array (OCDS packages' `releases` or
//! `records`, a BODS array of statements).

use serde_json::Value;

/// A record and where it is: its 1-based line, and for a document its JSON pointer.
#[derive(Debug)]
pub struct Record {
    /// The line the record starts on.
    pub line: u32,
    /// `/releases/3` for an element of a document; empty for JSON lines.
    pub pointer: String,
    /// The record.
    pub value: Value,
}

/// A line that is not JSON: its number and why.
pub type Bad = (u32, String);

/// Whether the text is JSON lines: its first line is a whole JSON object that is not a
/// package of records (a pretty-printed document's first line is `{` alone).
pub fn is_lines(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .is_some_and(|v| v.is_object() && !has_record_array(&v))
}

fn has_record_array(v: &Value) -> bool {
    ["releases", "records", "statements"]
        .iter()
        .any(|k| v.get(k).is_some_and(Value::is_array))
}

/// Every record of JSON lines, with the lines that are not JSON.
pub fn lines(text: &str) -> (Vec<Record>, Vec<Bad>) {
    let (mut out, mut bad) = (Vec::new(), Vec::new());
    for (i, l) in text.lines().enumerate() {
        let line = i as u32 + 1;
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(l) {
            Ok(value) => out.push(Record {
                line,
                pointer: String::new(),
                value,
            }),
            Err(e) => bad.push((line, e.to_string())),
        }
    }
    (out, bad)
}

/// The byte offsets at which the elements of the array start, for the array that is the
/// document itself (`key` = None) or the value of top-level `key`.
fn element_starts(text: &[u8], key: Option<&str>) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut depth = 0usize;
    let (mut in_str, mut esc) = (false, false);
    let mut last_key: Option<(usize, usize)> = None;
    let mut str_start = 0;
    let mut target_depth = None;
    let mut expect_elem = false;
    for (i, &c) in text.iter().enumerate() {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
                last_key = Some((str_start, i));
            }
            continue;
        }
        if expect_elem && !c.is_ascii_whitespace() && c != b']' {
            starts.push(i);
            expect_elem = false;
        }
        match c {
            b'"' => {
                in_str = true;
                str_start = i + 1;
            }
            b'[' | b'{' => {
                depth += 1;
                if c == b'[' && target_depth.is_none() {
                    let hit = match key {
                        None => depth == 1,
                        Some(k) => {
                            depth == 2 && last_key.is_some_and(|(a, b)| &text[a..b] == k.as_bytes())
                        }
                    };
                    if hit {
                        target_depth = Some(depth);
                        expect_elem = true;
                    }
                }
            }
            b']' | b'}' => {
                if target_depth == Some(depth) {
                    target_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            b',' if target_depth == Some(depth) => expect_elem = true,
            _ => {}
        }
    }
    starts
}

/// The records of a JSON document: the elements of its array, or of its top-level `key`
/// array, each with its line and pointer. `None` when the document is not JSON.
pub fn document(text: &str, key: Option<&str>) -> Result<Vec<Record>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let items = match key {
        None => v.as_array().cloned(),
        Some(k) => v.get(k).and_then(Value::as_array).cloned(),
    }
    .unwrap_or_default();
    let starts = element_starts(text.as_bytes(), key);
    // Lines of the (ascending) offsets, counted in one pass.
    let mut lines = Vec::with_capacity(starts.len());
    let (mut line, mut pos) = (1u32, 0usize);
    for &o in &starts {
        line += text.as_bytes()[pos..o]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u32;
        pos = o;
        lines.push(line);
    }
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, value)| Record {
            line: lines.get(i).copied().unwrap_or(1),
            pointer: match key {
                None => format!("/{i}"),
                Some(k) => format!("/{k}/{i}"),
            },
            value,
        })
        .collect())
}

/// The text at `path` in `v`, or "" when anything on the way is missing or not text.
pub fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |cur, k| cur.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The array at `v[key]`, or an empty slice.
pub fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}
