//! Reading one CSV file row by row, with every structural problem located.

use crate::diag::FileDiags;
use crate::schema::FileSpec;
use csv::{ReaderBuilder, StringRecord, Trim};

/// A data row and the physical line it starts on.
#[derive(Debug)]
pub(crate) struct Row {
    pub line: u64,
    pub rec: StringRecord,
}

/// A file's header: where each schema column sits and what the extra columns are.
#[derive(Debug)]
pub(crate) struct Header {
    /// Header position of each of the spec's columns.
    pub cols: Vec<usize>,
    /// Extra columns: header position and name.
    pub extras: Vec<(usize, String)>,
    /// Number of fields a row must have.
    pub width: usize,
    /// Byte offset where the data rows start.
    pub body: usize,
    /// Physical line of the first data row.
    pub body_line: u64,
    /// For a file translated from FtM, OCDS or BODS: the source line of each CSV line, so that
    /// provenance and diagnostics cite the source file's line.
    pub lines: Option<std::sync::Arc<Vec<u32>>>,
}

impl Header {
    /// The line to cite for CSV line `l`.
    pub fn cite(&self, l: u64) -> u64 {
        match &self.lines {
            Some(m) => m.get(l as usize).map_or(l, |&x| u64::from(x)),
            None => l,
        }
    }
}

