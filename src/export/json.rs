//! JSON-lines access logs: any one-object-a-line log with a field mapping (`--format json`, Nginx
//! `log_format … escape=json` templates by default), and Caddy v2's access log (`--format caddy`).
//!
//! # Reading
//!
//! Lines are scanned as bytes, not decoded into a tree: the scanner walks the object once, notes where
//! the values of the keys it was asked for are, and skips everything else. Only the values that had
//! escapes are copied. Reading bytes rather than `str` matters twice over: Nginx's `escape=json` leaves
//! bytes above 0x7f as they came, so a line can hold invalid UTF-8 that the event must keep (it is
//! evidence, and `event.rs` escapes it), and Nginx's *default* escaping, used when a JSON-looking
//! template forgets `escape=json`, writes `\xHH`, which JSON does not allow. Rejecting those would turn a
//! whole log into bad lines, so `\xHH` is accepted inside strings and becomes the byte it stands for.
//! Unquoted empty or `-` values (`"rt": ,`, `"rt": -`, what an unquoted empty Nginx variable produces)
//! are accepted too and read as absent.
//!
//! # Mapping
//!
//! Each event field (time, host, client, …; see [`Field`]) has a list of candidate keys, tried in order;
//! the first that is present with a string or number value is used (`null`, booleans, objects are
//! skipped). A key is a top-level name or a dotted path into nested objects (`request.uri`); a flattened
//! key that contains the dots itself (`"url.path": …`) matches the same path. When the value is an array,
//! its first element is used (Caddy logs headers as arrays). `--field NAME=KEY` replaces the candidates
//! of one field with that key (`--field NAME=` reads the field from nowhere).
//!
//! The request target comes from `request` (a whole request line, `GET /p?q HTTP/1.1`), else from `uri`
//! (path and query; a separate `query` key is used only when the uri has no `?`), else from `path` plus
//! `query`. A line without any of them is an error: the mapping does not fit the log.
//!
//! # Caddy
//!
//! Caddy writes all its logs through one encoder, and its access log can share a file with the others
//! (TLS, admin, reverse-proxy debug, `http.log.error`). An access entry is one whose `logger` starts
//! with `http.log.access` (or, with no `logger` key, whose `msg` is `handled request`, or with neither,
//! that has a `request` object). Other entries are well-formed lines without a request: counted, shown
//! in the summary as "without a request", never held against the format. A file with Caddy entries but
//! not a single access entry is an error (see `file.rs`, which counts per file): the user pointed at the wrong
//! log, or access logging is off, and an empty baseline must not pass for a quiet site.

use std::borrow::Cow;
use std::str::FromStr;

use super::clf::{split_request, strip_port};
use super::event::RawEvent;
use super::{LineParser, ParseResult, Parsed};
use crate::time::Timestamp;

/// An event field that a JSON key can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The request time.
    Time,
    /// The virtual host (a port is dropped).
    Host,
    /// The client address (`ip:port` loses the port).
    Client,
    /// The method.
    Method,
    /// A whole request line, `GET /p?q HTTP/1.1`.
    Request,
    /// Path and query, `/p?q`.
    Uri,
    /// The path alone.
    Path,
    /// The query alone, without `?`.
    Query,
    /// The status code.
    Status,
    /// Response bytes.
    Bytes,
    /// The User-Agent.
    UserAgent,
    /// The Referer.
    Referer,
}

impl Field {
    /// Every field, in declaration order (the order of [`JSON_KEYS`] and [`CADDY_KEYS`]).
    pub const ALL: [Field; 12] = [
        Field::Time,
        Field::Host,
        Field::Client,
        Field::Method,
        Field::Request,
        Field::Uri,
        Field::Path,
        Field::Query,
        Field::Status,
        Field::Bytes,
        Field::UserAgent,
        Field::Referer,
    ];

