//! Typed calls to the ThreatQ REST API, one function per endpoint, and the reply checks every call shares.
//!
//! Every call goes through [`Api::call`]: a bearer token from [`Auth`] (renewed once on a 401), the reply
//! checked for success, and a 2xx reply that nevertheless carries `errors` (top level, under `data`, or
//! in an item of a `data` list) treated as a failure, as ThreatQ's own SDK does. Errors that a later
//! attempt may not meet (connection trouble, timeouts, 429, 5xx) are marked [`Transient`]; the caller
//! retries the whole idempotent step around them (see `push.rs`), never a lone create, so a create whose
//! reply was lost is found by the next attempt's lookup rather than made twice.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use super::auth::Auth;
use super::plan::clean;

/// An error worth another attempt of the step that met it.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
pub struct Transient {
    pub msg: String,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

impl Transient {
    pub fn new(msg: String) -> Self {
        Transient { msg, retry_after: None }
    }
}

/// A reply with a non-success status.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status}: {text}")]
pub struct HttpError {
    pub status: u16,
    pub text: String,
}

/// True when `err` is worth retrying.
pub fn is_transient(err: &anyhow::Error) -> Option<&Transient> {
    err.chain().find_map(|c| c.downcast_ref::<Transient>())
}

/// A short, printable excerpt of a server's text.
pub fn summary(s: &str) -> String {
    let s = clean(s.trim());
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// A failed send as an error: [`Transient`] when another attempt may succeed (a timeout, a refused or
/// reset connection), a plain error that ends the run at once otherwise (a refused certificate, a host
/// name that does not resolve). `what` names the request without its URL's query.
pub fn send_error(what: &str, e: &reqwest::Error) -> anyhow::Error {
    use crate::http::Failure;
    match crate::http::classify(e) {
        Failure::Retry(m) => anyhow!(Transient::new(format!("{what}: {}", summary(&m)))),
        Failure::Tls(m) => anyhow!("{what}: the server's TLS certificate is refused: {}", clean(&m)),
        Failure::Dns(m) | Failure::Fatal(m) => anyhow!("{what}: {}", clean(&m)),
    }
}

/// Finds `errors` in a 2xx reply: `{"errors":…}`, `{"data":{"errors":…}}`, or `{"data":[{"error":…}]}`.
pub fn errors_in(v: &Value) -> Option<String> {
    fn present(e: Option<&Value>) -> Option<String> {
        match e? {
            Value::Null => None,
            Value::Array(a) if a.is_empty() => None,
            Value::Object(o) if o.is_empty() => None,
            Value::String(s) if s.is_empty() => None,
            other => Some(summary(&other.to_string())),
        }
    }
    present(v.get("errors")).or_else(|| present(v.get("data").and_then(|d| d.get("errors")))).or_else(|| {
        v.get("data")?
            .as_array()?
            .iter()
            .find_map(|item| present(item.get("errors")).or_else(|| present(item.get("error"))))
    })
}

/// A ThreatQ instance.
pub struct Api {
    http: Client,
    /// `…/api/`.
    base: url::Url,
    pub auth: Auth,
    /// Requests sent (token requests excluded).
    pub requests: u64,
}

/// Page size for list endpoints (ThreatQ's documented maximum).
pub const PAGE: usize = 500;

impl Api {
    pub fn new(http: Client, base: url::Url, auth: Auth) -> Self {
        Api { http, base, auth, requests: 0 }
    }

    /// Sends one request and returns the reply's JSON (`null` for an empty body).
    pub fn call(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut url = self.base.join(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let what = format!("{method} /api/{path}");
        let mut renewed = false;
        loop {
            let token = self.auth.bearer()?.expose().to_string();
            let mut req = self.http.request(method.clone(), url.clone()).bearer_auth(token);
            if let Some(b) = body {
                req = req.json(b);
            }
            self.requests += 1;
            let resp = req.send().map_err(|e| send_error(&what, &e))?;
            let status = resp.status();
            if status.as_u16() == 401 && !renewed {
                // Expired or revoked early: one fresh token, one more try.
                self.auth.invalidate();
                renewed = true;
                continue;
            }
            let retry_after = crate::http::retry_after(resp.headers(), Duration::from_secs(60));
            let text = resp.text().map_err(|e| send_error(&what, &e))?;
            if crate::http::retryable_status(status.as_u16()) {
                return Err(anyhow!(Transient {
                    msg: format!("{what}: HTTP {status}: {}", summary(&text)),
                    retry_after
                }));
            }
            if !status.is_success() {
                let extra = if status.as_u16() == 401 { " (the token was refused twice)" } else { "" };
                return Err(anyhow!(HttpError { status: status.as_u16(), text: summary(&text) })
                    .context(format!("{what}{extra}")));
            }
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| anyhow!("{what}: HTTP {status} reply is not JSON: {e}: {}", summary(&text)))?;
            if let Some(errs) = errors_in(&v) {
                bail!("{what}: HTTP {status} but the reply carries errors: {errs}");
            }
            return Ok(v);
        }
    }

    /// Every item of a list endpoint, page by page.
    pub fn list(&mut self, path: &str) -> Result<Vec<Value>> {
        let mut all = Vec::new();
        loop {
            let offset = all.len().to_string();
            let limit = PAGE.to_string();
            let v = self.call(Method::GET, path, &[("limit", &limit), ("offset", &offset)], None)?;
            let page = data_list(&v, path)?;
            let n = page.len();
            all.extend(page);
            let total = v.get("total").and_then(Value::as_u64).map(|t| t as usize);
            if n == 0 || total.is_some_and(|t| all.len() >= t) || (total.is_none() && n < PAGE) {
                return Ok(all);
            }
        }
    }

    /// `GET /api/indicator/types` (all pages).
    pub fn indicator_types(&mut self) -> Result<Vec<Value>> {
        self.list("indicator/types")
    }

    /// `GET /api/indicator/statuses` (all pages).
    pub fn statuses(&mut self) -> Result<Vec<Value>> {
        self.list("indicator/statuses")
    }

    /// `GET /api/event/types` (all pages).
    pub fn event_types(&mut self) -> Result<Vec<Value>> {
        self.list("event/types")
    }

    /// `GET /api/indicators?value=V&type_id=T`: the indicators of exactly this value and type.
    pub fn find_indicator(&mut self, value: &str, type_id: u64) -> Result<Vec<Value>> {
        let t = type_id.to_string();
        let q = [("value", value), ("type_id", t.as_str()), ("with", WITH)];
        let v = self.call(Method::GET, "indicators", &q, None)?;
        // The server's match may be looser (case, prefix): keep exact matches only.
        Ok(data_list(&v, "indicators")?
            .into_iter()
            .filter(|i| i.get("value").and_then(Value::as_str) == Some(value))
            .filter(|i| i.get("type_id").and_then(Value::as_u64).is_none_or(|id| id == type_id))
            .collect())
    }

    /// `POST /api/indicators/query?limit=500&offset=N&sort=id&with=W` with `body`: one page of hits.
    pub fn query_indicators(&mut self, body: &Value, offset: usize, with: &str) -> Result<Value> {
        let (limit, offset) = (PAGE.to_string(), offset.to_string());
        let q = [("limit", limit.as_str()), ("offset", offset.as_str()), ("sort", "id"), ("with", with)];
        self.call(Method::POST, "indicators/query", &q, Some(body))
    }

    /// `GET /api/indicators/{id}?with=…`.
    pub fn indicator(&mut self, id: u64) -> Result<Value> {
        let v = self.call(Method::GET, &format!("indicators/{id}"), &[("with", WITH)], None)?;
        data_object(v, "indicator")
    }

    /// `POST /api/indicators/consume` (bulk upsert) or, when `consume` is false, `POST /api/indicators`
    /// with an array. False when the consume endpoint does not exist. The reply must carry a data list,
    /// but its items are not relied on: the caller reads what was written back with a lookup.
    pub fn create_indicators(&mut self, objects: &[Value], consume: bool) -> Result<bool> {
        let path = if consume { "indicators/consume" } else { "indicators" };
        match self.call(Method::POST, path, &[], Some(&Value::Array(objects.to_vec()))) {
            Ok(v) => data_list(&v, path).map(|_| true),
            Err(e) if consume && http_status(&e).is_some_and(|s| s == 404 || s == 405) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `PUT /api/indicators/{id}` `{"status_id": N}`.
    pub fn set_status(&mut self, id: u64, status_id: u64) -> Result<()> {
        self.call(Method::PUT, &format!("indicators/{id}"), &[], Some(&json!({"status_id": status_id})))?;
        Ok(())
    }

    /// `POST /api/indicators/{id}/attributes`.
    pub fn add_attribute(&mut self, id: u64, name: &str, value: &str, source: &str) -> Result<()> {
        let body = attribute_body(name, value, source);
        self.call(Method::POST, &format!("indicators/{id}/attributes"), &[], Some(&body))?;
        Ok(())
    }

    /// `POST /api/indicators/{id}/sources`.
    pub fn add_source(&mut self, id: u64, source: &str) -> Result<()> {
        self.call(Method::POST, &format!("indicators/{id}/sources"), &[], Some(&json!({"name": source})))?;
        Ok(())
    }

    /// `PUT /api/indicator/{id}/scores` `{"manual_score": N}` (singular `indicator`, as the clients use).
    pub fn set_score(&mut self, id: u64, score: u8) -> Result<()> {
        self.call(
            Method::PUT,
            &format!("indicator/{id}/scores"),
            &[],
            Some(&json!({"manual_score": score})),
        )?;
        Ok(())
    }

    /// `GET /api/events?title=T`: events of exactly this title.
    pub fn find_events(&mut self, title: &str) -> Result<Vec<Value>> {
        let v = self.call(Method::GET, "events", &[("title", title), ("with", "attributes")], None)?;
        Ok(data_list(&v, "events")?
            .into_iter()
            .filter(|e| e.get("title").and_then(Value::as_str) == Some(title))
            .collect())
    }

    /// `POST /api/events`; returns the new event's id.
    pub fn create_event(&mut self, body: &Value) -> Result<u64> {
        let v = self.call(Method::POST, "events", &[], Some(body))?;
        let ev = data_object(v, "event")?;
        id_of(&ev).ok_or_else(|| anyhow!("POST /api/events: reply has no data.id"))
    }

    /// `GET /api/events/{id}/indicators`: the ids of the linked indicators (all pages).
    pub fn event_indicators(&mut self, event: u64) -> Result<Vec<u64>> {
        Ok(self.list(&format!("events/{event}/indicators"))?.iter().filter_map(id_of).collect())
    }

    /// `POST /api/events/{id}/indicators` `[{"id":…},…]`.
    pub fn link(&mut self, event: u64, ids: &[u64]) -> Result<()> {
        let body = Value::Array(ids.iter().map(|i| json!({"id": i})).collect());
        self.call(Method::POST, &format!("events/{event}/indicators"), &[], Some(&body))?;
        Ok(())
    }
}

/// What lookups ask to be expanded.
pub const WITH: &str = "status,attributes,sources,score";

/// One attribute as sent.
pub fn attribute_body(name: &str, value: &str, source: &str) -> Value {
    json!({"name": name, "value": value, "sources": [{"name": source}]})
}

/// The HTTP status of a failed call, when the server answered.
pub fn http_status(e: &anyhow::Error) -> Option<u16> {
    e.chain().find_map(|c| c.downcast_ref::<HttpError>()).map(|h| h.status)
}

/// An object's `id`.
pub fn id_of(v: &Value) -> Option<u64> {
    v.get("id").and_then(|i| i.as_u64().or_else(|| i.as_str()?.parse().ok()))
}

fn data_list(v: &Value, what: &str) -> Result<Vec<Value>> {
    match v.get("data") {
        Some(Value::Array(a)) => Ok(a.clone()),
        // A single object where a list was expected (a create of one): accept it.
        Some(o @ Value::Object(_)) => Ok(vec![o.clone()]),
        _ => bail!("{what}: reply has no data list: {}", summary(&v.to_string())),
    }
}

fn data_object(v: Value, what: &str) -> Result<Value> {
    match v.get("data") {
        Some(Value::Object(_)) => Ok(v["data"].clone()),
        Some(Value::Array(a)) if a.len() == 1 => Ok(a[0].clone()),
        _ => bail!("{what}: reply has no data object: {}", summary(&v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_found_wherever_a_2xx_hides_them() {
        assert!(errors_in(&json!({"errors": ["The value field is required."]})).is_some());
        assert!(errors_in(&json!({"data": {"errors": {"name": ["taken"]}}})).is_some());
        assert!(errors_in(&json!({"data": [{"id": 1}, {"error": "bad type"}]})).is_some());
        assert!(errors_in(&json!({"data": [{"id": 1}], "errors": []})).is_none());
        assert!(errors_in(&json!({"data": {"id": 1, "errors": null}})).is_none());
    }

    #[test]
    fn summary_is_short_and_clean() {
        assert_eq!(summary(" a\u{1b}b "), "a\\x1bb");
        assert_eq!(summary(&"x".repeat(400)).chars().count(), 301);
    }
}
