//! An emulator of Splunk's REST search API, on 127.0.0.1, for tests and for trying `splunk-export` by
//! hand (`cargo run --example splunk-emulator`). One file serves both: the integration tests include it
//! with `#[path = "../emulators/splunk.rs"] mod splunk_emu;` and so does `examples/splunk-emulator.rs`.
//!
//! What it serves (Splunk's REST API reference: search/jobs, search/v2/jobs/export, auth/login):
//! - `POST /services/search/v2/jobs/export` and `GET|POST /services/search/jobs/export`, also under
//!   `/servicesNS/{owner}/{app}/`; [`Config::v2`] off makes the v2 paths 404 like Splunk before 9.0.1.
//!   Parameters come from the form body or the query string: `search`, `output_mode` (only `json`),
//!   `earliest_time`, `latest_time` (on `_time`, inclusive/exclusive), `index_earliest`, `index_latest`
//!   (on `_indextime`, inclusive/exclusive), `now`, `preview`.
//! - `POST /services/auth/login` (`username`, `password`) → `{"sessionKey":…}` (XML without
//!   `output_mode=json`); then `Authorization: Splunk KEY`. `Authorization: Bearer TOKEN` for tokens,
//!   `Authorization: Basic …` when [`Config::basic`]. Anything else: 401 with Splunk's WARN message.
//! - The response: newline-delimited JSON, `{"preview":false,"offset":N,"result":{…}}`, the last row with
//!   `"lastrow":true`, every value a string (arrays for multivalue fields); an empty result is
//!   `{"preview":false,"lastrow":true}`. Events come newest first, `_time` as
//!   `2026-10-01T00:00:00.000+00:00` (offset [`Config::tz_offset_min`]). Bodies are streamed in chunks
//!   from a producer thread, so a million-row export never sits in memory.
//!
//! The SPL subset it really evaluates (anything else: HTTP 400 with a FATAL message, as Splunk answers
//! bad SPL):
//! - `search` with `field=value`, `field!=value` (`*` wildcards, case-insensitive values, `field=*` for
//!   "has the field") and bare terms (matched against `_raw`), all ANDed;
//! - `| tstats [summariesonly=…] [allow_old_summaries=…] [fillnull_value=V] AGGS FROM datamodel=Web[.Web]
//!   [WHERE terms] BY fields` over the events that have a path, fields `Web.*` plus index, sourcetype,
//!   host, source, _time;
//! - `stats AGGS [BY fields]` with `count`, `count(f)`, `dc`, `min`, `max`, `sum`, `values`, each
//!   `[AS name]`; rows with a null BY field are dropped; rows come sorted by the BY values;
//! - `rename a AS b, "Web.*" AS *`; `eval x=expr, …` with `round`, `mvindex`, `coalesce`, field names
//!   (bare or 'quoted'), numbers and "strings"; `fields [+|-] a, b`; `head N`.
//!
//! Every event carries every field name the three field maps use: `clientip`/`c_ip`/`src`,
//! `method`/`cs_method`/`http_method`, `uri_path`/`cs_uri_stem`, `uri_query`/`cs_uri_query`,
//! `status`/`sc_status`, `bytes`/`sc_bytes`, `useragent`/`cs_User_Agent`/`http_user_agent`,
//! `referer`/`cs_Referer`/`http_referrer`, `cs_host`/`site` (the virtual host, when the log has one),
//! `dest` (the virtual host, else `host`), `uri`/`url`; plus `index`, `sourcetype`, `host` (the forwarder,
//! not the site), `source`, `_raw`, `_time`, `_indextime`, and any [`EmuEvent::extra`] fields.
//!
//! Faults ([`Fault`]) are queued and each export request takes the next one: an HTTP status (503 with
//! Splunk's quota message, 401, 403, …), a message (FATAL stops the stream; ERROR, WARN, INFO are
//! inserted and the stream goes on) after N rows, a cut connection after N rows, a slow first byte,
//! preview rows before the final ones, or a clean end without `lastrow`.
//!
//! For tests: [`Emulator::start`] on an ephemeral port in-process; [`Emulator::add_events`] with chosen
//! `_time`/`_indextime` (late events); [`Emulator::push_fault`]; [`Emulator::requests`] returns what was
//! received (path, parameters, the auth scheme, never a credential).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use webshell_hunt::time::Timestamp;

// ---------------------------------------------------------------------------------------------------
// Configuration, events, faults, records
// ---------------------------------------------------------------------------------------------------

/// A TLS identity for the emulator (see `tests/emulators/tls.rs`).
pub type Tls = crate::tls_emu::Identity;

/// How the emulator behaves.
#[derive(Clone)]
pub struct Config {
    /// Accepted `Bearer` tokens.
    pub tokens: Vec<String>,
    /// Accepted users (name, password), for login and Basic.
    pub users: Vec<(String, String)>,
    /// Accept `Authorization: Basic`.
    pub basic: bool,
    /// Serve the v2 export paths (false: 404, like Splunk before 9.0.1).
    pub v2: bool,
    /// Serve the v1 export paths (false: 404, like Splunk Cloud 10.1 with v1 disabled).
    pub v1: bool,
    /// Serve TLS with this identity.
    pub tls: Option<Tls>,
    /// The instant relative times count from (epoch seconds); `None`: the wall clock.
    pub now: Option<i64>,
    /// The UTC offset `_time` is shown in, in minutes (Splunk uses the user's time zone).
    pub tz_offset_min: i32,
    /// The port to listen on (0: any free port).
    pub port: u16,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tokens: vec![],
            users: vec![],
            basic: true,
            v2: true,
            v1: true,
            tls: None,
            now: None,
            tz_offset_min: 0,
            port: 0,
        }
    }
}

/// One indexed event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EmuEvent {
    /// `_time`, in milliseconds since the epoch.
    pub time_ms: i64,
    /// `_indextime`, in seconds since the epoch.
    pub indextime: i64,
    /// `index`.
    pub index: String,
    /// `sourcetype`.
    pub sourcetype: String,
    /// `host`: the forwarder.
    pub host: String,
    /// `source`: the file.
    pub source: String,
    /// `_raw`.
    pub raw: String,
    /// The client address.
    pub client: Option<String>,
    /// The request method.
    pub method: Option<String>,
    /// The URL path.
    pub path: Option<String>,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// The status code.
    pub status: Option<String>,
    /// Response bytes.
    pub bytes: Option<String>,
    /// The User-Agent.
    pub user_agent: Option<String>,
    /// The Referer.
    pub referer: Option<String>,
    /// The virtual host, when the log names it.
    pub vhost: Option<String>,
    /// Further fields (name, value).
    pub extra: Vec<(String, String)>,
}

/// Where a loaded log lands in the emulated Splunk.
#[derive(Clone, Debug)]
pub struct LoadOpts {
    /// `index` of every event.
    pub index: String,
    /// `sourcetype` of every event.
    pub sourcetype: String,
    /// `host` (the forwarder).
    pub host: String,
    /// `source`; defaults to the file's path.
    pub source: Option<String>,
    /// `_indextime` = `_time` (whole seconds) + this lag.
    pub index_lag_secs: i64,
}

impl Default for LoadOpts {
    fn default() -> Self {
        LoadOpts {
            index: "web".into(),
            sourcetype: "access_combined".into(),
            host: "web01".into(),
            source: None,
            index_lag_secs: 0,
        }
    }
}

/// A fault for one export request.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status and Splunk's usual message for it.
    Status(u16),
    /// After `after` rows, a message line; FATAL ends the stream there (cleanly, without `lastrow`),
    /// other kinds are inserted and the stream goes on.
    Message {
        /// Rows before the message.
        after: usize,
        /// DEBUG, INFO, WARN, ERROR or FATAL.
        kind: String,
        /// The text.
        text: String,
    },
    /// Break the connection after `after` rows (the chunked body never completes).
    Cut {
        /// Rows sent before the cut.
        after: usize,
    },
    /// Send the response head at once but the first body byte only after this delay.
    SlowFirstByte(Duration),
    /// Send a preview result set (over the first half of the events) before the final one.
    Preview,
    /// End the stream cleanly without any `lastrow`.
    NoLastrow,
    /// Answer 200 with an HTML page (a proxy's or single-sign-on login page), not the export's JSON.
    Html,
}