    /// The `--field` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Field::Time => "time",
            Field::Host => "host",
            Field::Client => "client",
            Field::Method => "method",
            Field::Request => "request",
            Field::Uri => "uri",
            Field::Path => "path",
            Field::Query => "query",
            Field::Status => "status",
            Field::Bytes => "bytes",
            Field::UserAgent => "user_agent",
            Field::Referer => "referer",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Candidate keys of each field (indexed like [`Field::ALL`]) for `--format json`: Nginx template
/// names first, then other common spellings and the Elastic Common Schema's.
pub const JSON_KEYS: [&[&str]; 12] = [
    &["time_iso8601", "time_local", "time", "timestamp", "ts", "@timestamp", "msec"],
    &["host", "server_name", "http_host", "url.domain"],
    &["remote_addr", "remote_ip", "client_ip", "client", "source.ip", "client.ip"],
    &["request_method", "method", "http.request.method"],
    &["request"],
    &["request_uri", "uri", "url.original"],
    &["path", "url.path"],
    &["args", "query_string", "query", "url.query"],
    &["status", "response", "status_code", "http.response.status_code"],
    &["body_bytes_sent", "bytes_sent", "bytes", "size", "http.response.body.bytes"],
    &["http_user_agent", "user_agent", "agent", "user_agent.original"],
    &["http_referer", "referrer", "referer", "http.request.referrer"],
];

/// Candidate keys of each field for `--format caddy` (Caddy v2's access log; `remote_addr` is from
/// Caddy before 2.5, `client_ip` from 2.7 on, and is the trusted-proxy-aware one).
pub const CADDY_KEYS: [&[&str]; 12] = [
    &["ts"],
    &["request.host"],
    &["request.client_ip", "request.remote_ip", "request.remote_addr"],
    &["request.method"],
    &[],
    &["request.uri"],
    &[],
    &[],
    &["status"],
    &["size"],
    &["request.headers.User-Agent"],
    &["request.headers.Referer"],
];

/// One `--field NAME=KEY`: read `field` from `key` (a dotted path; empty = from nowhere).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The event field.
    pub field: Field,
    /// The JSON key or dotted path.
    pub key: String,
}

impl FromStr for Mapping {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names = || Field::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ");
        let (name, key) =
            s.split_once('=').ok_or_else(|| format!("expected NAME=KEY, NAME one of {}", names()))?;
        let field = Field::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| format!("unknown field {name:?}; one of {}", names()))?;
        if !key.is_empty() && key.split('.').any(str::is_empty) {
            return Err(format!("key {key:?} has an empty part between dots"));
        }
        Ok(Mapping { field, key: key.to_string() })
    }
}

/// Which defaults and rules a [`Json`] parser uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Any JSON log, [`JSON_KEYS`] by default.
    Generic,
    /// Caddy v2, [`CADDY_KEYS`] by default, with non-access entries told apart.
    Caddy,
}

/// Most key paths one parser follows (a bit set tracks them).
const MAX_PATHS: usize = 64;
/// Deeper nesting is refused rather than risk the stack on hostile input.
const MAX_DEPTH: u32 = 128;

/// What kind of JSON value a key held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Str { escaped: bool },
    Num,
    Bool,
    Null,
    Object,
    Array,
}

/// Where a wanted value sits in the line: for strings the bytes between the quotes.
#[derive(Clone, Copy, Debug)]
struct Cap {
    kind: Kind,
    start: usize,
    end: usize,
}

/// A JSON-lines parser with a key mapping.
pub struct Json {
    flavor: Flavor,
    /// Every key path followed, split at dots.
    paths: Vec<Vec<Box<[u8]>>>,
    /// The same paths as written, for messages.
    names: Vec<String>,
    /// Candidate path ids of each field, in order.
    candidates: [Vec<u8>; 12],
    /// Caddy: the ids of `logger`, `msg` and `request`.
    caddy_ids: Option<[u8; 3]>,
    /// The start state of the walk: every path, nothing matched yet.
    all: Vec<(u8, u8)>,
    /// The values found in the current line, by path id (reused).
    caps: Vec<Option<Cap>>,
}

impl Json {
    /// A parser for `flavor`, with `overrides` replacing the default keys of their fields (the last
    /// mapping of a field wins).
    pub fn new(flavor: Flavor, overrides: &[Mapping]) -> Result<Self, String> {
        let defaults = match flavor {
            Flavor::Generic => &JSON_KEYS,
            Flavor::Caddy => &CADDY_KEYS,
        };
        let mut p = Json {
            flavor,
            paths: Vec::new(),
            names: Vec::new(),
            candidates: Default::default(),
            caddy_ids: None,
            all: Vec::new(),
            caps: Vec::new(),
        };
        for f in Field::ALL {
            let keys: Vec<&str> = match overrides.iter().rev().find(|m| m.field == f) {
                Some(m) if m.key.is_empty() => vec![],
                Some(m) => vec![m.key.as_str()],
                None => defaults[f.index()].to_vec(),
            };
            for k in keys {
                let id = p.intern(k)?;
                p.candidates[f.index()].push(id);
            }
        }
        if flavor == Flavor::Caddy {
            p.caddy_ids = Some([p.intern("logger")?, p.intern("msg")?, p.intern("request")?]);
        }
        p.all = (0..p.paths.len() as u8).map(|id| (id, 0)).collect();
        p.caps = vec![None; p.paths.len()];
        Ok(p)
    }

    fn intern(&mut self, key: &str) -> Result<u8, String> {
        if let Some(i) = self.names.iter().position(|n| n == key) {
            return Ok(i as u8);
        }
        if self.paths.len() == MAX_PATHS {
            return Err(format!("more than {MAX_PATHS} JSON keys to follow"));
        }
        self.paths.push(key.split('.').map(|s| s.as_bytes().into()).collect());
        self.names.push(key.to_string());
        Ok((self.paths.len() - 1) as u8)
    }

