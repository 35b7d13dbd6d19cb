//! A SHA-256 digest: what `webroot-inventory` writes for each file, what `baseline-diff --inventory`
//! reads and keeps in the state. Kept as its 32 bytes (a million files' hashes as hex strings would
//! take 2.5 times the memory); written as 64 lower-case hex digits.

use std::fmt;

/// A SHA-256 digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// 64 hex digits (either case).
    pub fn parse_hex(s: &str) -> Option<Digest> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let nib = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let mut out = [0u8; 32];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            out[i] = nib(pair[0])? << 4 | nib(pair[1])?;
        }
        Some(Digest(out))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_both_ways() {
        let d = Digest::parse_hex(&"CD".repeat(32)).unwrap();
        assert_eq!(d.to_string(), "cd".repeat(32));
        assert_eq!(Digest::parse_hex("ab"), None);
        assert_eq!(Digest::parse_hex(&"g".repeat(64)), None);
    }
}
