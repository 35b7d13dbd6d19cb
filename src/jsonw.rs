//! Writing JSON strings straight from log bytes, without building a `String` per field.
//!
//! Log fields are bytes that are usually, but not always, UTF-8. serde would need a `&str`, which means
//! validating and often copying every field of every line; these helpers escape in one pass into the
//! output buffer and decide what to do with bytes that cannot go into a JSON string as they are:
//!
//! - [`Escape::Percent`] (paths and queries): bytes that are not valid UTF-8, and ASCII control bytes,
//!   become `%XX`, which is what the client had to send on the wire anyway. The caller learns whether
//!   that happened, to flag it.
//! - [`Escape::Backslash`] (user agents, referers, other text): bytes that are not valid UTF-8 become the
//!   four characters `\xHH` (the Apache convention); control characters are JSON-escaped.

use std::borrow::Cow;
use std::io::Write;

/// How bytes that cannot appear as they are get written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// Invalid UTF-8 and control bytes as `%XX`.
    Percent,
    /// Invalid UTF-8 as `\xHH`, control characters as JSON escapes.
    Backslash,
}

/// What [`write_str`] had to escape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Escaped {
    /// Some bytes were not valid UTF-8.
    pub non_utf8: bool,
    /// Some bytes were ASCII control characters (including NUL).
    pub control: bool,
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Writes `bytes` as a JSON string literal (with quotes) into `out`.
pub fn write_str(out: &mut Vec<u8>, bytes: &[u8], esc: Escape) -> Escaped {
    // Almost every field is printable ASCII without quotes or backslashes: one vectorisable pass says so,
    // and the bytes are copied as they are, with no UTF-8 decoding and no per-byte branches.
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if append_plain(out, bytes) {
        out.push(b'"');
        return Escaped::default();
    }
    let mut seen = Escaped::default();
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                write_valid(out, s.as_bytes(), esc, &mut seen);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                write_valid(out, good, esc, &mut seen);
                let n = e.error_len().unwrap_or(bad.len());
                for &b in &bad[..n] {
                    seen.non_utf8 = true;
                    match esc {
                        Escape::Percent => {
                            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
                        }
                        Escape::Backslash => out.extend_from_slice(&[
                            b'\\',
                            b'\\',
                            b'x',
                            HEX[usize::from(b >> 4)],
                            HEX[usize::from(b & 15)],
                        ]),
                    }
                }
                rest = &bad[n..];
            }
        }
    }
    out.push(b'"');
    seen
}

/// Appends `bytes` when every one is printable ASCII other than `"` and `\\` (true); otherwise leaves `out`
/// as it was (false). The check and the copy are one pass, sixteen bytes at a time, the tail as the last
/// sixteen: a field is read once, and no call to memcpy (whose dispatch costs more than the copy of a
/// short field) is made.
#[cfg(target_arch = "x86_64")]
#[inline]
fn append_plain(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let n = bytes.len();
    if n < 16 {
        if !bytes.iter().all(|&b| byte_plain::<true>(b)) {
            return false;
        }
        append_short(out, bytes);
        return true;
    }
    out.reserve(n);
    let len = out.len();
    // SAFETY: every load reads sixteen bytes inside `bytes` (offsets up to n - 16), every store writes
    // sixteen bytes inside the n reserved above, after `len`; the length is set only once all n bytes
    // are written. SSE2 is part of x86-64.
    unsafe {
        let (src, dst) = (bytes.as_ptr(), out.as_mut_ptr().add(len));
        let mut i = 0;
        while i + 16 <= n {
            let v = _mm_loadu_si128(src.add(i).cast());
            if !vec_plain::<true>(v) {
                return false;
            }
            _mm_storeu_si128(dst.add(i).cast(), v);
            i += 16;
        }
        if i < n {
            let v = _mm_loadu_si128(src.add(n - 16).cast());
            if !vec_plain::<true>(v) {
                return false;
            }
            _mm_storeu_si128(dst.add(n - 16).cast(), v);
        }
        out.set_len(len + n);
    }
    true
}

#[cfg(not(target_arch = "x86_64"))]
fn append_plain(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    if !all_plain::<true>(bytes) {
        return false;
    }
    out.extend_from_slice(bytes);
    true
}