    /// The first candidate of `f` present in the line with a string or number value.
    fn find(&self, f: Field) -> Option<(u8, Cap)> {
        self.candidates[f.index()].iter().find_map(|&id| {
            self.caps[usize::from(id)]
                .filter(|c| matches!(c.kind, Kind::Str { .. } | Kind::Num))
                .map(|c| (id, c))
        })
    }

    fn text<'a>(&self, line: &'a [u8], f: Field) -> Option<(u8, Cow<'a, [u8]>)> {
        self.find(f).map(|(id, c)| (id, value_bytes(line, c)))
    }

    /// A message for a value that does not read as `what`.
    fn bad(&self, id: u8, v: &[u8], what: &str) -> Cow<'static, str> {
        let shown = String::from_utf8_lossy(&v[..v.len().min(60)]);
        format!("{}: {shown:?} is not {what}", self.names[usize::from(id)]).into()
    }

    /// Caddy: `Some(reason)` when the entry comes from another logger than the access log.
    fn caddy_other(&self, line: &[u8]) -> Option<&'static str> {
        let [logger, msg, request] = self.caddy_ids?;
        let s = |id: u8| {
            self.caps[usize::from(id)]
                .filter(|c| matches!(c.kind, Kind::Str { .. }))
                .map(|c| value_bytes(line, c))
        };
        if let Some(l) = s(logger) {
            return (!l.starts_with(b"http.log.access"))
                .then_some("Caddy entry from another logger than the access log");
        }
        if let Some(m) = s(msg) {
            return (&m[..] != b"handled request").then_some("Caddy entry that is not \"handled request\"");
        }
        let has_request = self.caps[usize::from(request)].is_some_and(|c| c.kind == Kind::Object);
        (!has_request).then_some("Caddy entry without a request object")
    }

    fn build<'a>(&self, line: &'a [u8]) -> ParseResult<'a> {
        let mut ev = RawEvent::default();
        if let Some((id, c)) = self.find(Field::Time) {
            let v = value_bytes(line, c);
            ev.time =
                Some(parse_time(&v, c.kind == Kind::Num).ok_or_else(|| {
                    self.bad(id, &v, "a time (RFC 3339 with a zone, CLF, or epoch seconds)")
                })?);
        }
        ev.host = self.text(line, Field::Host).map(|(_, h)| map_cow(h, strip_port));
        ev.client = self.text(line, Field::Client).map(|(_, c)| map_cow(c, drop_client_port));
        ev.method = self.text(line, Field::Method).map(|(_, m)| m);
        if let Some((id, s)) = self.text(line, Field::Status) {
            ev.status = match parse_uint(&s) {
                Ok(Some(n)) if n < 1000 => Some(n as u16),
                Ok(None) => None,
                _ => return Err(self.bad(id, &s, "a status code")),
            };
        }
        if let Some((id, b)) = self.text(line, Field::Bytes) {
            ev.bytes = parse_uint(&b).map_err(|()| self.bad(id, &b, "a byte count"))?;
        }
        ev.user_agent = self.text(line, Field::UserAgent).map(|(_, v)| v);
        ev.referer = self.text(line, Field::Referer).map(|(_, v)| v);

        if let Some((_, request)) = self.text(line, Field::Request) {
            return split_request(request, ev);
        }
        if let Some((_, uri)) = self.text(line, Field::Uri) {
            if uri.is_empty() || &uri[..] == b"-" {
                return Ok(Parsed::NoRequest("empty uri"));
            }
            if !uri.contains(&b'?') {
                ev.query = self.text(line, Field::Query).map(|(_, q)| q);
            }
            ev.target = uri;
            return Ok(Parsed::Event(ev));
        }
        if let Some((_, path)) = self.text(line, Field::Path) {
            if path.is_empty() || &path[..] == b"-" {
                return Ok(Parsed::NoRequest("empty path"));
            }
            // Always set, so that a `?` in the path is not taken for the start of a query.
            ev.query = Some(self.text(line, Field::Query).map_or(Cow::Borrowed(&b""[..]), |(_, q)| q));
            ev.target = path;
            return Ok(Parsed::Event(ev));
        }
        Err(self.no_target())
    }

    fn no_target(&self) -> Cow<'static, str> {
        if self.flavor == Flavor::Caddy {
            return "access entry without a request.uri string".into();
        }
        let keys: Vec<&str> = [Field::Request, Field::Uri, Field::Path]
            .iter()
            .flat_map(|f| self.candidates[f.index()].iter().map(|&id| self.names[usize::from(id)].as_str()))
            .collect();
        if keys.is_empty() {
            return "no key is mapped to request, uri or path".into();
        }
        let caddy = self.candidates[Field::Request.index()]
            .iter()
            .any(|&id| self.caps[usize::from(id)].is_some_and(|c| c.kind == Kind::Object));
        format!(
            "no request target: none of {} is a string here ({})",
            keys.join(", "),
            if caddy {
                "request is an object: a Caddy log? try --format caddy"
            } else {
                "map one with --field uri=KEY or --field request=KEY"
            }
        )
        .into()
    }
}

