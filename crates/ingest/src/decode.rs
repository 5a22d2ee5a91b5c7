//! Text encodings: what Excel and WPS save besides UTF-8, found and named before parsing.
//!
//! The parser reads UTF-8. A file in another encoding is either decoded to UTF-8 first (when
//! `--encoding` asks for it) or rejected with one error that names the encoding it seems to be
//! in, at the line and field of its first byte that is not UTF-8, and what to do. Decoding
//! keeps every line break and field separator where it was, so positions found in the decoded
//! text are positions in the file.
//!
//! Decoding uses [`encoding_rs`], the WHATWG Encoding Standard implementation that Firefox
//! ships: its GB18030 decoder covers GBK and GB2312 (what Excel and WPS write for "CSV" in
//! Chinese locales), its UTF-16 decoders handle surrogate pairs, and its non-replacing decode
//! reports exactly where a malformed byte sequence starts, which is what a located error needs.
//! Writing and testing our own GB18030 tables (some 30,000 two-byte and ranged four-byte
//! mappings) would be larger and less trustworthy than this one small, widely audited crate.

use crate::diag::FileDiags;
use std::fmt;
use std::str::FromStr;

/// The text encoding of a bundle's files (`qinglian ingest --encoding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (the format's encoding); a file in another encoding is an error that names it.
    #[default]
    Utf8,
    /// GB18030, which includes GBK and GB2312: "CSV" from Excel or WPS in a Chinese locale.
    Gb18030,
    /// UTF-16, little- or big-endian (from the byte-order mark, or else from the NUL bytes of
    /// its ASCII characters): Excel's "Unicode Text".
    Utf16,
    /// Each file on its own: UTF-8 when it is valid UTF-8, UTF-16 when it has a UTF-16
    /// byte-order mark or NUL-byte pattern, GB18030 when it is almost all invalid as UTF-8 and
    /// decodes cleanly as GB18030; anything else is an error. Each decoded file is a warning.
    Auto,
}

impl Encoding {
    /// The usual spelling, for messages.
    fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Gb18030 => "GB18030",
            Encoding::Utf16 => "UTF-16",
            Encoding::Auto => "auto",
        }
    }

    /// The name `--encoding` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Gb18030 => "gb18030",
            Encoding::Utf16 => "utf-16",
            Encoding::Auto => "auto",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An encoding name that is not one of `utf-8`, `gb18030`, `utf-16`, `auto`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown encoding {0:?}: expected utf-8, gb18030 (also gbk), utf-16 or auto")]
pub struct UnknownEncoding(pub String);

impl FromStr for Encoding {
    type Err = UnknownEncoding;

    fn from_str(s: &str) -> Result<Encoding, UnknownEncoding> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "gb18030" | "gbk" | "gb2312" | "cp936" => Ok(Encoding::Gb18030),
            "utf-16" | "utf16" => Ok(Encoding::Utf16),
            "auto" => Ok(Encoding::Auto),
            _ => Err(UnknownEncoding(s.to_owned())),
        }
    }
}

/// How a file's bytes look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Looks {
    /// Valid UTF-8 (with or without a byte-order mark); `ascii` when it is all ASCII.
    Utf8 { ascii: bool, bom: bool },
    /// UTF-16 with a byte-order mark, or the NUL bytes of UTF-16 ASCII characters.
    Utf16 { little: bool, bom: bool },
    /// An Excel workbook (.xlsx is a ZIP archive, .xls an OLE2 compound file) named `.csv`.
    Workbook,
    /// Not UTF-8 at `at`; `gb18030` when the whole file decodes cleanly as GB18030 and its
    /// non-ASCII bytes are almost all invalid as UTF-8; `foreign` when most of them are
    /// invalid (another encoding rather than a few damaged bytes).
    Other {
        at: usize,
        gb18030: bool,
        foreign: bool,
    },
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn looks(bytes: &[u8]) -> Looks {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Looks::Workbook;
    }
    if bytes.starts_with(UTF8_BOM) {
        if let Err(e) = std::str::from_utf8(bytes) {
            return other(bytes, e.valid_up_to());
        }
        return Looks::Utf8 {
            ascii: false,
            bom: true,
        };
    }
    if let Some(little) = utf16_bom(bytes) {
        return Looks::Utf16 { little, bom: true };
    }
    if let Some(little) = utf16_nuls(bytes) {
        return Looks::Utf16 { little, bom: false };
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => Looks::Utf8 {
            ascii: bytes.is_ascii(),
            bom: false,
        },
        Err(e) => other(bytes, e.valid_up_to()),
    }
}

