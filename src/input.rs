//! Opening inputs: a path or `-` for stdin, gzip detected by its magic bytes, read as byte lines.
//!
//! Log lines are bytes, not text: a log can hold anything a client sent, so lines are read with
//! `read_until(b'\n')` into one reused buffer and decoded later, field by field, without ever dropping a
//! byte. Compressed input is recognised by content, not by name, because rotated logs are renamed
//! freely (`access.log.2`, `u_ex2610.log.gz.1`): gzip is decompressed (all members, as `cat a.gz b.gz`
//! produces); xz, bzip2 and zstd are named in a clear error rather than parsed as garbage.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, bail};
use flate2::bufread::MultiGzDecoder;

/// The name used for standard input in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// An opened input: its display name and a buffered reader over its decompressed bytes.
pub struct Input {
    /// `<stdin>` or the path as given.
    pub name: String,
    /// True when the bytes were gzip-compressed.
    pub gzip: bool,
    reader: Box<dyn BufRead + Send>,
}

/// Opens `path` (`-` is standard input), decompressing gzip when the first bytes say so.
pub fn open(path: &str) -> Result<Input> {
    if path == "-" {
        crate::cli::grow_pipe(0);
        return wrap(STDIN_NAME.to_string(), Box::new(io::stdin()));
    }
    let file = File::open(Path::new(path)).with_context(|| format!("{path}: cannot open"))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        bail!("{path}: is a directory");
    }
    wrap(path.to_string(), Box::new(file))
}

/// Wraps any reader (a file, stdin, an HTTP body) with compression detection.
pub fn wrap(name: String, raw: Box<dyn Read + Send>) -> Result<Input> {
    let mut buf = BufReader::with_capacity(256 << 10, raw);
    let head = buf.fill_buf().with_context(|| format!("{name}: cannot read"))?;
    let kind = sniff(head);
    let reader: Box<dyn BufRead + Send> = match kind {
        Compression::Gzip => Box::new(BufReader::with_capacity(256 << 10, MultiGzDecoder::new(buf))),
        Compression::None => Box::new(buf),
        other => bail!("{name}: {other:?}-compressed input is not supported; decompress it first"),
    };
    Ok(Input { name, gzip: kind == Compression::Gzip, reader })
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Compression {
    None,
    Gzip,
    Xz,
    Bzip2,
    Zstd,
}

fn sniff(head: &[u8]) -> Compression {
    match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Compression::Xz,
        [b'B', b'Z', b'h', ..] => Compression::Bzip2,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        _ => Compression::None,
    }
}

impl Input {
    /// The input's lines (see [`Lines::next_line`]).
    pub fn lines(self) -> Lines {
        Lines {
            name: self.name,
            reader: self.reader,
            line: 0,
            unterminated: false,
            consume: 0,
            carry: Vec::new(),
        }
    }

    /// The underlying reader, for callers that read records some other way.
    pub fn into_reader(self) -> Box<dyn BufRead + Send> {
        self.reader
    }
}

/// One line from [`Lines::next_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line, without its line ending.
    pub bytes: &'a [u8],
    /// Its 1-based number.
    pub no: u64,
    /// True when it had no final newline (a truncated or still-growing file).
    pub unterminated: bool,
}

/// A byte-line reader over an [`Input`] that counts lines.
pub struct Lines {
    /// The input's display name.
    pub name: String,
    reader: Box<dyn BufRead + Send>,
    /// 1-based number of the line last read.
    pub line: u64,
    /// True when the last line read had no final newline (a truncated or still-growing file).
    pub unterminated: bool,
    /// Bytes of the reader's buffer that the line last returned by [`Lines::next_line`] still borrows.
    consume: usize,
    /// A line that spans two fills of the reader's buffer.
    carry: Vec<u8>,
}

impl Lines {
    /// Lines of any buffered reader; `name` is used in messages.
    pub fn from_reader(name: String, reader: Box<dyn BufRead + Send>) -> Lines {
        Lines { name, reader, line: 0, unterminated: false, consume: 0, carry: Vec::new() }
    }