impl LineParser for Json {
    fn parse<'a>(&mut self, line: &'a [u8]) -> ParseResult<'a> {
        self.caps.fill(None);
        scan(line, &self.paths, &self.all, &mut self.caps)?;
        if let Some(why) = self.caddy_other(line) {
            return Ok(Parsed::NoRequest(why));
        }
        self.build(line)
    }
}

/// `ip:port` → `ip`, `[v6]:port` → `v6`; a bare IPv6 address (several colons) is left alone.
fn drop_client_port(v: &[u8]) -> &[u8] {
    if v.first() == Some(&b'[') {
        return match v.iter().position(|&b| b == b']') {
            Some(end) => &v[1..end],
            None => v,
        };
    }
    match v.iter().position(|&b| b == b':') {
        Some(i) if !v[i + 1..].contains(&b':') && v[i + 1..].iter().all(u8::is_ascii_digit) => &v[..i],
        _ => v,
    }
}

fn map_cow<'a>(v: Cow<'a, [u8]>, f: impl Fn(&[u8]) -> &[u8]) -> Cow<'a, [u8]> {
    match v {
        Cow::Borrowed(b) => Cow::Borrowed(f(b)),
        Cow::Owned(o) => Cow::Owned(f(&o).to_vec()),
    }
}

/// Digits (as a string or a number); `-` and empty are absent.
fn parse_uint(v: &[u8]) -> Result<Option<u64>, ()> {
    match v {
        b"" | b"-" => Ok(None),
        _ if v.len() < 20 && v.iter().all(u8::is_ascii_digit) => {
            Ok(Some(v.iter().fold(0u64, |a, &b| a * 10 + u64::from(b - b'0'))))
        }
        _ => Err(()),
    }
}

/// A time as JSON logs write them: RFC 3339 / ISO 8601 with a zone (also `+hhmm`), CLF
/// `10/Oct/2000:13:55:36 -0700`, or epoch time as a number or numeric string. Epoch values are seconds
/// (fractions allowed, Nginx `$msec`); magnitudes that cannot be seconds of this era are taken for
/// milliseconds (≥ 1e11), microseconds (≥ 1e14) or nanoseconds (≥ 1e17), as Caddy's `unix_milli_float`
/// and `unix_nano` time formats write them.
pub fn parse_time(v: &[u8], number: bool) -> Option<Timestamp> {
    let v = v.trim_ascii();
    if !number {
        if v.len() == 26 && v[2] == b'/' {
            return Timestamp::parse_clf(v);
        }
        if v.len() >= 19 && v[4] == b'-' {
            return Timestamp::parse_rfc3339(std::str::from_utf8(v).ok()?);
        }
    }
    let s = std::str::from_utf8(v).ok()?;
    let scale = |a: f64| match a {
        a if a < 1e11 => 1e3,
        a if a < 1e14 => 1.0,
        a if a < 1e17 => 1e-3,
        _ => 1e-6,
    };
    if !s.is_empty() && s.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) {
        // Integers are scaled exactly: nanoseconds do not fit an f64 without loss.
        let n: i64 = s.parse().ok()?;
        let ms = match n.unsigned_abs() {
            a if a < 100_000_000_000 => n.checked_mul(1000)?,
            a if a < 100_000_000_000_000 => n,
            a if a < 100_000_000_000_000_000 => n / 1000,
            _ => n / 1_000_000,
        };
        return Some(Timestamp(ms));
    }
    if !s.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) {
        return None;
    }
    let x: f64 = s.parse().ok()?;
    if !x.is_finite() {
        return None;
    }
    let ms = x * scale(x.abs());
    if ms.abs() > 1e16 {
        return None;
    }
    Some(Timestamp(ms.round() as i64))
}

/// The bytes of a captured value: a string unescaped, anything else as written.
fn value_bytes(line: &[u8], c: Cap) -> Cow<'_, [u8]> {
    let raw = &line[c.start..c.end];
    match c.kind {
        Kind::Str { escaped: true } => Cow::Owned(unescape(raw)),
        _ => Cow::Borrowed(raw),
    }
}

