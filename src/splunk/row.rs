//! One result row of Splunk's JSON output, and how it becomes an [`Event`].
//!
//! Splunk sends every value as a JSON string (numbers included), and a multivalue field as an array of
//! strings; a field with one value of a multivalue aggregate (`values(x)`) arrives as a plain string.
//! [`Val`] models both. Strings are borrowed from the line when they have no escapes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::fields::{FieldMap, server_for_sourcetype};
use super::spl::Mode;
use crate::record::Event;
use crate::time::Timestamp;

/// A field value: one string, several, or null.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// A single value.
    One(Cow<'a, str>),
    /// A multivalue field.
    Many(Vec<Cow<'a, str>>),
    /// `null` (not sent by Splunk, tolerated).
    Null,
}

impl<'a> Val<'a> {
    /// The first value, if any.
    pub fn first(&self) -> Option<&str> {
        match self {
            Val::One(s) => Some(s),
            Val::Many(v) => v.first().map(|s| &**s),
            Val::Null => None,
        }
    }

    /// Every value.
    pub fn all(&self) -> Vec<&str> {
        match self {
            Val::One(s) => vec![&**s],
            Val::Many(v) => v.iter().map(|s| &**s).collect(),
            Val::Null => vec![],
        }
    }
}

/// A result row: its fields in the order Splunk sent them. Rows have a dozen fields, so a linear search
/// beats hashing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row<'a>(pub Vec<(Cow<'a, str>, Val<'a>)>);

impl<'a> Row<'a> {
    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&Val<'a>> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The first value of field `name`, when usable (not empty, not `-`).
    pub fn one(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Val::first).filter(|v| usable(v))
    }

    /// The first value of the first of `names` that has a usable one (not empty, not `-`).
    pub fn first_of(&self, names: &[String]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n).and_then(Val::first).filter(|v| usable(v)))
    }
}

fn usable(v: &str) -> bool {
    !v.is_empty() && v != "-"
}

/// A string that stays borrowed when the JSON had no escapes in it.
struct CowStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
            // Splunk sends strings; tolerate bare numbers and booleans from other producers.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Val<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Val<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Val::One(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Val::One(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Val::One(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Val::One(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Val::One(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Val::One(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Val::One(Cow::Owned(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Val::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(CowStr(s)) = seq.next_element()? {
                    v.push(s);
                }
                Ok(Val::Many(v))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Row<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Row<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a result object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(16);
                while let Some(CowStr(k)) = map.next_key()? {
                    let val: Val<'a> = map.next_value()?;
                    v.push((k, val));
                }
                Ok(Row(v))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Field names to try for each role, in order, for one kind of row.
#[derive(Debug, Clone)]
pub struct Converter {
    host: Vec<String>,
    client: Vec<String>,
    method: Vec<String>,
    path: Vec<String>,
    query: Vec<String>,
    status: Vec<String>,
    bytes: Vec<String>,
    user_agent: Vec<String>,
    referer: Vec<String>,
    time: Vec<String>,
    mode: Mode,
    /// `index`/`sourcetype` for rows that do not carry theirs.
    default_index: Option<String>,
    default_sourcetype: Option<String>,
    /// The server hint when neither the row's nor the default sourcetype tells.
    default_server: Option<&'static str>,
}

/// Fields Splunk adds to every event that are not worth carrying as extras.
const SPLUNK_INTERNAL: &[&str] = &[
    "index",
    "sourcetype",
    "source",
    "splunk_server",
    "splunk_server_group",
    "linecount",
    "punct",
    "eventtype",
    "tag",
    "timeendpos",
    "timestartpos",
];

/// What a row was missing, for the end-of-run summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No path field: the row cannot become an event.
    NoPath,
}