    /// The next line, without its line ending, borrowed from the reader's buffer where it lies whole
    /// in it (the common case: no copy); `None` at the end. This is the hot loop of every stage, so the
    /// newline is found with `memchr` (AVX2) over the whole buffer.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>> {
        if self.consume > 0 {
            self.reader.consume(self.consume);
            self.consume = 0;
        }
        self.carry.clear();
        let end = loop {
            let buf = self
                .reader
                .fill_buf()
                .with_context(|| format!("{}:{}: read error", self.name, self.line + 1))?;
            if buf.is_empty() {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                self.unterminated = true;
                break None;
            }
            match memchr::memchr(b'\n', buf) {
                Some(i) if self.carry.is_empty() => break Some(i),
                Some(i) => {
                    self.carry.extend_from_slice(&buf[..i]);
                    self.reader.consume(i + 1);
                    self.unterminated = false;
                    break None;
                }
                None => {
                    let n = buf.len();
                    self.carry.extend_from_slice(buf);
                    self.reader.consume(n);
                }
            }
        };
        self.line += 1;
        let line: &[u8] = match end {
            Some(i) => {
                self.unterminated = false;
                self.consume = i + 1;
                // The data is buffered: this fill returns the same bytes without reading.
                &self.reader.fill_buf()?[..i]
            }
            None => &self.carry,
        };
        let bytes = line.strip_suffix(b"\r").unwrap_or(line);
        Ok(Some(Line { bytes, no: self.line, unterminated: self.unterminated }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(bytes: Vec<u8>) -> Vec<Vec<u8>> {
        let mut l = wrap("t".into(), Box::new(io::Cursor::new(bytes))).unwrap().lines();
        let mut out = vec![];
        while let Some(line) = l.next_line().unwrap() {
            out.push(line.bytes.to_vec());
        }
        out
    }

    #[test]
    fn plain_crlf_and_unterminated_last_line() {
        assert_eq!(lines_of(b"a\r\nb\nc".to_vec()), vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert!(lines_of(Vec::new()).is_empty());
    }

    #[test]
    fn borrowed_lines_across_buffer_fills() {
        // Lines longer than the buffer and lines split across fills come out whole.
        let text: Vec<u8> =
            (0..2000).flat_map(|i| format!("line {i} {}\r\n", "x".repeat(i % 700)).into_bytes()).collect();
        let reader = BufReader::with_capacity(512, io::Cursor::new(text.clone()));
        let mut l = Input { name: "t".into(), gzip: false, reader: Box::new(reader) }.lines();
        let mut n = 0;
        while let Some(line) = l.next_line().unwrap() {
            assert_eq!(line.bytes, format!("line {n} {}", "x".repeat(n % 700)).as_bytes());
            n += 1;
        }
        assert_eq!(n, 2000);
        assert_eq!(l.line, 2000);
        let mut l = wrap("t".into(), Box::new(io::Cursor::new(b"a\nb".to_vec()))).unwrap().lines();
        assert_eq!(l.next_line().unwrap().map(|l| (l.bytes, l.unterminated)), Some((&b"a"[..], false)));
        assert_eq!(
            l.next_line().unwrap().map(|l| (l.bytes, l.no, l.unterminated)),
            Some((&b"b"[..], 2, true))
        );
        assert_eq!(l.next_line().unwrap(), None);
    }

    #[test]
    fn gzip_by_magic_with_several_members() {
        let mut all = vec![];
        for part in [&b"one\n"[..], b"two\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            all.extend(e.finish().unwrap());
        }
        assert_eq!(lines_of(all), vec![b"one".to_vec(), b"two".to_vec()]);
    }

    #[test]
    fn other_compressors_are_named() {
        let err =
            wrap("x.zst".into(), Box::new(io::Cursor::new(vec![0x28, 0xb5, 0x2f, 0xfd, 0]))).err().unwrap();
        assert!(format!("{err:#}").contains("Zstd-compressed"));
    }
}