/// Appends fewer than sixteen bytes as two overlapping word copies instead of a call to memcpy.
#[inline(always)]
fn append_short(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len();
    debug_assert!(n < 16);
    out.reserve(n);
    let len = out.len();
    // SAFETY: the reads are inside `b` (offsets 0 and n - w, with w <= n), the writes inside the n bytes
    // reserved after `len`; the length is set after they are written.
    unsafe {
        let (src, dst) = (b.as_ptr(), out.as_mut_ptr().add(len));
        if n >= 8 {
            dst.cast::<u64>().write_unaligned(src.cast::<u64>().read_unaligned());
            dst.add(n - 8).cast::<u64>().write_unaligned(src.add(n - 8).cast::<u64>().read_unaligned());
        } else if n >= 4 {
            dst.cast::<u32>().write_unaligned(src.cast::<u32>().read_unaligned());
            dst.add(n - 4).cast::<u32>().write_unaligned(src.add(n - 4).cast::<u32>().read_unaligned());
        } else {
            for i in 0..n {
                *dst.add(i) = *src.add(i);
            }
        }
        out.set_len(len + n);
    }
}

/// The byte rule of [`all_plain`]: printable ASCII (0x20–0x7e), and with `NO_QUOTES` neither `"` nor `\`.
#[inline(always)]
fn byte_plain<const NO_QUOTES: bool>(b: u8) -> bool {
    b.wrapping_sub(0x20) < 0x5f && !(NO_QUOTES && (b == b'"' || b == b'\\'))
}

/// True when every byte passes [`byte_plain`]. Sixteen bytes at a time, the tail as the last sixteen:
/// this runs over every field of every request, and user agents are long.
fn all_plain<const NO_QUOTES: bool>(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n < 16 {
        // Client addresses, methods, short paths: eight bytes at a time in a word, the tail as the last
        // eight (overlapping); under eight, two overlapping halves make one word.
        use crate::bytes::{le32, le64};
        return match n {
            8.. => word_plain::<NO_QUOTES>(le64(bytes)) && word_plain::<NO_QUOTES>(le64(&bytes[n - 8..])),
            4.. => word_plain::<NO_QUOTES>(le32(bytes) | le32(&bytes[n - 4..]) << 32),
            _ => bytes.iter().all(|&b| byte_plain::<NO_QUOTES>(b)),
        };
    }
    let mut chunks = bytes.chunks_exact(16);
    for c in &mut chunks {
        if !chunk_plain::<NO_QUOTES>(c.try_into().expect("16 bytes")) {
            return false;
        }
    }
    // The tail: the last sixteen bytes, overlapping bytes already checked (copying the tail into a
    // padded buffer instead costs a store-forwarding stall on every call).
    n.is_multiple_of(16) || chunk_plain::<NO_QUOTES>(bytes[n - 16..].try_into().expect("16 bytes"))
}

/// [`byte_plain`] for the eight bytes of a word, with the bit tricks of "Bit Twiddling Hacks" (Anderson):
/// a byte below 0x20 borrows into its top bit when 0x20 is subtracted (`hasless`), a byte above 0x7e sets
/// it when 0x01 is added or has it already (`hasmore`), and a byte equal to `c` is a zero byte of
/// `w ^ c`. A borrow can only spill into a higher byte after a byte that already failed, so the answer
/// for the word is exact.
#[inline(always)]
fn word_plain<const NO_QUOTES: bool>(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut bad = (w.wrapping_sub(ONES * 0x20) & !w) | (w.wrapping_add(ONES) | w);
    if NO_QUOTES {
        bad |= has_zero(w ^ (ONES * u64::from(b'"'))) | has_zero(w ^ (ONES * u64::from(b'\\')));
    }
    bad & HIGH == 0
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn chunk_plain<const NO_QUOTES: bool>(c: &[u8; 16]) -> bool {
    // SAFETY: SSE2 is part of x86-64; the load is unaligned and reads exactly the 16 bytes of `c`.
    vec_plain::<NO_QUOTES>(unsafe { std::arch::x86_64::_mm_loadu_si128(c.as_ptr().cast()) })
}

/// [`byte_plain`] for sixteen bytes in a vector register.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn vec_plain<const NO_QUOTES: bool>(v: std::arch::x86_64::__m128i) -> bool {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of x86-64; register operations only.
    unsafe {
        // Printable is 0x20..=0x7e: as signed bytes above 0x1f (bytes >= 0x80 are negative), not 0x7f.
        let mut bad =
            _mm_or_si128(_mm_cmpgt_epi8(_mm_set1_epi8(0x20), v), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
        if NO_QUOTES {
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)));
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)));
        }
        _mm_movemask_epi8(bad) == 0
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn chunk_plain<const NO_QUOTES: bool>(c: &[u8; 16]) -> bool {
    c.iter().fold(true, |ok, &b| ok & byte_plain::<NO_QUOTES>(b))
}

