//! osquery's `file` and `hash` tables, as `osqueryi --json` prints them:
//!
//! ```text
//! osqueryi --json "select f.path, f.size, f.mtime, f.ctime, f.uid, f.gid, f.mode, f.type, h.sha256
//!   from file f left join hash h using (path) where f.path like '/var/www/%%'"
//! ```
//!
//! The output is one JSON array of objects, one per row, every value a string (`"size":"1234"`,
//! `"mode":"0644"`, `"type":"regular"`, times as epoch seconds, `sha256` lower-case hex, empty where
//! the hash table has none); numbers are accepted too. `like '/var/www/%%'` is osquery's recursive
//! match. The array is read as it streams, one row at a time, never whole.

use std::fmt;

use anyhow::{Result, anyhow};
use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};

use crate::digest::Digest;
use crate::input::Input;
use crate::inventory::entry::{Entry, Type};
use crate::time::Timestamp;

/// A value as osquery prints it: a string, or a number from other JSON writers.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum Val {
    S(String),
    N(serde_json::Number),
}

impl Val {
    fn text(&self) -> String {
        match self {
            Val::S(s) => s.clone(),
            Val::N(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize, Debug)]
struct Row {
    path: Option<Val>,
    size: Option<Val>,
    mtime: Option<Val>,
    ctime: Option<Val>,
    uid: Option<Val>,
    gid: Option<Val>,
    mode: Option<Val>,
    #[serde(rename = "type")]
    ty: Option<Val>,
    sha256: Option<Val>,
}

struct State<'a> {
    sink: &'a mut dyn FnMut(Entry) -> Result<()>,
    rows: u64,
    failed: Option<anyhow::Error>,
}

struct Rows<'s, 'a>(&'s mut State<'a>);

impl<'de> Visitor<'de> for Rows<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of rows, as osqueryi --json prints")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(row) = seq.next_element::<Row>()? {
            self.0.rows += 1;
            let n = self.0.rows;
            match convert(row) {
                Ok(None) => {}
                Ok(Some(e)) => {
                    if let Err(err) = (self.0.sink)(e) {
                        self.0.failed = Some(err);
                        return Err(de::Error::custom("stopped"));
                    }
                }
                Err(why) => {
                    self.0.failed = Some(anyhow!("row {n}: {why}"));
                    return Err(de::Error::custom("stopped"));
                }
            }
        }
        Ok(())
    }
}

/// Reads `osqueryi --json` output.
pub fn read(input: Input, sink: &mut dyn FnMut(Entry) -> Result<()>) -> Result<u64> {
    let name = input.name.clone();
    let mut de = serde_json::Deserializer::from_reader(input.into_reader());
    let mut st = State { sink, rows: 0, failed: None };
    let r = de::Deserializer::deserialize_seq(&mut de, Rows(&mut st));
    if let Some(err) = st.failed.take() {
        return Err(err.context(name));
    }
    r.and_then(|()| de.end()).map_err(|e| anyhow!("{name}: not osqueryi --json output: {e}"))?;
    Ok(st.rows)
}

fn convert(row: Row) -> std::result::Result<Option<Entry>, String> {
    let path = row.path.ok_or("no path column")?.text();
    if path.is_empty() {
        return Err("an empty path".into());
    }
    let ty = match row.ty.as_ref().map(Val::text).as_deref() {
        Some("directory") => return Ok(None),
        Some("regular") | None => Type::File,
        Some("symlink") => Type::Symlink,
        Some(_) => Type::Other,
    };
    let mut e = Entry::new(path.into_bytes(), ty);
    let num = |v: &Option<Val>, col: &str| -> std::result::Result<Option<i64>, String> {
        match v.as_ref().map(Val::text) {
            None => Ok(None),
            Some(t) if t.is_empty() => Ok(None),
            Some(t) => t.parse::<i64>().map(Some).map_err(|_| format!("bad {col} {t:?}")),
        }
    };
    e.size = num(&row.size, "size")?.and_then(|v| u64::try_from(v).ok());
    e.mtime = num(&row.mtime, "mtime")?.map(|s| Timestamp(s.saturating_mul(1000)));
    e.ctime = num(&row.ctime, "ctime")?.map(|s| Timestamp(s.saturating_mul(1000)));
    e.uid = num(&row.uid, "uid")?.and_then(|v| u32::try_from(v).ok());
    e.gid = num(&row.gid, "gid")?.and_then(|v| u32::try_from(v).ok());
    if let Some(m) = row.mode.as_ref().map(Val::text).filter(|m| !m.is_empty()) {
        e.mode = Some(super::octal(&m).ok_or_else(|| format!("bad mode {m:?}"))? & 0o7777);
    }
    if let Some(h) = row.sha256.as_ref().map(Val::text).filter(|h| !h.is_empty())
        && ty == Type::File
    {
        e.sha256 = Some(Digest::parse_hex(&h).ok_or_else(|| format!("bad sha256 {h:?}"))?);
    }
    Ok(Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(data: &str) -> Result<Vec<Entry>> {
        super::super::read_all(super::super::Kind::Osquery, "q.json", data.as_bytes())
    }

    #[test]
    fn rows_strings_or_numbers() {
        let v = entries(
            r#"[
  {"ctime":"1698765432","gid":"33","mode":"0644","mtime":"1698765000","path":"/var/www/a.php","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":"0","type":"regular","uid":"33"},
  {"path":"/var/www/d","type":"directory","size":"4096","sha256":""},
  {"path":"/var/www/l","type":"symlink","size":3,"mode":"0777","sha256":""}
]"#,
        )
        .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].mode, Some(0o644));
        assert_eq!(v[0].sha256.unwrap().0[0], 0xe3);
        assert_eq!((v[1].ty, v[1].size), (Type::Symlink, Some(3)));
    }

    #[test]
    fn wrong_input_is_an_error() {
        let e = entries("f 5 1.0 1.0 0 0 644 root /a\n").unwrap_err();
        assert!(format!("{e:#}").starts_with("q.json: not osqueryi --json output"), "{e:#}");
        let e = entries(r#"[{"path":"/a","size":"x"}]"#).unwrap_err();
        assert_eq!(format!("{e:#}"), r#"q.json: row 1: bad size "x""#);
        assert!(entries("[] x").is_err());
    }
}
