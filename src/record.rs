//! The records on the pipe: [`Event`], [`Normalized`] and [`Finding`].
//!
//! Every stage reads and writes JSON lines: one JSON object per line, UTF-8, times in RFC 3339 UTC.
//! A field a stage cannot fill is left out, never invented. Fields a stage does not know pass through it
//! unchanged (they land in `extra` and are written back), so users can add their own with `jq` between
//! stages; the aggregating stage, `baseline-diff`, prints new records (findings) and does not carry
//! per-event extras.
//!
//! ```text
//! log-export / splunk-export ──event──> path-normalize ──normalized──> baseline-diff ──finding──> tq-push
//! ```
//!
//! An **event** is one request, or an aggregate of identical requests (Splunk's `stats` rows), which adds
//! `count`, `first_seen`, `last_seen` and bounded samples. A raw request is an aggregate of one, so every
//! later stage handles both through [`Event::hits`], [`Event::first`] and [`Event::last`].
//!
//! ```json
//! {"time":"2026-10-15T13:55:36Z","host":"www.example.test","client":"203.0.113.9","method":"POST",
//!  "path":"/uploads/./x.php","status":200,"bytes":1935,"user_agent":"curl/8.5.0","referer":"-",
//!  "source":"access.log:1042","server":"apache"}
//! ```
//!
//! A **normalized** record is the event with `path` made canonical, the logged spelling kept in
//! `raw_path` when it differs, and `template`, `params`, `profile` and `anomalies` added:
//!
//! ```json
//! {"time":"2026-10-15T13:55:36Z", …, "path":"/uploads/x.php","raw_path":"/uploads/./x.php",
//!  "template":"/uploads/x.php","profile":"generic","anomalies":["dot_segments"]}
//! ```
//!
//! A **finding** is one (host, template) key of one `baseline-diff` run, with its verdict, score and
//! explained reasons; see [`Finding`].

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::input::Input;
use crate::time::Timestamp;

/// One request (or an aggregate of identical requests) as a source saw it.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// When the request was logged (a raw event). Aggregated rows use `first_seen`/`last_seen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// The virtual host (site) that served it, without port; left out when the log does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The client address as logged (for an X-Forwarded-For chain, the address `--client` picks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The X-Forwarded-For chain as logged (`203.0.113.9, 10.0.0.1`), when the log carries one: in the
    /// client field, or in a column of its own (IIS, CloudFront). Client-supplied, so forgeable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_for: Option<String>,
    /// The request method, as logged (`GET`, `POST`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The request path as logged, without the query. Bytes that are not printable UTF-8 are
    /// percent-encoded (`%00`, `%FF`) and flagged in `anomalies`; nothing is dropped.
    pub path: String,
    /// The query string as logged, without its `?`; left out when the request had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The final HTTP status (`0` for CloudFront's `000`: the client went away).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Response bytes, when logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The User-Agent header as logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The Referer header as logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referer: Option<String>,
    /// Where the record came from: `file:line`, or a Splunk search description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The kind of server that wrote the log (`apache`, `nginx`, `iis`, `caddy`, `alb`, `cloudfront`,
    /// …), so `path-normalize --profile auto` can choose how the server resolves paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Aggregated rows: how many requests this row stands for (absent = 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Aggregated rows: the earliest request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Timestamp>,
    /// Aggregated rows: the latest request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    /// Aggregated rows: the number of distinct clients (exact at the source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_clients: Option<u64>,
    /// Aggregated rows: a bounded sample of client addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<String>>,
    /// Aggregated rows: a bounded sample of user agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agents: Option<Vec<String>>,
    /// Aggregated rows: a bounded sample of query strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<Vec<String>>,
    /// Oddities found so far (see the anomaly names in the README); sources add the ones only they can
    /// see (`raw_control`, `raw_non_utf8`), `path-normalize` adds the evasive spellings it undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomalies: Option<Vec<String>>,
    /// Every field this stage does not know, passed through unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Event {
    /// How many requests the record stands for.
    pub fn hits(&self) -> u64 {
        self.count.unwrap_or(1)
    }

    /// The earliest request time of the record.
    pub fn first(&self) -> Option<Timestamp> {
        self.first_seen.or(self.time)
    }

    /// The latest request time of the record.
    pub fn last(&self) -> Option<Timestamp> {
        self.last_seen.or(self.time).or(self.first_seen)
    }
}

