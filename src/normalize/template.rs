//! Templates: a canonical path with its dynamic parts replaced by placeholders, so that ten thousand
//! product ids are one key, not ten thousand.
//!
//! A whole segment, or one dot-separated part of a file name, becomes a placeholder when it is:
//!
//! | placeholder | what | examples |
//! |---|---|---|
//! | `{int}` | digits only | `/api/v1/products/4711`, `/blog/2026/10/` |
//! | `{uuid}` | an RFC 4122 UUID | `/orders/3f2b…-…` |
//! | `{date}` | `YYYY-MM-DD` or `YYYY_MM_DD` | `/archive/2026-10-01` |
//! | `{hex}` | a hash: ≥ 16 hex digits in a segment, ≥ 8 in a later part of a file name, with at least one digit and one letter | `/static/app.3f2a9c1b.js` |
//! | `{token}` | a long random-looking token: ≥ 20 characters of `[A-Za-z0-9_-]` mixing letters and digits at least four times | `/s/aZ3kL9mQ2xV7bN1pR5tY` |
//!
//! A segment naming a server-side script ([`crate::pathkind::script_ext`]) always stays literal, whole:
//! `/uploads/{int}/x.php`, never `/uploads/{int}/{hex}.php`, because a template must never let a new
//! script hide behind an old one. A canonical path never contains `{` or `}` (they are percent-encoded),
//! so a placeholder cannot be confused with a logged path.

use crate::pathkind;

/// The template of a canonical path.
pub fn template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    template_into(path, &mut out);
    out
}

/// Appends the template of a canonical path to `out`.
///
/// One pass over each segment: its bytes' [`CLASS`]es are OR-ed and AND-ed into two summaries,
/// from which "has a digit", "all digits", "all hex" and "token characters only" are read without
/// another scan; the path is copied to `out` in runs, up to the first segment that changes. Most
/// segments are words without a digit, and a path is templated for each distinct path of a log.
pub fn template_into(path: &str, out: &mut String) {
    let b = path.as_bytes();
    if b.first() != Some(&b'/') {
        out.push_str(path);
        return;
    }
    // `path[..copied]` is in `out` already (as it is, or templated).
    let mut copied = 0;
    let mut start = 1;
    loop {
        let (mut any, mut all, mut end) = (0u8, !0u8, start);
        for &c in &b[start..] {
            if c == b'/' {
                break;
            }
            any |= CLASS[c as usize];
            all &= CLASS[c as usize];
            end += 1;
        }
        let seg = &path[start..end];
        // Every placeholder needs a digit (a UUID without one is not worth a special case), and a
        // segment naming a script stays whole.
        if any & DIGIT != 0 && (any & DOT == 0 || pathkind::script_ext(seg).is_none()) {
            let mark = out.len();
            out.push_str(&path[copied..start]);
            if segment_into(seg, any, all, out) {
                copied = end;
            } else {
                out.truncate(mark);
            }
        }
        if end == b.len() {
            break;
        }
        start = end + 1;
    }
    out.push_str(&path[copied..]);
}

/// Byte classes for [`template_into`]: a digit is also a hex and a token character, a–f a hex letter.
const DIGIT: u8 = 1;
const HEX: u8 = 2;
const LETTER: u8 = 4;
const TOKEN: u8 = 8;
const DOT: u8 = 16;
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_digit() {
            DIGIT | HEX | TOKEN
        } else if b.is_ascii_hexdigit() {
            HEX | LETTER | TOKEN
        } else if b.is_ascii_alphabetic() {
            LETTER | TOKEN
        } else if b == b'-' || b == b'_' {
            TOKEN
        } else if b == b'.' {
            DOT
        } else {
            0
        };
        i += 1;
    }
    t
};

/// The OR and the AND of the [`CLASS`]es of `s`'s bytes.
#[inline(always)]
fn classes(s: &str) -> (u8, u8) {
    s.bytes().fold((0, !0), |(any, all), b| (any | CLASS[b as usize], all & CLASS[b as usize]))
}

