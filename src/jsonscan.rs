//! A fast, validating scanner for the one-object-per-line records on the pipe.
//!
//! `path-normalize` and `baseline-diff` read millions of records and need a handful of fields from each.
//! Deserialising every record into a struct (and its unknown fields into a map, to pass them through)
//! costs more than all the work they do with it. This scanner validates the line as JSON in one pass and
//! records where each top-level field's key and value are, without copying or allocating; a stage then
//! decodes only the values it needs ([`Scan::str`]) and copies the others to its output byte for byte,
//! which is also the exact pass-through the record contract asks for.
//!
//! Validation is complete for what reaches the output: strings (escapes, no raw control characters,
//! UTF-8 of the whole line), numbers, literals, nested arrays and objects (depth ≤ 128). Strings are
//! scanned with `memchr` (SIMD) for the next quote or backslash.

use std::borrow::Cow;

/// Where one top-level field is: byte ranges into the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The key's raw bytes, between its quotes.
    pub key: (u32, u32),
    /// The value's raw JSON text.
    pub val: (u32, u32),
    /// The whole `"key":value` span (start of the key's quote to the end of the value).
    pub span: (u32, u32),
}

/// The fields of one scanned line.
#[derive(Debug, Default)]
pub struct Scan {
    /// Fields in line order.
    pub fields: Vec<Field>,
    /// The line last scanned held only printable ASCII.
    plain: bool,
    /// The line last scanned held a backslash (so some string may hold an escape).
    escapes: bool,
    /// One bit per byte of the line, set for a quote (thirty-two bytes to an entry). When the line is plain
    /// and has no backslash every string is one quote to the next, and the scanner finds a string's
    /// end in these bits instead of searching the bytes.
    quotes: Vec<u32>,
}

/// How the scanner finds the end of a string.
enum Strings<'q> {
    /// Plain ASCII without backslashes: the next quote ends a string ([`Scan::quotes`]).
    Quotes(&'q [u32]),
    /// Anything else: search for the next quote or backslash, check escapes (and, unless `plain`, raw
    /// control characters).
    Search { plain: bool },
}

/// Bytes per entry of the quote bits.
const W: usize = 32;

/// The first quote after offset `i`, from the quote bits.
#[inline(always)]
fn next_quote(masks: &[u32], i: usize) -> Option<usize> {
    let mut chunk = (i + 1) / W;
    // Drop the bits up to and including `i` in its chunk.
    let mut m = *masks.get(chunk)? & (u32::MAX << ((i + 1) % W));
    loop {
        if m != 0 {
            return Some(chunk * W + m.trailing_zeros() as usize);
        }
        chunk += 1;
        m = *masks.get(chunk)?;
    }
}

/// One pass over the line: whether every byte is printable ASCII, whether there is a backslash, and
/// where the quotes are (one bit per byte). Thirty-two bytes at a time: with AVX2 (checked once, at
/// run time) in one vector, else in two SSE2 halves.
fn classify(line: &[u8], quotes: &mut Vec<u32>) -> (bool, bool) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { classify_avx2(line, quotes) };
    }
    classify_by(line, quotes, chunk_masks)
}

/// [`classify`] with the compiler free to use AVX2 for `chunk_masks_avx2`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn classify_avx2(line: &[u8], quotes: &mut Vec<u32>) -> (bool, bool) {
    // The closure has this function's target features, so it may call the AVX2 one.
    classify_by(line, quotes, |c| chunk_masks_avx2(c))
}

/// The pass of [`classify`], with `masks` for a chunk of thirty-two bytes.
#[inline(always)]
fn classify_by(
    line: &[u8],
    quotes: &mut Vec<u32>,
    masks: impl Fn(&[u8; W]) -> (u32, bool, bool),
) -> (bool, bool) {
    quotes.clear();
    quotes.reserve(line.len() / W + 1);
    let (mut odd, mut backslash) = (false, false);
    let mut chunks = line.chunks_exact(W);
    for c in &mut chunks {
        let (q, o, bs) = masks(c.try_into().expect("32 bytes"));
        odd |= o;
        backslash |= bs;
        quotes.push(q);
    }
    let rest = chunks.remainder().len();
    if rest > 0 && line.len() >= W {
        // The last thirty-two bytes, overlapping the previous chunk (cheaper than copying the tail into a
        // padded buffer, which stalls the load on the copy's stores); only the new bytes' quote bits count.
        let (q, o, bs) = masks(line[line.len() - W..].try_into().expect("32 bytes"));
        odd |= o;
        backslash |= bs;
        quotes.push(q >> (W - rest));
    } else if rest > 0 {
        let (q, o, bs) = bytes_masks(line);
        odd |= o;
        backslash |= bs;
        quotes.push(q);
    }
    (!odd, backslash)
}