/// The string a reader gets back from [`write_str`]'s JSON: the same escaping decisions, without the
/// JSON. `baseline-diff --from-logs` builds its records with it, so that reading logs directly gives what
/// the pipeline gives.
#[inline]
pub fn decoded(bytes: &[u8], esc: Escape) -> (Cow<'_, str>, Escaped) {
    // A quote or backslash is itself in the string a reader gets: only printable ASCII matters here.
    // (The check is inlined into the callers, several a request; the rest is a call.)
    if all_plain::<false>(bytes) {
        // SAFETY: every byte is printable ASCII.
        return (Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) }), Escaped::default());
    }
    decoded_escaped(bytes, esc)
}

/// [`decoded`] for bytes that are not all printable ASCII.
#[inline(never)]
fn decoded_escaped(bytes: &[u8], esc: Escape) -> (Cow<'_, str>, Escaped) {
    let mut seen = Escaped::default();
    let mut out = String::with_capacity(bytes.len() + 8);
    let hex = |out: &mut String, prefix: &str, b: u8| {
        out.push_str(prefix);
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    };
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if (c as u32) < 0x20 || c == '\u{7f}' {
                seen.control = true;
                match esc {
                    Escape::Percent => hex(&mut out, "%", c as u8),
                    Escape::Backslash => out.push(c),
                }
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            seen.non_utf8 = true;
            match esc {
                Escape::Percent => hex(&mut out, "%", b),
                Escape::Backslash => hex(&mut out, "\\x", b),
            }
        }
    }
    (Cow::Owned(out), seen)
}

/// Writes valid UTF-8, escaping what JSON requires.
fn write_valid(out: &mut Vec<u8>, s: &[u8], esc: Escape, seen: &mut Escaped) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' && b != 0x7f {
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ => {
                seen.control = true;
                match esc {
                    Escape::Percent => {
                        out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
                    }
                    Escape::Backslash => match b {
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        _ => {
                            let _ = write!(out, "\\u{b:04x}");
                        }
                    },
                }
            }
        }
    }
    out.extend_from_slice(&s[start..]);
}

/// Appends `n` in decimal, without the formatting machinery.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    // The digits go straight into place, last first: no staging buffer, no variable-length copy.
    let digits = n.checked_ilog10().unwrap_or(0) as usize + 1;
    out.reserve(digits);
    let len = out.len();
    for slot in out.spare_capacity_mut()[..digits].iter_mut().rev() {
        slot.write(b'0' + (n % 10) as u8);
        n /= 10;
    }
    // SAFETY: the `digits` bytes after `len` were reserved and have just been written.
    unsafe { out.set_len(len + digits) };
}