/// Undoes JSON string escapes, plus Nginx's `\xHH`. A `\u` surrogate pair becomes its character; a lone
/// surrogate or an unknown escape is kept as written, so nothing is lost.
pub fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' || i + 1 >= raw.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let simple = match raw[i + 1] {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
        } else if raw[i + 1] == b'x'
            && let Some(v) = hex_n(raw.get(i + 2..i + 4))
        {
            out.push(v as u8);
            i += 4;
        } else if raw[i + 1] == b'u'
            && let Some(hi) = hex_n(raw.get(i + 2..i + 6))
        {
            let (c, used) = if (0xD800..0xDC00).contains(&hi)
                && raw.get(i + 6..i + 8) == Some(b"\\u")
                && let Some(lo) = hex_n(raw.get(i + 8..i + 12))
                && (0xDC00..0xE000).contains(&lo)
            {
                (char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)), 12)
            } else {
                (char::from_u32(hi), 6)
            };
            match c {
                Some(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                None => out.extend_from_slice(&raw[i..i + used]),
            }
            i += used;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

fn hex_n(d: Option<&[u8]>) -> Option<u32> {
    d?.iter().try_fold(0u32, |a, &b| Some(a * 16 + (b as char).to_digit(16)?))
}

type Scan<T> = Result<T, Cow<'static, str>>;

/// Walks the object on `line`, recording in `caps` where the values of `paths` are.
fn scan(line: &[u8], paths: &[Vec<Box<[u8]>>], all: &[(u8, u8)], caps: &mut [Option<Cap>]) -> Scan<()> {
    let mut i = if line.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    ws(line, &mut i);
    if line.get(i) != Some(&b'{') {
        return Err("not a JSON object (the line does not start with {)".into());
    }
    object(line, &mut i, paths, all, caps, 0)?;
    ws(line, &mut i);
    if i < line.len() {
        return Err(format!("unexpected bytes after the JSON object at byte {}", i + 1).into());
    }
    Ok(())
}

fn ws(b: &[u8], i: &mut usize) {
    while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
        *i += 1;
    }
}

/// The object at `*i` (its `{`). `active` holds each path still possible here and how many of its parts
/// are matched already.
fn object(
    b: &[u8],
    i: &mut usize,
    paths: &[Vec<Box<[u8]>>],
    active: &[(u8, u8)],
    caps: &mut [Option<Cap>],
    depth: u32,
) -> Scan<()> {
    if depth > MAX_DEPTH {
        return Err(format!("JSON nested more than {MAX_DEPTH} deep").into());
    }
    *i += 1;
    ws(b, i);
    if b.get(*i) == Some(&b'}') {
        *i += 1;
        return Ok(());
    }
    loop {
        ws(b, i);
        if b.get(*i) != Some(&b'"') {
            return Err(expected("a quoted key", b, *i));
        }
        let (ks, ke, kesc) = string(b, i)?;
        ws(b, i);
        if b.get(*i) != Some(&b':') {
            return Err(expected("':' after a key", b, *i));
        }
        *i += 1;
        ws(b, i);
        let mut next = [(0u8, 0u8); MAX_PATHS];
        let mut n = 0;
        let mut done = 0u64;
        if !active.is_empty() {
            let key: Cow<'_, [u8]> =
                if kesc { Cow::Owned(unescape(&b[ks..ke])) } else { Cow::Borrowed(&b[ks..ke]) };
            let first = key.first().copied();
            for &(id, matched) in active {
                let path = &paths[usize::from(id)];
                let rest = &path[usize::from(matched)..];
                // Most keys are not wanted: the first byte settles it cheaply.
                if rest[0].first().copied() != first {
                    continue;
                }
                if let Some(parts) = match_key(&key, rest) {
                    let now = usize::from(matched) + parts;
                    if now == path.len() {
                        done |= 1u64 << id;
                    } else {
                        next[n] = (id, now as u8);
                        n += 1;
                    }
                }
            }
        }
        let start = *i;
        let cap = match b.get(*i) {
            Some(b'{') => {
                object(b, i, paths, &next[..n], caps, depth + 1)?;
                Cap { kind: Kind::Object, start, end: *i }
            }
            Some(b'[') => array(b, i, depth + 1)?.unwrap_or(Cap { kind: Kind::Array, start, end: *i }),
            _ => scalar(b, i)?,
        };
        while done != 0 {
            let id = done.trailing_zeros() as usize;
            done &= done - 1;
            // A key given twice: the first one counts.
            if caps[id].is_none() {
                caps[id] = Some(cap);
            }
        }
        ws(b, i);
        match b.get(*i) {
            Some(b',') => *i += 1,
            Some(b'}') => {
                *i += 1;
                return Ok(());
            }
            _ => return Err(expected("',' or '}'", b, *i)),
        }
    }
}