fn v(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

impl Converter {
    /// A converter for rows of `mode` produced with `map`.
    pub fn new(mode: Mode, map: &FieldMap, index: Option<&str>, sourcetype: Option<&str>) -> Self {
        let one = |f: &String| vec![f.clone()];
        let mut c = Converter {
            host: map.host.clone(),
            client: one(&map.client),
            method: one(&map.method),
            path: one(&map.path),
            query: one(&map.query),
            status: one(&map.status),
            bytes: one(&map.bytes),
            user_agent: one(&map.user_agent),
            referer: one(&map.referer),
            time: v(&["_time"]),
            mode,
            default_index: index.map(str::to_string),
            default_sourcetype: sourcetype.map(str::to_string),
            default_server: (map.kind == super::fields::MapKind::Iis).then_some("iis"),
        };
        match mode {
            Mode::Raw => {}
            Mode::Stats => {
                c.host = v(&["host"]);
                c.path = v(&["path"]);
                c.method = v(&["method"]);
                c.status = v(&["status"]);
            }
            Mode::Tstats => {
                // After `rename "Web.*" AS *`; tstats filled missing BY fields with "-".
                c.path = v(&["path"]);
                c.method = v(&["method"]);
                c.status = v(&["status"]);
            }
            Mode::User => {
                // The user's rows may use splunk-export's column names or the map's.
                for (names, canonical) in [
                    (&mut c.host, "host"),
                    (&mut c.path, "path"),
                    (&mut c.method, "method"),
                    (&mut c.status, "status"),
                    (&mut c.client, "client"),
                    (&mut c.query, "query"),
                    (&mut c.bytes, "bytes"),
                    (&mut c.user_agent, "user_agent"),
                    (&mut c.referer, "referer"),
                ] {
                    if !names.iter().any(|n| n == canonical) {
                        names.insert(0, canonical.to_string());
                    }
                }
                c.time = v(&["_time", "time"]);
            }
        }
        c
    }

    /// Converts one row into an [`Event`]. `Err(Skip)` when the row cannot be an event. (The export
    /// loop uses [`Converter::write`], which writes the same JSON without building the record.)
    pub fn convert(&self, row: &Row<'_>) -> Result<Event, Skip> {
        let mut buf = Vec::new();
        self.write(row, &mut buf)?;
        Ok(serde_json::from_slice(&buf).expect("Converter::write writes an event record"))
    }

    /// Writes one row as an event record, one JSON line, the bytes `serde_json` would write for the
    /// [`Event`] (same field order, same formats), without allocating per field: this runs once per
    /// row of a million-row export. `Err(Skip)` when the row cannot be an event.
    pub fn write(&self, row: &Row<'_>, out: &mut Vec<u8>) -> Result<(), Skip> {
        let path = row.first_of(&self.path).ok_or(Skip::NoPath)?;
        let mut o = JsonObject::new(out);
        if let Some(t) = row.first_of(&self.time).and_then(parse_time) {
            o.time("time", t);
        }
        o.opt_str("host", row.first_of(&self.host));
        o.opt_str("client", row.first_of(&self.client));
        o.opt_str("method", row.first_of(&self.method));
        o.str("path", path);
        let query =
            row.first_of(&self.query).map(|q| q.strip_prefix('?').unwrap_or(q)).filter(|q| !q.is_empty());
        o.opt_str("query", query);
        if let Some(s) = row.first_of(&self.status).and_then(|s| s.parse::<u16>().ok()) {
            o.uint("status", u64::from(s));
        }
        if let Some(b) = row.first_of(&self.bytes).and_then(|s| s.parse::<u64>().ok()) {
            o.uint("bytes", b);
        }
        o.opt_str("user_agent", row.first_of(&self.user_agent));
        o.opt_str("referer", row.first_of(&self.referer));
        let index = row.get("index").and_then(Val::first).or(self.default_index.as_deref());
        let sourcetype = row.get("sourcetype").and_then(Val::first).or(self.default_sourcetype.as_deref());
        let file = if self.mode == Mode::Raw { row.one("source") } else { None };
        o.source(index.unwrap_or("*"), sourcetype.unwrap_or("*"), file);
        o.opt_str("server", sourcetype.and_then(server_for_sourcetype).or(self.default_server));
        if self.mode != Mode::Raw {
            // Aggregates: present on stats/tstats rows and on user rows that computed them.
            if let Some(c) = row.one("count").and_then(|s| s.parse::<f64>().ok()) {
                o.uint("count", c as u64);
            }
            if let Some(t) = row.one("first_seen").and_then(parse_time) {
                o.time("first_seen", t);
            }
            if let Some(t) = row.one("last_seen").and_then(parse_time) {
                o.time("last_seen", t);
            }
            if let Some(d) = row.one("distinct_clients").and_then(|s| s.parse::<u64>().ok()) {
                o.uint("distinct_clients", d);
            }
            o.list("clients", row.get("clients"), false);
            o.list("user_agents", row.get("user_agents"), false);
            o.list("queries", row.get("queries"), true);
            if self.mode == Mode::User {
                for (k, v) in self.extras(row) {
                    o.value(&k, &v);
                }
            }
        }
        o.end();
        Ok(())
    }

    /// Fields of a user's row that no role consumed, passed through (internal `_` fields left out).
    fn extras(&self, row: &Row<'_>) -> Map<String, Value> {
        let consumed = |k: &str| {
            [
                &self.host,
                &self.client,
                &self.method,
                &self.path,
                &self.query,
                &self.status,
                &self.bytes,
                &self.user_agent,
                &self.referer,
                &self.time,
            ]
            .iter()
            .any(|names| names.iter().any(|n| n == k))
                || matches!(
                    k,
                    "count"
                        | "first_seen"
                        | "last_seen"
                        | "distinct_clients"
                        | "clients"
                        | "user_agents"
                        | "queries"
                )
        };
        let mut m = Map::new();
        for (k, val) in &row.0 {
            if k.starts_with('_') || consumed(k) || SPLUNK_INTERNAL.contains(&&**k) || k.starts_with("date_")
            {
                continue;
            }
            let j = match val {
                Val::One(s) => Value::String(s.to_string()),
                Val::Many(v) => Value::Array(v.iter().map(|s| Value::String(s.to_string())).collect()),
                Val::Null => continue,
            };
            m.insert(k.to_string(), j);
        }
        m
    }
}

/// Writes one JSON object, field by field, the way `serde_json` writes an [`Event`].
struct JsonObject<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> JsonObject<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonObject { out, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        if k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            self.out.push(b'"');
            self.out.extend_from_slice(k.as_bytes());
            self.out.push(b'"');
        } else {
            // A user's field name: escaped like any string.
            self.raw_str(k);
        }
        self.out.push(b':');
    }

    fn raw_str(&mut self, v: &str) {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *self.out, v);
    }

    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        self.raw_str(v);
    }

    fn opt_str(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }

    fn uint(&mut self, k: &str, v: u64) {
        self.key(k);
        let mut b = [0u8; 20];
        let mut i = b.len();
        let mut n = v;
        loop {
            i -= 1;
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&b[i..]);
    }

    fn time(&mut self, k: &str, t: Timestamp) {
        self.key(k);
        self.out.push(b'"');
        t.write_rfc3339(self.out);
        self.out.push(b'"');
    }

    /// `splunk:INDEX/SOURCETYPE[:FILE]`.
    fn source(&mut self, index: &str, sourcetype: &str, file: Option<&str>) {
        self.key("source");
        let mut s = String::with_capacity(16 + index.len() + sourcetype.len() + file.map_or(0, str::len));
        s.push_str("splunk:");
        s.push_str(index);
        s.push('/');
        s.push_str(sourcetype);
        if let Some(f) = file {
            s.push(':');
            s.push_str(f);
        }
        self.raw_str(&s);
    }

    /// A sample list: usable values, `?` stripped from queries; left out when empty.
    fn list(&mut self, k: &str, v: Option<&Val<'_>>, strip_q: bool) {
        let Some(v) = v else { return };
        let mut n = 0;
        for s in v.all() {
            let s = if strip_q { s.strip_prefix('?').unwrap_or(s) } else { s };
            if !usable(s) {
                continue;
            }
            if n == 0 {
                self.key(k);
                self.out.push(b'[');
            } else {
                self.out.push(b',');
            }
            self.raw_str(s);
            n += 1;
        }
        if n > 0 {
            self.out.push(b']');
        }
    }

    fn value(&mut self, k: &str, v: &Value) {
        self.key(k);
        let _ = serde_json::to_writer(&mut *self.out, v);
    }

    fn end(self) {
        self.out.extend_from_slice(b"}\n");
    }
}

