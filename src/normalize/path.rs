//! The canonical path: the file or route the server resolves a request to, with every trick undone and
//! named.
//!
//! Steps, in this order (reference/webshell-detection.md §2.2):
//!
//! 1. An absolute-form target (`http://host:80/x.php`) gives its host and path.
//! 2. The query (`?…`) and any fragment (`#…`) are split off.
//! 3. Percent-decoding, once: escapes of unreserved characters (`A–Z a–z 0–9 - . _ ~`) are decoded, every
//!    other escape is kept with upper-case hex. `%00`, `%2F`, `%5C`, `%uXXXX`, overlong UTF-8 (`%C0%AF`)
//!    and double encoding (`%252e`) are never decoded: decoding them is what the evasions rely on.
//!    Characters that may not appear raw in a path (space, quotes, `<>{}|^`, controls, non-ASCII) are
//!    percent-encoded, so a canonical path is printable ASCII and `/caf%C3%A9` and `/café` are one path.
//! 4. Profile rules per segment. IIS: `\` is `/`, case is folded, `::$DATA`/`:stream` suffixes, a `;…`
//!    tail, trailing dots and spaces are cut. Java: `;params` are dropped from every segment (so `..;/`
//!    is `../`).
//! 5. Dot segments are removed (RFC 3986 §5.2.4), clamped at the root.
//! 6. Runs of `/` are collapsed.
//!
//! Each step that changes something records an [`Anomaly`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// How the server behind the log resolves paths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum Profile {
    /// Apache, Nginx and most others: case-sensitive, `\` and `;` are ordinary characters.
    #[default]
    Generic,
    /// IIS and Windows file systems.
    Iis,
    /// Servlet containers (Tomcat, Jetty, …): `;params` are stripped per segment.
    Java,
}

impl Profile {
    /// The name written in the record's `profile` field.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Generic => "generic",
            Profile::Iis => "iis",
            Profile::Java => "java",
        }
    }
}

macro_rules! anomalies {
    ($($(#[$doc:meta])* $name:ident = $bit:expr, $text:expr;)*) => {
        /// An evasive or odd spelling that normalisation undid or flagged.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        pub enum Anomaly { $($(#[$doc])* $name = 1 << $bit,)* }

        impl Anomaly {
            /// Every anomaly, in the order they are listed in records.
            pub const ALL: &'static [Anomaly] = &[$(Anomaly::$name,)*];
            /// The name used in records.
            pub fn name(self) -> &'static str {
                match self { $(Anomaly::$name => $text,)* }
            }
        }
    };
}

anomalies! {
    /// `GET http://host/path`: the target named a host.
    AbsoluteForm = 0, "absolute_form";
    /// The target did not start with `/` (`*`, an authority, a relative path).
    NonOriginForm = 1, "non_origin_form";
    /// A `#fragment` was sent (browsers never send one).
    Fragment = 2, "fragment";
    /// Unreserved characters were percent-encoded (`/%73hell.php`).
    PctEncoded = 3, "percent_encoded";
    /// `%25` followed by hex: double encoding (`%252e`).
    DoubleEncoding = 4, "double_encoding";
    /// A `%` not followed by two hex digits.
    BadEscape = 5, "bad_escape";
    /// IIS `%uXXXX` escapes.
    UEncoding = 6, "u_encoding";
    /// Overlong UTF-8 (`%C0%AF`).
    OverlongUtf8 = 7, "overlong_utf8";
    /// `%00`.
    EncodedNul = 8, "encoded_nul";
    /// `%2F`.
    EncodedSlash = 9, "encoded_slash";
    /// `%5C`.
    EncodedBackslash = 10, "encoded_backslash";
    /// `.` or `..` segments.
    DotSegments = 11, "dot_segments";
    /// `..` beyond the root.
    AboveRoot = 12, "above_root";
    /// `//`.
    MultiSlash = 13, "multi_slash";
    /// A raw `\`.
    Backslash = 14, "backslash";
    /// IIS: upper case folded.
    CaseFolded = 15, "case_folded";
    /// IIS: an NTFS alternate data stream suffix (`::$DATA`, `:stream`).
    AdsStream = 16, "ads_stream";
    /// IIS: trailing dots or spaces on a segment.
    TrailingDotSpace = 17, "trailing_dot_space";
    /// `;params` in a segment (Java `;jsessionid=`, `..;/`, IIS `x.asp;.jpg`).
    PathParams = 18, "path_params";
    /// A raw space in the path.
    RawSpace = 19, "raw_space";
    /// Raw characters that are not allowed in a path (quotes, `<>{}|^` and the like).
    RawUnsafe = 20, "raw_unsafe";
}

/// A set of [`Anomaly`] values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Anomalies(u32);

impl Anomalies {
    /// Adds one.
    pub fn add(&mut self, a: Anomaly) {
        self.0 |= a as u32;
    }
    /// True when `a` is in the set.
    pub fn has(self, a: Anomaly) -> bool {
        self.0 & a as u32 != 0
    }
    /// True when empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The names, in [`Anomaly::ALL`] order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Anomaly::ALL.iter().filter(move |a| self.has(**a)).map(|a| a.name())
    }
}

