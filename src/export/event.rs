//! The parsed form of one log line, shared by every format, and how it is written as an event record.
//!
//! Parsers borrow from the line where they can (`Cow::Borrowed`) and own only what they had to unescape.
//! [`RawEvent::write`] then writes the JSON event in one pass; see [`crate::record::Event`] for the
//! fields. Paths and queries keep every byte: what is not printable UTF-8 is percent-encoded and flagged
//! (`raw_control`, `raw_non_utf8`), because a NUL or a stray high byte in a path is itself evidence.

use std::borrow::Cow;

use crate::jsonw::{Escape, Escaped, ObjectWriter};
use crate::time::Timestamp;

/// One request as a format parser read it. `None` and empty mean "not in the log".
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawEvent<'a> {
    /// The request time.
    pub time: Option<Timestamp>,
    /// The virtual host, without port.
    pub host: Option<Cow<'a, [u8]>>,
    /// The client address.
    pub client: Option<Cow<'a, [u8]>>,
    /// An X-Forwarded-For chain as logged (`203.0.113.9, 10.0.0.1`), when the log carries one.
    pub forwarded_for: Option<Cow<'a, [u8]>>,
    /// The method.
    pub method: Option<Cow<'a, [u8]>>,
    /// The request target as logged: a path (possibly absolute-form `http://h/p`), with or without its
    /// query. [`RawEvent::write`] splits it at the first `?` unless `query` is already set.
    pub target: Cow<'a, [u8]>,
    /// The query, when the format logs it apart from the path (IIS `cs-uri-query`).
    pub query: Option<Cow<'a, [u8]>>,
    /// The status code.
    pub status: Option<u16>,
    /// Response bytes.
    pub bytes: Option<u64>,
    /// The User-Agent.
    pub user_agent: Option<Cow<'a, [u8]>>,
    /// The Referer.
    pub referer: Option<Cow<'a, [u8]>>,
    /// A server hint this line itself carries (overrides the format's default).
    pub server: Option<&'static str>,
}

/// Per-run settings that apply to every event written.
#[derive(Debug, Default, Clone)]
pub struct EmitOptions {
    /// Host for events whose log line names none (`--host`).
    pub default_host: Option<String>,
    /// Server hint that overrides the format's (`--server`).
    pub server: Option<String>,
}

/// Treats the log's placeholder for "no value" (`-`, or an empty field) as absent.
pub fn present<'b>(v: &'b Option<Cow<'_, [u8]>>) -> Option<&'b [u8]> {
    match v.as_deref() {
        None | Some(b"") | Some(b"-") => None,
        Some(x) => Some(x),
    }
}

/// Paths and queries: bytes that are not printable UTF-8 become `%XX`.
const PATH_ESC: Escape = Escape::Percent;
/// Other text: invalid UTF-8 becomes `\xHH`.
const TEXT_ESC: Escape = Escape::Backslash;

/// What an event record holds, chosen from a [`RawEvent`] (placeholders dropped, defaults applied, the
/// target split), still as logged bytes. [`RawEvent::write`] encodes it as JSON; [`Parts::decoded`]
/// gives the strings a reader of that JSON gets, for `baseline-diff --from-logs`.
pub struct Parts<'a> {
    /// The event time.
    pub time: Option<Timestamp>,
    /// The host (the log's, else `--host`).
    pub host: Option<&'a [u8]>,
    /// The client.
    pub client: Option<&'a [u8]>,
    /// The X-Forwarded-For chain.
    pub forwarded_for: Option<&'a [u8]>,
    /// The method.
    pub method: Option<&'a [u8]>,
    /// The path as logged, without the query.
    pub path: &'a [u8],
    /// The query, when there is a non-empty one.
    pub query: Option<&'a [u8]>,
    /// The status.
    pub status: Option<u16>,
    /// Response bytes.
    pub bytes: Option<u64>,
    /// The user agent.
    pub user_agent: Option<&'a [u8]>,
    /// The referer.
    pub referer: Option<&'a [u8]>,
    /// The server hint (`--server`, else the line's, else the format's).
    pub server: Option<&'a str>,
}

/// [`Parts`] decoded to the strings of the event record.
pub struct Decoded<'a> {
    /// The host.
    pub host: Option<Cow<'a, str>>,
    /// The client.
    pub client: Option<Cow<'a, str>>,
    /// The method.
    pub method: Option<Cow<'a, str>>,
    /// The path, raw bytes percent-encoded.
    pub path: Cow<'a, str>,
    /// The query, raw bytes percent-encoded.
    pub query: Option<Cow<'a, str>>,
    /// The user agent.
    pub user_agent: Option<Cow<'a, str>>,
    /// The anomalies the escaping found (`raw_control`, `raw_non_utf8`).
    pub anomalies: &'static [&'static str],
}

fn raw_anomalies(e: Escaped) -> &'static [&'static str] {
    match (e.control, e.non_utf8) {
        (false, false) => &[],
        (true, false) => &["raw_control"],
        (false, true) => &["raw_non_utf8"],
        (true, true) => &["raw_control", "raw_non_utf8"],
    }
}