/// A request the emulator received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET` or `POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// Parameters from the query string and the form body (the login password is replaced by `***`).
    pub params: BTreeMap<String, String>,
    /// The `Authorization` scheme (`Bearer`, `Splunk`, `Basic`), or empty.
    pub auth_scheme: String,
    /// The HTTP status answered.
    pub status: u16,
}

impl Recorded {
    /// A parameter's value.
    pub fn param(&self, k: &str) -> Option<&str> {
        self.params.get(k).map(String::as_str)
    }
    /// True for export requests.
    pub fn is_export(&self) -> bool {
        self.path.ends_with("/jobs/export")
    }
}

struct Shared {
    cfg: Config,
    events: Mutex<Arc<Vec<EmuEvent>>>,
    faults: Mutex<VecDeque<Fault>>,
    requests: Mutex<Vec<Recorded>>,
    sessions: Mutex<HashSet<String>>,
    counter: Mutex<u64>,
}

/// A running emulator; stops when dropped.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Emulator {
    /// Starts an emulator on 127.0.0.1 (port [`Config::port`], 0 for any free one).
    pub fn start(cfg: Config) -> Emulator {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", cfg.port)).expect("bind 127.0.0.1");
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let tls = cfg.tls.clone();
        let shared = Arc::new(Shared {
            cfg,
            events: Mutex::new(Arc::new(Vec::new())),
            faults: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            sessions: Mutex::new(HashSet::new()),
            counter: Mutex::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("splunk-emu")
            .enable_all()
            .build()
            .unwrap();
        let app = axum::Router::new().fallback(handle).with_state(shared.clone());
        runtime.spawn(async move {
            let tcp = tokio::net::TcpListener::from_std(std_listener).unwrap();
            match tls {
                None => {
                    let _ = axum::serve(tcp, app).await;
                }
                Some(t) => {
                    let acceptor = crate::tls_emu::acceptor(&t);
                    let _ = axum::serve(crate::tls_emu::TlsListener { tcp, acceptor }, app).await;
                }
            }
        });
        Emulator { shared, addr, runtime: Some(runtime) }
    }

    /// `http://127.0.0.1:PORT` (or `https://…` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.shared.cfg.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Adds events (kept sorted by `_time`).
    pub fn add_events(&self, evs: impl IntoIterator<Item = EmuEvent>) {
        let mut g = self.shared.events.lock().unwrap();
        let v = Arc::make_mut(&mut g);
        v.extend(evs);
        v.sort_by_key(|e| e.time_ms);
    }

    /// Loads an access log (any format `log-export` detects) and returns how many events it added.
    pub fn load_log(&self, path: &Path, opts: &LoadOpts) -> anyhow::Result<usize> {
        let evs = parse_log(path, opts)?;
        let n = evs.len();
        self.add_events(evs);
        Ok(n)
    }

    /// How many events are indexed.
    pub fn event_count(&self) -> usize {
        self.shared.events.lock().unwrap().len()
    }

    /// Queues a fault for the next export request that has none yet.
    pub fn push_fault(&self, f: Fault) {
        self.shared.faults.lock().unwrap().push_back(f);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The export requests received so far.
    pub fn exports(&self) -> Vec<Recorded> {
        self.requests().into_iter().filter(Recorded::is_export).collect()
    }

    /// Forgets every session key, as a Splunk restart or a session timeout does.
    pub fn expire_sessions(&self) {
        self.shared.sessions.lock().unwrap().clear();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Reads an access log with `log-export`'s own parsing into events.
pub fn parse_log(path: &Path, opts: &LoadOpts) -> anyhow::Result<Vec<EmuEvent>> {
    use webshell_hunt::export::{Parsed, ParserOptions, detect, event::EmitOptions};
    let name = path.to_str().ok_or_else(|| anyhow::anyhow!("path is not UTF-8"))?;
    let mut lines = webshell_hunt::input::open(name)?.lines();
    let mut all: Vec<Vec<u8>> = Vec::new();
    while let Some(l) = lines.next_line()? {
        all.push(l.bytes.to_vec());
    }
    let popts = ParserOptions::default();
    let sample: Vec<Vec<u8>> = all.iter().take(detect::SAMPLE_LINES).cloned().collect();
    let format = detect::detect(&sample, &popts).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let mut parser = format.parser(&popts)?;
    let emit = EmitOptions::default();
    let source = opts.source.clone().unwrap_or_else(|| name.to_string());
    let mut out = Vec::with_capacity(all.len());
    let mut json = Vec::with_capacity(1024);
    for line in &all {
        let Ok(Parsed::Event(ev)) = parser.parse(line) else { continue };
        json.clear();
        ev.write(&mut json, b"-", None, &emit);
        let e: webshell_hunt::record::Event = serde_json::from_slice(&json)?;
        let Some(t) = e.time else { continue };
        out.push(EmuEvent {
            time_ms: t.0,
            indextime: t.secs() + opts.index_lag_secs,
            index: opts.index.clone(),
            sourcetype: opts.sourcetype.clone(),
            host: opts.host.clone(),
            source: source.clone(),
            raw: String::from_utf8_lossy(line).into_owned(),
            client: e.client,
            method: e.method,
            path: Some(e.path),
            query: e.query,
            status: e.status.map(|s| s.to_string()),
            bytes: e.bytes.map(|b| b.to_string()),
            user_agent: e.user_agent,
            referer: e.referer,
            vhost: e.host,
            extra: vec![],
        });
    }
    out.sort_by_key(|e| e.time_ms);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------------

/// Generates a CA and a server certificate for 127.0.0.1 and localhost signed by it.
pub fn generate_tls() -> Tls {
    crate::tls_emu::private_ca("splunk-emulator")
}

// ---------------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------------

fn json_response(status: u16, body: String) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=UTF-8")
        .body(Body::from(body))
        .unwrap()
}

fn message_body(kind: &str, text: &str) -> String {
    serde_json::json!({"messages": [{"type": kind, "text": text}]}).to_string()
}

fn status_body(code: u16) -> String {
    match code {
        503 => message_body(
            "FATAL",
            "Search not executed: The maximum number of concurrent historical searches on this instance has \
             been reached., concurrency_category=\"historical\", concurrency_context=\"instance-wide\", \
             current_concurrency=10, concurrency_limit=10",
        ),
        401 => message_body("WARN", "call not properly authenticated"),
        403 => message_body(
            "ERROR",
            "You do not have permission to perform this operation (requires capability: search).",
        ),
        404 => message_body("ERROR", "Not Found"),
        _ => message_body("ERROR", &format!("emulated HTTP {code}")),
    }
}

fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in input.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

async fn handle(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    if let Some(q) = uri.query() {
        params.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    params.extend(url::form_urlencoded::parse(&body).into_owned());
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let scheme = auth.split(' ').next().unwrap_or("").to_string();
    let path = uri.path().to_string();
    let mut rec_params = params.clone();
    if rec_params.contains_key("password") {
        rec_params.insert("password".into(), "***".into());
    }
    let (status, resp) = route(&sh, &method, &path, &params, &auth);
    sh.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path,
        params: rec_params,
        auth_scheme: scheme,
        status,
    });
    resp
}

fn route(
    sh: &Arc<Shared>,
    method: &Method,
    path: &str,
    params: &BTreeMap<String, String>,
    auth: &str,
) -> (u16, Response) {
    if path == "/services/auth/login" {
        if method != Method::POST {
            return (405, json_response(405, message_body("ERROR", "Method Not Allowed")));
        }
        return login(sh, params);
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let rest: &[&str] = match segs.as_slice() {
        ["services", rest @ ..] => rest,
        ["servicesNS", _owner, _app, rest @ ..] => rest,
        _ => &[],
    };
    let version = match rest {
        ["search", "v2", "jobs", "export"] => 2,
        ["search", "jobs", "export"] | ["search", "v1", "jobs", "export"] => 1,
        _ => 0,
    };
    if version == 0 || (version == 2 && !sh.cfg.v2) || (version == 1 && !sh.cfg.v1) {
        return (404, json_response(404, status_body(404)));
    }
    if method != Method::POST && (version == 2 || method != Method::GET) {
        return (405, json_response(405, message_body("ERROR", "Method Not Allowed")));
    }
    if !authorized(sh, auth) {
        return (401, json_response(401, status_body(401)));
    }
    let fault = sh.faults.lock().unwrap().pop_front();
    match fault {
        Some(Fault::Status(code)) => {
            let mut r = json_response(code, status_body(code));
            if code == 429 {
                r.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("1"));
            }
            return (code, r);
        }
        Some(Fault::Html) => {
            let r = Response::builder()
                .status(200)
                .header("content-type", "text/html")
                .body(axum::body::Body::from(
                    "<!DOCTYPE html><html><body>Sign in to continue</body></html>\n",
                ))
                .unwrap();
            return (200, r);
        }
        _ => {}
    }
    match export(sh, params, fault) {
        Ok(resp) => (200, resp),
        Err(msg) => (400, json_response(400, message_body("FATAL", &msg))),
    }
}

fn authorized(sh: &Shared, auth: &str) -> bool {
    let (scheme, value) = auth.split_once(' ').unwrap_or(("", ""));
    match scheme {
        "Bearer" => sh.cfg.tokens.iter().any(|t| t == value),
        "Splunk" => sh.sessions.lock().unwrap().contains(value),
        "Basic" => {
            sh.cfg.basic && sh.cfg.users.iter().any(|(u, p)| base64(format!("{u}:{p}").as_bytes()) == value)
        }
        _ => false,
    }
}

fn login(sh: &Arc<Shared>, params: &BTreeMap<String, String>) -> (u16, Response) {
    let user = params.get("username").map(String::as_str).unwrap_or("");
    let pass = params.get("password").map(String::as_str).unwrap_or("");
    let json = params.get("output_mode").is_some_and(|m| m == "json");
    if !sh.cfg.users.iter().any(|(u, p)| u == user && p == pass) {
        let body = if json {
            message_body("WARN", "Login failed")
        } else {
            "<response><messages><msg type=\"WARN\">Login failed</msg></messages></response>".to_string()
        };
        return (401, json_response(401, body));
    }
    let key = {
        let mut c = sh.counter.lock().unwrap();
        *c += 1;
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        format!("sk{:08x}{:08x}", *c, nanos)
    };
    sh.sessions.lock().unwrap().insert(key.clone());
    let body = if json {
        serde_json::json!({ "sessionKey": key }).to_string()
    } else {
        format!("<response>\n  <sessionKey>{key}</sessionKey>\n</response>\n")
    };
    (200, json_response(200, body))
}

// ---------------------------------------------------------------------------------------------------
// Export: parameters, time bounds, the producer thread
// ---------------------------------------------------------------------------------------------------

struct Bounds {
    earliest_ms: Option<i64>,
    latest_ms: Option<i64>,
    index_earliest: Option<i64>,
    index_latest: Option<i64>,
}

impl Bounds {
    fn contains(&self, e: &EmuEvent) -> bool {
        self.earliest_ms.is_none_or(|t| e.time_ms >= t)
            && self.latest_ms.is_none_or(|t| e.time_ms < t)
            && self.index_earliest.is_none_or(|t| e.indextime >= t)
            && self.index_latest.is_none_or(|t| e.indextime < t)
    }
}

fn export(
    sh: &Arc<Shared>,
    params: &BTreeMap<String, String>,
    fault: Option<Fault>,
) -> Result<Response, String> {
    let mode = params.get("output_mode").map(String::as_str).unwrap_or("xml");
    if mode != "json" {
        return Err(format!("the emulator only speaks output_mode=json, not {mode}"));
    }
    let search = params.get("search").ok_or("Missing required argument: search")?;
    let pipeline = parse_spl(search)?;
    let now_ms = match params.get("now") {
        Some(n) => parse_time(n, 0, "now")?,
        None => sh.cfg.now.map(|n| n * 1000).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
        }),
    };
    let t = |k: &str| params.get(k).map(|v| parse_time(v, now_ms, k)).transpose();
    let bounds = Bounds {
        earliest_ms: t("earliest_time")?,
        latest_ms: t("latest_time")?,
        index_earliest: t("index_earliest")?.map(|ms| ms.div_euclid(1000)),
        index_latest: t("index_latest")?.map(|ms| ms.div_euclid(1000)),
    };
    let events = sh.events.lock().unwrap().clone();
    let tz = sh.cfg.tz_offset_min;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        let mut out = Out::new(tx, tz, fault);
        produce(&pipeline, &events, &bounds, &mut out);
    });
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json; charset=UTF-8")
        .body(Body::from_stream(RxStream(rx)))
        .unwrap())
}