/// What [`chunk_masks`] gives, one byte at a time, for at most thirty-two bytes.
fn bytes_masks(c: &[u8]) -> (u32, bool, bool) {
    let (mut q, mut odd, mut bs) = (0u32, false, false);
    for (j, &b) in c.iter().enumerate() {
        q |= u32::from(b == b'"') << j;
        // JSON text is plain here when it is printable ASCII or DEL (0x20..=0x7f).
        odd |= b.wrapping_sub(0x20) >= 0x60;
        bs |= b == b'\\';
    }
    (q, odd, bs)
}

/// For thirty-two bytes: a bit per quote, whether any byte is not printable ASCII, whether any is a
/// backslash. SSE2 (every x86-64 has it), sixteen bytes at a time: three compares and three mask
/// extractions per half.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn chunk_masks(c: &[u8; W]) -> (u32, bool, bool) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of x86-64; the loads are unaligned and read exactly the 32 bytes of `c`.
    unsafe {
        let half = |v: __m128i| {
            let q = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8))) as u32;
            let bs = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)));
            // Printable ASCII is 0x20..=0x7f: as signed bytes, greater than 0x1f (bytes >= 0x80 are
            // negative).
            let ok = _mm_movemask_epi8(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f)));
            (q, ok != 0xffff, bs != 0)
        };
        let (q0, o0, b0) = half(_mm_loadu_si128(c.as_ptr().cast()));
        let (q1, o1, b1) = half(_mm_loadu_si128(c.as_ptr().add(16).cast()));
        (q0 | q1 << 16, o0 | o1, b0 | b1)
    }
}

/// [`chunk_masks`] in one AVX2 vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn chunk_masks_avx2(c: &[u8; W]) -> (u32, bool, bool) {
    use std::arch::x86_64::*;
    // SAFETY: the load is unaligned and reads exactly the 32 bytes of `c`; AVX2 is enabled for this
    // function and its callers check it.
    unsafe {
        let v = _mm256_loadu_si256(c.as_ptr().cast());
        let q = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8))) as u32;
        let bs = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8)));
        let ok = _mm256_movemask_epi8(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(0x1f))) as u32;
        (q, ok != u32::MAX, bs != 0)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn chunk_masks(c: &[u8; W]) -> (u32, bool, bool) {
    bytes_masks(c)
}

/// Why a line is not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// Byte offset (0-based) in the line.
    pub at: usize,
    /// What is wrong.
    pub what: &'static str,
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at column {}", self.what, self.at + 1)
    }
}

impl std::error::Error for ScanError {}

fn err<T>(at: usize, what: &'static str) -> Result<T, ScanError> {
    Err(ScanError { at, what })
}

impl Scan {
    /// Scans `line`, which must hold one JSON object (surrounding whitespace allowed).
    pub fn line(&mut self, line: &[u8]) -> Result<(), ScanError> {
        self.scan(line, true)
    }

