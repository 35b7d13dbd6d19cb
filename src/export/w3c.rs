//! W3C extended log files: IIS (`--format iis`) and AWS CloudFront standard logs (`--format cloudfront`).
//!
//! Both are self-describing: `#` lines are headers, and `#Fields:` names the columns of the data lines
//! that follow it. IIS separates values with a space and writes a new header block whenever its logging
//! configuration changes, so the column set can change in the middle of a file; the `#Fields` line is
//! re-read every time it appears. CloudFront separates values with a tab (its `#Fields` line itself uses
//! spaces) and appends new columns at the end over the years.
//!
//! ```text
//! #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) …
//! 2026-10-15 13:55:36 10.0.0.5 POST /uploads/x.aspx - 443 - 203.0.113.9 Mozilla/5.0+(Windows+NT+10.0) …
//! ```
//!
//! What each format's values mean, and what is undone here:
//!
//! - Times are `date time` in UTC (both IIS and CloudFront say so).
//! - The path is already apart from the query: `cs-uri-stem` and `cs-uri-query` (`-` = no query). The
//!   stem is kept exactly as logged; `path-normalize` decodes it.
//! - IIS writes spaces inside values as `+`. That is undone in `cs(User-Agent)` and `cs(Referer)`, which
//!   are display text. It is *not* undone in `cs-uri-stem`, where `+` is a legal literal character of a
//!   path (`/c++/notes.aspx`): turning it into a space could invent a path the server never served.
//!   IIS does not escape a literal `+`, so one in a user agent (bingbot's `+http://…`) becomes a space
//!   as well: the log cannot tell them apart.
//! - CloudFront URL-encodes space, `<`, `>`, `"`, `%`, `\`, `{`, `}` (and control bytes) in the values
//!   it logs. The user agent and referer are percent-decoded once for display. Once only: a value that
//!   the client itself had encoded comes out double-encoded (`%2520`) and decodes to what the client
//!   sent (`%20`). The stem and query are kept as logged.
//! - Host: IIS prefers `s-sitename` (`W3SVC1`, the server's own identity for the site, which a client
//!   cannot forge and which stays the same across the site's bindings) and falls back to `cs-host`, the
//!   Host header, without its port. CloudFront prefers `x-host-header` (the Host the viewer asked for,
//!   the site's own name when it has a CNAME) and falls back to `cs(Host)` (the distribution's
//!   `*.cloudfront.net` name).
//! - CloudFront's `sc-status` is `000` when the viewer closed the connection first; that is status 0.

use std::borrow::Cow;

use super::clf::{hex, strip_port};
use super::event::RawEvent;
use super::{LineParser, ParseResult, Parsed};
use crate::time::{IsoDay, Timestamp};

/// Which W3C dialect a parser reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// IIS: space-separated, `+` for spaces, `s-sitename`/`cs-host`.
    Iis,
    /// CloudFront: tab-separated, URL-encoded values, `x-host-header`/`cs(Host)`.
    CloudFront,
}

/// The fields IIS logs by default, used for data lines that come before any `#Fields` header.
pub const IIS_DEFAULT_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username \
     c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

/// CloudFront's documented column order, used for data lines that come before any `#Fields` header.
pub const CLOUDFRONT_DEFAULT_FIELDS: &str = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) \
     cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type \
     x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol \
     ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port \
     time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start \
     sc-range-end";

/// CloudFront lines without a header must have at least the 19 columns every layout since 2014 has.
const CLOUDFRONT_MIN_FIELDS: usize = 19;

/// The X-Forwarded-For column's names: an IIS custom field (Advanced Logging, IIS 10's enhanced
/// logging) and CloudFront's column.
const FORWARDED_FOR: [&[u8]; 2] = [b"cs(x-forwarded-for)", b"x-forwarded-for"];

/// Where each field this parser reads sits in a data line, from one `#Fields` header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Columns {
    date: Option<usize>,
    time: Option<usize>,
    client: Option<usize>,
    method: Option<usize>,
    stem: Option<usize>,
    uri: Option<usize>,
    query: Option<usize>,
    status: Option<usize>,
    bytes: Option<usize>,
    user_agent: Option<usize>,
    referer: Option<usize>,
    sitename: Option<usize>,
    host_header: Option<usize>,
    x_host_header: Option<usize>,
    forwarded_for: Option<usize>,
    /// IIS Advanced Logging's server-local date and time, used when there is no `date`/`time`.
    date_local: Option<usize>,
    time_local: Option<usize>,
    /// How many columns the header declares.
    count: usize,
    /// One more than the largest index above: a line needs at least this many values.
    needed: usize,
}

