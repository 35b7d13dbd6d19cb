//! Finding indicators by value, in bulk: one `POST /api/indicators/query` per batch of values where the
//! instance answers it, one `GET /api/indicators?value=` per value where it does not.
//!
//! The query form is the one XSOAR's and Polarity's clients send: `{"criteria":{"+or":[{"value":…},…]},
//! "filters":{"type_name":"URL Path"}}`, `limit=500&offset=…&sort=id`, plus `with=` for the expanded
//! fields. What the instance does with it is learned from its first replies and said once on stderr:
//! * 400, 404, 405 or 422: no such endpoint or form here; every later lookup goes one by one.
//! * many more hits than values: the instance does not filter as asked; one by one too (correct, slow).
//! * hits without `attributes` or `sources`: the instance does not expand `with=` on queries (XSOAR's
//!   client reads each hit again); the hits still give ids and statuses, and each found indicator whose
//!   attributes are needed is read with `GET /api/indicators/{id}`.
//!
//! Whatever the form, the server's match is not trusted: only records of exactly the value (the server
//! may compare ignoring case) and of the asked type ("URL Path", "SHA-256", "File Path") are kept.

use std::collections::HashMap;

use anyhow::Result;
use serde_json::{Value, json};

use super::NAME;
use super::api::{Api, PAGE, WITH, http_status, id_of, summary};
use super::plan::Kind;
use crate::cli;

/// How lookups are made on this instance, as far as its replies have shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `POST /api/indicators/query`; `expands` once a reply has shown whether hits carry `with=`.
    Query { expands: Option<bool> },
    /// `GET /api/indicators?value=&type_id=` per value.
    OneByOne,
}

/// The indicators of a run's values, found in bulk where the instance allows it.
pub struct Lookup {
    form: Form,
}

impl Default for Lookup {
    fn default() -> Self {
        Lookup { form: Form::Query { expands: None } }
    }
}

/// An indicator type: which values to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Type {
    pub kind: Kind,
    /// Its id on this instance.
    pub id: u64,
}

/// The body of a query for `values` of indicator type `kind`.
pub fn query_body(values: &[&str], kind: Kind) -> Value {
    let any: Vec<Value> = values.iter().map(|v| json!({"value": v})).collect();
    json!({"criteria": {"+or": any}, "filters": {"type_name": kind.type_name()}})
}

/// More hits than this for `n` values means the instance did not filter by them.
fn too_many(n: usize) -> usize {
    4 * n + 100
}

impl Lookup {
    pub fn new() -> Self {
        Lookup::default()
    }

    /// For each of `values`, its indicators (exact value, type `ty`), sorted by id. With `full`, each
    /// record carries its attributes, sources and score; without (to verify), its id and status only.
    pub fn find(&mut self, api: &mut Api, ty: Type, values: &[&str], full: bool) -> Result<Vec<Vec<Value>>> {
        if values.is_empty() {
            return Ok(vec![]);
        }
        if let Form::Query { expands } = self.form
            && let Some(hits) = self.query(api, ty.kind, values, if full { WITH } else { "status" })?
        {
            let mut by = group(ty.id, values, hits);
            let found: Vec<&Value> = by.iter().flatten().collect();
            if full && expands.is_none() && !found.is_empty() {
                let all = found.iter().all(|r| r.get("attributes").is_some() && r.get("sources").is_some());
                if !all {
                    cli::warn(
                        NAME,
                        "POST /api/indicators/query does not expand with= here; reading each found \
                         indicator with GET /api/indicators/ID where its attributes are needed",
                    );
                }
                self.form = Form::Query { expands: Some(all) };
            }
            if full && self.form == (Form::Query { expands: Some(false) }) {
                for recs in &mut by {
                    for rec in recs.iter_mut() {
                        if let Some(id) = id_of(rec) {
                            *rec = api.indicator(id)?;
                        }
                    }
                }
            }
            return Ok(by);
        }
        values
            .iter()
            .map(|v| {
                let mut found = api.find_indicator(v, ty.id)?;
                found.sort_by_key(|x| id_of(x).unwrap_or(u64::MAX));
                Ok(found)
            })
            .collect()
    }