/// Appends the template of a segment that has a digit and names no script; false (and `out` to be
/// cut back by the caller) when nothing in it is a placeholder.
fn segment_into(seg: &str, any: u8, all: u8, out: &mut String) -> bool {
    if let Some(p) = whole(seg, any, all) {
        out.push_str(p);
        return true;
    }
    if any & DOT == 0 {
        return false;
    }
    // A file name: the first part is the name, the others extensions or fingerprints.
    let mut changed = false;
    for (k, part) in seg.split('.').enumerate() {
        if k > 0 {
            out.push('.');
        }
        let (any, all) = classes(part);
        let p = if k == 0 { whole(part, any, all) } else { fingerprint(part, any, all) };
        changed |= p.is_some();
        out.push_str(p.unwrap_or(part));
    }
    changed
}

/// A placeholder for a whole segment (or the name part of a file name); `any` and `all` are the OR and
/// AND of its bytes' classes.
fn whole(s: &str, any: u8, all: u8) -> Option<&'static str> {
    if s.is_empty() {
        return None;
    }
    if all & DIGIT != 0 {
        return Some("{int}");
    }
    if s.len() == 36 && is_uuid(s) {
        return Some("{uuid}");
    }
    if is_date(s) {
        return Some("{date}");
    }
    if is_hex(s, 16, any, all) {
        return Some("{hex}");
    }
    if is_token(s, all) {
        return Some("{token}");
    }
    None
}

/// A placeholder for a later part of a file name (`app.3f2a9c1b.js`, `bundle.123.css`).
fn fingerprint(s: &str, any: u8, all: u8) -> Option<&'static str> {
    if !s.is_empty() && all & DIGIT != 0 && s.len() >= 4 {
        return Some("{int}");
    }
    if is_hex(s, 8, any, all) {
        return Some("{hex}");
    }
    if is_token(s, all) {
        return Some("{token}");
    }
    None
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    // (Reached only for segments with a digit.)
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, &c)| if matches!(i, 8 | 13 | 18 | 23) { c == b'-' } else { c.is_ascii_hexdigit() })
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && (b[4] == b'-' && b[7] == b'-' || b[4] == b'_' && b[7] == b'_')
        && b.iter().enumerate().all(|(i, &c)| matches!(i, 4 | 7) || c.is_ascii_digit())
        && matches!(&s[0..2], "19" | "20")
}

/// At least `min` hex digits, with a digit and a letter among them.
fn is_hex(s: &str, min: usize, any: u8, all: u8) -> bool {
    s.len() >= min && all & HEX != 0 && any & DIGIT != 0 && any & LETTER != 0
}

/// A long random-looking token (see the module's table).
fn is_token(s: &str, all: u8) -> bool {
    if s.len() < 20 || all & TOKEN == 0 {
        return false;
    }
    // Random tokens switch between letters and digits often; slugs (`my-post-2024-review`) rarely do.
    let mut switches = 0;
    let mut prev: Option<bool> = None;
    for b in s.bytes().filter(u8::is_ascii_alphanumeric) {
        let digit = b.is_ascii_digit();
        if prev.is_some_and(|p| p != digit) {
            switches += 1;
        }
        prev = Some(digit);
    }
    switches >= 4
}

#[cfg(test)]
mod tests {
    use super::{is_date, is_uuid, template};