impl Columns {
    /// Builds the table from the field names of a `#Fields` line. Names compare case-insensitively.
    fn from_names<'n>(names: impl Iterator<Item = &'n [u8]>) -> Self {
        let mut c = Columns::default();
        for (i, name) in names.enumerate() {
            c.count = i + 1;
            let lower = name.to_ascii_lowercase();
            let optional = FORWARDED_FOR.contains(&lower.as_slice());
            let slot = match lower.as_slice() {
                b"date" => &mut c.date,
                b"time" => &mut c.time,
                b"c-ip" => &mut c.client,
                b"cs-method" => &mut c.method,
                b"cs-uri-stem" => &mut c.stem,
                b"cs-uri" => &mut c.uri,
                b"cs-uri-query" => &mut c.query,
                b"sc-status" => &mut c.status,
                b"sc-bytes" => &mut c.bytes,
                b"cs(user-agent)" => &mut c.user_agent,
                b"cs(referer)" => &mut c.referer,
                b"s-sitename" => &mut c.sitename,
                b"cs-host" | b"cs(host)" => &mut c.host_header,
                b"x-host-header" => &mut c.x_host_header,
                _ if optional => &mut c.forwarded_for,
                b"date-local" => &mut c.date_local,
                b"time-local" => &mut c.time_local,
                _ => continue,
            };
            // A name given twice: the first one counts.
            if slot.is_none() {
                *slot = Some(i);
                // X-Forwarded-For is read when the line has it (CloudFront lines of older layouts stop
                // before it).
                if !optional {
                    c.needed = c.needed.max(i + 1);
                }
            }
        }
        if c.date.is_none() && c.time.is_none() {
            (c.date, c.time) = (c.date_local, c.time_local);
        }
        c
    }
}

/// A W3C extended log parser; it keeps the current `#Fields` table between lines.
pub struct W3c {
    flavor: Flavor,
    /// From the last `#Fields` header; `None` before the first.
    columns: Option<Columns>,
    /// The layout assumed for data lines before any `#Fields` header.
    default: Columns,
    /// The date of the last `#Date` header, for layouts without a `date` field.
    header_date: Option<[u8; 10]>,
    /// Start and end of each value of the current line (reused).
    spans: Vec<(usize, usize)>,
    /// The last date read and its midnight.
    day: IsoDay,
}

impl W3c {
    /// A parser for `flavor`.
    pub fn new(flavor: Flavor) -> Self {
        let default = match flavor {
            Flavor::Iis => IIS_DEFAULT_FIELDS,
            Flavor::CloudFront => CLOUDFRONT_DEFAULT_FIELDS,
        };
        W3c {
            flavor,
            columns: None,
            default: Columns::from_names(default.split(' ').map(str::as_bytes)),
            header_date: None,
            spans: Vec::with_capacity(40),
            day: IsoDay::default(),
        }
    }

    fn header(&mut self, line: &[u8]) {
        if let Some(rest) = strip_prefix_ci(line, b"#Fields:") {
            let names = rest.split(|b| b.is_ascii_whitespace()).filter(|n| !n.is_empty());
            self.columns = Some(Columns::from_names(names));
        } else if let Some(rest) = strip_prefix_ci(line, b"#Date:") {
            let rest = rest.trim_ascii_start();
            self.header_date = rest.get(..10).and_then(|d| <[u8; 10]>::try_from(d).ok());
        }
    }
}