/// The array at `*i`; returns its first element when that is not itself a container.
fn array(b: &[u8], i: &mut usize, depth: u32) -> Scan<Option<Cap>> {
    if depth > MAX_DEPTH {
        return Err(format!("JSON nested more than {MAX_DEPTH} deep").into());
    }
    *i += 1;
    ws(b, i);
    if b.get(*i) == Some(&b']') {
        *i += 1;
        return Ok(None);
    }
    let mut first = None;
    loop {
        ws(b, i);
        let cap = match b.get(*i) {
            Some(b'{') => {
                object(b, i, &[], &[], &mut [], depth + 1)?;
                None
            }
            Some(b'[') => {
                array(b, i, depth + 1)?;
                None
            }
            _ => Some(scalar(b, i)?),
        };
        if first.is_none() {
            first = Some(cap);
        }
        ws(b, i);
        match b.get(*i) {
            Some(b',') => *i += 1,
            Some(b']') => {
                *i += 1;
                return Ok(first.flatten());
            }
            _ => return Err(expected("',' or ']'", b, *i)),
        }
    }
}

/// A string, number or literal at `*i`. Bare words are read leniently: anything up to the next `,`,
/// `}`, `]` or blank, so that unquoted empty and `-` values from templates do not sink the line.
fn scalar(b: &[u8], i: &mut usize) -> Scan<Cap> {
    if b.get(*i) == Some(&b'"') {
        let (s, e, escaped) = string(b, i)?;
        return Ok(Cap { kind: Kind::Str { escaped }, start: s, end: e });
    }
    let start = *i;
    while *i < b.len() && !matches!(b[*i], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
        *i += 1;
    }
    let word = &b[start..*i];
    let kind = match word {
        b"true" | b"false" => Kind::Bool,
        b"null" | b"" => Kind::Null,
        [b'-' | b'0'..=b'9', ..] if word.iter().all(|c| c.is_ascii_digit() || b"+-.eE".contains(c)) => {
            Kind::Num
        }
        _ => return Err(expected("a value", b, start)),
    };
    Ok(Cap { kind, start, end: *i })
}

/// The string whose opening quote is at `*i`: the range between the quotes and whether it holds
/// escapes. Any byte is accepted inside, raw control bytes and invalid UTF-8 included.
fn string(b: &[u8], i: &mut usize) -> Scan<(usize, usize, bool)> {
    let start = *i + 1;
    let mut j = start;
    let mut escaped = false;
    while j < b.len() {
        match b[j] {
            b'"' => {
                *i = j + 1;
                return Ok((start, j, escaped));
            }
            b'\\' => {
                escaped = true;
                j += 2;
            }
            _ => j += 1,
        }
    }
    Err(format!("unterminated string starting at byte {start}").into())
}

fn expected(what: &str, b: &[u8], i: usize) -> Cow<'static, str> {
    match b.get(i) {
        Some(&c) if c.is_ascii_graphic() => {
            format!("expected {what} at byte {}, found '{}'", i + 1, c as char)
        }
        Some(&c) => format!("expected {what} at byte {}, found byte 0x{c:02x}", i + 1),
        None => format!("expected {what}, but the line ends"),
    }
    .into()
}