    /// The rules of the module's table written the plain way, scan by scan: what the one-pass
    /// [`template_into`] must give.
    fn reference(path: &str) -> String {
        let digits = |s: &str| s.bytes().any(|b| b.is_ascii_digit());
        let all = |s: &str, f: fn(u8) -> bool| s.bytes().all(f);
        let hex = |s: &str, min: usize| {
            s.len() >= min
                && all(s, |b| b.is_ascii_hexdigit())
                && digits(s)
                && s.bytes().any(|b| b.is_ascii_alphabetic())
        };
        let token = |s: &str| {
            s.len() >= 20 && all(s, |b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') && {
                let kinds: Vec<bool> =
                    s.bytes().filter(u8::is_ascii_alphanumeric).map(|b| b.is_ascii_digit()).collect();
                kinds.windows(2).filter(|w| w[0] != w[1]).count() >= 4
            }
        };
        let whole = |s: &str| -> Option<&str> {
            if s.is_empty() {
                None
            } else if all(s, |b| b.is_ascii_digit()) {
                Some("{int}")
            } else if is_uuid(s) {
                Some("{uuid}")
            } else if is_date(s) {
                Some("{date}")
            } else if hex(s, 16) {
                Some("{hex}")
            } else if token(s) {
                Some("{token}")
            } else {
                None
            }
        };
        let fingerprint = |s: &str| -> Option<&str> {
            if s.len() >= 4 && all(s, |b| b.is_ascii_digit()) {
                Some("{int}")
            } else if hex(s, 8) {
                Some("{hex}")
            } else if token(s) {
                Some("{token}")
            } else {
                None
            }
        };
        if !path.starts_with('/') {
            return path.to_string();
        }
        let mut out = String::new();
        for seg in path[1..].split('/') {
            out.push('/');
            if !digits(seg) || crate::pathkind::script_ext(seg).is_some() {
                out.push_str(seg);
            } else if let Some(p) = whole(seg) {
                out.push_str(p);
            } else {
                let parts: Vec<String> = seg
                    .split('.')
                    .enumerate()
                    .map(|(k, part)| {
                        let p = if k == 0 { whole(part) } else { fingerprint(part) };
                        p.unwrap_or(part).to_string()
                    })
                    .collect();
                out.push_str(&parts.join("."));
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn one_pass_gives_what_the_rules_say(
            segs in proptest::collection::vec(proptest::prop_oneof![
                "[a-z]{0,8}",
                "[0-9]{1,8}",
                "[0-9a-f]{6,20}",
                "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "(19|20)[0-9]{2}[-_][0-9]{2}[-_][0-9]{2}",
                "[A-Za-z0-9_-]{18,26}",
                "[a-z0-9]{0,10}\\.(php|js|css|jpg|PhP|tar)(\\.[0-9a-f]{0,12})?",
                "[a-z0-9._%;-]{0,14}",
            ], 0..6),
            lead in proptest::prop_oneof![proptest::strategy::Just(""), proptest::strategy::Just("/")],
        ) {
            let path = format!("{lead}{}", segs.join("/"));
            proptest::prop_assert_eq!(template(&path), reference(&path), "{}", path);
        }
    }

    #[test]
    fn placeholders() {
        for (path, want) in [
            ("/api/v1/products/4711", "/api/v{int}/products/{int}"),
            ("/orders/3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/items", "/orders/{uuid}/items"),
            ("/archive/2026-10-01/", "/archive/{date}/"),
            ("/static/js/river.1f526df2.js", "/static/js/river.{hex}.js"),
            ("/dl/0123456789abcdef0123456789abcdef", "/dl/{hex}"),
            ("/s/aZ3kL9mQ2xV7bN1pR5tY", "/s/{token}"),
            ("/blog/my-post-2024-review-of-things", "/blog/my-post-2024-review-of-things"),
            ("/blog/2026/10/copper-meadow/", "/blog/{int}/{int}/copper-meadow/"),
            ("/uploads/2026/10/x.php", "/uploads/{int}/{int}/x.php"),
            ("/uploads/5f3a9c1b2e4d6f70.php", "/uploads/5f3a9c1b2e4d6f70.php"),
            ("/uploads/12345.aspx", "/uploads/12345.aspx"),
            ("/img/photo.jpg", "/img/photo.jpg"),
            ("/", "/"),
            ("*", "*"),
        ] {
            // v1 is "v" + digits: not a whole-digit segment, so it stays.
            let want = want.replace("v{int}", "v1");
            assert_eq!(template(path), want, "{path}");
        }
    }
}