struct RxStream(tokio::sync::mpsc::Receiver<Result<Bytes, io::Error>>);

impl futures_core::Stream for RxStream {
    type Item = Result<Bytes, io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Parses a Splunk time: epoch seconds, RFC 3339, or a relative specifier against `now_ms`.
pub fn parse_time(v: &str, now_ms: i64, what: &str) -> Result<i64, String> {
    let bad = || format!("Invalid {what}: '{v}'.");
    let v = v.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return v.parse::<f64>().map(|s| (s * 1000.0).round() as i64).map_err(|_| bad());
    }
    if let Some(t) = Timestamp::parse_rfc3339(v) {
        return Ok(t.0);
    }
    if v == "now" {
        return Ok(now_ms);
    }
    let b = v.as_bytes();
    let mut t = now_ms.div_euclid(1000);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            sign @ (b'+' | b'-') => {
                i += 1;
                let s = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n: i64 = if s == i { 1 } else { v[s..i].parse().map_err(|_| bad())? };
                let s = i;
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let secs = unit_secs(&v[s..i]).ok_or_else(bad)?;
                t += if sign == b'+' { n * secs } else { -n * secs };
            }
            b'@' => {
                i += 1;
                let s = i;
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let unit = &v[s..i];
                let days = t.div_euclid(86_400);
                t = match unit {
                    "w" | "week" => {
                        let mut wd = 0;
                        if i < b.len() && b[i].is_ascii_digit() {
                            wd = i64::from(b[i] - b'0');
                            i += 1;
                        }
                        // 1970-01-01 was a Thursday (weekday 4, Sunday = 0).
                        let today = (days + 4).rem_euclid(7);
                        (days - (today - wd).rem_euclid(7)) * 86_400
                    }
                    "mon" | "month" => {
                        let (y, m, _) = webshell_hunt::time::civil_from_days(days);
                        webshell_hunt::time::days_from_civil(y, m, 1).expect("a date") * 86_400
                    }
                    "y" | "year" => {
                        let (y, _, _) = webshell_hunt::time::civil_from_days(days);
                        webshell_hunt::time::days_from_civil(y, 1, 1).expect("a date") * 86_400
                    }
                    u => {
                        let secs = unit_secs(u).ok_or_else(bad)?;
                        t.div_euclid(secs) * secs
                    }
                };
            }
            _ => return Err(bad()),
        }
    }
    if i == 0 {
        return Err(bad());
    }
    Ok(t * 1000)
}

fn unit_secs(u: &str) -> Option<i64> {
    Some(match u {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return None,
    })
}

/// The producer side of a streamed body: rows become JSON lines, sent in chunks, with the fault applied.
struct Out {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
    tz: i32,
    fault: Option<Fault>,
    /// Final rows written so far.
    rows: usize,
    offset: usize,
    sent_any: bool,
    /// The row-count fault (cut, message) has fired.
    fired: bool,
    /// The receiver went away, or the fault ended the stream.
    stopped: bool,
}

