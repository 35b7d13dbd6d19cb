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
pub fn template_into(path: &str, out: &mut String) {
    // Every placeholder needs a digit (below, per segment): a path without one is its own template.
    if !path.starts_with('/') || !path.bytes().any(|b| b.is_ascii_digit()) {
        out.push_str(path);
        return;
    }
    // Segments and name parts are found with plain byte loops: they are short, and `str::split` costs
    // more per piece than the search itself.
    for seg in pieces(&path[1..], b'/') {
        out.push('/');
        // Every placeholder needs a digit (a UUID without one is not worth a special case): most
        // segments are words and take this exit.
        if seg.is_empty() || !seg.bytes().any(|b| b.is_ascii_digit()) || pathkind::script_ext(seg).is_some() {
            out.push_str(seg);
            continue;
        }
        if let Some(p) = whole(seg) {
            out.push_str(p);
            continue;
        }
        // A file name: the first part is the name, the others extensions or fingerprints.
        for (k, part) in pieces(seg, b'.').enumerate() {
            if k > 0 {
                out.push('.');
            }
            let p = if k == 0 { whole(part) } else { fingerprint(part) };
            out.push_str(p.unwrap_or(part));
        }
    }
}

/// The pieces of `s` between `sep` bytes (an ASCII byte), as `str::split` gives them.
fn pieces(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(|b| b == sep) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// A placeholder for a whole segment (or the name part of a file name).
fn whole(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Some("{int}");
    }
    if is_uuid(s) {
        return Some("{uuid}");
    }
    if is_date(s) {
        return Some("{date}");
    }
    if is_hex(s, 16) {
        return Some("{hex}");
    }
    if is_token(s) {
        return Some("{token}");
    }
    None
}

/// A placeholder for a later part of a file name (`app.3f2a9c1b.js`, `bundle.123.css`).
fn fingerprint(s: &str) -> Option<&'static str> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() >= 4 {
        return Some("{int}");
    }
    if is_hex(s, 8) {
        return Some("{hex}");
    }
    if is_token(s) {
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

fn is_hex(s: &str, min: usize) -> bool {
    s.len() >= min
        && s.bytes().all(|b| b.is_ascii_hexdigit())
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

fn is_token(s: &str) -> bool {
    if s.len() < 20 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
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
    use super::{pieces, template};

    proptest::proptest! {
        #[test]
        fn pieces_are_what_split_gives(s in "[a-z./]{0,30}") {
            for sep in ['/', '.'] {
                let ours: Vec<&str> = pieces(&s, sep as u8).collect();
                let std: Vec<&str> = s.split(sep).collect();
                proptest::prop_assert_eq!(ours, std);
            }
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