/// Reads and checks the header of `bytes` as `spec`'s file. Problems are errors in `diags`;
/// `None` when the header is unusable.
pub(crate) fn read_header(
    spec: &'static FileSpec,
    bytes: &[u8],
    diags: &mut FileDiags,
) -> Option<Header> {
    // Excel writes a UTF-8 byte order mark; it is not part of the first column's name.
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut rdr = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(Trim::All)
        .from_reader(&bytes[bom..]);
    let mut rec = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => {
            diags.error(1, 0, "the file is empty: a header row is required");
            return None;
        }
        Err(e) => {
            diags.error(1, 0, format!("unreadable CSV: {e}"));
            return None;
        }
    }
    let body = bom + rdr.position().byte() as usize;
    // Count the lines of the header ourselves: the reader's line counter lags behind its byte
    // offset after a CRLF terminator.
    let body_line = 1 + bytes[..body.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64;
    let mut headers = Vec::with_capacity(rec.len());
    for (i, h) in rec.iter().enumerate() {
        match std::str::from_utf8(h) {
            Ok(s) => headers.push(s.trim().to_ascii_lowercase()),
            Err(e) => {
                diags.error(1, i + 1, utf8_message(h, e.valid_up_to()));
                headers.push(String::new());
            }
        }
    }
    diags.headers.clone_from(&headers);
    // One column holding the others' names: another separator. Excel in European locales
    // saves "CSV" with `;`, and tab-separated text is often named .csv.
    if let [only] = headers.as_slice() {
        let sep = [(';', "`;`"), ('\t', "tab")]
            .into_iter()
            .find(|(c, _)| only.contains(*c));
        if let Some((_, what)) = sep {
            diags.error(
                1,
                0,
                format!(
                    "the header is a single column ({only:?}): the file seems to use {what} \
                     separators; save it as comma-separated CSV (\"CSV UTF-8\" in Excel or WPS)"
                ),
            );
            return None;
        }
    }
    let mut ok = !diags.has_errors();
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() && ok {
            diags.error(1, i + 1, "empty column name in the header");
            ok = false;
        } else if !h.is_empty() && headers[..i].contains(h) {
            diags.error(
                1,
                i + 1,
                format!("column `{h}` appears twice in the header"),
            );
            ok = false;
        }
    }
    let mut cols = Vec::with_capacity(spec.columns.len());
    for c in spec.columns {
        match headers.iter().position(|h| h == c) {
            Some(i) => cols.push(i),
            None => {
                diags.error(
                    1,
                    0,
                    format!(
                        "the header lacks required column `{c}` (it has: {}; {} needs: {})",
                        headers.join(", "),
                        spec.name,
                        spec.columns.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    let extras = (0..headers.len())
        .filter(|i| !cols.contains(i))
        .map(|i| (i, headers[i].clone()))
        .collect();
    Some(Header {
        cols,
        extras,
        width: headers.len(),
        body,
        body_line,
        lines: None,
    })
}

/// A slice of a file's rows that can be parsed on its own.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Part {
    pub start: usize,
    pub end: usize,
    /// Physical line of the part's first row.
    pub line: u64,
}

/// Splits the data rows into about `n` parts at record boundaries: a newline outside quotes
/// (an even number of `"` before it, which holds for every RFC 4180 file, escaped quotes
/// included).
pub(crate) fn split(bytes: &[u8], h: &Header, n: usize) -> Vec<Part> {
    let (body, len) = (h.body, bytes.len());
    let mut parts = Vec::with_capacity(n);
    let (mut start, mut line) = (body, h.body_line);
    let mut pos = body;
    let mut in_quotes = false;
    let mut newlines = 0u64;
    for k in 1..n {
        let target = body + (len - body) * k / n;
        let mut cut = None;
        while pos < len {
            let b = bytes[pos];
            pos += 1;
            match b {
                b'"' => in_quotes = !in_quotes,
                b'\n' => {
                    newlines += 1;
                    if !in_quotes && pos >= target {
                        cut = Some(pos);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(c) = cut else { break };
        parts.push(Part {
            start,
            end: c,
            line,
        });
        start = c;
        line = h.body_line + newlines;
    }
    parts.push(Part {
        start,
        end: len,
        line,
    });
    parts
}

/// Reads the rows of one part and calls `on_row` for every structurally sound row.
/// Structural problems (bad UTF-8, rows of the wrong width, oversized fields) are errors in
/// `diags`. Returns the number of data rows read.
pub(crate) fn read_rows(
    h: &Header,
    bytes: &[u8],
    part: Part,
    max_field: usize,
    diags: &mut FileDiags,
    mut on_row: impl FnMut(&Header, &Row, &mut FileDiags),
) -> u64 {
    let text = &bytes[part.start..part.end];
    let mut rdr = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(Trim::All)
        .from_reader(text);
    // Physical lines are counted from byte offsets: the reader's own line counter lags by one
    // after CRLF terminators.
    let mut lines = LineCounter {
        text,
        cursor: 0,
        line: part.line,
    };
    let width = h.width;
    let mut read = 0u64;
    let mut row = Row {
        line: 0,
        rec: StringRecord::new(),
    };
    loop {
        match rdr.read_record(&mut row.rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = h.cite(e.position().map_or(0, |p| lines.line_at(p.byte())));
                read += 1;
                match e.kind() {
                    csv::ErrorKind::Utf8 { err, .. } => {
                        diags.error(line, err.field() + 1, utf8_invalid(err.valid_up_to()));
                        continue;
                    }
                    _ => {
                        diags.error(line, 0, format!("unreadable CSV: {e}"));
                        break;
                    }
                }
            }
        }
        row.line = h.cite(row.rec.position().map_or(0, |p| lines.line_at(p.byte())));
        read += 1;
        if row.rec.len() != width {
            diags.error(
                row.line,
                0,
                format!(
                    "the row has {} fields, the header has {width}",
                    row.rec.len()
                ),
            );
            continue;
        }
        let mut sound = true;
        for (i, f) in row.rec.iter().enumerate() {
            if f.len() > max_field {
                diags.error(
                    row.line,
                    i + 1,
                    format!(
                        "field of {} bytes exceeds the limit of {max_field} bytes",
                        f.len()
                    ),
                );
                sound = false;
            }
        }
        if sound {
            on_row(h, &row, diags);
        }
    }
    read
}

/// Maps byte offsets of record starts (ascending) to physical line numbers.
struct LineCounter<'a> {
    text: &'a [u8],
    cursor: usize,
    line: u64,
}

impl LineCounter<'_> {
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = (byte as usize).min(self.text.len());
        // A record "starts" at the terminator left over from the previous line.
        while start < self.text.len() && matches!(self.text[start], b'\n' | b'\r') {
            start += 1;
        }
        if start >= self.cursor {
            self.line += self.text[self.cursor..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.cursor = start;
        }
        self.line
    }
}

fn utf8_message(field: &[u8], at: usize) -> String {
    format!(
        "{} (byte 0x{:02X})",
        utf8_invalid(at),
        field.get(at).copied().unwrap_or(0)
    )
}

fn utf8_invalid(at: usize) -> String {
    format!(
        "invalid UTF-8 at byte offset {at} of the field; the file must be UTF-8 — files saved by Excel in \
         Chinese locales are often GBK: save as \"CSV UTF-8\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;

    fn rows_of(bytes: &[u8], parts: usize) -> Vec<(u64, Vec<String>)> {
        let spec = schema::spec("relations.csv").expect("spec");
        let mut d = FileDiags::new("relations.csv");
        let h = read_header(spec, bytes, &mut d).expect("header");
        let mut out = Vec::new();
        for p in split(bytes, &h, parts) {
            read_rows(&h, bytes, p, 1 << 20, &mut d, |_, row, _| {
                out.push((row.line, row.rec.iter().map(str::to_owned).collect()));
            });
        }
        assert!(d.items.is_empty(), "{:?}", d.items);
        out
    }

    #[test]
    fn parts_split_only_between_records_and_keep_line_numbers() {
        let mut body = String::from("\u{feff}person_id,relative_id,relation\r\n");
        for i in 0..500 {
            if i % 7 == 0 {
                // A quoted field with a newline and an escaped quote inside.
                body.push_str(&format!("P{i},\"Q\n\"\"{i}\"\"\",spouse\r\n"));
            } else {
                body.push_str(&format!("P{i},Q{i},child\r\n"));
            }
        }
        let whole = rows_of(body.as_bytes(), 1);
        assert_eq!(whole.len(), 500);
        assert_eq!(whole[1].0, 4, "row 0 spans lines 2-3");
        assert_eq!(
            (whole[0].0, whole[499].0),
            (2, 573),
            "header on line 1, 72 rows span two lines"
        );
        for n in [2, 3, 7, 64] {
            let got = rows_of(body.as_bytes(), n);
            assert_eq!(got.len(), whole.len(), "{n} parts");
            for (a, b) in got.iter().zip(&whole) {
                assert_eq!(a, b, "{n} parts");
            }
        }
    }
}