impl Out {
    fn new(tx: tokio::sync::mpsc::Sender<Result<Bytes, io::Error>>, tz: i32, fault: Option<Fault>) -> Self {
        Out {
            tx,
            buf: Vec::with_capacity(128 << 10),
            tz,
            fault,
            rows: 0,
            offset: 0,
            sent_any: false,
            fired: false,
            stopped: false,
        }
    }

    fn flush(&mut self) {
        if self.buf.is_empty() || self.stopped {
            return;
        }
        if !self.sent_any {
            self.sent_any = true;
            if let Some(Fault::SlowFirstByte(d)) = &self.fault {
                std::thread::sleep(*d);
            }
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(128 << 10)));
        if self.tx.blocking_send(Ok(chunk)).is_err() {
            self.stopped = true;
        }
    }

    fn no_lastrow(&self) -> bool {
        self.fault == Some(Fault::NoLastrow)
    }

    /// Writes one row; `false` when the stream must stop.
    fn row(&mut self, row: &Row, preview: bool, lastrow: bool) -> bool {
        if self.stopped || (!preview && !self.trigger()) {
            return false;
        }
        let lastrow = lastrow && (preview || !self.no_lastrow());
        let _ = write!(self.buf, "{{\"preview\":{preview},\"offset\":{}", self.offset);
        if lastrow {
            self.buf.extend_from_slice(b",\"lastrow\":true");
        }
        self.buf.extend_from_slice(b",\"result\":{");
        let mut first = true;
        for (k, v) in &row.0 {
            if v.is_null() {
                continue;
            }
            if !first {
                self.buf.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut self.buf, k).unwrap();
            self.buf.push(b':');
            render(&mut self.buf, k, v, self.tz);
        }
        self.buf.extend_from_slice(b"}}\n");
        self.offset = if lastrow { 0 } else { self.offset + 1 };
        if preview {
            return true;
        }
        self.rows += 1;
        if self.buf.len() >= 64 << 10 {
            self.flush();
        }
        !self.stopped
    }

    /// Fires the row-count fault when its moment has come (before the next row is written);
    /// `false` when the stream must stop.
    fn trigger(&mut self) -> bool {
        if self.fired {
            return true;
        }
        match self.fault.clone() {
            Some(Fault::Cut { after }) if self.rows >= after => {
                self.fired = true;
                self.flush();
                // Let hyper write what was sent before the cut: an error from the body stream aborts the
                // connection at once, dropping whatever it had not written yet.
                let t = std::time::Instant::now();
                while self.tx.capacity() < self.tx.max_capacity() && t.elapsed() < Duration::from_secs(2) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(50));
                let _ = self
                    .tx
                    .blocking_send(Err(io::Error::new(io::ErrorKind::ConnectionReset, "emulated cut")));
                self.stopped = true;
                false
            }
            Some(Fault::Message { after, kind, text }) if self.rows >= after => {
                self.fired = true;
                self.message(&kind, &text);
                if kind == "FATAL" {
                    self.flush();
                    self.stopped = true;
                    return false;
                }
                true
            }
            _ => true,
        }
    }

    fn message(&mut self, kind: &str, text: &str) {
        self.buf.extend_from_slice(message_body(kind, text).as_bytes());
        self.buf.push(b'\n');
    }

    /// Ends the stream: the empty-result line when nothing was written; a fault whose row count was
    /// never reached fires at the end.
    fn finish(&mut self) {
        if self.stopped || !self.trigger() {
            return;
        }
        if self.rows == 0 && !self.no_lastrow() {
            self.buf.extend_from_slice(b"{\"preview\":false,\"lastrow\":true}\n");
        }
        self.flush();
    }
}

/// Writes an output field's value: strings, arrays of strings (one value: a string); `_time` as ISO
/// 8601 with an offset.
fn render(buf: &mut Vec<u8>, k: &str, v: &V, tz: i32) {
    let w = |buf: &mut Vec<u8>, s: &str| serde_json::to_writer(buf, s).unwrap();
    match v {
        V::Null => w(buf, ""),
        V::N(n) if k == "_time" => w(buf, &iso_time((n * 1000.0).round() as i64, tz)),
        V::N(n) => w(buf, &fmt_num(*n)),
        V::S(s) => w(buf, s),
        V::M(m) if m.len() == 1 => w(buf, &m[0]),
        V::M(m) => {
            buf.push(b'[');
            for (i, s) in m.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                w(buf, s);
            }
            buf.push(b']');
        }
    }
}

fn iso_time(ms: i64, tz_min: i32) -> String {
    let local = Timestamp(ms + i64::from(tz_min) * 60_000).to_string();
    // "2026-10-01T00:00:00Z" or "…00.250Z" → "2026-10-01T00:00:00.250+02:00"
    let base = &local[..19];
    let frac = ms.rem_euclid(1000);
    let sign = if tz_min < 0 { '-' } else { '+' };
    let a = tz_min.unsigned_abs();
    format!("{base}.{frac:03}{sign}{:02}:{:02}", a / 60, a % 60)
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

// ---------------------------------------------------------------------------------------------------
// Values and rows
// ---------------------------------------------------------------------------------------------------

/// A field value during evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    /// No value.
    Null,
    /// A string.
    S(String),
    /// A number.
    N(f64),
    /// A multivalue.
    M(Vec<String>),
}

impl V {
    fn strings(&self) -> Vec<String> {
        match self {
            V::Null => vec![],
            V::S(s) => vec![s.clone()],
            V::N(n) => vec![fmt_num(*n)],
            V::M(m) => m.clone(),
        }
    }
    fn num(&self) -> Option<f64> {
        match self {
            V::N(n) => Some(*n),
            V::S(s) => s.parse().ok(),
            V::M(m) => m.first()?.parse().ok(),
            V::Null => None,
        }
    }
    fn is_null(&self) -> bool {
        matches!(self, V::Null) || matches!(self, V::M(m) if m.is_empty())
    }
}

/// A result row: fields in order.
#[derive(Clone, Debug, Default)]
pub struct Row(pub Vec<(String, V)>);

impl Row {
    fn get(&self, k: &str) -> V {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or(V::Null)
    }
    fn set(&mut self, k: &str, v: V) {
        match self.0.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k.to_string(), v)),
        }
    }
    fn remove(&mut self, k: &str) {
        self.0.retain(|(n, _)| n != k);
    }
}

/// Every field name an event answers to (besides its extras), in output order.
const EVENT_FIELDS: &[&str] = &[
    "_time",
    "_indextime",
    "_raw",
    "index",
    "sourcetype",
    "host",
    "source",
    "clientip",
    "c_ip",
    "src",
    "method",
    "cs_method",
    "http_method",
    "uri",
    "url",
    "uri_path",
    "cs_uri_stem",
    "uri_query",
    "cs_uri_query",
    "status",
    "sc_status",
    "bytes",
    "sc_bytes",
    "useragent",
    "cs_User_Agent",
    "http_user_agent",
    "referer",
    "cs_Referer",
    "http_referrer",
    "cs_host",
    "site",
    "dest",
];

impl EmuEvent {
    /// The value of field `name`.
    pub fn field(&self, name: &str) -> V {
        let o = |v: &Option<String>| v.clone().map_or(V::Null, V::S);
        match name {
            "_time" => V::N(self.time_ms as f64 / 1000.0),
            "_indextime" => V::N(self.indextime as f64),
            "_raw" => V::S(self.raw.clone()),
            "index" => V::S(self.index.clone()),
            "sourcetype" => V::S(self.sourcetype.clone()),
            "host" => V::S(self.host.clone()),
            "source" => V::S(self.source.clone()),
            "clientip" | "c_ip" | "src" => o(&self.client),
            "method" | "cs_method" | "http_method" => o(&self.method),
            "uri_path" | "cs_uri_stem" => o(&self.path),
            "uri_query" | "cs_uri_query" => o(&self.query),
            "uri" | "url" => match (&self.path, &self.query) {
                (Some(p), Some(q)) => V::S(format!("{p}?{q}")),
                (Some(p), None) => V::S(p.clone()),
                _ => V::Null,
            },
            "status" | "sc_status" => o(&self.status),
            "bytes" | "sc_bytes" => o(&self.bytes),
            "useragent" | "cs_User_Agent" | "http_user_agent" => o(&self.user_agent),
            "referer" | "cs_Referer" | "http_referrer" => o(&self.referer),
            "cs_host" | "site" => o(&self.vhost),
            "dest" => V::S(self.vhost.clone().unwrap_or_else(|| self.host.clone())),
            other => self.extra.iter().find(|(k, _)| k == other).map_or(V::Null, |(_, v)| V::S(v.clone())),
        }
    }