    /// [`Scan::line`]; `quotes` false forces the searching path (tests compare the two).
    fn scan(&mut self, line: &[u8], quotes: bool) -> Result<(), ScanError> {
        self.fields.clear();
        if line.len() > u32::MAX as usize {
            return err(0, "line too long");
        }
        // One vectorisable pass decides whether the line is plain printable ASCII (what our tools write);
        // only other lines pay for UTF-8 validation and the per-string check for raw control characters.
        let (plain, escapes) = classify(line, &mut self.quotes);
        if !plain && let Err(e) = std::str::from_utf8(line) {
            return err(e.valid_up_to(), "invalid UTF-8");
        }
        self.plain = plain;
        self.escapes = escapes;
        let mut st = if quotes && plain && !escapes {
            Strings::Quotes(&self.quotes)
        } else {
            Strings::Search { plain }
        };
        let fields = &mut self.fields;
        if let Strings::Quotes(masks) = st {
            if scan_compact(line, masks, fields) {
                return Ok(());
            }
            fields.clear();
        }
        let mut i = ws(line, 0);
        if line.get(i) != Some(&b'{') {
            return err(i, "expected a JSON object");
        }
        i = ws(line, i + 1);
        if line.get(i) == Some(&b'}') {
            i += 1;
        } else {
            loop {
                if line.get(i) != Some(&b'"') {
                    return err(i, "expected a key");
                }
                let k0 = i;
                let k1 = string_end(line, i, &mut st)?;
                i = ws(line, k1);
                if line.get(i) != Some(&b':') {
                    return err(i, "expected ':'");
                }
                let v0 = ws(line, i + 1);
                // Most values are strings: no need for the general value dispatch.
                let v1 = if line.get(v0) == Some(&b'"') {
                    string_end(line, v0, &mut st)?
                } else {
                    value_end(line, v0, 0, &mut st)?
                };
                fields.push(Field {
                    key: (k0 as u32 + 1, k1 as u32 - 1),
                    val: (v0 as u32, v1 as u32),
                    span: (k0 as u32, v1 as u32),
                });
                i = ws(line, v1);
                match line.get(i) {
                    Some(b',') => i = ws(line, i + 1),
                    Some(b'}') => {
                        i += 1;
                        break;
                    }
                    _ => return err(i, "expected ',' or '}'"),
                }
            }
        }
        if ws(line, i) != line.len() {
            return err(i, "text after the object");
        }
        Ok(())
    }

    /// A string value of the line last scanned, unescaped; `None` when the value is not a string. Like
    /// [`str_value`], without looking for escapes in a line that has no backslash.
    pub fn str_value<'a>(&self, line: &'a [u8], f: &Field) -> Option<Cow<'a, str>> {
        let v = raw(line, f.val);
        if v.first() != Some(&b'"') {
            return None;
        }
        let body = &v[1..v.len() - 1];
        if !self.escapes {
            // SAFETY: the line was checked to be UTF-8 (or plain ASCII) and the body lies between two
            // ASCII quotes.
            return Some(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(body) }));
        }
        Some(unescape(body))
    }

    /// The field whose key is `key` (keys without escapes; the last one wins, as in serde_json).
    pub fn get(&self, line: &[u8], key: &str) -> Option<Field> {
        self.fields
            .iter()
            .rev()
            .find(|f| &line[f.key.0 as usize..f.key.1 as usize] == key.as_bytes())
            .copied()
    }
}

/// The scan of a compact, plain line (what our tools write: no whitespace between tokens, printable
/// ASCII, no backslash), with none of the general loop's checks for whitespace and dispatch on how
/// strings end. False when the line is not laid out that way, valid or not: the general scan then reads
/// it and gives the error, if there is one.
fn scan_compact(line: &[u8], masks: &[u32], fields: &mut Vec<Field>) -> bool {
    let n = line.len();
    if n < 2 || line[0] != b'{' || line[n - 1] != b'}' {
        return false;
    }
    if n == 2 {
        return true;
    }
    let mut i = 1;
    loop {
        // `i` < n: it follows the `{` or a `,`, and the line ends with `}`.
        if line[i] != b'"' {
            return false;
        }
        let Some(k1) = next_quote(masks, i) else { return false };
        if line.get(k1 + 1) != Some(&b':') {
            return false;
        }
        let v0 = k1 + 2;
        let v1 = match line.get(v0) {
            Some(b'"') => match next_quote(masks, v0) {
                Some(q) => q + 1,
                None => return false,
            },
            Some(_) => match int_end(line, v0) {
                Some(e) => e,
                None => match value_end(line, v0, 0, &mut Strings::Quotes(masks)) {
                    Ok(e) => e,
                    Err(_) => return false,
                },
            },
            None => return false,
        };
        fields.push(Field {
            key: (i as u32 + 1, k1 as u32),
            val: (v0 as u32, v1 as u32),
            span: (i as u32, v1 as u32),
        });
        match line.get(v1) {
            Some(b',') => i = v1 + 1,
            Some(b'}') if v1 + 1 == n => return true,
            _ => return false,
        }
    }
}