impl LineParser for W3c {
    fn parse<'a>(&mut self, line: &'a [u8]) -> ParseResult<'a> {
        // A file saved as UTF-8 with a byte-order mark carries it before its first header.
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        if line.first() == Some(&b'#') {
            self.header(line);
            return Ok(Parsed::Header);
        }
        let line = match self.flavor {
            // Some tools that copy IIS logs leave trailing blanks; IIS itself never ends a value with one.
            Flavor::Iis => line.trim_ascii_end(),
            Flavor::CloudFront => line,
        };
        let sep = match self.flavor {
            Flavor::Iis => b' ',
            Flavor::CloudFront => b'\t',
        };
        split_into(line, sep, &mut self.spans);
        // Only a line the plain split does not fit is split again: a quote in an ordinary line is the
        // client's (an attack payload in the query or user agent), never a reason to join values.
        let declared = self.columns.as_ref().unwrap_or(&self.default).count;
        if self.flavor == Flavor::Iis
            && (self.spans.len() != declared || self.spans.iter().any(|(a, b)| a == b))
        {
            split_iis_slowly(line, &mut self.spans);
        }
        let n = self.spans.len();
        let cols = match &self.columns {
            Some(c) => c,
            None => match self.flavor {
                Flavor::Iis if n == self.default.count => &self.default,
                Flavor::Iis => {
                    return Err(format!(
                        "no #Fields header yet, and {n} fields where IIS's default field set has {}",
                        self.default.count
                    )
                    .into());
                }
                Flavor::CloudFront if n >= CLOUDFRONT_MIN_FIELDS => &self.default,
                Flavor::CloudFront => {
                    return Err(format!(
                        "no #Fields header yet, and {n} tab-separated field{} where CloudFront logs at \
                         least {CLOUDFRONT_MIN_FIELDS}",
                        if n == 1 { "" } else { "s" }
                    )
                    .into());
                }
            },
        };
        match self.flavor {
            Flavor::Iis if n != cols.count => {
                return Err(format!("{n} fields where the #Fields header declares {}", cols.count).into());
            }
            // CloudFront appends columns over time: more values than the header names are ignored.
            Flavor::CloudFront if n < cols.needed => {
                return Err(format!(
                    "{n} tab-separated fields where the #Fields header declares {}",
                    cols.count
                )
                .into());
            }
            _ => {}
        }
        let spans = &self.spans;
        let get = |i: Option<usize>| -> Option<&'a [u8]> {
            i.and_then(|i| spans.get(i)).map(|&(a, b)| &line[a..b])
        };
        build(self.flavor, cols, get, self.header_date.as_ref(), &mut self.day)
    }
}

/// Turns the values of one data line into an event.
fn build<'a>(
    flavor: Flavor,
    cols: &Columns,
    get: impl Fn(Option<usize>) -> Option<&'a [u8]>,
    header_date: Option<&[u8; 10]>,
    day: &mut IsoDay,
) -> ParseResult<'a> {
    let mut ev = RawEvent::default();
    if let Some(time) = get(cols.time) {
        let date = match get(cols.date) {
            Some(d) => d,
            None => header_date.map(|d| &d[..]).ok_or("no date field and no #Date header")?,
        };
        ev.time = Some(Timestamp::parse_w3c_with(date, time, day).ok_or("bad date or time")?);
    }
    match (get(cols.stem), get(cols.uri)) {
        (Some(b"-"), _) => return Ok(Parsed::NoRequest("cs-uri-stem '-'")),
        (Some(stem), _) => {
            ev.target = Cow::Borrowed(stem);
            // Always set, so that a `?` inside the stem is never taken for the start of a query.
            ev.query = Some(Cow::Borrowed(get(cols.query).unwrap_or(b"")));
        }
        (None, Some(b"-")) => return Ok(Parsed::NoRequest("cs-uri '-'")),
        (None, Some(uri)) => ev.target = Cow::Borrowed(uri),
        (None, None) => return Err("the #Fields header has neither cs-uri-stem nor cs-uri".into()),
    }
    ev.method = get(cols.method).map(Cow::Borrowed);
    ev.client = get(cols.client).map(Cow::Borrowed);
    if let Some(s) = get(cols.status) {
        ev.status = parse_status(s).map_err(|()| "bad sc-status")?;
    }
    if let Some(b) = get(cols.bytes) {
        ev.bytes = parse_count(b).map_err(|()| "bad sc-bytes")?;
    }
    let present = |v: Option<&'a [u8]>| v.filter(|v| !v.is_empty() && *v != b"-");
    match flavor {
        Flavor::Iis => {
            ev.user_agent = present(get(cols.user_agent)).map(plus_to_space);
            ev.referer = present(get(cols.referer)).map(plus_to_space);
            ev.forwarded_for = present(get(cols.forwarded_for)).map(plus_to_space);
            ev.host = present(get(cols.sitename))
                .or_else(|| present(get(cols.host_header)).map(strip_port))
                .map(Cow::Borrowed);
        }
        Flavor::CloudFront => {
            ev.user_agent = present(get(cols.user_agent)).map(percent_decode_once);
            ev.referer = present(get(cols.referer)).map(percent_decode_once);
            ev.forwarded_for = present(get(cols.forwarded_for)).map(percent_decode_once);
            ev.host = present(get(cols.x_host_header))
                .or_else(|| present(get(cols.host_header)))
                .map(|h| Cow::Borrowed(strip_port(h)));
        }
    }
    Ok(Parsed::Event(ev))
}