/// The result of canonicalising one request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical<'a> {
    /// The canonical path (borrowed from the input when it was canonical already, the common case).
    pub path: Cow<'a, str>,
    /// What else the target told: host, query, anomalies (nothing, for most targets).
    pub extra: Extra,
}

/// What canonicalising a target found besides the path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// The host named by an absolute-form target (lower case, no port).
    pub host: Option<String>,
    /// The query split off the target, if the target carried one.
    pub query: Option<String>,
    /// What was undone or flagged.
    pub anomalies: Anomalies,
}

/// Bytes that may stand in a canonical path as they are, per profile: unreserved characters,
/// sub-delims, `:`, `@` and `/`; for IIS not upper case, `;` or `:` (it folds or cuts them), for Java not
/// `;`. `%`, `\\`, `?` and `#` always need the full treatment.
const fn clean_table(profile: Profile) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        let ok = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b','
            )
            || matches!(c, b'=' | b'@' | b'/')
            || (c == b';' && !matches!(profile, Profile::Iis | Profile::Java))
            || (c == b':' && !matches!(profile, Profile::Iis));
        t[b] = ok && !(matches!(profile, Profile::Iis) && c.is_ascii_uppercase());
        b += 1;
    }
    t
}
const CLEAN: [[bool; 256]; 3] =
    [clean_table(Profile::Generic), clean_table(Profile::Iis), clean_table(Profile::Java)];

/// Appends one file or folder name as it stands in a canonical path under `profile`, so that a request
/// for the file, once canonicalised, is the same string: bytes that may stand raw in a canonical path
/// stay (upper case folded for IIS), every other byte (`%`, `?`, `#`, `\\`, space, quotes, `<>{}|^`,
/// controls, non-ASCII and bytes that are not UTF-8) becomes `%XX`, per byte. `webroot-inventory`
/// spells the names of the files it lists with it.
pub fn encode_name(name: &[u8], profile: Profile, out: &mut String) {
    let table = &CLEAN[profile as usize];
    for &b in name {
        let c = if profile == Profile::Iis { b.to_ascii_lowercase() } else { b };
        if c != b'/' && table[usize::from(c)] {
            out.push(char::from(c));
        } else {
            push_escape(out, c);
        }
    }
}

/// True when `raw` is canonical already under `profile`: an origin-form path of clean bytes with no
/// `//` and no dot segment (and, for IIS, no segment ending in a dot). Most logged paths are; they skip
/// the rest of the work and allocate nothing.
fn is_canonical(raw: &str, profile: Profile) -> bool {
    let b = raw.as_bytes();
    if b.first() != Some(&b'/') {
        return false;
    }
    let table = &CLEAN[profile as usize];
    let mut prev = 0u8;
    for (i, &c) in b.iter().enumerate() {
        if !table[usize::from(c)] {
            return false;
        }
        if c == b'/' && prev == b'/' {
            return false;
        }
        if c == b'.' && prev == b'/' {
            // `/.`, `/..` as a whole segment.
            let rest = &b[i + 1..];
            if rest.is_empty() || rest[0] == b'/' || (rest[0] == b'.' && (rest.len() == 1 || rest[1] == b'/'))
            {
                return false;
            }
        }
        if profile == Profile::Iis && prev == b'.' && c == b'/' {
            return false;
        }
        prev = c;
    }
    !(profile == Profile::Iis && prev == b'.')
}