/// The end of a plain integer at `i` (statuses, sizes, counts: no sign, fraction, exponent or leading
/// zero) when a `,` or `}` follows it; `None` for anything else, which the general value scan reads.
fn int_end(line: &[u8], i: usize) -> Option<usize> {
    if !matches!(line.get(i), Some(b'1'..=b'9')) {
        return None;
    }
    let e = i + 1 + line[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
    matches!(line.get(e), Some(b',' | b'}')).then_some(e)
}

/// The raw bytes of a range.
pub fn raw(line: &[u8], r: (u32, u32)) -> &[u8] {
    &line[r.0 as usize..r.1 as usize]
}

/// True when the value is `null`.
pub fn is_null(line: &[u8], f: &Field) -> bool {
    raw(line, f.val) == b"null"
}

/// A string value, unescaped; `None` when the value is not a string.
pub fn str_value<'a>(line: &'a [u8], f: &Field) -> Option<Cow<'a, str>> {
    let v = raw(line, f.val);
    if v.first() != Some(&b'"') {
        return None;
    }
    Some(unescape(&v[1..v.len() - 1]))
}

/// An unsigned integer value; `None` when the value is not one.
pub fn u64_value(line: &[u8], f: &Field) -> Option<u64> {
    let v = raw(line, f.val);
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    // Digits checked and summed in the one loop (a status has three).
    let mut n = 0u64;
    for &b in v {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    Some(n)
}

/// The string elements of an array value (non-strings are skipped); `None` when not an array.
pub fn str_array<'a>(line: &'a [u8], f: &Field) -> Option<Vec<Cow<'a, str>>> {
    let v = raw(line, f.val);
    if v.first() != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = ws(v, 1);
    while i < v.len() && v[i] != b']' {
        // The line was validated: every element ends where value_end says.
        let end = value_end(v, i, 1, &mut Strings::Search { plain: false }).ok()?;
        if v[i] == b'"' {
            out.push(unescape(&v[i + 1..end - 1]));
        }
        i = ws(v, end);
        if v.get(i) == Some(&b',') {
            i = ws(v, i + 1);
        }
    }
    Some(out)
}

/// Decodes a validated JSON string body (without quotes).
pub fn unescape(body: &[u8]) -> Cow<'_, str> {
    if memchr::memchr(b'\\', body).is_none() {
        // SAFETY: the whole line was checked to be UTF-8 and a string body without escapes is a slice of
        // it between two ASCII quotes, so it is UTF-8 too.
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(body) });
    }
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let Some(j) = memchr::memchr(b'\\', &body[i..]).map(|j| i + j) else {
            out.push_str(&String::from_utf8_lossy(&body[i..]));
            break;
        };
        out.push_str(&String::from_utf8_lossy(&body[i..j]));
        let c = body[j + 1];
        i = j + 2;
        match c {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            _ => {
                let hi = hex4(&body[i..i + 4]);
                i += 4;
                let cp = if (0xD800..0xDC00).contains(&hi)
                    && body.get(i) == Some(&b'\\')
                    && body.get(i + 1) == Some(&b'u')
                {
                    let lo = hex4(&body[i + 2..i + 6]);
                    if (0xDC00..0xE000).contains(&lo) {
                        i += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        hi
                    }
                } else {
                    hi
                };
                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
            }
        }
    }
    Cow::Owned(out)
}

fn hex4(b: &[u8]) -> u32 {
    b.iter().fold(0, |a, &c| a * 16 + (c as char).to_digit(16).unwrap_or(0))
}

#[inline(always)]
fn ws(s: &[u8], mut i: usize) -> usize {
    // Records are compact: the byte here is almost never whitespace, and no whitespace is above a space.
    while let Some(&b) = s.get(i) {
        if b > b' ' || !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            break;
        }
        i += 1;
    }
    i
}