impl<'a> Parts<'a> {
    /// The strings of the event record (see [`crate::jsonw::decoded`]).
    pub fn decoded(&self) -> Decoded<'a> {
        let text = |v: Option<&'a [u8]>| v.map(|v| crate::jsonw::decoded(v, TEXT_ESC).0);
        let (path, mut e) = crate::jsonw::decoded(self.path, PATH_ESC);
        let query = self.query.map(|q| {
            let (q, eq) = crate::jsonw::decoded(q, PATH_ESC);
            e.control |= eq.control;
            e.non_utf8 |= eq.non_utf8;
            q
        });
        Decoded {
            host: text(self.host),
            client: text(self.client),
            method: text(self.method),
            path,
            query,
            user_agent: text(self.user_agent),
            anomalies: raw_anomalies(e),
        }
    }
}

impl RawEvent<'_> {
    /// The fields of the event record. `server` is the format's hint.
    pub fn parts<'a>(&'a self, server: Option<&'a str>, opts: &'a EmitOptions) -> Parts<'a> {
        let (path, query) = match &self.query {
            Some(q) => (&self.target[..], Some(&q[..]).filter(|q| *q != b"-")),
            None => match crate::bytes::find(&self.target, b'?') {
                Some(i) => (&self.target[..i], Some(&self.target[i + 1..])),
                None => (&self.target[..], None),
            },
        };
        Parts {
            time: self.time,
            host: present(&self.host).or(opts.default_host.as_deref().map(str::as_bytes)),
            client: present(&self.client),
            forwarded_for: present(&self.forwarded_for),
            method: present(&self.method),
            path,
            query: query.filter(|q| !q.is_empty()),
            status: self.status,
            bytes: self.bytes,
            user_agent: present(&self.user_agent),
            referer: present(&self.referer),
            server: opts.server.as_deref().or(self.server).or(server),
        }
    }

    /// Appends the event as one JSON line to `out`. `source` is `file:line`; `server` the format's hint.
    pub fn write(&self, out: &mut Vec<u8>, source: &[u8], server: Option<&str>, opts: &EmitOptions) {
        let p = self.parts(server, opts);
        // One reservation for the whole record: the field writers then never grow the buffer.
        out.reserve(
            160 + p.path.len()
                + source.len()
                + [p.host, p.client, p.forwarded_for, p.method, p.query, p.user_agent, p.referer]
                    .iter()
                    .map(|v| v.map_or(0, <[u8]>::len))
                    .sum::<usize>(),
        );
        let mut o = ObjectWriter::new(out);
        if let Some(t) = p.time {
            o.time("time", t);
        }
        // Field by field rather than in a loop, so that each key is a constant the writer copies inline.
        if let Some(v) = p.host {
            o.str("host", v, TEXT_ESC);
        }
        if let Some(v) = p.client {
            o.str("client", v, TEXT_ESC);
        }
        if let Some(v) = p.forwarded_for {
            o.str("forwarded_for", v, TEXT_ESC);
        }
        if let Some(v) = p.method {
            o.str("method", v, TEXT_ESC);
        }
        let mut e = o.str("path", p.path, PATH_ESC);
        if let Some(q) = p.query {
            let eq = o.str("query", q, PATH_ESC);
            e.control |= eq.control;
            e.non_utf8 |= eq.non_utf8;
        }
        if let Some(s) = p.status {
            o.uint("status", u64::from(s));
        }
        if let Some(b) = p.bytes {
            o.uint("bytes", b);
        }
        if let Some(v) = p.user_agent {
            o.str("user_agent", v, TEXT_ESC);
        }
        if let Some(v) = p.referer {
            o.str("referer", v, TEXT_ESC);
        }
        o.str("source", source, TEXT_ESC);
        if let Some(s) = p.server {
            o.str("server", s.as_bytes(), TEXT_ESC);
        }
        let a = raw_anomalies(e);
        if !a.is_empty() {
            o.names("anomalies", a);
        }
        o.end_line();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Event;

    fn emit(ev: &RawEvent<'_>, opts: &EmitOptions) -> Event {
        let mut out = vec![];
        ev.write(&mut out, b"f.log:3", Some("apache"), opts);
        assert_eq!(out.last(), Some(&b'\n'));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn target_split_and_placeholders_left_out() {
        let ev = RawEvent {
            target: Cow::Borrowed(b"/a/b.php?x=1&y"),
            method: Some(Cow::Borrowed(b"GET")),
            referer: Some(Cow::Borrowed(b"-")),
            status: Some(200),
            ..Default::default()
        };
        let e = emit(&ev, &EmitOptions { default_host: Some("site".into()), server: None });
        assert_eq!(e.path, "/a/b.php");
        assert_eq!(e.query.as_deref(), Some("x=1&y"));
        assert_eq!(e.referer, None);
        assert_eq!(e.host.as_deref(), Some("site"));
        assert_eq!(e.server.as_deref(), Some("apache"));
        assert_eq!(e.source.as_deref(), Some("f.log:3"));
    }

    #[test]
    fn raw_bytes_kept_and_flagged() {
        let ev = RawEvent { target: Cow::Borrowed(b"/x\x00\xff.php"), ..Default::default() };
        let e = emit(&ev, &EmitOptions::default());
        assert_eq!(e.path, "/x%00%FF.php");
        assert_eq!(e.anomalies.unwrap(), vec!["raw_control", "raw_non_utf8"]);
    }
}