impl Extra {
    /// Nothing found: no host, no query, no anomaly.
    pub const NONE: Extra = Extra { host: None, query: None, anomalies: Anomalies(0) };

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.query.is_none() && self.anomalies.is_empty()
    }

    /// The record's host: the one it had, lower-cased without port; else the one an absolute-form target
    /// named.
    pub fn final_host<'b>(&'b self, given: Option<&'b str>) -> Option<Cow<'b, str>> {
        match given {
            Some(h) => Some(normalize_host(h)),
            None => self.host.as_deref().map(Cow::Borrowed),
        }
    }

    /// Appends this normalisation's anomalies to a record's list, without duplicates.
    pub fn add_anomalies_to(&self, list: &mut Vec<Cow<'_, str>>) {
        if self.anomalies.is_empty() {
            return;
        }
        for name in self.anomalies.names() {
            if !list.iter().any(|a| a == name) {
                list.push(Cow::Borrowed(name));
            }
        }
    }

    /// The record's query: the one it had, else the one split off the target; never empty.
    pub fn final_query<'b>(&'b self, given: Option<&'b str>) -> Option<&'b str> {
        given.or(self.query.as_deref()).filter(|q| !q.is_empty())
    }
}

/// Canonicalises a request target as logged.
pub fn canonicalize(raw: &str, profile: Profile) -> Canonical<'_> {
    if is_canonical(raw, profile) {
        return Canonical { path: Cow::Borrowed(raw), extra: Extra::NONE };
    }
    let mut an = Anomalies::default();
    let mut host = None;
    let mut target = raw;

    // 1. Absolute form.
    if let Some(rest) = strip_scheme(target) {
        an.add(Anomaly::AbsoluteForm);
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        host = Some(normalize_host(hostport).into_owned());
        target = &rest[end..];
    }

    // 2. Query and fragment.
    let mut query = None;
    if let Some(i) = target.find('#') {
        an.add(Anomaly::Fragment);
        target = &target[..i];
    }
    if let Some(i) = target.find('?') {
        query = Some(target[i + 1..].to_string());
        target = &target[..i];
    }
    if target.is_empty() {
        target = "/";
    }
    if target == "*" {
        an.add(Anomaly::NonOriginForm);
        return Canonical { path: Cow::Borrowed("*"), extra: Extra { host, query, anomalies: an } };
    }

    // 3. Decode once, encode what may not be raw.
    let mut dec = String::with_capacity(target.len() + 1);
    if !(target.starts_with('/') || profile == Profile::Iis && target.starts_with('\\')) {
        an.add(Anomaly::NonOriginForm);
        dec.push('/');
    }
    decode_once(target, profile, &mut dec, &mut an);

    // 4–6. Segments.
    let path = resolve_segments(&dec, profile, &mut an);
    Canonical { path: Cow::Owned(path), extra: Extra { host, query, anomalies: an } }
}

fn strip_scheme(t: &str) -> Option<&str> {
    for scheme in ["http://", "https://"] {
        // Compare bytes: the target may hold any character, and a str slice must not split one.
        if t.len() >= scheme.len() && t.as_bytes()[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes()) {
            return Some(&t[scheme.len()..]);
        }
    }
    None
}

/// True when [`normalize_host`] would give `h` back: lower-case letters, digits, `-`, `_` and `.` (not
/// last).
fn host_is_normal(h: &str) -> bool {
    h.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'_'))
        && !h.ends_with('.')
}

/// Lower-cases a host and drops its port and any trailing dot (`WWW.Example.org.:443` → `www.example.org`).
/// Most logged hosts are normal already (and every request of a vhost or IIS log names one): those are
/// given back borrowed, without a lower-cased copy.
pub fn normalize_host(h: &str) -> Cow<'_, str> {
    if host_is_normal(h) {
        return Cow::Borrowed(h);
    }
    let h = h.trim();
    let h = if let Some(v6) = h.strip_prefix('[') {
        // [v6]:port → [v6]
        match v6.find(']') {
            Some(i) => &h[..i + 2],
            None => h,
        }
    } else {
        match h.rsplit_once(':') {
            Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => h,
        }
    };
    let n = h.trim_end_matches('.').to_ascii_lowercase();
    if n == h { Cow::Borrowed(h) } else { Cow::Owned(n) }
}