/// Parses a Splunk time: epoch seconds (`1718000012`, `1718000012.123`, what `min(_time)` yields) or
/// ISO 8601 with an offset (`2013-09-11T16:05:37.503-07:00`, how `_time` is shown).
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return s.parse::<f64>().ok().and_then(Timestamp::from_epoch_secs_f64);
    }
    Timestamp::parse_rfc3339(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(json: &str) -> Row<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn values_borrow_and_arrays_parse() {
        let r = row(r#"{"a":"x","b":["1","2"],"c":"q\"uote","n":5}"#);
        assert!(matches!(r.get("a"), Some(Val::One(Cow::Borrowed("x")))));
        assert_eq!(r.get("b").unwrap().all(), ["1", "2"]);
        assert_eq!(r.get("c").unwrap().first(), Some("q\"uote"));
        assert_eq!(r.get("n").unwrap().first(), Some("5"));
    }

    #[test]
    fn stats_row_becomes_aggregated_event() {
        let m = FieldMap::access_combined();
        let c = Converter::new(Mode::Stats, &m, Some("web"), None);
        let r = row(
            r#"{"index":"web","sourcetype":"access_combined","host":"www","path":"/x.php","method":"POST",
            "status":"200","count":"3","first_seen":"1790812800.5","last_seen":"1790812860",
            "distinct_clients":"2","clients":["10.0.0.1","10.0.0.2"],"user_agents":"curl/8","queries":["?a=1","-"]}"#,
        );
        let e = c.convert(&r).unwrap();
        assert_eq!(e.count, Some(3));
        assert_eq!(e.first_seen.unwrap().to_string(), "2026-10-01T00:00:00.500Z");
        assert_eq!(e.last_seen.unwrap().to_string(), "2026-10-01T00:01:00Z");
        assert_eq!(e.clients.unwrap().len(), 2);
        assert_eq!(e.user_agents.unwrap(), ["curl/8"]);
        assert_eq!(e.queries.unwrap(), ["a=1"]);
        assert_eq!(e.source.as_deref(), Some("splunk:web/access_combined"));
        assert_eq!(e.server.as_deref(), Some("apache"));
        assert_eq!((e.host.as_deref(), e.status), (Some("www"), Some(200)));
        assert!(e.time.is_none() && e.extra.is_empty());
    }

    #[test]
    fn raw_iis_row_prefers_site_name_and_parses_iso_time() {
        let m = FieldMap::iis();
        let c = Converter::new(Mode::Raw, &m, None, Some("iis"));
        let r = row(r#"{"_time":"2026-09-30T17:00:00.250-07:00","host":"fwd01","cs_host":"www.example.org",
            "cs_uri_stem":"/a.aspx","cs_uri_query":"-","sc_status":"500","c_ip":"1.2.3.4","source":"C:\\logs\\u_ex.log"}"#);
        let e = c.convert(&r).unwrap();
        assert_eq!(e.host.as_deref(), Some("www.example.org"));
        assert_eq!(e.time.unwrap().to_string(), "2026-10-01T00:00:00.250Z");
        assert_eq!(e.query, None);
        assert_eq!(e.server.as_deref(), Some("iis"));
        assert_eq!(e.source.as_deref(), Some("splunk:*/iis:C:\\logs\\u_ex.log"));
        assert_eq!(c.convert(&row(r#"{"cs_uri_stem":"-"}"#)), Err(Skip::NoPath));
    }

    #[test]
    fn user_rows_keep_unknown_fields() {
        let m = FieldMap::access_combined();
        let c = Converter::new(Mode::User, &m, None, None);
        let r = row(r#"{"uri_path":"/a","tenant":"acme","_cd":"1:2","linecount":"1","count":"4"}"#);
        let e = c.convert(&r).unwrap();
        assert_eq!(e.path, "/a");
        assert_eq!(e.count, Some(4));
        assert_eq!(e.extra.len(), 1);
        assert_eq!(e.extra["tenant"], "acme");
    }

    #[test]
    fn written_lines_are_what_serde_writes_for_the_event() {
        let m = FieldMap::iis();
        let rows = [
            (
                Mode::Raw,
                r#"{"_time":"2026-10-01T00:00:00.250+02:00","s_sitename":"a\"b","cs_uri_stem":"/x\\y\u0001",
                "cs_uri_query":"?q=1","sc_status":"200","sc_bytes":"12","c_ip":"::1","source":"f","index":"i"}"#,
            ),
            (
                Mode::Stats,
                r#"{"host":"h","path":"/p","count":"7","first_seen":"1790812800.5","last_seen":"1790812801",
                "distinct_clients":"2","clients":["a","b"],"user_agents":"ua","queries":["?","-","?x=1"]}"#,
            ),
            (
                Mode::User,
                r#"{"cs_uri_stem":"/u","we\"ird key":"v","list":["1","2"],"_cd":"0:1","count":"3"}"#,
            ),
        ];
        for (mode, json) in rows {
            let c = Converter::new(mode, &m, Some("web"), Some("ms:iis:auto"));
            let r = row(json);
            let mut buf = Vec::new();
            c.write(&r, &mut buf).unwrap();
            let e: Event = serde_json::from_slice(&buf).unwrap();
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                serde_json::to_string(&e).unwrap() + "\n",
                "{mode:?}"
            );
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1790812800").unwrap().to_string(), "2026-10-01T00:00:00Z");
        assert_eq!(parse_time("1790812800.123").unwrap().to_string(), "2026-10-01T00:00:00.123Z");
        assert!(parse_time("yesterday").is_none());
    }
}
