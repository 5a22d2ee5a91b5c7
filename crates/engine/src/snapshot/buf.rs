//! The snapshot's bytes: typed sections in one file (or buffer), memory-mapped when opened.
//!
//! File layout, written front to back in one pass so that building never holds the whole
//! image in memory:
//!
//! ```text
//! "QLSNAP03" magic, padding to 64 bytes
//! sections, each aligned to 64 bytes
//! postcard-encoded Meta
//! meta length (u64 LE) | xxh3-64 of every byte before this field (u64 LE) | "QLSNAPND"
//! ```
//! Opening maps the file, checks both magics and the checksum (a torn or corrupted cache is
//! rebuilt, never trusted) and validates every section's bounds and alignment, so that typed
//! access afterwards cannot fail.

use bytemuck::Pod;
use std::io::Write;
use std::path::Path;
use xxhash_rust::xxh3::Xxh3;

pub(crate) const MAGIC: &[u8; 8] = b"QLSNAP03";
pub(crate) const END: &[u8; 8] = b"QLSNAPND";
pub(crate) const ALIGN: usize = 64;
const TRAILER: usize = 24;

/// A section: a byte range of the file holding an array of one element type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sec {
    /// Byte offset in the file.
    pub off: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Where the bytes live.
pub(crate) enum Backing {
    /// Built in this process; `u64` words keep the base aligned.
    Owned(Vec<u64>, usize),
    /// A mapped snapshot file.
    Mapped(memmap2::Mmap),
}

impl std::fmt::Debug for Backing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backing::Owned(_, n) => write!(f, "Owned({n} bytes)"),
            Backing::Mapped(m) => write!(f, "Mapped({} bytes)", m.len()),
        }
    }
}

impl Backing {
    /// Every byte.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Backing::Owned(v, n) => &bytemuck::cast_slice::<u64, u8>(v)[..*n],
            Backing::Mapped(m) => m,
        }
    }

    /// The elements of a section. Bounds and alignment were validated when the buffer was
    /// built or opened; a section that fails them here reads as empty rather than panicking.
    #[inline]
    pub(crate) fn slice<T: Pod>(&self, s: Sec) -> &[T] {
        let (a, b) = (s.off as usize, (s.off + s.len) as usize);
        self.bytes()
            .get(a..b)
            .and_then(|x| bytemuck::try_cast_slice(x).ok())
            .unwrap_or(&[])
    }

    /// The encoded Meta.
    pub(crate) fn meta_bytes(&self) -> Option<&[u8]> {
        let b = self.bytes();
        let n = b.len().checked_sub(TRAILER)?;
        let len = u64::from_le_bytes(b[n..n + 8].try_into().ok()?) as usize;
        b.get(n.checked_sub(len)?..n)
    }
}

/// Streams sections to an output, hashing as it goes.
pub(crate) struct Writer<W: Write> {
    out: W,
    pos: u64,
    hash: Xxh3,
}

impl<W: Write> Writer<W> {
    pub(crate) fn new(out: W) -> std::io::Result<Writer<W>> {
        let mut w = Writer {
            out,
            pos: 0,
            hash: Xxh3::new(),
        };
        w.raw(MAGIC)?;
        w.pad()?;
        Ok(w)
    }