fn hexval(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters that may stand raw in a canonical path besides unreserved ones: sub-delims, `:`, `@`, `/`.
fn is_path_safe(b: u8) -> bool {
    is_unreserved(b)
        || matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=')
        || matches!(b, b':' | b'@' | b'/')
}

fn push_escape(out: &mut String, b: u8) {
    let _ = write!(out, "%{b:02X}");
}

/// Step 3: one round of percent-decoding of unreserved characters; everything else ends up either a
/// safe raw character or an upper-case escape.
fn decode_once(t: &str, profile: Profile, out: &mut String, an: &mut Anomalies) {
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let h = b.get(i + 1).copied().and_then(hexval);
            let l = b.get(i + 2).copied().and_then(hexval);
            if let (Some(h), Some(l)) = (h, l) {
                let v = h << 4 | l;
                if is_unreserved(v) {
                    an.add(Anomaly::PctEncoded);
                    out.push(char::from(v));
                } else {
                    match v {
                        0x00 => an.add(Anomaly::EncodedNul),
                        0x2F => an.add(Anomaly::EncodedSlash),
                        0x5C => an.add(Anomaly::EncodedBackslash),
                        0x25 if b.get(i + 3).copied().and_then(hexval).is_some()
                            && b.get(i + 4).copied().and_then(hexval).is_some() =>
                        {
                            an.add(Anomaly::DoubleEncoding)
                        }
                        0xC0 | 0xC1 => an.add(Anomaly::OverlongUtf8),
                        0xE0 | 0xF0
                            if next_escape(b, i + 3)
                                .is_some_and(|n| n < if v == 0xE0 { 0xA0 } else { 0x90 }) =>
                        {
                            an.add(Anomaly::OverlongUtf8)
                        }
                        _ => {}
                    }
                    push_escape(out, v);
                }
                i += 3;
                continue;
            }
            if matches!(b.get(i + 1), Some(b'u' | b'U'))
                && b.len() >= i + 6
                && b[i + 2..i + 6].iter().all(|&x| hexval(x).is_some())
            {
                an.add(Anomaly::UEncoding);
                out.push_str("%u");
                for &x in &b[i + 2..i + 6] {
                    out.push(char::from(x.to_ascii_uppercase()));
                }
                i += 6;
                continue;
            }
            an.add(Anomaly::BadEscape);
            out.push_str("%25");
            i += 1;
            continue;
        }
        if c == b'\\' {
            an.add(Anomaly::Backslash);
            if profile == Profile::Iis {
                out.push('/');
            } else {
                push_escape(out, c);
            }
        } else if is_path_safe(c) {
            out.push(char::from(c));
        } else {
            if c == b' ' {
                an.add(Anomaly::RawSpace);
            } else if c.is_ascii() {
                an.add(Anomaly::RawUnsafe);
            }
            push_escape(out, c);
        }
        i += 1;
    }
}

/// The byte value of an escape at `i`, if there is one.
fn next_escape(b: &[u8], i: usize) -> Option<u8> {
    if b.get(i) != Some(&b'%') {
        return None;
    }
    Some(hexval(*b.get(i + 1)?)? << 4 | hexval(*b.get(i + 2)?)?)
}