/// The end (exclusive) of the string starting at the quote at `i`.
#[inline(always)]
fn string_end(s: &[u8], i: usize, st: &mut Strings<'_>) -> Result<usize, ScanError> {
    let plain = match st {
        Strings::Quotes(masks) => {
            let Some(q) = next_quote(masks, i) else { return err(i, "unterminated string") };
            return Ok(q + 1);
        }
        Strings::Search { plain } => *plain,
    };
    let mut j = i + 1;
    loop {
        let Some(k) = memchr::memchr2(b'"', b'\\', &s[j..]).map(|k| j + k) else {
            return err(i, "unterminated string");
        };
        // Raw control characters are not allowed inside a JSON string.
        if !plain && s[j..k].iter().fold(false, |a, &b| a | (b < 0x20)) {
            let at = j + s[j..k].iter().position(|&b| b < 0x20).unwrap_or(0);
            return err(at, "control character in a string");
        }
        if s[k] == b'"' {
            return Ok(k + 1);
        }
        match s.get(k + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j = k + 2,
            Some(b'u') if s.len() >= k + 6 && s[k + 2..k + 6].iter().all(u8::is_ascii_hexdigit) => j = k + 6,
            _ => return err(k, "bad escape in a string"),
        }
    }
}

/// The end (exclusive) of the value starting at `i`.
fn value_end(s: &[u8], i: usize, depth: u32, st: &mut Strings<'_>) -> Result<usize, ScanError> {
    if depth > 128 {
        return err(i, "nested too deeply");
    }
    match s.get(i) {
        Some(b'"') => string_end(s, i, st),
        Some(b'{') => {
            let mut j = ws(s, i + 1);
            if s.get(j) == Some(&b'}') {
                return Ok(j + 1);
            }
            loop {
                if s.get(j) != Some(&b'"') {
                    return err(j, "expected a key");
                }
                j = ws(s, string_end(s, j, st)?);
                if s.get(j) != Some(&b':') {
                    return err(j, "expected ':'");
                }
                j = ws(s, value_end(s, ws(s, j + 1), depth + 1, st)?);
                match s.get(j) {
                    Some(b',') => j = ws(s, j + 1),
                    Some(b'}') => return Ok(j + 1),
                    _ => return err(j, "expected ',' or '}'"),
                }
            }
        }
        Some(b'[') => {
            let mut j = ws(s, i + 1);
            if s.get(j) == Some(&b']') {
                return Ok(j + 1);
            }
            loop {
                j = ws(s, value_end(s, j, depth + 1, st)?);
                match s.get(j) {
                    Some(b',') => j = ws(s, j + 1),
                    Some(b']') => return Ok(j + 1),
                    _ => return err(j, "expected ',' or ']'"),
                }
            }
        }
        Some(b't') if s[i..].starts_with(b"true") => Ok(i + 4),
        Some(b'f') if s[i..].starts_with(b"false") => Ok(i + 5),
        Some(b'n') if s[i..].starts_with(b"null") => Ok(i + 4),
        Some(b'-' | b'0'..=b'9') => number_end(s, i),
        _ => err(i, "expected a value"),
    }
}