/// Splits `line` at every `sep` into `spans` (cleared first). Empty values are kept: they count.
fn split_into(line: &[u8], sep: u8, spans: &mut Vec<(usize, usize)>) {
    spans.clear();
    let mut start = 0;
    crate::bytes::each_position(line, sep, |i| {
        spans.push((start, i));
        start = i + 1;
    });
    spans.push((start, line.len()));
}

/// IIS values the plain split gets wrong: a run of spaces is one separator (IIS writes `-` for an
/// empty value, never nothing; plaso's IIS 10 samples have doubled spaces), and a value in double quotes
/// (IIS Advanced Logging, a cookie column in some IIS 6 logs) is one value with its spaces, without the
/// quotes.
fn split_iis_slowly(line: &[u8], spans: &mut Vec<(usize, usize)>) {
    spans.clear();
    let n = line.len();
    let mut i = 0;
    while i < n {
        if line[i] == b' ' {
            i += 1;
            continue;
        }
        if line[i] == b'"'
            && let Some(close) = (i + 1..n).find(|&j| line[j] == b'"' && (j + 1 == n || line[j + 1] == b' '))
        {
            spans.push((i + 1, close));
            i = close + 1;
            continue;
        }
        let end = memchr::memchr(b' ', &line[i..]).map_or(n, |e| i + e);
        spans.push((i, end));
        i = end;
    }
}

/// `sc-status`: three digits (CloudFront's `000` is 0), or `-` for none.
fn parse_status(s: &[u8]) -> Result<Option<u16>, ()> {
    match s {
        b"-" => Ok(None),
        [a, b, c] if s.iter().all(u8::is_ascii_digit) => {
            Ok(Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')))
        }
        _ => Err(()),
    }
}

/// A byte count: digits, or `-` for none.
fn parse_count(s: &[u8]) -> Result<Option<u64>, ()> {
    match s {
        b"-" => Ok(None),
        _ if !s.is_empty() && s.len() < 20 && s.iter().all(u8::is_ascii_digit) => {
            Ok(Some(s.iter().fold(0u64, |a, &b| a * 10 + u64::from(b - b'0'))))
        }
        _ => Err(()),
    }
}

/// IIS writes spaces inside a value as `+`; this turns them back (user agent and referer only).
pub fn plus_to_space(v: &[u8]) -> Cow<'_, [u8]> {
    if crate::bytes::find(v, b'+').is_none() {
        return Cow::Borrowed(v);
    }
    // A copy, then a replacing pass the compiler turns into vector code (a push per byte was not).
    let mut out = v.to_vec();
    for b in &mut out {
        if *b == b'+' {
            *b = b' ';
        }
    }
    Cow::Owned(out)
}