fn other(bytes: &[u8], at: usize) -> Looks {
    // Count non-ASCII characters that are valid UTF-8 and byte sequences that are not. GBK
    // text forms a valid UTF-8 sequence here and there by chance; a UTF-8 file with a damaged
    // byte has far more valid sequences than invalid ones.
    let (mut valid, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        valid += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    let gb18030 = invalid >= 4 * valid
        && encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .is_some();
    Looks::Other {
        at,
        gb18030,
        foreign: invalid > valid,
    }
}

fn utf16_bom(bytes: &[u8]) -> Option<bool> {
    match bytes {
        [0xFF, 0xFE, ..] => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ => None,
    }
}

/// UTF-16 without a byte-order mark: the header (and most ids, dates and numbers) is ASCII,
/// and every ASCII character has a NUL byte on the same side of each pair.
fn utf16_nuls(bytes: &[u8]) -> Option<bool> {
    let head = &bytes[..bytes.len().min(4096) & !1];
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for p in head.chunks_exact(2) {
        even += usize::from(p[0] == 0);
        odd += usize::from(p[1] == 0);
    }
    if odd * 4 > pairs && even * 4 < odd {
        Some(true)
    } else if even * 4 > pairs && odd * 4 < even {
        Some(false)
    } else {
        None
    }
}

fn endian(little: bool) -> &'static str {
    if little {
        "little-endian"
    } else {
        "big-endian"
    }
}

/// Physical line and field number (both 1-based) of byte `at` of CSV text that is UTF-8 (or
/// ASCII-compatible) up to `at`: newlines are counted inside quoted fields too, commas only
/// outside them.
pub(crate) fn locate(text: &[u8], at: usize) -> (u64, usize) {
    let (mut line, mut field, mut quoted) = (1u64, 1usize, false);
    for &b in &text[..at.min(text.len())] {
        match b {
            b'"' => quoted = !quoted,
            b'\n' => {
                line += 1;
                if !quoted {
                    field = 1;
                }
            }
            b',' if !quoted => field += 1,
            _ => {}
        }
    }
    (line, field)
}

