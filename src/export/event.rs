//! The parsed form of one log line, shared by every format, and how it is written as an event record.
//!
//! Parsers borrow from the line where they can (`Cow::Borrowed`) and own only what they had to unescape.
//! [`RawEvent::write`] then writes the JSON event in one pass; see [`crate::record::Event`] for the
//! fields. Paths and queries keep every byte: what is not printable UTF-8 is percent-encoded and flagged
//! (`raw_control`, `raw_non_utf8`), because a NUL or a stray high byte in a path is itself evidence.

use std::borrow::Cow;

use crate::jsonw::{Escape, ObjectWriter};
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

impl RawEvent<'_> {
    /// Appends the event as one JSON line to `out`. `source` is `file:line`; `server` the format's hint.
    pub fn write(&self, out: &mut Vec<u8>, source: &[u8], server: Option<&str>, opts: &EmitOptions) {
        let mut o = ObjectWriter::new(out);
        if let Some(t) = self.time {
            o.time("time", t);
        }
        match (present(&self.host), &opts.default_host) {
            (Some(h), _) => {
                o.str("host", h, Escape::Backslash);
            }
            (None, Some(h)) => {
                o.str("host", h.as_bytes(), Escape::Backslash);
            }
            (None, None) => {}
        }
        if let Some(c) = present(&self.client) {
            o.str("client", c, Escape::Backslash);
        }
        if let Some(m) = present(&self.method) {
            o.str("method", m, Escape::Backslash);
        }
        let (path, query) = match &self.query {
            Some(q) => (&self.target[..], Some(&q[..]).filter(|q| *q != b"-")),
            None => match self.target.iter().position(|&b| b == b'?') {
                Some(i) => (&self.target[..i], Some(&self.target[i + 1..])),
                None => (&self.target[..], None),
            },
        };
        let mut e = o.str("path", path, Escape::Percent);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            let eq = o.str("query", q, Escape::Percent);
            e.control |= eq.control;
            e.non_utf8 |= eq.non_utf8;
        }
        if let Some(s) = self.status {
            o.uint("status", u64::from(s));
        }
        if let Some(b) = self.bytes {
            o.uint("bytes", b);
        }
        if let Some(ua) = present(&self.user_agent) {
            o.str("user_agent", ua, Escape::Backslash);
        }
        if let Some(r) = present(&self.referer) {
            o.str("referer", r, Escape::Backslash);
        }
        o.str("source", source, Escape::Backslash);
        if let Some(s) = opts.server.as_deref().or(self.server).or(server) {
            o.str("server", s.as_bytes(), Escape::Backslash);
        }
        match (e.control, e.non_utf8) {
            (false, false) => {}
            (true, false) => o.names("anomalies", &["raw_control"]),
            (false, true) => o.names("anomalies", &["raw_non_utf8"]),
            (true, true) => o.names("anomalies", &["raw_control", "raw_non_utf8"]),
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