    /// The event as a row: only `names` (plus `_time` and `_raw`) when given, else every field.
    fn to_row(&self, names: Option<&[String]>, cd: usize) -> Row {
        let mut r = Row(Vec::with_capacity(24));
        r.0.push(("_cd".into(), V::S(format!("0:{cd}"))));
        let mut push = |n: &str| {
            let v = self.field(n);
            if !v.is_null() && !r.0.iter().any(|(k, _)| k == n) {
                r.0.push((n.to_string(), v));
            }
        };
        match names {
            Some(ns) => {
                push("_time");
                push("_raw");
                for n in ns {
                    push(n);
                }
            }
            None => {
                for n in EVENT_FIELDS {
                    if *n != "_indextime" {
                        push(n);
                    }
                }
                for (k, _) in &self.extra {
                    push(k);
                }
            }
        }
        r
    }

    /// In the CIM Web data model: has a path.
    fn in_web_model(&self) -> bool {
        self.path.is_some()
    }

    /// A field as `tstats` sees it: `Web.x` from the data model, or a default indexed field.
    fn tstats_field(&self, name: &str) -> V {
        match name.strip_prefix("Web.") {
            Some(f) => self.field(f),
            None if matches!(name, "index" | "sourcetype" | "host" | "source" | "_time" | "_indextime") => {
                self.field(name)
            }
            None => V::Null,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// SPL: lexer, parser
// ---------------------------------------------------------------------------------------------------

/// A token of SPL.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// An unquoted word.
    Word(String),
    /// A "double-quoted" string, escapes undone.
    Str(String),
    /// A 'single-quoted' field name.
    Field(String),
    /// `|`
    Pipe,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `=`
    Eq,
    /// `!=`
    Ne,
}

/// Splits SPL into tokens, with Splunk's quoting: inside "…", `\"` and `\\` are escapes.
pub fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '=' => {
                out.push(Tok::Eq);
                i += 1;
                if cs.get(i) == Some(&'=') {
                    i += 1;
                }
            }
            '!' if cs.get(i + 1) == Some(&'=') => {
                out.push(Tok::Ne);
                i += 2;
            }
            '"' | '\'' => {
                let q = c;
                i += 1;
                let mut v = String::new();
                loop {
                    match cs.get(i) {
                        None => return Err("Unbalanced quotes.".into()),
                        Some('\\') if q == '"' && matches!(cs.get(i + 1), Some('"' | '\\')) => {
                            v.push(cs[i + 1]);
                            i += 2;
                        }
                        Some(&ch) if ch == q => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(if q == '"' { Tok::Str(v) } else { Tok::Field(v) });
            }
            _ => {
                let st = i;
                while i < cs.len() && in_word(&cs, i) {
                    i += 1;
                }
                out.push(Tok::Word(cs[st..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

/// True when `cs[i]` continues an unquoted word.
fn in_word(cs: &[char], i: usize) -> bool {
    let c = cs[i];
    let ends = c.is_whitespace()
        || matches!(c, '|' | '(' | ')' | ',' | '=' | '"' | '\'')
        || (c == '!' && cs.get(i + 1) == Some(&'='));
    !ends
}

/// A search term.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// `field=value` (`negate`: `!=`); `*` in the value is a wildcard.
    Field {
        /// The field.
        name: String,
        /// The pattern.
        value: String,
        /// `!=`.
        negate: bool,
    },
    /// A bare word, matched against `_raw`.
    Bare(String),
}

/// An aggregate function.
#[derive(Clone, Debug, PartialEq)]
pub enum Func {
    /// `count` / `count(f)`.
    Count,
    /// `dc(f)`.
    Dc,
    /// `min(f)`.
    Min,
    /// `max(f)`.
    Max,
    /// `sum(f)`.
    Sum,
    /// `values(f)`.
    Values,
}

/// One aggregate: function, field, output name.
#[derive(Clone, Debug, PartialEq)]
pub struct Agg {
    /// The function.
    pub func: Func,
    /// Its field (`None` for a bare `count`).
    pub field: Option<String>,
    /// The output column.
    pub name: String,
}

/// An eval expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A field reference.
    Field(String),
    /// A number literal.
    Num(f64),
    /// A string literal.
    Str(String),
    /// A function call.
    Call(String, Vec<Expr>),
}

/// A command of the pipeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    /// `search terms`.
    Search(Vec<Term>),
    /// `tstats … FROM datamodel=Web … BY …`.
    Tstats {
        /// Aggregates.
        aggs: Vec<Agg>,
        /// WHERE terms.
        filter: Vec<Term>,
        /// BY fields.
        by: Vec<String>,
        /// `fillnull_value`.
        fillnull: Option<String>,
    },
    /// `stats aggs BY fields`.
    Stats {
        /// Aggregates.
        aggs: Vec<Agg>,
        /// BY fields.
        by: Vec<String>,
    },
    /// `rename a AS b, …` (wildcards allowed).
    Rename(Vec<(String, String)>),
    /// `eval x=expr, …`.
    Eval(Vec<(String, Expr)>),
    /// `fields [-] names`.
    Fields {
        /// `fields -`.
        remove: bool,
        /// The names.
        names: Vec<String>,
    },
    /// `head N`.
    Head(usize),
}

/// Parses SPL into commands, or Splunk's error text.
pub fn parse_spl(spl: &str) -> Result<Vec<Cmd>, String> {
    let toks = lex(spl)?;
    let mut cmds: Vec<Vec<Tok>> = vec![vec![]];
    for t in toks {
        if t == Tok::Pipe {
            cmds.push(vec![]);
        } else {
            cmds.last_mut().unwrap().push(t);
        }
    }
    let leading_pipe = cmds[0].is_empty();
    if leading_pipe {
        cmds.remove(0);
    }
    let mut out = Vec::new();
    for (i, c) in cmds.iter().enumerate() {
        let Some(Tok::Word(name)) = c.first() else {
            return Err("Missing a search command before '|'.".into());
        };
        let lname = name.to_ascii_lowercase();
        let args = &c[1..];
        let cmd = match lname.as_str() {
            "search" => Cmd::Search(parse_terms(args, "search")?),
            "tstats" if i == 0 && leading_pipe => parse_tstats(args)?,
            "tstats" => {
                return Err(
                    "Error in 'tstats' command: This command must be the first command of a search.".into()
                );
            }
            "stats" => {
                let (aggs, rest) = parse_aggs(args, "stats")?;
                let by = match rest.first() {
                    None => vec![],
                    Some(Tok::Word(w)) if w.eq_ignore_ascii_case("by") => field_list(&rest[1..], "stats")?,
                    Some(t) => return Err(format!("Error in 'stats' command: unexpected {t:?}.")),
                };
                Cmd::Stats { aggs, by }
            }
            "rename" => Cmd::Rename(parse_rename(args)?),
            "eval" => Cmd::Eval(parse_eval(args)?),
            "fields" => {
                let (remove, rest) = match args.first() {
                    Some(Tok::Word(w)) if w == "-" => (true, &args[1..]),
                    Some(Tok::Word(w)) if w == "+" => (false, &args[1..]),
                    _ => (false, args),
                };
                Cmd::Fields { remove, names: field_list(rest, "fields")? }
            }
            "head" => match args {
                [] => Cmd::Head(10),
                [Tok::Word(n)] => {
                    Cmd::Head(n.parse().map_err(|_| "Error in 'head' command: Invalid argument.")?)
                }
                _ => return Err("Error in 'head' command: Invalid argument.".into()),
            },
            _ => return Err(format!("Unknown search command '{lname}'.")),
        };
        if i == 0 && !leading_pipe && !matches!(cmd, Cmd::Search(_)) {
            return Err(format!("Unknown search command '{name}'."));
        }
        if i == 0 && leading_pipe && !matches!(cmd, Cmd::Tstats { .. }) {
            return Err(format!(
                "Error in '{lname}' command: This command must not be the first command of a search."
            ));
        }
        out.push(cmd);
    }
    if out.is_empty() {
        return Err("Empty search.".into());
    }
    Ok(out)
}

fn tok_text(t: &Tok) -> Option<&str> {
    match t {
        Tok::Word(s) | Tok::Str(s) | Tok::Field(s) => Some(s),
        _ => None,
    }
}

fn parse_terms(args: &[Tok], cmd: &str) -> Result<Vec<Term>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = &args[i];
        if let Tok::Word(w) = t
            && matches!(w.to_ascii_uppercase().as_str(), "OR" | "NOT")
        {
            return Err(format!("Error in '{cmd}' command: the emulator does not support {w}."));
        }
        if let Tok::Word(w) = t
            && w.eq_ignore_ascii_case("AND")
        {
            i += 1;
            continue;
        }
        match (t, args.get(i + 1)) {
            (Tok::Word(name), Some(op @ (Tok::Eq | Tok::Ne))) => {
                let value = args
                    .get(i + 2)
                    .and_then(tok_text)
                    .ok_or_else(|| format!("Error in '{cmd}' command: missing value after '{name}'."))?;
                if matches!(name.as_str(), "earliest" | "latest" | "_index_earliest" | "_index_latest") {
                    return Err(format!(
                        "Error in '{cmd}' command: the emulator takes time bounds as parameters only."
                    ));
                }
                out.push(Term::Field {
                    name: name.clone(),
                    value: value.to_string(),
                    negate: *op == Tok::Ne,
                });
                i += 3;
            }
            (Tok::Word(w) | Tok::Str(w), _) => {
                out.push(Term::Bare(w.clone()));
                i += 1;
            }
            (other, _) => return Err(format!("Error in '{cmd}' command: unexpected {other:?}.")),
        }
    }
    Ok(out)
}

fn field_list(args: &[Tok], cmd: &str) -> Result<Vec<String>, String> {
    let mut v = Vec::new();
    for t in args {
        match t {
            Tok::Comma => {}
            Tok::Word(w) | Tok::Str(w) | Tok::Field(w) => v.push(w.clone()),
            other => return Err(format!("Error in '{cmd}' command: unexpected {other:?}.")),
        }
    }
    if v.is_empty() {
        return Err(format!("Error in '{cmd}' command: no fields given."));
    }
    Ok(v)
}

/// Parses aggregates up to `BY`/`FROM`/`WHERE` (case-insensitive); returns the rest.
fn parse_aggs<'t>(args: &'t [Tok], cmd: &str) -> Result<(Vec<Agg>, &'t [Tok]), String> {
    let mut aggs = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let Tok::Word(w) = &args[i] else {
            return Err(format!("Error in '{cmd}' command: unexpected {:?}.", args[i]));
        };
        let lw = w.to_ascii_lowercase();
        if matches!(lw.as_str(), "by" | "from" | "where") {
            break;
        }
        let func = match lw.as_str() {
            "count" => Func::Count,
            "dc" | "distinct_count" => Func::Dc,
            "min" => Func::Min,
            "max" => Func::Max,
            "sum" => Func::Sum,
            "values" => Func::Values,
            _ => return Err(format!("Error in '{cmd}' command: The argument '{w}' is invalid.")),
        };
        i += 1;
        let mut field = None;
        if args.get(i) == Some(&Tok::LParen) {
            match (args.get(i + 1).and_then(tok_text), args.get(i + 2)) {
                (Some(f), Some(Tok::RParen)) => field = Some(f.to_string()),
                _ => return Err(format!("Error in '{cmd}' command: bad argument to {w}.")),
            }
            i += 3;
        } else if func != Func::Count {
            return Err(format!("Error in '{cmd}' command: {w} needs a field."));
        }
        let mut name = match &field {
            Some(f) => format!("{lw}({f})"),
            None => lw.clone(),
        };
        if let Some(Tok::Word(a)) = args.get(i)
            && a.eq_ignore_ascii_case("as")
        {
            name = args
                .get(i + 1)
                .and_then(tok_text)
                .ok_or(format!("Error in '{cmd}' command: AS needs a name."))?
                .into();
            i += 2;
        }
        if args.get(i) == Some(&Tok::Comma) {
            i += 1;
        }
        aggs.push(Agg { func, field, name });
    }
    if aggs.is_empty() {
        return Err(format!("Error in '{cmd}' command: no aggregate given."));
    }
    Ok((aggs, &args[i..]))
}

fn parse_tstats(args: &[Tok]) -> Result<Cmd, String> {
    let mut i = 0;
    let mut fillnull = None;
    // Options: name=value before the aggregates.
    while let (Some(Tok::Word(k)), Some(Tok::Eq), Some(v)) = (args.get(i), args.get(i + 1), args.get(i + 2)) {
        let v = tok_text(v).ok_or("Error in 'tstats' command: bad option value.")?;
        match k.as_str() {
            "summariesonly" | "allow_old_summaries" => {}
            "fillnull_value" => fillnull = Some(v.to_string()),
            _ => return Err(format!("Error in 'tstats' command: unsupported option '{k}'.")),
        }
        i += 3;
    }
    let (aggs, rest) = parse_aggs(&args[i..], "tstats")?;
    let mut rest = rest;
    match rest {
        [Tok::Word(f), Tok::Word(dm), Tok::Eq, Tok::Word(model), more @ ..]
            if f.eq_ignore_ascii_case("from") && dm == "datamodel" =>
        {
            if model != "Web" && model != "Web.Web" {
                return Err(format!(
                    "Error in 'tstats' command: the emulator only has the Web data model, not {model}."
                ));
            }
            rest = more;
        }
        _ => return Err("Error in 'tstats' command: expected FROM datamodel=Web.Web.".into()),
    }
    let by_pos = rest.iter().position(|t| matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case("by")));
    let (before_by, by) = match by_pos {
        Some(p) => (&rest[..p], field_list(&rest[p + 1..], "tstats")?),
        None => (rest, vec![]),
    };
    let filter = match before_by {
        [] => vec![],
        [Tok::Word(w), terms @ ..] if w.eq_ignore_ascii_case("where") => parse_terms(terms, "tstats")?,
        _ => return Err("Error in 'tstats' command: expected WHERE or BY.".into()),
    };
    Ok(Cmd::Tstats { aggs, filter, by, fillnull })
}