    fn raw(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.out.write_all(b)?;
        self.hash.update(b);
        self.pos += b.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> std::io::Result<()> {
        let n = (ALIGN as u64 - self.pos % ALIGN as u64) % ALIGN as u64;
        self.raw(&[0u8; ALIGN][..n as usize])
    }

    /// Appends an array and returns its section.
    pub(crate) fn put<T: Pod>(&mut self, v: &[T]) -> std::io::Result<Sec> {
        self.pad()?;
        let off = self.pos;
        self.raw(bytemuck::cast_slice(v))?;
        Ok(Sec {
            off,
            len: self.pos - off,
        })
    }

    /// Appends raw bytes in pieces (for large blobs produced incrementally).
    pub(crate) fn begin(&mut self) -> std::io::Result<u64> {
        self.pad()?;
        Ok(self.pos)
    }

    pub(crate) fn append(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.raw(b)
    }

    pub(crate) fn since(&self, off: u64) -> Sec {
        Sec {
            off,
            len: self.pos - off,
        }
    }

    /// Writes the meta and the trailer; returns the output.
    pub(crate) fn finish(mut self, meta: &[u8]) -> std::io::Result<W> {
        self.raw(meta)?;
        self.raw(&(meta.len() as u64).to_le_bytes())?;
        let sum = self.hash.digest();
        self.out.write_all(&sum.to_le_bytes())?;
        self.out.write_all(END)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Why a snapshot file cannot be used (it is then rebuilt from the store).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Missing or unreadable.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Not a snapshot, another version, truncated or corrupted.
    #[error("snapshot file is unusable: {0}")]
    Invalid(String),
}

/// Bytes checked per short-lived mapping: a multiple of any page size.
const CHECK_CHUNK: usize = 64 << 20;

/// Checks a snapshot file's checksum, then maps it. The check reads the file through one
/// short-lived, prefaulted mapping per 64 MiB (no copy into a buffer, as `read` would make;
/// each unmapped before the next, so checking never holds more than 64 MiB of the file
/// resident in this process), then the whole file is mapped for use.
pub(crate) fn map_file(path: &Path) -> Result<Backing, OpenError> {
    map_file_chunked(path, CHECK_CHUNK)
}

/// [`map_file`] with the chunk size as a parameter (a multiple of the page size), so that
/// tests can cross chunk boundaries on small files.
fn map_file_chunked(path: &Path, check_chunk: usize) -> Result<Backing, OpenError> {
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len() as usize;
    if len < ALIGN + TRAILER {
        return Err(OpenError::Invalid("truncated".into()));
    }
    // SAFETY: the file is only ever replaced by rename, never written in place, so the mapped
    // bytes do not change under us; they are checked below and sections are validated next.
    let m = unsafe { memmap2::Mmap::map(&f)? };
    if m.len() != len {
        return Err(OpenError::Invalid("file changed while opening".into()));
    }
    if m.get(..8) != Some(&MAGIC[..]) {
        return Err(OpenError::Invalid("wrong magic or version".into()));
    }
    let body = len - 16;
    let mut hash = Xxh3::new();
    let mut off = 0;
    while off < body {
        let n = (body - off).min(check_chunk);
        // SAFETY: as above; `off` is a multiple of the chunk size, hence page-aligned.
        let chunk = unsafe {
            memmap2::MmapOptions::new()
                .offset(off as u64)
                .len(n)
                .populate()
                .map(&f)?
        };
        hash.update(&chunk);
        off += n;
    }
    let tail = &m[body..];
    if &tail[8..] != END
        || u64::from_le_bytes(tail[..8].try_into().unwrap_or_default()) != hash.digest()
    {
        return Err(OpenError::Invalid("checksum mismatch or truncated".into()));
    }
    Ok(Backing::Mapped(m))
}

/// Moves an in-memory image into aligned words.
pub(crate) fn owned(bytes: &[u8]) -> Backing {
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    Backing::Owned(words, bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot-format file of a few hundred KiB: magic, two sections, meta, trailer.
    fn write_file(path: &Path) -> Vec<u8> {
        let words: Vec<u64> = (0..40_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9))
            .collect();
        let mut w = Writer::new(Vec::new()).expect("in memory");
        w.put(&words).expect("in memory");
        w.put(&[7u32; 1000]).expect("in memory");
        let bytes = w.finish(b"meta").expect("in memory");
        std::fs::write(path, &bytes).expect("a temporary file");
        bytes
    }

    fn invalid(r: Result<Backing, OpenError>) -> String {
        match r {
            Err(OpenError::Invalid(m)) => m,
            Err(e) => panic!("expected Invalid, got {e}"),
            Ok(_) => panic!("a damaged file was accepted"),
        }
    }

    const SMALL: usize = 64 << 10;

    #[test]
    fn a_whole_file_checks_across_chunks_and_maps() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let p = dir.path().join("s.bin");
        let bytes = write_file(&p);
        assert!(bytes.len() > 4 * SMALL, "the file must span several chunks");
        let b = map_file_chunked(&p, SMALL).expect("an intact file opens");
        assert_eq!(b.bytes(), &bytes[..]);
        assert_eq!(b.meta_bytes(), Some(&b"meta"[..]));
        assert!(map_file(&p).is_ok());
    }

    #[test]
    fn a_flipped_byte_in_any_chunk_is_refused() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let p = dir.path().join("s.bin");
        let good = write_file(&p);
        for at in [100, SMALL + 3, 3 * SMALL + 17, good.len() - 20] {
            let mut bad = good.clone();
            bad[at] ^= 0x40;
            std::fs::write(&p, &bad).expect("rewrite");
            let m = invalid(map_file_chunked(&p, SMALL));
            assert!(m.contains("checksum"), "byte {at}: {m}");
        }
    }

    #[test]
    fn truncated_and_foreign_files_are_refused() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let p = dir.path().join("s.bin");
        let good = write_file(&p);
        std::fs::write(&p, &good[..good.len() - 1]).expect("rewrite");
        invalid(map_file_chunked(&p, SMALL));
        std::fs::write(&p, &good[..10]).expect("rewrite");
        assert!(invalid(map_file_chunked(&p, SMALL)).contains("truncated"));
        let mut foreign = good.clone();
        foreign[..8].copy_from_slice(b"NOTASNAP");
        std::fs::write(&p, &foreign).expect("rewrite");
        assert!(invalid(map_file_chunked(&p, SMALL)).contains("magic"));
    }
}
