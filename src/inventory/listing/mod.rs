//! Listings made elsewhere (on the server, from a backup, by an integrity checker), read instead of
//! walking: each parser turns its format into [`Entry`] values, in the listing's order.
//!
//! A line that does not parse is an error naming the input and line (or record) number: a file of the
//! wrong format must fail, never give an empty inventory.

pub mod aide;
pub mod find;
pub mod osquery;
pub mod tar;

use anyhow::Result;
use clap::ValueEnum;

use super::entry::Entry;
use crate::input::Input;
use crate::time::Timestamp;

/// `--listing` kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// `find -printf` in the documented format (NUL- or newline-terminated).
    Find,
    /// An AIDE database (text, plain or gzip).
    Aide,
    /// `osqueryi --json` over the file and hash tables.
    Osquery,
    /// `tar -tvf` (GNU tar's verbose listing).
    Tar,
}

/// Reads `input` as a listing of `kind`, calling `sink` for every file, symlink and other entry
/// (folders are skipped). Returns the number of entries read, folders included.
pub fn read(kind: Kind, input: Input, sink: &mut dyn FnMut(Entry) -> Result<()>) -> Result<u64> {
    match kind {
        Kind::Find => find::read(input, sink),
        Kind::Aide => aide::read(input, sink),
        Kind::Osquery => osquery::read(input, sink),
        Kind::Tar => tar::read(input, sink),
    }
}

/// Epoch seconds with an optional fraction (`1698765432`, `1698765432.1234567890`, `-5.5`), to the
/// millisecond, truncated (as the walk keeps `st_mtime`).
pub fn epoch(s: &str) -> Option<Timestamp> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let mut ms = 0i64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += i64::from(b - b'0') * [100, 10, 1][i];
    }
    let t = secs.checked_mul(1000)?.checked_add(ms)?;
    Some(Timestamp(if neg { -t } else { t }))
}

/// An octal number (`644`, `0644`, `100644`).
pub fn octal(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    u32::from_str_radix(s, 8).ok()
}

/// Every entry a listing of `kind` gives for `data` (for the parsers' tests).
#[cfg(test)]
pub(crate) fn read_all(kind: Kind, name: &str, data: &[u8]) -> Result<Vec<Entry>> {
    let input = crate::input::wrap(name.into(), Box::new(std::io::Cursor::new(data.to_vec())))?;
    let mut v = vec![];
    read(kind, input, &mut |e| {
        v.push(e);
        Ok(())
    })?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_and_octal() {
        assert_eq!(epoch("1698765432"), Some(Timestamp(1_698_765_432_000)));
        assert_eq!(epoch("1698765432.1239999999"), Some(Timestamp(1_698_765_432_123)));
        assert_eq!(epoch("1.5"), Some(Timestamp(1500)));
        assert_eq!(epoch("-1.5"), Some(Timestamp(-1500)));
        assert_eq!(epoch("x"), None);
        assert_eq!(epoch(""), None);
        assert_eq!(octal("0644"), Some(0o644));
        assert_eq!(octal("100755"), Some(0o100755));
        assert_eq!(octal("9"), None);
    }
}