fn parse_rename(args: &[Tok]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if args[i] == Tok::Comma {
            i += 1;
            continue;
        }
        match (args.get(i).and_then(tok_text), args.get(i + 1), args.get(i + 2).and_then(tok_text)) {
            (Some(a), Some(Tok::Word(as_)), Some(b)) if as_.eq_ignore_ascii_case("as") => {
                if a.matches('*').count() != b.matches('*').count() || a.matches('*').count() > 1 {
                    return Err("Error in 'rename' command: Wildcard mismatch.".into());
                }
                out.push((a.to_string(), b.to_string()));
                i += 3;
            }
            _ => return Err("Error in 'rename' command: Usage: rename [old_name AS new_name]+".into()),
        }
    }
    if out.is_empty() {
        return Err("Error in 'rename' command: Usage: rename [old_name AS new_name]+".into());
    }
    Ok(out)
}

fn parse_eval(args: &[Tok]) -> Result<Vec<(String, Expr)>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let name = match (args.get(i), args.get(i + 1)) {
            (Some(Tok::Word(n) | Tok::Field(n)), Some(Tok::Eq)) => n.clone(),
            _ => return Err("Error in 'eval' command: The expression is malformed.".into()),
        };
        i += 2;
        let (e, next) = parse_expr(args, i)?;
        out.push((name, e));
        i = next;
        match args.get(i) {
            None => {}
            Some(Tok::Comma) => i += 1,
            Some(_) => return Err("Error in 'eval' command: The expression is malformed.".into()),
        }
    }
    if out.is_empty() {
        return Err("Error in 'eval' command: The expression is malformed.".into());
    }
    Ok(out)
}