/// An event after `path-normalize`: `path` is canonical and the normalisation is explained.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    /// The event, with `path` now canonical and `anomalies` extended.
    #[serde(flatten)]
    pub event: Event,
    /// The path as logged, kept when it differs from the canonical `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_path: Option<String>,
    /// The canonical path with dynamic segments replaced by placeholders (`{int}`, `{uuid}`, `{hex}`,
    /// `{date}`, `{token}`); server-side script names always stay literal.
    pub template: String,
    /// The query's parameter names, in order of first appearance, when there was a query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<String>>,
    /// The normalisation profile applied: `generic`, `iis` or `java`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// What `baseline-diff` decided about a key.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// First seen inside the learning window: part of the baseline.
    Learned,
    /// First seen after the learning window: to review.
    New,
    /// Already in the state from an earlier run (printed only with `--all`, or when its file changed).
    Known,
    /// A script file of the web-root inventory that is new or changed since the baseline and that no
    /// request reached: a dormant web shell, invisible to the logs (`baseline-diff --inventory`).
    Dormant,
}

impl Verdict {
    /// The lower-case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Learned => "learned",
            Verdict::New => "new",
            Verdict::Known => "known",
            Verdict::Dormant => "dormant",
        }
    }
}

impl Finding {
    /// Whether the web-root inventory showed the script file behind this path changed since the
    /// baseline (the `file_changed` reason of `baseline-diff --inventory`): a learned or known path to
    /// review again.
    pub fn file_changed(&self) -> bool {
        self.reasons.iter().any(|r| r.code == "file_changed")
    }
}

/// What the web-root inventory says about a finding's path (`baseline-diff --inventory`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFacts {
    /// Whether a file of the inventory serves the path.
    pub exists: bool,
    /// The URL path the file is served as (one of the finding's paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_path: Option<String>,
    /// The file on disk, as the inventory names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `script`, `static` or `other`, as the inventory classed it for its server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Last modification (can be set by the writer, `touch -d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<Timestamp>,
    /// Last inode change (set by the kernel: creation, write, chmod, rename).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime: Option<Timestamp>,
    /// SHA-256 of the content, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// How the file compares with the baseline: `added` (not in the previous inventory), `changed`
    /// (its content differs from the previous inventory's), `after_window` (no previous inventory;
    /// its mtime or ctime is after the learning window), `unchanged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// The SHA-256 the previous inventory had, when the content changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_sha256: Option<String>,
}

/// One scoring signal and its weight; a finding's score is the sum of its weights, clamped to 0–100.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Points added (or, when negative, taken away).
    pub weight: i32,
    /// A stable identifier for the signal (`script_ext`, `upload_dir`, `mostly_post`, …).
    pub code: String,
    /// The signal in words, with the evidence (`3 of 4 requests are POST`).
    pub text: String,
}

/// A sampled value with how often it was seen and, where known, whether the baseline had seen it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The value (a client address, a user agent, a query string, a path).
    pub value: String,
    /// Requests carrying it.
    pub count: u64,
    /// For clients and user agents: whether the site's baseline saw this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<bool>,
}