fn number_end(s: &[u8], i: usize) -> Result<usize, ScanError> {
    let mut j = i;
    if s[j] == b'-' {
        j += 1;
    }
    let digits = |j: usize| s[j..].iter().take_while(|b| b.is_ascii_digit()).count();
    let n = digits(j);
    if n == 0 || (s[j] == b'0' && n > 1) {
        return err(i, "bad number");
    }
    j += n;
    if s.get(j) == Some(&b'.') {
        let n = digits(j + 1);
        if n == 0 {
            return err(i, "bad number");
        }
        j += 1 + n;
    }
    if matches!(s.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let n = digits(j);
        if n == 0 {
            return err(i, "bad number");
        }
        j += n;
    }
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scan(s: &str) -> Result<Vec<(String, String)>, ScanError> {
        let mut sc = Scan::default();
        sc.line(s.as_bytes())?;
        Ok(sc
            .fields
            .iter()
            .map(|f| {
                (
                    String::from_utf8(raw(s.as_bytes(), f.key).to_vec()).unwrap(),
                    String::from_utf8(raw(s.as_bytes(), f.val).to_vec()).unwrap(),
                )
            })
            .collect())
    }

    #[test]
    fn fields_and_values() {
        let s = r#" {"a":1, "b" : "x\"y", "c":[1,{"d":null}],"e":{"f":[true,false]},"g":-1.5e3} "#;
        let f = scan(s).unwrap();
        assert_eq!(f.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "e", "g"]);
        assert_eq!(f[1].1, r#""x\"y""#);
        assert_eq!(f[2].1, r#"[1,{"d":null}]"#);
        let mut sc = Scan::default();
        sc.line(s.as_bytes()).unwrap();
        assert_eq!(str_value(s.as_bytes(), &sc.get(s.as_bytes(), "b").unwrap()).unwrap(), "x\"y");
        assert_eq!(u64_value(s.as_bytes(), &sc.get(s.as_bytes(), "a").unwrap()), Some(1));
        assert_eq!(scan("{}").unwrap(), vec![]);
    }

    #[test]
    fn escapes_and_arrays() {
        let s = r#"{"u":"\u00e9\ud83d\ude00\n","a":["x",2,"y\\z"]}"#;
        let mut sc = Scan::default();
        sc.line(s.as_bytes()).unwrap();
        assert_eq!(str_value(s.as_bytes(), &sc.get(s.as_bytes(), "u").unwrap()).unwrap(), "é😀\n");
        assert_eq!(str_array(s.as_bytes(), &sc.get(s.as_bytes(), "a").unwrap()).unwrap(), vec!["x", "y\\z"]);
    }

    #[test]
    fn invalid_lines_say_where() {
        for (s, what) in [
            ("", "expected a JSON object"),
            ("[1]", "expected a JSON object"),
            ("{\"a\":1,}", "expected a key"),
            ("{\"a\" 1}", "expected ':'"),
            ("{\"a\":01}", "bad number"),
            ("{\"a\":\"x\ty\"}", "control character"),
            ("{\"a\":\"\\q\"}", "bad escape"),
            ("{\"a\":tru}", "expected a value"),
            ("{\"a\":1} x", "text after"),
            ("{\"a\":\"x}", "unterminated"),
        ] {
            let e = scan(s).unwrap_err();
            assert!(e.what.contains(what), "{s:?}: {e}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(scan(&deep).unwrap_err().what.contains("deeply"));
    }

    proptest! {
        #[test]
        fn every_classifier_reads_the_same(bytes in proptest::collection::vec(
            proptest::sample::select(vec![b'"', b'\\', b'a', b' ', 0x1f, 0x7f, 0x80, 0xff]), 0..100)) {
            // One byte at a time, per 32-byte entry: the reference.
            let mut want = Vec::new();
            let (mut odd, mut bs) = (false, false);
            for c in bytes.chunks(W) {
                let (q, o, b) = bytes_masks(c);
                want.push(q);
                odd |= o;
                bs |= b;
            }
            let mut got = Vec::new();
            prop_assert_eq!(classify_by(&bytes, &mut got, chunk_masks), (!odd, bs));
            prop_assert_eq!(&got, &want);
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                got.clear();
                // SAFETY: AVX2 was detected.
                prop_assert_eq!(unsafe { classify_avx2(&bytes, &mut got) }, (!odd, bs));
                prop_assert_eq!(&got, &want);
            }
        }

        #[test]
        fn quote_stepping_equals_searching(s in r#"[{}\[\]":,0-9a-z .eE+-]{0,60}"#) {
            // Lines without backslashes take the quote-stepping path: it must accept, reject and
            // place fields exactly as the searching path does.
            let (mut a, mut b) = (Scan::default(), Scan::default());
            let ra = a.scan(s.as_bytes(), true);
            let rb = b.scan(s.as_bytes(), false);
            prop_assert_eq!(ra, rb);
            prop_assert_eq!(a.fields, b.fields);
        }

        #[test]
        fn quote_stepping_on_valid_records(v in proptest::collection::btree_map("[a-z_]{1,8}", ("[ -!#-\\[\\]-~]{0,30}", proptest::prelude::any::<u32>(), 0..3u8), 0..12)) {
            let obj: serde_json::Map<String, serde_json::Value> = v.iter().map(|(k, (s, n, kind))| {
                let val = match kind { 0 => serde_json::json!(s), 1 => serde_json::json!(n), _ => serde_json::json!([s, n, {"x": s}]) };
                (k.clone(), val)
            }).collect();
            let text = serde_json::to_string(&obj).unwrap();
            prop_assert!(!text.contains('\\'));
            let (mut a, mut b) = (Scan::default(), Scan::default());
            a.scan(text.as_bytes(), true).unwrap();
            b.scan(text.as_bytes(), false).unwrap();
            prop_assert_eq!(&a.fields, &b.fields);
            prop_assert_eq!(a.fields.len(), v.len());
            for f in &a.fields {
                let key = std::str::from_utf8(raw(text.as_bytes(), f.key)).unwrap();
                let want = serde_json::to_string(&obj[key]).unwrap();
                prop_assert_eq!(raw(text.as_bytes(), f.val), want.as_bytes());
                if v[key].2 == 0 {
                    prop_assert_eq!(a.str_value(text.as_bytes(), f).unwrap(), v[key].0.as_str());
                }
            }
        }

        #[test]
        fn compact_scan_agrees_on_damaged_records(v in proptest::collection::btree_map("[a-z_]{1,8}", ("[ -!#-\\[\\]-~]{0,20}", proptest::prelude::any::<u32>(), 0..3u8), 1..8),
                                                 at in proptest::prelude::any::<proptest::sample::Index>(),
                                                 with in proptest::sample::select(vec![b'"', b',', b':', b'{', b'}', b'[', b']', b' ', b'1', b'a'])) {
            // A record our tools write, then one byte replaced, dropped or doubled: the compact scan must
            // accept exactly what the general one accepts, with the same fields.
            let obj: serde_json::Map<String, serde_json::Value> = v.iter().map(|(k, (s, n, kind))| {
                let val = match kind { 0 => serde_json::json!(s), 1 => serde_json::json!(n), _ => serde_json::json!([s, n, {"x": s}]) };
                (k.clone(), val)
            }).collect();
            let text = serde_json::to_string(&obj).unwrap().into_bytes();
            let i = at.index(text.len());
            let mut damaged = vec![text.clone(), text.clone(), text.clone()];
            damaged[0][i] = with;
            damaged[1].remove(i);
            damaged[2].insert(i, with);
            for line in &damaged {
                let (mut a, mut b) = (Scan::default(), Scan::default());
                let (ra, rb) = (a.scan(line, true), b.scan(line, false));
                prop_assert_eq!(ra.is_ok(), rb.is_ok(), "{}", String::from_utf8_lossy(line));
                if ra.is_ok() {
                    prop_assert_eq!(&a.fields, &b.fields);
                }
            }
        }

        #[test]
        fn agrees_with_serde_json(s in r#"[{}\[\]":,0-9a-z\\ .eE+-]{0,40}"#) {
            let ours = scan(&s).is_ok();
            let theirs = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&s).is_ok();
            prop_assert_eq!(ours, theirs, "{:?}", s);
        }

        #[test]
        fn valid_objects_round_trip(v in proptest::collection::btree_map("[a-z]{1,3}", proptest::prelude::any::<(u32, String, bool)>(), 0..5)) {
            let obj: serde_json::Map<String, serde_json::Value> = v.iter().map(|(k, (n, s, b))| (k.clone(), serde_json::json!([n, s, b]))).collect();
            let text = serde_json::to_string(&obj).unwrap();
            let mut sc = Scan::default();
            sc.line(text.as_bytes()).unwrap();
            prop_assert_eq!(sc.fields.len(), v.len());
            for f in &sc.fields {
                let key = std::str::from_utf8(raw(text.as_bytes(), f.key)).unwrap();
                let arr = str_array(text.as_bytes(), f).unwrap();
                prop_assert_eq!(arr[0].as_ref(), v[key].1.as_str());
            }
        }
    }
}