/// Steps 4–6 on a decoded path that starts with `/`.
fn resolve_segments(dec: &str, profile: Profile, an: &mut Anomalies) -> String {
    let mut stack: Vec<String> = Vec::with_capacity(8);
    let segs: Vec<&str> = dec[1..].split('/').collect();
    let n = segs.len();
    let mut trailing = false;
    for (k, seg) in segs.iter().enumerate() {
        let last = k + 1 == n;
        let seg = profile_segment(seg, profile, an);
        match seg.as_str() {
            "." => {
                an.add(Anomaly::DotSegments);
                trailing = last;
            }
            ".." => {
                an.add(Anomaly::DotSegments);
                if stack.pop().is_none() {
                    an.add(Anomaly::AboveRoot);
                }
                trailing = last;
            }
            _ => {
                stack.push(seg);
                trailing = false;
            }
        }
    }
    // Collapse `//`: empty segments go, except a final one, which is the trailing slash.
    let mut out = String::with_capacity(dec.len());
    let m = stack.len();
    for (k, seg) in stack.iter().enumerate() {
        if seg.is_empty() {
            if k + 1 < m {
                an.add(Anomaly::MultiSlash);
            }
            continue;
        }
        out.push('/');
        out.push_str(seg);
    }
    let ends_empty = stack.last().is_some_and(String::is_empty);
    if out.is_empty() || trailing || ends_empty {
        out.push('/');
    }
    out
}

/// Step 4 for one segment.
fn profile_segment(seg: &str, profile: Profile, an: &mut Anomalies) -> String {
    match profile {
        Profile::Generic => seg.to_string(),
        Profile::Java => match seg.find(';') {
            Some(i) => {
                an.add(Anomaly::PathParams);
                seg[..i].to_string()
            }
            None => seg.to_string(),
        },
        Profile::Iis => {
            let mut s = seg;
            // NTFS alternate data streams: `x.asp::$DATA`, `x.asp:stream:$DATA` (IIS decodes `%3A` to `:`);
            // IIS refuses a `:` in a path otherwise.
            let colon = s.find(':').into_iter().chain(s.find("%3A")).min();
            if let Some(i) = colon {
                an.add(Anomaly::AdsStream);
                s = &s[..i];
            }
            // IIS 6 `x.asp;.jpg` runs x.asp.
            if let Some(i) = s.find(';') {
                an.add(Anomaly::PathParams);
                s = &s[..i];
            }
            // Windows drops trailing dots and spaces from names; `.` and `..` stay dot segments.
            if !s.bytes().all(|b| b == b'.') {
                let trimmed = trim_dots_spaces(s);
                if trimmed.len() != s.len() {
                    an.add(Anomaly::TrailingDotSpace);
                    s = trimmed;
                }
            }
            let mut out = String::with_capacity(s.len());
            let b = s.as_bytes();
            let mut i = 0;
            let mut folded = false;
            while i < b.len() {
                if b[i] == b'%' {
                    // Escapes keep their upper-case hex (`%2F`, `%u002E`).
                    let len = if b.get(i + 1) == Some(&b'u') { 6 } else { 3 };
                    let end = (i + len).min(b.len());
                    out.push_str(&s[i..end]);
                    i = end;
                    continue;
                }
                let c = b[i];
                if c.is_ascii_uppercase() {
                    folded = true;
                }
                out.push(char::from(c.to_ascii_lowercase()));
                i += 1;
            }
            if folded {
                an.add(Anomaly::CaseFolded);
            }
            out
        }
    }
}