/// Header names of the first line of UTF-8 text, for naming the column of a problem.
fn header_names(text: &[u8]) -> Vec<String> {
    let end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let line = text[..end].strip_prefix(UTF8_BOM).unwrap_or(&text[..end]);
    String::from_utf8_lossy(line)
        .split(',')
        .map(|h| h.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect()
}

/// Decodes `bytes` with `enc` without replacing anything. On a malformed sequence, returns the
/// text decoded before it, its offset in `bytes` and its length.
fn decode_strict(
    enc: &'static encoding_rs::Encoding,
    bytes: &[u8],
) -> Result<String, (String, usize, usize)> {
    let mut dec = enc.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(
        dec.max_utf8_buffer_length_without_replacement(bytes.len())
            .unwrap_or(bytes.len().saturating_mul(3)),
    );
    let mut pos = 0;
    loop {
        let (res, read) = dec.decode_to_string_without_replacement(&bytes[pos..], &mut out, true);
        pos += read;
        match res {
            encoding_rs::DecoderResult::InputEmpty => return Ok(out),
            encoding_rs::DecoderResult::OutputFull => {
                out.reserve((bytes.len() - pos).saturating_mul(3).max(16));
            }
            encoding_rs::DecoderResult::Malformed(bad, after) => {
                let len = usize::from(bad);
                let start = pos.saturating_sub(usize::from(after) + len);
                return Err((out, start, len));
            }
        }
    }
}

/// Turns a file into UTF-8 text as `enc` says; `None` when it cannot be read, with the reason
/// (one error, at the line and field of the first byte that is wrong) in `diags`.
pub(crate) fn decode(bytes: Vec<u8>, enc: Encoding, diags: &mut FileDiags) -> Option<Vec<u8>> {
    let name = diags.file.clone();
    let look = looks(&bytes);
    match (enc, look) {
        (_, Looks::Utf8 { ascii, bom }) => {
            if !ascii && matches!(enc, Encoding::Gb18030 | Encoding::Utf16) {
                let why = if bom {
                    "it starts with a UTF-8 byte-order mark"
                } else {
                    "it is valid UTF-8 with non-ASCII text, which read as another encoding \
                     would turn into other characters"
                };
                diags.warn(
                    0,
                    0,
                    format!(
                        "{name} was read as UTF-8, not {} (--encoding {enc}): {why}",
                        enc.label()
                    ),
                );
            }
            Some(bytes)
        }
        (_, Looks::Workbook) => {
            diags.file_error(
                1,
                1,
                format!(
                    "{name} is an Excel workbook (.xlsx or .xls), not CSV text: open it in Excel \
                     or WPS and save it as \"CSV UTF-8\" (renaming it to .csv does not convert it)"
                ),
            );
            None
        }
        (Encoding::Utf16 | Encoding::Auto, Looks::Utf16 { little, bom }) => {
            let e = if little {
                encoding_rs::UTF_16LE
            } else {
                encoding_rs::UTF_16BE
            };
            let body = if bom { &bytes[2..] } else { &bytes[..] };
            let text = decoded_or_error(e, body, if bom { 2 } else { 0 }, diags);
            if text.is_some() && enc == Encoding::Auto {
                diags.warn(
                    0,
                    0,
                    format!(
                        "{name} is UTF-16 ({}, {}): decoded as such (--encoding auto)",
                        endian(little),
                        if bom {
                            "byte-order mark"
                        } else {
                            "no byte-order mark; detected by its NUL bytes"
                        }
                    ),
                );
            }
            text
        }
        (_, Looks::Utf16 { little, bom }) => {
            // A UTF-16 file read as UTF-8 or GB18030 would be all NULs and nonsense: the
            // first bad byte is the byte-order mark or the first NUL.
            let at = if bom {
                0
            } else {
                bytes.iter().position(|&b| b == 0).unwrap_or(0)
            };
            let e = if little {
                encoding_rs::UTF_16LE
            } else {
                encoding_rs::UTF_16BE
            };
            let start = if bom { 2 } else { 0 };
            let prefix = e
                .decode_without_bom_handling(&bytes[start..at.max(start) & !1])
                .0;
            let (line, col) = locate(prefix.as_bytes(), prefix.len());
            diags.headers = header_names(prefix.as_bytes());
            let mark = if bom {
                format!(
                    "starts with a UTF-16 byte-order mark (0x{:02X} 0x{:02X})",
                    bytes[0], bytes[1]
                )
            } else {
                format!("has the NUL bytes of UTF-16 text (byte {at} is 0x00)")
            };
            diags.file_error(
                line,
                col,
                format!(
                    "{name} is not UTF-8: it {mark}, so it is UTF-16 ({}), what Excel saves as \
                     \"Unicode Text\"; save it as \"CSV UTF-8\" in Excel or WPS, or pass \
                     --encoding utf-16",
                    endian(little)
                ),
            );
            None
        }
        (Encoding::Gb18030, Looks::Other { .. }) => {
            decoded_or_error(encoding_rs::GB18030, &bytes, 0, diags)
        }
        (
            Encoding::Auto,
            Looks::Other {
                gb18030: true, at, ..
            },
        ) => {
            let text = decoded_or_error(encoding_rs::GB18030, &bytes, 0, diags);
            if text.is_some() {
                let (line, col) = locate(&bytes, at);
                diags.warn(
                    0,
                    0,
                    format!(
                        "{name} is not UTF-8 (first at line {line}, field {col}) but decodes \
                         cleanly as GB18030/GBK: decoded as such (--encoding auto); check a \
                         few names"
                    ),
                );
            }
            text
        }
        (
            Encoding::Utf16,
            Looks::Other {
                at, foreign: true, ..
            },
        ) => {
            let (line, col) = locate(&bytes, at);
            diags.headers = header_names(&bytes[..at]);
            diags.file_error(
                line,
                col,
                format!(
                    "{name} is neither UTF-16 (no byte-order mark, no NUL bytes) nor UTF-8 \
                     (byte 0x{:02X} here){}",
                    bytes[at],
                    other_hint(&bytes)
                ),
            );
            None
        }
        (
            _,
            Looks::Other {
                at,
                gb18030,
                foreign,
            },
        ) => {
            if !foreign {
                // A few damaged bytes in a UTF-8 file: each is reported at its field while
                // the rows are read, and the rest of the file is checked as usual.
                return Some(bytes);
            }
            let (line, col) = locate(&bytes, at);
            diags.headers = header_names(&bytes[..at]);
            let msg = if gb18030 {
                format!(
                    "{name} is not UTF-8 (byte 0x{:02X} here is the first byte that is not) \
                     but reads cleanly as GB18030/GBK, which Excel and WPS save as \"CSV\" in Chinese \
                     locales: save it as \"CSV UTF-8\", or pass --encoding gb18030",
                    bytes[at]
                )
            } else {
                format!(
                    "{name} is not UTF-8 (byte 0x{:02X} here is the first byte that is not){}",
                    bytes[at],
                    other_hint(&bytes)
                )
            };
            diags.file_error(line, col, msg);
            None
        }
    }
}

fn other_hint(bytes: &[u8]) -> &'static str {
    if encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .is_some()
    {
        "; it may be GB18030/GBK mixed with UTF-8: save it as \"CSV UTF-8\", or pass \
         --encoding gb18030 if it is all GB18030"
    } else {
        " and not GB18030/GBK either (Big5 or Latin-1, perhaps): save it as \"CSV UTF-8\""
    }
}