    /// Every hit of one query for `values`, all pages; `None` (and one-by-one from now on) when the
    /// instance does not answer the form.
    fn query(
        &mut self,
        api: &mut Api,
        kind: Kind,
        values: &[&str],
        with: &str,
    ) -> Result<Option<Vec<Value>>> {
        let body = query_body(values, kind);
        let mut hits: Vec<Value> = Vec::new();
        loop {
            let reply = match api.query_indicators(&body, hits.len(), with) {
                Ok(v) => v,
                Err(e)
                    if hits.is_empty()
                        && http_status(&e).is_some_and(|s| [400, 404, 405, 422].contains(&s)) =>
                {
                    return Ok(self.give_up(&format!("{e:#}")));
                }
                Err(e) => return Err(e),
            };
            let Some(page) = reply.get("data").and_then(Value::as_array) else {
                return Ok(
                    self.give_up(&format!("the reply has no data list: {}", summary(&reply.to_string())))
                );
            };
            let total = reply.get("total").and_then(Value::as_u64).map(|t| t as usize);
            if total.unwrap_or(hits.len() + page.len()) > too_many(values.len()) {
                let t = total.unwrap_or(hits.len() + page.len());
                return Ok(self.give_up(&format!(
                    "it matched {t} indicators for {} values, so the instance does not filter as asked",
                    values.len()
                )));
            }
            let n = page.len();
            hits.extend(page.iter().cloned());
            if n == 0 || total.map_or(n < PAGE, |t| hits.len() >= t) {
                return Ok(Some(hits));
            }
        }
    }

    fn give_up(&mut self, why: &str) -> Option<Vec<Value>> {
        cli::warn(
            NAME,
            format_args!(
                "POST /api/indicators/query is not usable here ({why}); looking values up one by one with \
                 GET /api/indicators?value="
            ),
        );
        self.form = Form::OneByOne;
        None
    }
}

/// The hits of exactly each value and of type `type_id`, in `values`' order, each list by id.
fn group(type_id: u64, values: &[&str], hits: Vec<Value>) -> Vec<Vec<Value>> {
    let at: HashMap<&str, usize> = values.iter().enumerate().map(|(i, v)| (*v, i)).collect();
    let mut by: Vec<Vec<Value>> = vec![Vec::new(); values.len()];
    for h in hits {
        let Some(&i) = h.get("value").and_then(Value::as_str).and_then(|v| at.get(v)) else { continue };
        if h.get("type_id").and_then(Value::as_u64).is_none_or(|t| t == type_id) {
            by[i].push(h);
        }
    }
    for recs in &mut by {
        recs.sort_by_key(|x| id_of(x).unwrap_or(u64::MAX));
        recs.dedup_by_key(|x| id_of(x));
    }
    by
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_are_kept_only_for_exactly_the_value_and_type() {
        let hits = vec![
            json!({"id": 7, "value": "/a.php", "type_id": 191}),
            json!({"id": 5, "value": "/A.php", "type_id": 191}),
            json!({"id": 6, "value": "/a.php", "type_id": 3}),
            json!({"id": 4, "value": "/a.php", "type_id": 191}),
            json!({"id": 4, "value": "/a.php", "type_id": 191}),
            json!({"id": 9, "value": "/b.php"}),
            json!({"id": 8, "value": "/c.php", "type_id": 191}),
        ];
        let by = group(191, &["/a.php", "/b.php", "/d.php"], hits);
        let ids: Vec<Vec<u64>> = by.iter().map(|r| r.iter().filter_map(id_of).collect()).collect();
        assert_eq!(ids, [vec![4, 7], vec![9], vec![]]);
    }

    #[test]
    fn the_query_asks_for_every_value_of_the_type() {
        let b = query_body(&["/a.php", "/b \"c\""], Kind::UrlPath);
        assert_eq!(b["criteria"]["+or"][1]["value"], "/b \"c\"");
        assert_eq!(b["filters"]["type_name"], "URL Path");
        assert_eq!(query_body(&["ab"], Kind::Sha256)["filters"]["type_name"], "SHA-256");
        assert!(too_many(500) > 2 * 500);
    }
}
