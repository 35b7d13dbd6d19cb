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

    /// Converts one row. `Err(Skip)` when the row cannot be an event.
    pub fn convert(&self, row: &Row<'_>) -> Result<Event, Skip> {
        let path = row.first_of(&self.path).ok_or(Skip::NoPath)?;
        let text = |names: &[String]| row.first_of(names).map(str::to_string);
        let mut e = Event { path: path.to_string(), ..Event::default() };
        e.host = text(&self.host);
        e.client = text(&self.client);
        e.method = text(&self.method);
        e.query = row.first_of(&self.query).map(|q| q.strip_prefix('?').unwrap_or(q).to_string());
        e.query = e.query.filter(|q| !q.is_empty());
        e.status = row.first_of(&self.status).and_then(|s| s.parse().ok());
        e.bytes = row.first_of(&self.bytes).and_then(|s| s.parse().ok());
        e.user_agent = text(&self.user_agent);
        e.referer = text(&self.referer);
        e.time = row.first_of(&self.time).and_then(parse_time);
        let index = row.get("index").and_then(Val::first).or(self.default_index.as_deref());
        let sourcetype = row.get("sourcetype").and_then(Val::first).or(self.default_sourcetype.as_deref());
        let mut source = format!("splunk:{}/{}", index.unwrap_or("*"), sourcetype.unwrap_or("*"));
        if self.mode == Mode::Raw
            && let Some(s) = row.get("source").and_then(Val::first).filter(|s| usable(s))
        {
            source.push(':');
            source.push_str(s);
        }
        e.source = Some(source);
        e.server = sourcetype.and_then(server_for_sourcetype).or(self.default_server).map(str::to_string);
        // Aggregates: present on stats/tstats rows and on user rows that computed them.
        e.count = row.one("count").and_then(|s| s.parse::<f64>().ok()).map(|c| c as u64);
        e.first_seen = row.one("first_seen").and_then(parse_time);
        e.last_seen = row.one("last_seen").and_then(parse_time);
        e.distinct_clients = row.one("distinct_clients").and_then(|s| s.parse().ok());
        let list = |name: &str, strip_q: bool| {
            let vals: Vec<String> = row
                .get(name)
                .map(|v| v.all())
                .unwrap_or_default()
                .into_iter()
                .map(|s| if strip_q { s.strip_prefix('?').unwrap_or(s) } else { s })
                .filter(|s| usable(s))
                .map(str::to_string)
                .collect();
            (!vals.is_empty()).then_some(vals)
        };
        e.clients = list("clients", false);
        e.user_agents = list("user_agents", false);
        e.queries = list("queries", true);
        if self.mode == Mode::User {
            e.extra = self.extras(row);
        }
        Ok(e)
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
    fn times() {
        assert_eq!(parse_time("1790812800").unwrap().to_string(), "2026-10-01T00:00:00Z");
        assert_eq!(parse_time("1790812800.123").unwrap().to_string(), "2026-10-01T00:00:00.123Z");
        assert!(parse_time("yesterday").is_none());
    }
}