/// Decodes `body` (which starts at byte `offset` of the file) as `e`; on a malformed sequence
/// reports its line and field and returns `None`.
fn decoded_or_error(
    e: &'static encoding_rs::Encoding,
    body: &[u8],
    offset: usize,
    diags: &mut FileDiags,
) -> Option<Vec<u8>> {
    match decode_strict(e, body) {
        Ok(s) => Some(s.into_bytes()),
        Err((prefix, start, len)) => {
            let (line, col) = locate(prefix.as_bytes(), prefix.len());
            diags.headers = header_names(prefix.as_bytes());
            let bad: Vec<String> = body[start..(start + len).min(body.len())]
                .iter()
                .map(|b| format!("0x{b:02X}"))
                .collect();
            let name = diags.file.clone();
            diags.file_error(
                line,
                col,
                format!(
                    "{name} is not valid {}: byte(s) {} at file offset {} are malformed; \
                     check --encoding, or save the file as \"CSV UTF-8\"",
                    if e == encoding_rs::GB18030 {
                        "GB18030"
                    } else {
                        e.name()
                    },
                    bad.join(" "),
                    offset + start
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_counts_lines_inside_quotes_and_fields_outside() {
        let t = b"a,b,c\n1,\"x\ny,z\",3\n4,5";
        assert_eq!(locate(t, 0), (1, 1));
        assert_eq!(locate(t, 4), (1, 3));
        assert_eq!(locate(t, t.len() - 1), (4, 2));
        // Inside the quoted field of line 2, after its newline: line 3, still field 2.
        let y = t.iter().position(|&b| b == b'y').unwrap_or(0);
        assert_eq!(locate(t, y), (3, 2));
    }

    #[test]
    fn looks_tells_utf16_gbk_and_damaged_utf8_apart() {
        let le: Vec<u8> = "id,name\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "id,name\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(
            looks(&le),
            Looks::Utf16 {
                little: true,
                bom: false
            }
        );
        assert_eq!(
            looks(&be),
            Looks::Utf16 {
                little: false,
                bom: false
            }
        );
        let (gbk, _, _) = encoding_rs::GB18030.encode("id,name\nP1,张伟\nP2,李娜\n");
        assert!(matches!(
            looks(&gbk),
            Looks::Other {
                gb18030: true,
                foreign: true,
                ..
            }
        ));
        let mut damaged = "id,name\nP1,张伟\nP2,李娜\n".as_bytes().to_vec();
        damaged.push(0xFF);
        assert!(matches!(
            looks(&damaged),
            Looks::Other { foreign: false, .. }
        ));
        assert_eq!(
            looks("id,name\n".as_bytes()),
            Looks::Utf8 {
                ascii: true,
                bom: false
            }
        );
    }
}