/// How many parts of `path` the object key `key` covers: `request` covers one of `request.uri`, a
/// flattened `request.uri` both. `None` when it does not match.
fn match_key(key: &[u8], path: &[Box<[u8]>]) -> Option<usize> {
    let mut k = key;
    for (n, part) in path.iter().enumerate() {
        k = k.strip_prefix(&part[..])?;
        if k.is_empty() {
            return Some(n + 1);
        }
        k = k.strip_prefix(b".")?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(maps: &[&str]) -> Json {
        let maps: Vec<Mapping> = maps.iter().map(|m| m.parse().unwrap()).collect();
        Json::new(Flavor::Generic, &maps).unwrap()
    }

    fn event<'a>(p: &mut Json, line: &'a [u8]) -> RawEvent<'a> {
        match p.parse(line) {
            Ok(Parsed::Event(e)) => e,
            other => panic!("{}: {other:?}", String::from_utf8_lossy(line)),
        }
    }

    #[test]
    fn nginx_escape_json_template() {
        let mut p = generic(&[]);
        let l = br#"{"time_local":"15/Oct/2026:13:55:36 +0200","remote_addr":"203.0.113.9","remote_user":"-","request":"POST /uploads/x.php?c=1 HTTP/1.1","status": "200","body_bytes_sent":"1935","request_time":0.012,"http_referer":"-","http_user_agent":"Mozilla/5.0 \"q\" \u00e9\ud83d\ude00","host":"www.example.org:443"}"#;
        let e = event(&mut p, l);
        assert_eq!(e.time.unwrap().to_string(), "2026-10-15T11:55:36Z");
        assert_eq!(&e.client.unwrap()[..], b"203.0.113.9");
        assert_eq!(&e.method.unwrap()[..], b"POST");
        assert_eq!(&e.target[..], b"/uploads/x.php?c=1");
        assert_eq!((e.status, e.bytes), (Some(200), Some(1935)));
        assert_eq!(&e.referer.unwrap()[..], b"-");
        assert_eq!(e.user_agent.unwrap().into_owned(), "Mozilla/5.0 \"q\" é😀".as_bytes());
        assert_eq!(&e.host.unwrap()[..], b"www.example.org");
    }

    #[test]
    fn nginx_default_escaping_and_raw_bytes_are_kept() {
        let mut p = generic(&[]);
        let l = b"{\"time_iso8601\":\"2026-10-15T13:55:36+00:00\",\"remote_addr\":\"192.0.2.1\",\"request\":\"GET /a\\x22b\\x00c\xff HTTP/1.1\",\"status\":200,\"bytes_sent\":5,\"http_user_agent\":\"ua\\x5C\"}";
        let e = event(&mut p, l);
        assert_eq!(&e.target[..], b"/a\"b\x00c\xff");
        assert_eq!(&e.user_agent.unwrap()[..], b"ua\\");
    }

    #[test]
    fn uri_with_args_path_with_query_and_numbers() {
        let mut p = generic(&[]);
        let e = event(&mut p, br#"{"msec":"1760536536.250","uri":"/a.php","args":"x=1","status":404}"#);
        assert_eq!(e.time.unwrap().to_string(), "2025-10-15T13:55:36.250Z");
        assert_eq!((&e.target[..], &e.query.unwrap()[..]), (&b"/a.php"[..], &b"x=1"[..]));
        // A uri that carries its query wins over a separate args.
        let e = event(&mut p, br#"{"request_uri":"/a.php?y=2","args":"y=2","ts":1760536536}"#);
        assert_eq!((&e.target[..], e.query), (&b"/a.php?y=2"[..], None));
        let mut p = generic(&["path=url.path", "query=url.query", "time=@t"]);
        let e = event(&mut p, br#"{"@t":1760536536123,"url":{"path":"/q?x","query":"a=1"},"uri":"/other"}"#);
        assert_eq!(e.time.unwrap().to_string(), "2025-10-15T13:55:36.123Z");
        assert_eq!(
            (&e.target[..], &e.query.unwrap()[..]),
            (&b"/other"[..], &b"a=1"[..]),
            "uri comes before path; the query is added to a uri without one"
        );
        let mut p = generic(&["uri=", "path=url.path", "query=url.query"]);
        let e = event(&mut p, br#"{"url.path":"/q?x","url":{"query":"a=1"},"uri":"/other"}"#);
        assert_eq!((&e.target[..], &e.query.unwrap()[..]), (&b"/q?x"[..], &b"a=1"[..]));
    }

    #[test]
    fn mapping_into_nested_objects_and_arrays() {
        let mut p = generic(&[
            "uri=req.url",
            "client=req.ip",
            "user_agent=req.headers.User-Agent",
            "status=res.code",
        ]);
        let e = event(
            &mut p,
            br#"{"req":{"url":"/x","ip":"[2001:db8::1]:443","headers":{"User-Agent":["curl/8","other"]}},"res":{"code":"301"}}"#,
        );
        assert_eq!(&e.client.unwrap()[..], b"2001:db8::1");
        assert_eq!(&e.user_agent.unwrap()[..], b"curl/8");
        assert_eq!(e.status, Some(301));
    }

    #[test]
    fn lenient_values_and_clear_errors() {
        let mut p = generic(&[]);
        assert_eq!(&event(&mut p, b"\xEF\xBB\xBF {\"uri\":\"/bom\"}").target[..], b"/bom");
        let e = event(&mut p, br#"{"uri":"/a", "status":200, "bytes": -, "upstream": , "x": null}"#);
        assert_eq!(e.bytes, None);
        for (l, why) in [
            (&br#"["not an object"]"#[..], "not a JSON object"),
            (br#"{"uri":"/a""#, "line ends"),
            (br#"{"uri":"/a} "#, "unterminated string"),
            (br#"{"uri":"/a"} x"#, "after the JSON object"),
            (br#"{"uri" "/a"}"#, "':'"),
            (br#"{"uri":"/a","status":"20x"}"#, "status: \"20x\" is not a status code"),
            (br#"{"uri":"/a","time":"2026-10-15 13:55:36"}"#, "time: \"2026-10-15 13:55:36\" is not a time"),
            (br#"{"uri":"/a","bytes":"1.5"}"#, "byte count"),
            (br#"{"url":"/a"}"#, "no request target: none of request, request_uri, uri"),
            (br#"{"uri":wat}"#, "expected a value"),
        ] {
            let e = p.parse(l).unwrap_err();
            assert!(e.contains(why), "{}: {e}", String::from_utf8_lossy(l));
        }
        let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
        let e = p.parse(format!("{{\"a\":{deep}}}").as_bytes()).unwrap_err();
        assert!(e.contains("nested"), "{e}");
        assert!(matches!(p.parse(br#"{"request":"-","status":400}"#), Ok(Parsed::NoRequest(_))));
    }

    #[test]
    fn caddy_entries_and_others() {
        let mut p = Json::new(Flavor::Caddy, &[]).unwrap();
        let access = br#"{"level":"info","ts":1760536536.1234,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"10.0.0.1","remote_port":"5000","client_ip":"203.0.113.9","proto":"HTTP/2.0","method":"POST","host":"www.example.org","uri":"/up/x.php?c=id","headers":{"User-Agent":["curl/8.5.0"],"Referer":["https://www.example.org/"],"Cookie":["REDACTED"]}},"bytes_read":0,"user_id":"","duration":0.0012,"size":1935,"status":200,"resp_headers":{"Server":["Caddy"]}}"#;
        let e = event(&mut p, access);
        assert_eq!(e.time.unwrap().to_string(), "2025-10-15T13:55:36.123Z");
        assert_eq!(&e.client.unwrap()[..], b"203.0.113.9");
        assert_eq!(&e.host.unwrap()[..], b"www.example.org");
        assert_eq!(&e.target[..], b"/up/x.php?c=id");
        assert_eq!((e.status, e.bytes), (Some(200), Some(1935)));
        assert_eq!(&e.referer.unwrap()[..], b"https://www.example.org/");
        let old = br#"{"ts":"2026-10-15T13:55:36.5Z","logger":"http.log.access","msg":"handled request","request":{"remote_addr":"198.51.100.2:41000","method":"GET","uri":"/"},"status":200,"size":5}"#;
        assert_eq!(&event(&mut p, old).client.unwrap()[..], b"198.51.100.2");
        for other in [
            &br#"{"level":"info","ts":1760536536.1,"logger":"tls.obtain","msg":"certificate obtained"}"#[..],
            br#"{"level":"error","ts":1760536536.1,"logger":"http.log.error","msg":"dial tcp: refused","request":{"uri":"/x"},"status":502}"#,
            br#"{"level":"debug","ts":1760536536.1,"logger":"http.handlers.reverse_proxy","msg":"upstream roundtrip","request":{"uri":"/x"}}"#,
        ] {
            assert!(matches!(p.parse(other), Ok(Parsed::NoRequest(_))));
        }
        let broken =
            br#"{"logger":"http.log.access.log0","msg":"handled request","request":{"method":"GET"}}"#;
        assert!(p.parse(broken).unwrap_err().contains("request.uri"));

        let mut none = Json::new(Flavor::Caddy, &[]).unwrap();
        assert!(matches!(
            none.parse(br#"{"level":"info","logger":"admin","msg":"admin endpoint started"}"#),
            Ok(Parsed::NoRequest(_))
        ));
    }

    #[test]
    fn times() {
        let t = |s: &str, n| parse_time(s.as_bytes(), n).map(|t| t.to_string());
        assert_eq!(t("1760536536", true).unwrap(), "2025-10-15T13:55:36Z");
        assert_eq!(t("1760536536.5", false).unwrap(), "2025-10-15T13:55:36.500Z");
        assert_eq!(t("1760536536500", true).unwrap(), "2025-10-15T13:55:36.500Z");
        assert_eq!(t("1760536536500123", true).unwrap(), "2025-10-15T13:55:36.500Z");
        assert_eq!(t("1760536536500123456", true).unwrap(), "2025-10-15T13:55:36.500Z");
        assert_eq!(t("1.7605365365e9", true).unwrap(), "2025-10-15T13:55:36.500Z");
        assert_eq!(t("2026-10-15T15:55:36.000+0200", false).unwrap(), "2026-10-15T13:55:36Z");
        assert_eq!(t("15/Oct/2026:13:55:36 +0000", false).unwrap(), "2026-10-15T13:55:36Z");
        for bad in ["2026/10/15 13:55:36.000", "nan", "inf", "1e400", "", "-", "0x10"] {
            assert_eq!(t(bad, false), None, "{bad}");
        }
    }

    #[test]
    fn mapping_syntax() {
        assert_eq!("uri=request.uri".parse::<Mapping>().unwrap().field, Field::Uri);
        assert_eq!("host=".parse::<Mapping>().unwrap().key, "");
        assert!("nope=x".parse::<Mapping>().unwrap_err().contains("one of time, host"));
        assert!("uri".parse::<Mapping>().unwrap_err().contains("NAME=KEY"));
        assert!("uri=a..b".parse::<Mapping>().unwrap_err().contains("empty part"));
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape(br#"a\"b\\c\/d\n\t\u0041\u00e9\ud83d\ude00"#), "a\"b\\c/d\n\tAé😀".as_bytes());
        assert_eq!(unescape(br#"\ud83d alone \q \x4 \x41"#), br#"\ud83d alone \q \x4 A"#);
        assert_eq!(unescape(b"end\\"), b"end\\");
    }
}