fn parse_expr(t: &[Tok], i: usize) -> Result<(Expr, usize), String> {
    let malformed = || "Error in 'eval' command: The expression is malformed.".to_string();
    match t.get(i) {
        Some(Tok::Word(w)) if t.get(i + 1) == Some(&Tok::LParen) => {
            let f = w.to_ascii_lowercase();
            if !matches!(f.as_str(), "round" | "mvindex" | "coalesce") {
                return Err(format!(
                    "Error in 'eval' command: The '{w}' function is unsupported or undefined."
                ));
            }
            let mut j = i + 2;
            let mut args = Vec::new();
            if t.get(j) == Some(&Tok::RParen) {
                return Err(malformed());
            }
            loop {
                let (e, n) = parse_expr(t, j)?;
                args.push(e);
                match t.get(n) {
                    Some(Tok::Comma) => j = n + 1,
                    Some(Tok::RParen) => {
                        j = n + 1;
                        break;
                    }
                    _ => return Err(malformed()),
                }
            }
            Ok((Expr::Call(f, args), j))
        }
        Some(Tok::Word(w)) => match w.parse::<f64>() {
            Ok(n) => Ok((Expr::Num(n), i + 1)),
            Err(_) => Ok((Expr::Field(w.clone()), i + 1)),
        },
        Some(Tok::Field(f)) => Ok((Expr::Field(f.clone()), i + 1)),
        Some(Tok::Str(s)) => Ok((Expr::Str(s.clone()), i + 1)),
        _ => Err(malformed()),
    }
}

// ---------------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------------

/// `*` wildcards, ASCII case-insensitive (how search terms match values).
fn glob(pat: &str, s: &str) -> bool {
    wild(pat.as_bytes(), s.as_bytes(), |a, b| a.eq_ignore_ascii_case(&b))
}

/// `*` wildcards, case-sensitive (how field names match in `fields`).
fn glob_field(pat: &str, s: &str) -> bool {
    if !pat.contains('*') {
        return pat == s;
    }
    wild(pat.as_bytes(), s.as_bytes(), |a, b| a == b)
}

/// Wildcard matching without allocation: the classic two-pointer walk that backtracks to the last `*`.
fn wild(p: &[u8], s: &[u8], eq: impl Fn(u8, u8) -> bool) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && eq(p[pi], s[si]) {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn term_matches(t: &Term, get: &dyn Fn(&str) -> V) -> bool {
    match t {
        Term::Field { name, value, negate } => {
            let vals = get(name).strings();
            let hit = if value == "*" { !vals.is_empty() } else { vals.iter().any(|v| glob(value, v)) };
            hit != *negate
        }
        Term::Bare(w) => {
            if w == "*" {
                return true;
            }
            get("_raw").strings().iter().any(|r| glob(&format!("*{w}*"), r))
        }
    }
}

struct AggState {
    count: u64,
    set: std::collections::BTreeSet<String>,
    min: Option<V>,
    max: Option<V>,
    sum: f64,
}

fn cmp_v(a: &V, b: &V) -> std::cmp::Ordering {
    match (a.num(), b.num()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.strings().cmp(&b.strings()),
    }
}

/// Something `stats`/`tstats` can read fields from.
trait Fields {
    fn value(&self, k: &str) -> V;
}

impl Fields for Row {
    fn value(&self, k: &str) -> V {
        self.get(k)
    }
}

/// An event as `tstats` sees it.
struct TstatsView<'e>(&'e EmuEvent);

impl Fields for TstatsView<'_> {
    fn value(&self, k: &str) -> V {
        self.0.tstats_field(k)
    }
}

fn aggregate<T: Fields>(
    rows: impl Iterator<Item = T>,
    aggs: &[Agg],
    by: &[String],
    fill: Option<&str>,
) -> Vec<Row> {
    let mut groups: BTreeMap<Vec<String>, Vec<AggState>> = BTreeMap::new();
    for row in rows {
        let mut key = Vec::with_capacity(by.len());
        let mut skip = false;
        for b in by {
            match row.value(b).strings().into_iter().next() {
                Some(v) => key.push(v),
                None => match fill {
                    Some(f) => key.push(f.to_string()),
                    None => {
                        skip = true;
                        break;
                    }
                },
            }
        }
        if skip {
            continue;
        }
        let states = groups.entry(key).or_insert_with(|| {
            aggs.iter()
                .map(|_| AggState { count: 0, set: Default::default(), min: None, max: None, sum: 0.0 })
                .collect()
        });
        for (a, st) in aggs.iter().zip(states.iter_mut()) {
            let v = match &a.field {
                None => {
                    st.count += 1;
                    continue;
                }
                Some(f) => row.value(f),
            };
            if v.is_null() {
                continue;
            }
            st.count += 1;
            match a.func {
                Func::Dc | Func::Values => st.set.extend(v.strings()),
                Func::Min => {
                    if st.min.as_ref().is_none_or(|m| cmp_v(&v, m).is_lt()) {
                        st.min = Some(v);
                    }
                }
                Func::Max => {
                    if st.max.as_ref().is_none_or(|m| cmp_v(&v, m).is_gt()) {
                        st.max = Some(v);
                    }
                }
                Func::Sum => st.sum += v.num().unwrap_or(0.0),
                Func::Count => {}
            }
        }
    }
    if groups.is_empty() && by.is_empty() {
        groups.insert(
            vec![],
            aggs.iter()
                .map(|_| AggState { count: 0, set: Default::default(), min: None, max: None, sum: 0.0 })
                .collect(),
        );
    }
    groups
        .into_iter()
        .map(|(key, states)| {
            let mut r = Row(Vec::new());
            for (b, k) in by.iter().zip(key) {
                r.set(b, V::S(k));
            }
            for (a, st) in aggs.iter().zip(states) {
                let v = match a.func {
                    Func::Count => V::N(st.count as f64),
                    Func::Dc => V::N(st.set.len() as f64),
                    Func::Values => V::M(st.set.into_iter().collect()),
                    Func::Min => st.min.unwrap_or(V::Null),
                    Func::Max => st.max.unwrap_or(V::Null),
                    Func::Sum => V::N(st.sum),
                };
                r.set(&a.name, v);
            }
            r
        })
        .collect()
}

fn eval_expr(e: &Expr, row: &Row) -> V {
    match e {
        Expr::Field(f) => row.get(f),
        Expr::Num(n) => V::N(*n),
        Expr::Str(s) => V::S(s.clone()),
        Expr::Call(f, args) => {
            let a: Vec<V> = args.iter().map(|x| eval_expr(x, row)).collect();
            match f.as_str() {
                "coalesce" => a.into_iter().find(|v| !v.is_null()).unwrap_or(V::Null),
                "round" => {
                    let digits = a.get(1).and_then(V::num).unwrap_or(0.0) as i32;
                    match a.first().and_then(V::num) {
                        Some(x) => {
                            let p = 10f64.powi(digits);
                            V::N((x * p).round() / p)
                        }
                        None => V::Null,
                    }
                }
                "mvindex" => {
                    let vals = a.first().map(V::strings).unwrap_or_default();
                    let n = vals.len() as i64;
                    let idx = |v: Option<&V>| {
                        v.and_then(V::num).map(|x| x as i64).map(|x| if x < 0 { n + x } else { x })
                    };
                    let (Some(s), e) = (idx(a.get(1)), idx(a.get(2))) else { return V::Null };
                    let e = e.unwrap_or(s).min(n - 1);
                    if s < 0 || s >= n || e < s {
                        return V::Null;
                    }
                    let out: Vec<String> = vals[s as usize..=e as usize].to_vec();
                    if out.len() == 1 { V::S(out[0].clone()) } else { V::M(out) }
                }
                _ => V::Null,
            }
        }
    }
}

