//! How the command line prints: aligned tables padded by display width, and times as dates.
//!
//! A Chinese character takes two cells of a terminal, so padding by `chars()` (what `{:<16}`
//! does) or by bytes misaligns every column after a name. Cells are measured with
//! `unicode-width` (UAX #11 East Asian Width) instead.

use unicode_width::UnicodeWidthStr;

/// Cells `s` takes on a terminal.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` without line breaks, tabs and other control characters, which would break a row.
fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

/// `s` padded with spaces on the right to `w` cells (never cut).
pub fn left(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

/// `s` padded with spaces on the left to `w` cells (never cut).
pub fn right(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(width(s))))
}

/// How a column is aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// Rows of cells printed as aligned columns: each column as wide as its widest cell, in
/// display cells; columns separated by two spaces; the last column is not padded, so that a
/// long free-text column (an explanation, a note) does not widen the others.
#[derive(Debug)]
pub struct Table {
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
    indent: String,
}

impl Table {
    /// A table whose columns are aligned as `align` says.
    pub fn new(align: &[Align]) -> Table {
        Table {
            align: align.to_vec(),
            rows: Vec::new(),
            indent: String::new(),
        }
    }

    /// Prints every row after this prefix.
    pub fn indent(mut self, prefix: &str) -> Table {
        prefix.clone_into(&mut self.indent);
        self
    }

    /// Adds a row (missing cells are empty; extra cells are left-aligned).
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| one_line(c.as_ref()).into_owned())
                .collect(),
        );
    }

    /// The table as text, one line per row, each ending in a newline.
    pub fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; cols];
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(width(c));
            }
        }
        let mut out = String::new();
        for r in &self.rows {
            let mut line = self.indent.clone();
            for (i, w) in widths.iter().enumerate() {
                let c = r.get(i).map_or("", String::as_str);
                let last = i + 1 == cols;
                if i > 0 {
                    line.push_str("  ");
                }
                match self.align.get(i).copied().unwrap_or(Align::Left) {
                    Align::Right => line.push_str(&right(c, *w)),
                    Align::Left if last => line.push_str(c),
                    Align::Left => line.push_str(&left(c, *w)),
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prints the table on standard output.
    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn unix_secs(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .map_or_else(|| "after 9999-12-31".to_owned(), |t| utc(t, false))
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS.mmm UTC`.
pub fn unix_millis(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map_or_else(|| "after 9999-12-31".to_owned(), |t| utc(t, true))
}

fn utc(t: time::OffsetDateTime, millis: bool) -> String {
    let mut s = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if millis {
        s.push_str(&format!(".{:03}", t.millisecond()));
    }
    s + " UTC"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_cells_are_two_columns_wide() {
        let mut t = Table::new(&[Align::Left, Align::Right, Align::Left]);
        t.row(["王磊", "2", "x"]);
        t.row(["吴紫育", "10", "y"]);
        t.row(["Wang", "3", "z"]);
        let text = t.render();
        let cols: Vec<usize> = text
            .lines()
            .map(|l| width(&l[..l.rfind(' ').map_or(0, |i| i + 1)]))
            .collect();
        assert_eq!(cols, vec![12, 12, 12], "{text}");
    }

    #[test]
    fn control_characters_cannot_break_a_row() {
        let mut t = Table::new(&[Align::Left, Align::Left]);
        t.row(["a\nb", "c"]);
        assert_eq!(t.render(), "a b  c\n");
    }

    #[test]
    fn times_are_dates() {
        assert_eq!(unix_secs(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            unix_millis(1_700_000_000_123),
            "2023-11-14 22:13:20.123 UTC"
        );
        assert_eq!(unix_secs(u64::MAX), "after 9999-12-31");
    }
}
