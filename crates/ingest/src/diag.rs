//! Diagnostics: every problem names the file, line and column it was found at.

use std::fmt;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The row is kept; the problem is recorded and shown.
    Warning,
    /// The load is rejected; nothing is written.
    Error,
}

/// One problem in a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Warning or error.
    pub severity: Severity,
    /// File name within the bundle.
    pub file: String,
    /// 1-based physical line (the header is line 1); 0 when the problem is the whole file.
    pub line: u64,
    /// 1-based column (field number); 0 when the problem is the whole row or file.
    pub column: u64,
    /// The column's header name, when known.
    pub column_name: Option<String>,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{}:{}:{}: {sev}", self.file, self.line, self.column)?;
        if let Some(c) = &self.column_name {
            write!(f, " [{c}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Collects the diagnostics of one file and counts rows with warnings and errors.
#[derive(Debug, Default)]
pub struct FileDiags {
    pub(crate) file: String,
    pub(crate) headers: Vec<String>,
    pub(crate) items: Vec<Diagnostic>,
    pub(crate) warned_rows: u64,
    pub(crate) rejected_rows: u64,
    /// Fields from which zero-width characters were removed.
    pub(crate) zero_width: u64,
    last_warned_line: u64,
    last_rejected_line: u64,
}

impl FileDiags {
    pub(crate) fn new(file: &str) -> FileDiags {
        FileDiags {
            file: file.to_owned(),
            ..FileDiags::default()
        }
    }

    /// Records a problem at `line`, `column` (1-based field index, 0 = whole row).
    pub(crate) fn push(
        &mut self,
        severity: Severity,
        line: u64,
        column: usize,
        message: impl Into<String>,
    ) {
        let column_name = column
            .checked_sub(1)
            .and_then(|i| self.headers.get(i))
            .filter(|h| !h.is_empty())
            .cloned();
        if line > 1 {
            match severity {
                Severity::Warning if self.last_warned_line != line => {
                    self.warned_rows += 1;
                    self.last_warned_line = line;
                }
                Severity::Error if self.last_rejected_line != line => {
                    self.rejected_rows += 1;
                    self.last_rejected_line = line;
                }
                _ => {}
            }
        }
        self.items.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line,
            column: column as u64,
            column_name,
            message: message.into(),
        });
    }

    pub(crate) fn error(&mut self, line: u64, column: usize, message: impl Into<String>) {
        self.push(Severity::Error, line, column, message);
    }

    /// An error about the whole file (its encoding): located, but counted against no row.
    pub(crate) fn file_error(&mut self, line: u64, column: usize, message: impl Into<String>) {
        self.push(Severity::Error, 0, column, message);
        if let Some(d) = self.items.last_mut() {
            d.line = line;
        }
    }

    pub(crate) fn warn(&mut self, line: u64, column: usize, message: impl Into<String>) {
        self.push(Severity::Warning, line, column, message);
    }

    /// Appends the diagnostics of a later part of the same file.
    pub(crate) fn absorb(&mut self, other: FileDiags) {
        self.items.extend(other.items);
        self.warned_rows += other.warned_rows;
        self.rejected_rows += other.rejected_rows;
        self.zero_width += other.zero_width;
    }

    /// A fresh collector for another part of the same file.
    pub(crate) fn sibling(&self) -> FileDiags {
        FileDiags {
            file: self.file.clone(),
            headers: self.headers.clone(),
            ..FileDiags::default()
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }
}