/// Applies a streaming command to one row; `false` drops the row.
fn apply(cmd: &Cmd, row: &mut Row) -> bool {
    match cmd {
        Cmd::Search(terms) => {
            let get = |k: &str| row.get(k);
            terms.iter().all(|t| term_matches(t, &get))
        }
        Cmd::Rename(pairs) => {
            for (from, to) in pairs {
                match from.split_once('*') {
                    None => {
                        if let Some(i) = row.0.iter().position(|(k, _)| k == from) {
                            let v = row.0.remove(i).1;
                            row.remove(to);
                            row.0.push((to.clone(), v));
                        }
                    }
                    Some((pre, suf)) => {
                        let (tpre, tsuf) = to.split_once('*').unwrap_or((to, ""));
                        let mut renamed = Vec::new();
                        row.0.retain(|(k, v)| {
                            if k.len() >= pre.len() + suf.len() && k.starts_with(pre) && k.ends_with(suf) {
                                let mid = &k[pre.len()..k.len() - suf.len()];
                                renamed.push((format!("{tpre}{mid}{tsuf}"), v.clone()));
                                false
                            } else {
                                true
                            }
                        });
                        for (k, v) in renamed {
                            row.set(&k, v);
                        }
                    }
                }
            }
            true
        }
        Cmd::Eval(assigns) => {
            for (name, e) in assigns {
                let v = eval_expr(e, row);
                row.set(name, v);
            }
            true
        }
        Cmd::Fields { remove: true, names } => {
            row.0.retain(|(k, _)| !names.iter().any(|n| glob_field(n, k)));
            true
        }
        Cmd::Fields { remove: false, names } => {
            row.0.retain(|(k, _)| k.starts_with('_') || names.iter().any(|n| glob_field(n, k)));
            true
        }
        Cmd::Head(_) | Cmd::Stats { .. } | Cmd::Tstats { .. } => true,
    }
}

/// Field names the pipeline mentions, to materialise only those (None: every field).
fn needed_fields(cmds: &[Cmd]) -> Option<Vec<String>> {
    let mut v: Vec<String> = Vec::new();
    let mut narrowing = false;
    for c in cmds {
        match c {
            Cmd::Search(ts) => {
                for t in ts {
                    if let Term::Field { name, .. } = t {
                        v.push(name.clone());
                    }
                }
            }
            Cmd::Stats { aggs, by } => {
                narrowing = true;
                v.extend(aggs.iter().filter_map(|a| a.field.clone()));
                v.extend(by.iter().cloned());
                break;
            }
            Cmd::Fields { remove: false, names } => {
                narrowing = !names.iter().any(|n| n.contains('*'));
                v.extend(names.iter().cloned());
                break;
            }
            Cmd::Eval(a) => {
                fn refs(e: &Expr, v: &mut Vec<String>) {
                    match e {
                        Expr::Field(f) => v.push(f.clone()),
                        Expr::Call(_, args) => args.iter().for_each(|a| refs(a, v)),
                        _ => {}
                    }
                }
                for (_, e) in a {
                    refs(e, &mut v);
                }
            }
            Cmd::Rename(pairs) => v.extend(pairs.iter().map(|(a, _)| a.clone())),
            _ => {}
        }
    }
    narrowing.then_some(v)
}

fn produce(cmds: &[Cmd], events: &[EmuEvent], bounds: &Bounds, out: &mut Out) {
    let fault = out.fault.clone();
    // Where the first transforming command is.
    let transform = cmds.iter().position(|c| matches!(c, Cmd::Stats { .. } | Cmd::Tstats { .. }));
    let Some(ti) = transform else {
        // Streaming: events newest first, one row each, with a one-row look-ahead for lastrow.
        let names = needed_fields(cmds);
        let mut pending: Option<Row> = None;
        let mut limit = cmds.iter().filter_map(|c| if let Cmd::Head(n) = c { Some(*n) } else { None }).min();
        for (cd, e) in events.iter().enumerate().rev() {
            if !bounds.contains(e) {
                continue;
            }
            if let Cmd::Search(terms) = &cmds[0]
                && !terms.iter().all(|t| term_matches(t, &|k| e.field(k)))
            {
                continue;
            }
            let mut row = e.to_row(names.as_deref(), cd);
            if !cmds[1..].iter().all(|c| apply(c, &mut row)) {
                continue;
            }
            if limit == Some(0) {
                break;
            }
            limit = limit.map(|l| l - 1);
            if let Some(p) = pending.replace(row)
                && !out.row(&p, false, false)
            {
                return;
            }
        }
        if let Some(p) = pending
            && !out.row(&p, false, true)
        {
            return;
        }
        out.finish();
        return;
    };
    let run = |events: &[EmuEvent]| -> Vec<Row> {
        let mut rows = match &cmds[ti] {
            Cmd::Tstats { aggs, filter, by, fillnull } => {
                let view = events
                    .iter()
                    .filter(|e| bounds.contains(e) && e.in_web_model())
                    .filter(|e| filter.iter().all(|t| term_matches(t, &|k| e.tstats_field(k))))
                    .map(TstatsView);
                aggregate(view, aggs, by, fillnull.as_deref())
            }
            Cmd::Stats { aggs, by } => {
                let names = needed_fields(cmds);
                let rows: Vec<Row> = events
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| bounds.contains(e))
                    .filter(|(_, e)| match &cmds[0] {
                        Cmd::Search(terms) => terms.iter().all(|t| term_matches(t, &|k| e.field(k))),
                        _ => true,
                    })
                    .filter_map(|(cd, e)| {
                        let mut r = e.to_row(names.as_deref(), cd);
                        cmds[1..ti].iter().all(|c| apply(c, &mut r)).then_some(r)
                    })
                    .collect();
                aggregate(rows.into_iter(), aggs, by, None)
            }
            _ => unreachable!(),
        };
        // Everything after the transforming command runs on its rows.
        for c in &cmds[ti + 1..] {
            match c {
                Cmd::Stats { aggs, by } => {
                    rows = aggregate(std::mem::take(&mut rows).into_iter(), aggs, by, None);
                }
                Cmd::Head(n) => rows.truncate(*n),
                c => rows.retain_mut(|r| apply(c, r)),
            }
        }
        rows
    };
    if fault == Some(Fault::Preview) {
        let half = &events[..events.len() / 2];
        let preview = run(half);
        let n = preview.len();
        for (i, r) in preview.iter().enumerate() {
            if !out.row(r, true, i + 1 == n) {
                return;
            }
        }
        out.flush();
    }
    let rows = run(events);
    let n = rows.len();
    for (i, r) in rows.iter().enumerate() {
        if !out.row(r, false, i + 1 == n) {
            return;
        }
    }
    out.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(glob("ms:iis:*", "MS:IIS:auto"));
        assert!(glob("*.php", "/a/b.PHP") && !glob("*.php", "/a/b.php5"));
        assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxbyy"));
        assert!(glob("*", "") && glob("", "") && !glob("", "x"));
        assert!(glob_field("Web.*", "Web.src") && !glob_field("uri_path", "URI_PATH"));
    }

    #[test]
    fn lexer_keeps_hostile_values_inside_quotes() {
        let t = lex(r#"search index="a\" | delete \\" x=*"#).unwrap();
        assert_eq!(
            t,
            [
                Tok::Word("search".into()),
                Tok::Word("index".into()),
                Tok::Eq,
                Tok::Str(r#"a" | delete \"#.into()),
                Tok::Word("x".into()),
                Tok::Eq,
                Tok::Word("*".into())
            ]
        );
    }
}