/// Trims trailing `.`, ` ` and `%20` from a segment.
fn trim_dots_spaces(mut s: &str) -> &str {
    loop {
        if let Some(t) = s.strip_suffix('.') {
            s = t;
        } else if let Some(t) = s.strip_suffix("%20") {
            s = t;
        } else {
            return s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest::proptest! {
        /// A host taken as normal is what normalisation gives back, borrowed.
        #[test]
        fn normal_hosts_are_left_alone(h in "[a-zA-Z0-9._:\\[\\] -]{0,12}") {
            if host_is_normal(&h) {
                let n = normalize_host(&h);
                proptest::prop_assert!(matches!(n, Cow::Borrowed(_)));
                proptest::prop_assert_eq!(n, h.as_str());
            }
        }
    }

    const PROFILES: [Profile; 3] = [Profile::Generic, Profile::Iis, Profile::Java];

    fn check(raw: &str) {
        for p in PROFILES {
            // The fast path claims canonical only where the full treatment changes nothing.
            if is_canonical(raw, p) {
                assert_eq!(resolve(raw, p), raw, "fast path wrong under {p:?}");
            }
            let c = canonicalize(raw, p);
            assert!(c.path == "*" || c.path.starts_with('/'), "{raw:?} → {:?}", c.path);
            assert!(c.path.bytes().all(|b| b.is_ascii_graphic()), "{raw:?} → {:?}", c.path);
            assert!(!c.path.contains(['{', '}', '?', '#']), "{raw:?} → {:?}", c.path);
            let again = canonicalize(&c.path, p);
            assert_eq!(again.path, c.path, "not idempotent under {p:?} for {raw:?}");
            assert_eq!(again.extra.query, None);
            let t = crate::normalize::template::template(&c.path);
            assert_eq!(crate::normalize::template::template(&t), t);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic_and_are_idempotent(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            check(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn tricky_alphabet(s in "[/.%a-fA-FuU0-9;:\\\\ $~?#=+xXpPhH]{0,48}") {
            check(&s);
        }
    }

    /// The full treatment, bypassing the fast path.
    fn resolve(raw: &str, p: Profile) -> String {
        let mut an = Anomalies::default();
        let mut dec = String::new();
        decode_once(raw, p, &mut dec, &mut an);
        resolve_segments(&dec, p, &mut an)
    }

    #[test]
    fn fast_path_cases() {
        for (raw, p, want) in [
            ("/a/b.php", Profile::Generic, true),
            ("/a/B.php", Profile::Iis, false),
            ("/a/b.php;x", Profile::Java, false),
            ("/a/b.php;x", Profile::Generic, true),
            ("/a//b", Profile::Generic, false),
            ("/a/./b", Profile::Generic, false),
            ("/a/..", Profile::Generic, false),
            ("/a/.htaccess", Profile::Generic, true),
            ("/a/..b", Profile::Generic, true),
            ("/a./b", Profile::Iis, false),
            ("/a%20", Profile::Generic, false),
            ("a", Profile::Generic, false),
        ] {
            assert_eq!(is_canonical(raw, p), want, "{raw} {p:?}");
        }
    }

    proptest! {
        /// A file name spelled by `encode_name` is a canonical path: normalising the request for it
        /// gives it back (names NTFS cannot hold aside).
        #[test]
        fn encoded_names_are_canonical(names in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..12), 1..4)) {
            for p in PROFILES {
                let mut path = String::new();
                for n in &names {
                    path.push('/');
                    encode_name(n, p, &mut path);
                }
                // Names Windows cannot hold anyway: IIS cuts a request at `:` (a stream) and trims
                // trailing dots and spaces.
                let dots = names.iter().any(|n| {
                    n.iter().all(|&b| b == b'.')
                        || (p == Profile::Iis && (matches!(n.last(), Some(b'.' | b' ')) || n.contains(&b':')))
                });
                if !dots {
                    proptest::prop_assert_eq!(canonicalize(&path, p).path, path.as_str());
                }
            }
        }
    }

    #[test]
    fn encoded_names() {
        let enc = |n: &[u8], p| {
            let mut s = String::from("/");
            encode_name(n, p, &mut s);
            s
        };
        assert_eq!(enc(b"a b%?#\\.php", Profile::Generic), "/a%20b%25%3F%23%5C.php");
        assert_eq!(enc(b"caf\xc3\xa9\xff", Profile::Generic), "/caf%C3%A9%FF");
        assert_eq!(enc(b"Shell.ASPX", Profile::Iis), "/shell.aspx");
        assert_eq!(enc(b"a;b.jsp", Profile::Java), "/a%3Bb.jsp");
        assert_eq!(enc(b"a;b:c.php", Profile::Generic), "/a;b:c.php");
    }

    #[test]
    fn known_idempotence_traps() {
        for raw in [
            "/a//../b",
            "/.%2e/./%2E%2e//x",
            "/%252e%252e/",
            "/a/b/..",
            "/a/.",
            "//",
            "/%",
            "/%u12",
            "/x%20.%20",
        ] {
            check(raw);
        }
        assert_eq!(canonicalize("/a//../b", Profile::Generic).path, "/a/b");
        assert_eq!(canonicalize("/a/b/..", Profile::Generic).path, "/a/");
        assert_eq!(canonicalize("/a/./", Profile::Generic).path, "/a/");
    }
}