/// One (host, template) key of a `baseline-diff` run: what was seen, the verdict, the score and why.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Finding {
    /// The site; left out when the logs do not name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The key's template (equal to the path for a concrete path).
    pub template: String,
    /// `learned`, `new` or `known`.
    pub verdict: Verdict,
    /// 0–100, the clamped sum of the reasons' weights. Deterministic for the same input and state.
    pub score: u8,
    /// The signals behind the score, heaviest first.
    pub reasons: Vec<Reason>,
    /// Concrete canonical paths seen for the key (bounded sample, most requested first).
    pub paths: Vec<Sample>,
    /// How many distinct concrete paths the key had in this run.
    pub distinct_paths: u64,
    /// Logged spellings that differed from the canonical path (bounded sample).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_paths: Vec<Sample>,
    /// Every anomaly seen on the key's requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<String>,
    /// The earliest request of the key in this run.
    pub first_seen: Timestamp,
    /// The latest request of the key in this run.
    pub last_seen: Timestamp,
    /// Requests in this run.
    pub count: u64,
    /// Requests per method.
    pub methods: BTreeMap<String, u64>,
    /// Requests per status code (as strings, JSON object keys).
    pub statuses: BTreeMap<String, u64>,
    /// Distinct client addresses (exact up to 1,000; see `distinct_clients_capped`).
    pub distinct_clients: u64,
    /// True when there were more distinct clients than `distinct_clients` says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub distinct_clients_capped: bool,
    /// Client addresses (bounded sample, most active first).
    pub clients: Vec<Sample>,
    /// User agents (bounded sample, most frequent first).
    pub user_agents: Vec<Sample>,
    /// Query strings (bounded sample).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<Sample>,
    /// Query parameter names seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    /// Where the key was first seen (`file:line`), for going back to the raw log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_source: Option<String>,
    /// Requests per hour (hour start → count), for timelines; bounded, left out for very long-lived keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly: Option<BTreeMap<String, u64>>,
    /// With `--inventory`: the file that serves the key's path in the web root, or that it serves none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileFacts>,
    /// Fields added by later tools or by users, passed through.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Reads JSON-lines records of type `T` from `input`, calling `f` with each record and its `input:line`.
/// Blank lines are skipped; anything else that is not a valid record is an error naming the input and
/// line.
pub fn for_each_record<T: DeserializeOwned>(
    input: Input,
    mut f: impl FnMut(T, &dyn Fn() -> String) -> Result<()>,
) -> Result<u64> {
    let mut lines = input.lines();
    let name = lines.name.clone();
    let mut n = 0;
    while let Some(l) = lines.next_line()? {
        if l.bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let no = l.no;
        let rec: T =
            serde_json::from_slice(l.bytes).with_context(|| format!("{name}:{no}: invalid record"))?;
        n += 1;
        f(rec, &|| format!("{name}:{no}"))?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_pass_through_an_event() {
        let line = r#"{"path":"/a","status":200,"mine":{"x":[1,2]},"time":"2026-10-01T00:00:00Z"}"#;
        let e: Event = serde_json::from_str(line).unwrap();
        assert_eq!(e.extra["mine"], serde_json::json!({"x":[1,2]}));
        let back: Value = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(line).unwrap());
    }

    #[test]
    fn normalized_keeps_event_and_extras() {
        let line = r#"{"path":"/a","raw_path":"/./a","template":"/a","user":"x"}"#;
        let n: Normalized = serde_json::from_str(line).unwrap();
        assert_eq!(n.event.path, "/a");
        assert_eq!(n.raw_path.as_deref(), Some("/./a"));
        assert_eq!(n.event.extra["user"], "x");
        assert!(!n.event.extra.contains_key("template"));
    }

    #[test]
    fn aggregate_accessors() {
        let e: Event = serde_json::from_str(
            r#"{"path":"/a","count":5,"first_seen":"2026-10-01T00:00:00Z","last_seen":"2026-10-02T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(e.hits(), 5);
        assert_eq!(e.first().unwrap().to_string(), "2026-10-01T00:00:00Z");
        assert_eq!(e.last().unwrap().to_string(), "2026-10-02T00:00:00Z");
    }
}
