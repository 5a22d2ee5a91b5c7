//! Rows of bundle files being built from another format, each remembering the source line it
//! came from; written out as the CSV text and line map the ingest reads.

use qinglian_ingest::schema;
use qinglian_ingest::TranslatedFile;
use std::collections::BTreeMap;

/// One row: the source line and its cells by column.
type Row = (u32, BTreeMap<String, String>);

/// Bundle rows under construction, per bundle file.
#[derive(Debug, Default)]
pub struct Bundle {
    rows: BTreeMap<&'static str, Vec<Row>>,
}

impl Bundle {
    /// Adds a row of `file` from source line `line`. Empty cells are left out.
    pub fn row(&mut self, file: &'static str, line: u32, cells: &[(&str, String)]) {
        let cells = cells
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        self.rows.entry(file).or_default().push((line, cells));
    }

    /// Rows of `file` so far.
    pub fn count(&self, file: &str) -> usize {
        self.rows.get(file).map_or(0, Vec::len)
    }

    /// The bundle files, each cited as `name`: the schema's columns first, then every extra
    /// column any row has, in name order.
    pub fn finish(self, name: &str) -> Vec<TranslatedFile> {
        let mut out = Vec::new();
        for (file, rows) in self.rows {
            let Some(spec) = schema::spec(file) else {
                continue;
            };
            let mut head: Vec<String> = spec.columns.iter().map(|c| (*c).to_owned()).collect();
            let mut extra: Vec<String> = rows
                .iter()
                .flat_map(|(_, r)| r.keys())
                .filter(|k| !spec.columns.contains(&k.as_str()))
                .cloned()
                .collect();
            extra.sort();
            extra.dedup();
            head.extend(extra);
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut lines = vec![0, 0];
            // Writing to memory cannot fail; a failed record is left out of the map too.
            if w.write_record(&head).is_err() {
                continue;
            }
            for (line, r) in &rows {
                let rec: Vec<&str> = head
                    .iter()
                    .map(|h| r.get(h).map_or("", String::as_str))
                    .collect();
                if w.write_record(&rec).is_ok() {
                    lines.push(*line);
                }
            }
            let csv = w.into_inner().unwrap_or_default();
            // A cell with a newline spans lines: map every physical line of the row to its
            // source line, counting the newlines of each record as written.
            let lines = physical_lines(&csv, &lines);
            out.push(TranslatedFile {
                bundle_file: file,
                name: name.to_owned(),
                csv,
                lines,
            });
        }
        out
    }
}

/// Expands a per-record map (index = record number, 1 = header) to a per-physical-line map.
fn physical_lines(csv: &[u8], per_record: &[u32]) -> Vec<u32> {
    let mut out = vec![0u32];
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv);
    let mut rec = csv::ByteRecord::new();
    let mut i = 1;
    let mut last_line = 0u64;
    while let Ok(true) = rdr.read_byte_record(&mut rec) {
        let start = rec.position().map_or(last_line + 1, csv::Position::line);
        let src = per_record.get(i).copied().unwrap_or(0);
        while (out.len() as u64) < start {
            out.push(src);
        }
        out.push(src);
        last_line = start;
        i += 1;
    }
    // Lines of the last record after its first.
    let total = csv.iter().filter(|&&b| b == b'\n').count() + 1;
    let tail = out.last().copied().unwrap_or(0);
    while out.len() <= total {
        out.push(tail);
    }
    out
}