/// Builds one JSON object field by field into a reused buffer.
pub struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Starts an object at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, first: true }
    }

    #[inline(always)]
    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A string field from bytes, escaped as `esc` says.
    #[inline(always)]
    pub fn str(&mut self, k: &str, v: &[u8], esc: Escape) -> Escaped {
        self.key(k);
        write_str(self.out, v, esc)
    }

    /// An unsigned number field.
    #[inline(always)]
    pub fn uint(&mut self, k: &str, v: u64) {
        self.key(k);
        push_decimal(self.out, v);
    }

    /// A field whose value is already valid JSON (a number, an array, a nested object).
    pub fn raw(&mut self, k: &str, json: &[u8]) {
        self.key(k);
        self.out.extend_from_slice(json);
    }

    /// A time field in RFC 3339 UTC.
    #[inline(always)]
    pub fn time(&mut self, k: &str, t: crate::time::Timestamp) {
        self.key(k);
        self.out.push(b'"');
        t.write_rfc3339(self.out);
        self.out.push(b'"');
    }

    /// An array of plain ASCII names (anomaly codes).
    pub fn names(&mut self, k: &str, names: &[&str]) {
        self.key(k);
        self.out.push(b'[');
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_str(self.out, n.as_bytes(), Escape::Backslash);
        }
        self.out.push(b']');
    }

    /// Closes the object and appends a newline.
    pub fn end_line(self) {
        self.out.extend_from_slice(b"}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(bytes: &[u8], esc: Escape) -> (String, Escaped) {
        let mut out = vec![];
        let e = write_str(&mut out, bytes, esc);
        (String::from_utf8(out).unwrap(), e)
    }

    #[test]
    fn plain_and_quoted() {
        assert_eq!(s(br#"a"b\c"#, Escape::Percent).0, r#""a\"b\\c""#);
        assert_eq!(s("é".as_bytes(), Escape::Percent), ("\"é\"".into(), Escaped::default()));
    }

    #[test]
    fn invalid_utf8_and_controls() {
        let (p, e) = s(b"/a\xff\x00b", Escape::Percent);
        assert_eq!(p, "\"/a%FF%00b\"");
        assert!(e.non_utf8 && e.control);
        let (b, _) = s(b"ua\xc3\x28\tz", Escape::Backslash);
        assert_eq!(b, r#""ua\\xC3(\tz""#);
        // Whatever goes in, a valid JSON string comes out.
        let v: String = serde_json::from_str(&b).unwrap();
        assert_eq!(v, "ua\\xC3(\tz");
    }

    proptest::proptest! {
        #[test]
        fn plain_check_is_the_byte_rule(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..70),
                                        ascii in "[ -~]{0,70}") {
            // Printable text with one byte changed to anything, at any place.
            let mut one_off = ascii.clone().into_bytes();
            if !one_off.is_empty() {
                let i = bytes.first().map_or(0, |&b| usize::from(b) % one_off.len());
                one_off[i] = bytes.get(1).copied().unwrap_or(0);
            }
            for input in [&bytes[..], ascii.as_bytes(), &one_off[..]] {
                let printable = input.iter().all(|&b| (0x20..0x7f).contains(&b));
                let no_quotes = printable && !input.iter().any(|&b| b == b'"' || b == b'\\');
                proptest::prop_assert_eq!(all_plain::<false>(input), printable);
                proptest::prop_assert_eq!(all_plain::<true>(input), no_quotes);
            }
        }

        #[test]
        fn decoded_is_what_the_json_says(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
                                          ascii in "[ -~]{0,20}") {
            for input in [bytes.clone(), ascii.as_bytes().to_vec(), [&bytes[..], ascii.as_bytes()].concat()] {
                for esc in [Escape::Percent, Escape::Backslash] {
                    let mut out = vec![];
                    let seen = write_str(&mut out, &input, esc);
                    let via_json: String = serde_json::from_slice(&out).unwrap();
                    let (direct, seen2) = decoded(&input, esc);
                    proptest::prop_assert_eq!(&via_json, direct.as_ref());
                    proptest::prop_assert_eq!(seen, seen2);
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn writers_append_after_what_is_there(n in proptest::prelude::any::<u64>(), small in 0u64..1000,
                                              text in "[ -~]{0,40}", prefix in "[a-z]{0,20}") {
            let mut out = prefix.as_bytes().to_vec();
            push_decimal(&mut out, n);
            push_decimal(&mut out, small);
            write_str(&mut out, text.as_bytes(), Escape::Percent);
            let expect = format!("{prefix}{n}{small}{}", serde_json::to_string(&text).unwrap());
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), expect);
        }
    }

    #[test]
    fn truncated_sequence_at_end() {
        assert_eq!(s(b"ab\xe2\x82", Escape::Percent).0, "\"ab%E2%82\"");
    }
}