/// Decodes `%XX` once; a `%` not followed by two hex digits stays as it is.
pub fn percent_decode_once(v: &[u8]) -> Cow<'_, [u8]> {
    if !v.contains(&b'%') {
        return Cow::Borrowed(v);
    }
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%'
            && i + 2 < v.len()
            && let (Some(h), Some(l)) = (hex(v[i + 1]), hex(v[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn strip_prefix_ci<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = line.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &line[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all<'a>(p: &mut W3c, lines: &[&'a str]) -> Vec<ParseResult<'a>> {
        lines.iter().map(|l| p.parse(l.as_bytes())).collect()
    }

    fn event(r: ParseResult<'_>) -> RawEvent<'_> {
        match r {
            Ok(Parsed::Event(e)) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn iis_quoted_values_runs_of_spaces_and_local_time() {
        let mut p = W3c::new(Flavor::Iis);
        p.parse(b"#Fields:   date-local time-local   s-ip cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) cs(Host) sc-status").unwrap();
        let e = event(p.parse(br#"2012-08-15 17:00:00.363 1.2.3.4 GET /p - "70.95.0.0" "Mozilla/5.0 (Linux; Android 4.4.4)" "xzy.example.com" 200"#));
        assert_eq!(&e.client.unwrap()[..], b"70.95.0.0");
        assert_eq!(&e.user_agent.unwrap()[..], b"Mozilla/5.0 (Linux; Android 4.4.4)");
        assert_eq!(&e.host.unwrap()[..], b"xzy.example.com");
        assert_eq!(e.time.unwrap().to_string(), "2012-08-15T17:00:00.363Z");
        let mut p = W3c::new(Flavor::Iis);
        p.parse(
            b"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip sc-status",
        )
        .unwrap();
        let e = event(p.parse(
            b"2022-01-02 00:01:25 ::1 GET /api/test - 443  testuser fe80::abcd:ef01:2345:6789%eth0 200",
        ));
        assert_eq!(&e.client.unwrap()[..], b"fe80::abcd:ef01:2345:6789%eth0");
        assert_eq!(e.status, Some(200));
        // A quote in an ordinary line is the client's: the values stay apart.
        let e = event(p.parse(br#"2022-01-02 00:01:25 ::1 GET /a.aspx "x=${#a}" 443 - 192.0.2.1 200"#));
        assert_eq!((&e.target[..], &e.query.unwrap()[..]), (&b"/a.aspx"[..], &br#""x=${#a}""#[..]));
        // date and time, when present, win over the local pair.
        let mut p = W3c::new(Flavor::Iis);
        p.parse(b"#Fields: date-local time-local date time cs-uri-stem").unwrap();
        let e = event(p.parse(b"2026-10-15 15:00:00 2026-10-15 13:00:00 /a"));
        assert_eq!(e.time.unwrap().to_string(), "2026-10-15T13:00:00Z");
    }

    #[test]
    fn iis_fields_change_mid_file() {
        let mut p = W3c::new(Flavor::Iis);
        let r = parse_all(
            &mut p,
            &[
                "#Software: Microsoft Internet Information Services 10.0",
                "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip \
                 cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
                "2026-10-15 13:55:36 10.0.0.5 GET /c++/a+b.aspx q=1+2 443 - 203.0.113.9 \
                 Mozilla/5.0+(Windows+NT+10.0) https://x/?a+b 200 0 0 15",
                "#Fields: date time s-sitename cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) \
                 cs(Cookie) cs-host sc-status sc-bytes",
                "2026-10-15 13:56:00 W3SVC2 POST /up/x.aspx - 2001:db8::7 curl/8.5.0 a=b www.example.org:443 500 1935",
                "2026-10-15 13:56:01 - GET /y.aspx - 192.0.2.1 - - www.example.org:8443 200 -",
            ],
        );
        let mut r = r.into_iter();
        assert!(matches!(r.next(), Some(Ok(Parsed::Header))));
        assert!(matches!(r.next(), Some(Ok(Parsed::Header))));
        let e = event(r.next().unwrap());
        assert_eq!(e.time.unwrap().to_string(), "2026-10-15T13:55:36Z");
        // `+` is a literal in the stem and the query, a space in the user agent and referer.
        assert_eq!(&e.target[..], b"/c++/a+b.aspx");
        assert_eq!(&e.query.unwrap()[..], b"q=1+2");
        assert_eq!(&e.user_agent.unwrap()[..], b"Mozilla/5.0 (Windows NT 10.0)");
        assert_eq!(&e.referer.unwrap()[..], b"https://x/?a b");
        assert_eq!(e.host, None);
        assert_eq!(e.bytes, None);
        assert!(matches!(r.next(), Some(Ok(Parsed::Header))));
        let e = event(r.next().unwrap());
        assert_eq!(&e.host.unwrap()[..], b"W3SVC2");
        assert_eq!(&e.client.unwrap()[..], b"2001:db8::7");
        assert_eq!((e.status, e.bytes), (Some(500), Some(1935)));
        assert_eq!(&e.query.unwrap()[..], b"-");
        let e = event(r.next().unwrap());
        assert_eq!(&e.host.unwrap()[..], b"www.example.org", "s-sitename '-' falls back to cs-host");
        assert_eq!(e.user_agent, None);
    }

    #[test]
    fn byte_order_mark_before_the_first_header() {
        let mut p = W3c::new(Flavor::Iis);
        assert!(matches!(p.parse(b"\xEF\xBB\xBF#Fields: date time cs-uri-stem"), Ok(Parsed::Header)));
        assert_eq!(&event(p.parse(b"2026-10-15 13:55:36 /a")).target[..], b"/a");
    }

    #[test]
    fn iis_default_fields_before_any_header_and_count_mismatches() {
        let mut p = W3c::new(Flavor::Iis);
        let l = "2026-10-15 13:55:36 10.0.0.5 GET / - 80 - 192.0.2.1 curl - 200 0 0 1";
        assert_eq!(&event(p.parse(l.as_bytes())).target[..], b"/");
        let e = p.parse(b"2026-10-15 13:55:36 GET /").unwrap_err();
        assert!(e.contains("no #Fields header yet") && e.contains("15"), "{e}");
        p.parse(b"#Fields: date time cs-method cs-uri-stem").unwrap();
        let e = p.parse(l.as_bytes()).unwrap_err();
        assert!(e.contains("15 fields where the #Fields header declares 4"), "{e}");
        assert!(event(p.parse(b"2026-10-15 13:55:36 GET /ok")).time.is_some());
    }

    #[test]
    fn iis_bad_values_say_which() {
        let mut p = W3c::new(Flavor::Iis);
        p.parse(b"#Fields: date time cs-uri-stem sc-status sc-bytes").unwrap();
        for (l, why) in [
            ("2026-13-15 13:55:36 / 200 1", "date or time"),
            ("2026-10-15 13:55:36 / 2000 1", "sc-status"),
            ("2026-10-15 13:55:36 / 200 x", "sc-bytes"),
        ] {
            let e = p.parse(l.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{l}: {e}");
        }
        assert!(matches!(p.parse(b"2026-10-15 13:55:36 - 400 0"), Ok(Parsed::NoRequest(_))));
        p.parse(b"#Fields: time cs-uri-stem").unwrap();
        assert!(p.parse(b"13:55:36 /a").unwrap_err().contains("#Date"));
        p.parse(b"#Date: 2026-10-15 00:00:00").unwrap();
        assert_eq!(event(p.parse(b"13:55:36 /a")).time.unwrap().to_string(), "2026-10-15T13:55:36Z");
        p.parse(b"#Fields: date time cs-method").unwrap();
        assert!(p.parse(b"2026-10-15 13:55:36 GET").unwrap_err().contains("cs-uri-stem"));
    }

    const CF_FIELDS: &str = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem \
        sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id \
        x-host-header cs-protocol cs-bytes time-taken";

    #[test]
    fn cloudfront_values() {
        let mut p = W3c::new(Flavor::CloudFront);
        p.parse(b"#Version: 1.0").unwrap();
        p.parse(CF_FIELDS.as_bytes()).unwrap();
        let l = "2026-10-15\t13:55:36\tFRA56-P1\t2311\t198.51.100.4\tGET\td111111abcdef8.cloudfront.net\t\
                 /a%20b/x.php\t000\thttps://www.example.org/?q=%2520\tMozilla/5.0%20(X11;%20Linux)\tcmd=id\t-\t\
                 Error\tid==\twww.example.org\thttps\t120\t0.001\textra\tmore";
        let e = event(p.parse(l.as_bytes()));
        assert_eq!(e.status, Some(0));
        assert_eq!(e.bytes, Some(2311));
        assert_eq!(&e.target[..], b"/a%20b/x.php");
        assert_eq!(&e.query.unwrap()[..], b"cmd=id");
        assert_eq!(&e.user_agent.unwrap()[..], b"Mozilla/5.0 (X11; Linux)");
        assert_eq!(&e.referer.unwrap()[..], b"https://www.example.org/?q=%20");
        assert_eq!(&e.host.unwrap()[..], b"www.example.org");
        let short = "2026-10-15\t13:55:36\tFRA56-P1\t2311\t198.51.100.4\tGET\td1.cloudfront.net\t/";
        assert!(p.parse(short.as_bytes()).unwrap_err().contains("tab-separated"));
    }

    #[test]
    fn cloudfront_without_header_uses_documented_order_and_falls_back_to_cs_host() {
        let mut p = W3c::new(Flavor::CloudFront);
        let l = "2026-10-15\t13:55:36\tFRA56-P1\t2311\t198.51.100.4\tGET\td1.cloudfront.net\t/i.html\t200\t-\t\
                 curl/8\t-\t-\tHit\tid==\t-\thttps\t120\t0.001";
        let e = event(p.parse(l.as_bytes()));
        assert_eq!(&e.host.unwrap()[..], b"d1.cloudfront.net");
        assert_eq!(e.referer, None);
    }

    #[test]
    fn percent_and_plus_decoding() {
        assert_eq!(&percent_decode_once(b"a%20b%2520%zz%4")[..], b"a b%20%zz%4");
        assert_eq!(&percent_decode_once(b"%")[..], b"%");
        assert!(matches!(percent_decode_once(b"plain"), Cow::Borrowed(_)));
        assert_eq!(&plus_to_space(b"a+b++c")[..], b"a b  c");
    }
}
