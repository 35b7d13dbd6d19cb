//! An emulator of the ThreatQ REST API, on 127.0.0.1, in-process, for tests and for trying `tq-push` by
//! hand (`cargo run --example threatq-emulator`).
//!
//! Written from `reference/threatq-api.md` (what shipped client code sends and reads). It serves plain HTTP
//! on an ephemeral port from a thread of its own, and gives the test a handle to change its behaviour,
//! inject faults, and inspect what it holds. Ids deliberately differ from ThreatQ's usual defaults (the
//! "URL Path" type is 191, not 31; Whitelisted is 15, not 5), type lists are longer than the default page
//! size (25), and the instance has a custom "Legitimate" status and an exported custom "Deploy" status.
//!
//! Behaviours the reference leaves open are switches in [`Config`]:
//! * creating an indicator that exists ([`Existing`]): upsert (status overwritten), keep a protected status
//!   (ThreatQ's documented rule for insertions), or 409 Conflict on `POST /api/indicators`;
//! * whether `POST /api/indicators/consume` exists;
//! * `POST /api/indicators/query` ([`Query`]): answered in full, without the `with=` expansions (core
//!   fields only, as XSOAR's client assumes when it reads each hit again), with the criteria ignored (every
//!   indicator), or absent (404). Its value match is case-insensitive (Polarity's client compares in lower
//!   case), so a client must keep the exact matches itself;
//! * the token's lifetime, enforced, and a number of uses after which the server drops it early (401);
//! * empty type and status lists (a non-admin account), the default page size;
//! * a server rule that silently keeps statuses on writes to existing indicators (`PUT` and consume), or
//!   forces a status on every write.
//!
//! Faults ([`Fault`]) apply to the Nth and later requests matching a method and a path prefix: an HTTP
//! status instead of processing (500, 429, …), a 200 whose body carries `errors`, a delay after
//! processing (the write happened, the reply is late), or a hold after processing until
//! [`Emulator::release`] (to kill the client while the server has done the write but not answered).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

/// The OAuth client id the emulator accepts.
pub const CLIENT_ID: &str = "emu-client-7f3a";
/// The account's email.
pub const EMAIL: &str = "svc-tqpush@example.org";
/// The account's password: tests check that it never appears in tq-push's output.
pub const PASSWORD: &str = "s3cret-Pa55word!";
/// The client secret (client-credentials grant).
pub const CLIENT_SECRET: &str = "emu-client-secret-91c2";

/// What creating an indicator that already exists does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// The existing record is returned, its status overwritten by the one sent.
    Upsert,
    /// The existing record is returned; a protected status (Whitelisted, Legitimate) is kept.
    KeepProtected,
    /// `POST /api/indicators` answers 409 (consume behaves as `KeepProtected`).
    Conflict,
}

/// What `POST /api/indicators/query` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// Criteria and filters honoured, `with=` expanded.
    Full,
    /// Criteria and filters honoured, `with=` ignored: core fields only.
    NoExpand,
    /// Criteria and filters ignored: every indicator, page by page.
    IgnoreCriteria,
    /// 404.
    Absent,
}

/// Switchable behaviour.
#[derive(Debug, Clone)]
pub struct Config {
    pub existing: Existing,
    /// Whether `POST /api/indicators/consume` exists (404 otherwise).
    pub consume: bool,
    /// What `POST /api/indicators/query` does.
    pub query: Query,
    /// `expires_in` of new tokens, in seconds, enforced.
    pub token_ttl: f64,
    /// The server drops a token after this many uses (the client sees a 401 it did not expect).
    pub token_max_uses: Option<u32>,
    /// `/api/token` answers 307 to `/api/token-moved`.
    pub token_redirect: bool,
    /// Page size when the request gives no `limit`.
    pub default_limit: usize,
    /// The type, status and event-type lists come back empty (a non-admin account).
    pub hide_lists: bool,
    /// Writes to an existing indicator (`PUT /api/indicators/{id}`, consume) answer 200 but keep its
    /// status.
    pub ignore_status_updates: bool,
    /// A server rule that sets this status (by name) on every create and status change.
    pub force_status: Option<String>,
    /// Time each request waits before it is answered (a real instance's 20-50 ms), for benchmarks.
    pub latency: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            existing: Existing::KeepProtected,
            consume: true,
            query: Query::Full,
            token_ttl: 3600.0,
            token_max_uses: None,
            token_redirect: false,
            default_limit: 25,
            hide_lists: false,
            ignore_status_updates: false,
            force_status: None,
            latency: Duration::ZERO,
        }
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer with this status and a JSON message, without processing the request.
    Status(u16),
    /// Answer 200 with `{"data":[],"errors":[…]}`, without processing the request.
    ErrorsIn2xx,
    /// Answer 200 with an HTML page (a captive proxy's or a single-sign-on login page), not JSON.
    Html,
    /// Process the request, then wait this long before answering.
    Delay(Duration),
    /// Process the request, then wait for [`Emulator::release`].
    Hold,
}

/// A fault on the requests matching `method` (any when `None`) and the path prefix `path`: the first
/// `skip` matching requests pass, the next `times` get the fault.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Option<String>,
    pub path: String,
    pub skip: usize,
    pub times: usize,
    pub kind: FaultKind,
    seen: usize,
}

impl Fault {
    pub fn new(method: Option<&str>, path: &str, skip: usize, times: usize, kind: FaultKind) -> Self {
        Fault { method: method.map(str::to_string), path: path.to_string(), skip, times, kind, seen: 0 }
    }
}

/// One request as the emulator saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
}

#[derive(Debug, Clone)]
struct StatusRow {
    id: u64,
    name: String,
    include_in_export: bool,
    protected: bool,
}

#[derive(Debug, Clone)]
struct Attr {
    id: u64,
    name: String,
    value: String,
}

#[derive(Debug, Clone)]
struct Ind {
    id: u64,
    value: String,
    type_id: u64,
    status_id: u64,
    description: String,
    sources: BTreeSet<String>,
    attributes: Vec<Attr>,
    manual_score: Option<u64>,
}

#[derive(Debug, Clone)]
struct Ev {
    id: u64,
    title: String,
    type_id: u64,
    happened_at: String,
    description: String,
    sources: BTreeSet<String>,
    attributes: Vec<Attr>,
}

struct TokenRow {
    expires: Instant,
    uses: u32,
}

struct Inner {
    config: Config,
    faults: Vec<Fault>,
    types: Vec<(u64, String)>,
    statuses: Vec<StatusRow>,
    event_types: Vec<(u64, String)>,
    indicators: BTreeMap<u64, Ind>,
    /// Indicator ids by lower-cased value, so that lookups stay fast at a site's scale (100,000).
    by_value: HashMap<String, Vec<u64>>,
    events: BTreeMap<u64, Ev>,
    links: BTreeSet<(u64, u64)>,
    next_id: u64,
    tokens: HashMap<String, TokenRow>,
    tokens_issued: u32,
    rejected: u32,
    held: usize,
    log: Vec<Logged>,
}

const TYPE_NAMES: &[&str] = &[
    "ASN",
    "Binary String",
    "CIDR Block",
    "CVE",
    "Email Address",
    "Email Attachment",
    "Email Subject",
    "File Mapping",
    "File Path",
    "Filename",
    "FQDN",
    "Fuzzy Hash",
    "GOST Hash",
    "Hash ION",
    "IP Address",
    "IPv6 Address",
    "MAC Address",
    "MD5",
    "Mutex",
    "Password",
    "Registry Key",
    "Service Name",
    "SHA-1",
    "SHA-256",
    "SHA-384",
    "SHA-512",
    "String",
    "x509 Serial",
    "x509 Subject",
    "URL",
    "URL Path",
    "User-agent",
    "Username",
    "X-Mailer",
];

const EVENT_TYPES: &[&str] = &[
    "Spearphish",
    "Watering Hole",
    "SQL Injection Attack",
    "DoS Attack",
    "Malware",
    "Watchlist",
    "Command and Control",
    "Anonymization",
    "Exfiltration",
    "Host Characteristics",
    "Compromised PKI Certificate",
    "Login Compromise",
    "Incident",
    "Sighting",
];

impl Inner {
    fn new(config: Config) -> Self {
        let types = TYPE_NAMES.iter().enumerate().map(|(i, n)| (101 + 3 * i as u64, n.to_string())).collect();
        let st = |id, name: &str, export, protected| StatusRow {
            id,
            name: name.to_string(),
            include_in_export: export,
            protected,
        };
        let statuses = vec![
            st(11, "Active", true, false),
            st(12, "Expired", true, false),
            st(13, "Indirect", false, false),
            st(14, "Review", false, false),
            st(15, "Whitelisted", false, true),
            st(21, "Legitimate", false, true),
            st(22, "Deploy", true, false),
        ];
        let event_types =
            EVENT_TYPES.iter().enumerate().map(|(i, n)| (201 + i as u64, n.to_string())).collect();
        Inner {
            config,
            faults: vec![],
            types,
            statuses,
            event_types,
            indicators: BTreeMap::new(),
            by_value: HashMap::new(),
            events: BTreeMap::new(),
            links: BTreeSet::new(),
            next_id: 1000,
            tokens: HashMap::new(),
            tokens_issued: 0,
            rejected: 0,
            held: 0,
            log: vec![],
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn insert_indicator(&mut self, ind: Ind) {
        self.by_value.entry(ind.value.to_lowercase()).or_default().push(ind.id);
        self.indicators.insert(ind.id, ind);
    }

    /// The ids of indicators whose value is `value` ignoring case, in id order.
    fn ids_of_value(&self, value: &str) -> Vec<u64> {
        let mut ids = self.by_value.get(&value.to_lowercase()).cloned().unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    fn status_name(&self, id: u64) -> String {
        self.statuses.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or_else(|| format!("#{id}"))
    }

    fn status_by_name(&self, name: &str) -> Option<u64> {
        self.statuses.iter().find(|s| s.name.eq_ignore_ascii_case(name)).map(|s| s.id)
    }

    fn type_name(&self, id: u64) -> String {
        self.types.iter().find(|t| t.0 == id).map(|t| t.1.clone()).unwrap_or_else(|| format!("#{id}"))
    }

    fn event_type_name(&self, id: u64) -> String {
        self.event_types.iter().find(|t| t.0 == id).map(|t| t.1.clone()).unwrap_or_else(|| format!("#{id}"))
    }

    fn protected(&self, status: u64) -> bool {
        self.statuses.iter().any(|s| s.id == status && s.protected)
    }

    fn forced(&self, status: u64) -> u64 {
        self.config.force_status.as_deref().and_then(|n| self.status_by_name(n)).unwrap_or(status)
    }

    fn indicator_json(&self, i: &Ind) -> Value {
        json!({
            "id": i.id, "value": i.value, "type_id": i.type_id, "status_id": i.status_id,
            "type": {"id": i.type_id, "name": self.type_name(i.type_id)},
            "status": {"id": i.status_id, "name": self.status_name(i.status_id)},
            "description": i.description,
            "sources": i.sources.iter().enumerate().map(|(n, s)| json!({"name": s, "pivot": {"id": n + 1}}))
                .collect::<Vec<_>>(),
            "attributes": i.attributes.iter().map(|a| json!({"id": a.id, "name": a.name, "value": a.value}))
                .collect::<Vec<_>>(),
            "score": {"manual_score": i.manual_score, "generated_score": 0},
        })
    }

    /// The core fields, and those of `with` (`type`, `status`, `attributes`, `sources`, `score`).
    fn indicator_with(&self, i: &Ind, with: &[&str]) -> Value {
        let full = self.indicator_json(i);
        let mut v = json!({
            "id": i.id, "value": i.value, "type_id": i.type_id, "status_id": i.status_id,
            "description": i.description,
        });
        for w in with {
            if let Some(x) = full.get(*w) {
                v[*w] = x.clone();
            }
        }
        v
    }

    fn event_json(&self, e: &Ev) -> Value {
        json!({
            "id": e.id, "title": e.title, "type_id": e.type_id, "happened_at": e.happened_at,
            "type": {"id": e.type_id, "name": self.event_type_name(e.type_id)},
            "description": e.description,
            "sources": e.sources.iter().map(|s| json!({"name": s})).collect::<Vec<_>>(),
            "attributes": e.attributes.iter().map(|a| json!({"id": a.id, "name": a.name, "value": a.value}))
                .collect::<Vec<_>>(),
        })
    }

    /// The store without ids or times: what two runs must agree on.
    fn snapshot(&self) -> Value {
        let mut inds: Vec<Value> = self
            .indicators
            .values()
            .map(|i| {
                let mut attrs: Vec<(String, String)> =
                    i.attributes.iter().map(|a| (a.name.clone(), a.value.clone())).collect();
                attrs.sort();
                json!({
                    "value": i.value, "type": self.type_name(i.type_id),
                    "status": self.status_name(i.status_id),
                    "description": i.description, "sources": i.sources, "attributes": attrs,
                    "score": i.manual_score,
                })
            })
            .collect();
        inds.sort_by(|a, b| {
            (a["value"].as_str(), a["type"].as_str()).cmp(&(b["value"].as_str(), b["type"].as_str()))
        });
        let mut evs: Vec<Value> = self
            .events
            .values()
            .map(|e| {
                let mut attrs: Vec<(String, String)> =
                    e.attributes.iter().map(|a| (a.name.clone(), a.value.clone())).collect();
                attrs.sort();
                let mut linked: Vec<&str> = self
                    .links
                    .iter()
                    .filter(|(ev, _)| *ev == e.id)
                    .filter_map(|(_, i)| self.indicators.get(i).map(|i| i.value.as_str()))
                    .collect();
                linked.sort_unstable();
                json!({
                    "title": e.title, "type": self.event_type_name(e.type_id), "happened_at": e.happened_at,
                    "description": e.description, "sources": e.sources, "attributes": attrs,
                    "indicators": linked,
                })
            })
            .collect();
        evs.sort_by(|a, b| a["title"].as_str().cmp(&b["title"].as_str()));
        json!({"indicators": inds, "events": evs})
    }
}

struct Shared {
    inner: Mutex<Inner>,
    release: tokio::sync::watch::Sender<bool>,
}

/// A running emulator; dropping it stops the server.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    https: bool,
}

impl Emulator {
    /// Starts with the default configuration.
    pub fn start() -> Self {
        Self::start_with(Config::default())
    }

    /// Starts with `config`, on 127.0.0.1 and a port the OS chooses.
    pub fn start_with(config: Config) -> Self {
        Self::start_on(config, 0)
    }

    /// Starts on a chosen port (0 = any).
    pub fn start_on(config: Config, port: u16) -> Self {
        Self::serve(config, port, None)
    }

    /// Starts serving HTTPS with `identity` (see `tests/emulators/tls.rs`).
    pub fn start_tls(config: Config, identity: &crate::tls_emu::Identity) -> Self {
        Self::serve(config, 0, Some(crate::tls_emu::acceptor(identity)))
    }

    fn serve(config: Config, port: u16, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (release, _) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared { inner: Mutex::new(Inner::new(config)), release });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let https = tls.is_some();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let tcp = tokio::net::TcpListener::from_std(listener).unwrap();
                let stopped = async {
                    let _ = stopped.await;
                };
                let _ = match tls {
                    None => axum::serve(tcp, app).with_graceful_shutdown(stopped).await,
                    Some(acceptor) => {
                        axum::serve(crate::tls_emu::TlsListener { tcp, acceptor }, app)
                            .with_graceful_shutdown(stopped)
                            .await
                    }
                };
            });
        });
        Emulator { addr, shared, stop: Some(stop), https }
    }

    /// `http://127.0.0.1:PORT` (`https://…` with TLS), for `tq-push --url`.
    pub fn url(&self) -> String {
        format!("{}://{}", if self.https { "https" } else { "http" }, self.addr)
    }

    /// The environment `tq-push` needs for the password grant.
    pub fn env(&self) -> [(&'static str, &'static str); 3] {
        [("TQ_CLIENT_ID", CLIENT_ID), ("TQ_EMAIL", EMAIL), ("TQ_PASSWORD", PASSWORD)]
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.shared.inner.lock().unwrap())
    }

    /// Changes the configuration.
    pub fn configure(&self, f: impl FnOnce(&mut Config)) {
        self.with(|i| f(&mut i.config));
    }

    /// Adds a fault.
    pub fn fault(&self, f: Fault) {
        self.with(|i| i.faults.push(f));
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.with(|i| i.faults.clear());
    }

    /// Adds a status (custom statuses are not protected).
    pub fn add_status(&self, id: u64, name: &str, include_in_export: bool) {
        self.with(|i| {
            i.statuses.push(StatusRow { id, name: name.to_string(), include_in_export, protected: false })
        });
    }

    /// Puts an indicator in the store, as if an analyst or a feed had made it: type "URL Path", the
    /// status by name. Returns its id.
    pub fn seed_indicator(&self, value: &str, status: &str) -> u64 {
        self.with(|i| {
            let id = i.id();
            let status_id = i.status_by_name(status).expect("known status");
            let type_id = i.types.iter().find(|t| t.1 == "URL Path").unwrap().0;
            i.insert_indicator(Ind {
                id,
                value: value.to_string(),
                type_id,
                status_id,
                description: String::new(),
                sources: BTreeSet::from(["analyst".to_string()]),
                attributes: vec![],
                manual_score: None,
            });
            id
        })
    }

    /// The store without ids or timestamps (indicators sorted by value, events by title, attributes
    /// sorted with duplicates kept): two stores with the same snapshot hold the same things.
    pub fn snapshot(&self) -> Value {
        self.with(|i| i.snapshot())
    }

    /// An indicator of the snapshot by value.
    pub fn indicator(&self, value: &str) -> Option<Value> {
        let snap = self.snapshot();
        snap["indicators"].as_array().unwrap().iter().find(|i| i["value"] == value).cloned()
    }

    /// Every indicator's value → status name.
    pub fn statuses(&self) -> BTreeMap<String, String> {
        self.with(|i| i.indicators.values().map(|x| (x.value.clone(), i.status_name(x.status_id))).collect())
    }

    /// The events of the snapshot.
    pub fn events(&self) -> Vec<Value> {
        self.snapshot()["events"].as_array().unwrap().clone()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Logged> {
        self.with(|i| i.log.clone())
    }

    /// Requests whose method is `method` (any when empty) and whose path starts with `prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.with(|i| {
            i.log
                .iter()
                .filter(|l| (method.is_empty() || l.method == method) && l.path.starts_with(prefix))
                .count()
        })
    }

    /// Requests that changed something (every POST, PUT, DELETE except the token's and the queries).
    pub fn writes(&self) -> usize {
        self.with(|i| {
            let reads = ["/api/token", "/api/indicators/query"];
            i.log.iter().filter(|l| l.method != "GET" && !reads.contains(&l.path.as_str())).count()
        })
    }

    /// Tokens issued.
    pub fn tokens_issued(&self) -> u32 {
        self.with(|i| i.tokens_issued)
    }

    /// Requests refused with 401.
    pub fn rejected(&self) -> u32 {
        self.with(|i| i.rejected)
    }

    /// Requests currently held by a [`FaultKind::Hold`].
    pub fn held(&self) -> usize {
        self.with(|i| i.held)
    }

    /// Lets every held request (and every later one) answer.
    pub fn release(&self) {
        let _ = self.shared.release.send(true);
    }

    /// Makes later [`FaultKind::Hold`] faults hold again after a [`Emulator::release`].
    pub fn rearm(&self) {
        self.shared.release.send_replace(false);
    }

    /// Waits until at least `n` requests are held, or panics after `timeout`.
    pub fn wait_held(&self, n: usize, timeout: Duration) {
        let end = Instant::now() + timeout;
        while self.held() < n {
            assert!(Instant::now() < end, "no request held after {timeout:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.release();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn reply(code: u16, v: Value) -> Response {
    (StatusCode::from_u16(code).unwrap(), axum::Json(v)).into_response()
}

fn not_found() -> (u16, Value) {
    (404, json!({"message": "Not Found"}))
}

fn invalid(field: &str, msg: &str) -> (u16, Value) {
    (422, json!({"data": {"errors": {field: [msg]}}}))
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 64 << 20).await.unwrap_or_default();
    let latency = shared.inner.lock().unwrap().config.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let (resp, after) = {
        let mut inner = shared.inner.lock().unwrap();
        let mut action = None;
        for f in inner.faults.iter_mut() {
            if f.method.as_deref().is_some_and(|m| m != method) || !path.starts_with(&f.path) {
                continue;
            }
            f.seen += 1;
            if action.is_none() && f.seen > f.skip && f.seen - f.skip <= f.times {
                action = Some(f.kind.clone());
            }
        }
        let (code, v, location) = match &action {
            Some(FaultKind::Status(c)) => (*c, json!({"message": format!("emulated fault: HTTP {c}")}), None),
            Some(FaultKind::ErrorsIn2xx) => {
                (200, json!({"data": [], "errors": ["emulated: The given data was invalid."]}), None)
            }
            _ => route(&mut inner, &method, &path, &query, &headers, &body),
        };
        if action == Some(FaultKind::Hold) {
            inner.held += 1;
        }
        inner.log.push(Logged { method: method.clone(), path: path.clone(), query: raw_query, status: code });
        let resp = match location {
            _ if action == Some(FaultKind::Html) => Response::builder()
                .status(200)
                .header("content-type", "text/html")
                .body(Body::from(
                    "<!DOCTYPE html><html><body><form action=\"/sso/login\">Sign in</form></body></html>",
                ))
                .unwrap(),
            // Laravel's throttle (ThreatQ's API is a Laravel application) says when to come back.
            _ if code == 429 => {
                let mut r = reply(code, v);
                r.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("1"));
                r
            }
            Some(to) => Response::builder().status(code).header("location", to).body(Body::empty()).unwrap(),
            None if code == 204 => Response::builder().status(204).body(Body::empty()).unwrap(),
            None => reply(code, v),
        };
        (resp, action)
    };
    match after {
        Some(FaultKind::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultKind::Hold) => {
            let mut rx = shared.release.subscribe();
            while !*rx.borrow_and_update() {
                if rx.changed().await.is_err() {
                    break;
                }
            }
            shared.inner.lock().unwrap().held -= 1;
        }
        _ => {}
    }
    resp
}

fn body_json(headers: &HeaderMap, body: &[u8]) -> Value {
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.contains("x-www-form-urlencoded") {
        let m: serde_json::Map<String, Value> =
            url::form_urlencoded::parse(body).into_owned().map(|(k, v)| (k, Value::String(v))).collect();
        return Value::Object(m);
    }
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn q<'a>(query: &'a [(String, String)], k: &str) -> Option<&'a str> {
    query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn page(list: Vec<Value>, query: &[(String, String)], default_limit: usize) -> (u16, Value) {
    let limit = q(query, "limit").and_then(|l| l.parse().ok()).unwrap_or(default_limit).min(500);
    let offset: usize = q(query, "offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let total = list.len();
    let data: Vec<Value> = list.into_iter().skip(offset).take(limit).collect();
    (200, json!({"total": total, "limit": limit, "offset": offset, "data": data}))
}

type Routed = (u16, Value, Option<String>);

fn route(
    s: &mut Inner,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
) -> Routed {
    let Some(rest) = path.strip_prefix("/api/") else {
        let (c, v) = not_found();
        return (c, v, None);
    };
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if seg == ["token"] && method == "POST" {
        if s.config.token_redirect {
            return (307, Value::Null, Some("/api/token-moved".into()));
        }
        let (c, v) = token(s, query, headers, body);
        return (c, v, None);
    }
    if seg == ["token-moved"] {
        // Only a client that followed the redirect gets here.
        let (c, v) = token(s, query, headers, body);
        return (c, v, None);
    }
    // Every other endpoint needs a live token.
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let max = s.config.token_max_uses;
    let ok = bearer.as_ref().and_then(|t| s.tokens.get_mut(t)).is_some_and(|row| {
        row.uses += 1;
        Instant::now() < row.expires && max.is_none_or(|m| row.uses <= m)
    });
    if !ok {
        s.rejected += 1;
        return (401, json!({"error": "Unauthenticated."}), None);
    }
    let b = body_json(headers, body);
    let (c, v) = api(s, method, &seg, query, b);
    (c, v, None)
}

fn token(s: &mut Inner, query: &[(String, String)], headers: &HeaderMap, body: &[u8]) -> (u16, Value) {
    let b = body_json(headers, body);
    let field = |k: &str| {
        q(query, k).map(str::to_string).or_else(|| b.get(k).and_then(Value::as_str).map(str::to_string))
    };
    let ok = match field("grant_type").as_deref() {
        Some("password") => {
            field("client_id").as_deref() == Some(CLIENT_ID)
                && field("email").as_deref() == Some(EMAIL)
                && field("password").as_deref() == Some(PASSWORD)
        }
        Some("client_credentials") => headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
            .is_some_and(|d| d == format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes()),
        _ => return (400, json!({"error": "unsupported_grant_type"})),
    };
    if !ok {
        return (
            400,
            json!({"error": "invalid_grant", "error_description": "The user credentials were incorrect."}),
        );
    }
    s.tokens_issued += 1;
    let tok = format!("emu-token-{}-{:x}", s.tokens_issued, s.next_id * 7919);
    let ttl = s.config.token_ttl;
    s.tokens
        .insert(tok.clone(), TokenRow { expires: Instant::now() + Duration::from_secs_f64(ttl), uses: 0 });
    (
        200,
        json!({"access_token": tok, "token_type": "bearer", "expires_in": ttl,
               "refresh_token": format!("emu-refresh-{}", s.tokens_issued)}),
    )
}

/// `{"id":N}`, `N`, `{"name":…}` or `"name"` → an id, looked up in `names` for names.
fn ref_id(v: Option<&Value>, names: &[(u64, String)]) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(name) => names.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|x| x.0),
        Value::Object(o) => {
            ref_id(o.get("id"), names).or_else(|| o.get("name").and_then(|n| ref_id(Some(n), names)))
        }
        _ => None,
    }
}

fn names_of(s: &Inner) -> Vec<(u64, String)> {
    s.statuses.iter().map(|x| (x.id, x.name.clone())).collect()
}

fn attrs_from(s: &mut Inner, v: Option<&Value>) -> Vec<Attr> {
    let mut out = vec![];
    for a in v.and_then(Value::as_array).into_iter().flatten() {
        if let (Some(n), Some(val)) = (a.get("name").and_then(Value::as_str), a.get("value")) {
            let val = match val {
                Value::String(x) => x.clone(),
                other => other.to_string(),
            };
            out.push(Attr { id: s.id(), name: n.to_string(), value: val });
        }
    }
    out
}

fn sources_from(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Creates or upserts one indicator object; returns its id or a validation error.
fn ingest(s: &mut Inner, o: &Value, consume: bool) -> Result<u64, (u16, Value)> {
    let value = o.get("value").and_then(Value::as_str).filter(|v| !v.is_empty());
    let Some(value) = value else { return Err(invalid("value", "The value field is required.")) };
    let types = s.types.clone();
    let type_id = ref_id(o.get("type_id").or_else(|| o.get("type")), &types);
    let Some(type_id) = type_id.filter(|t| types.iter().any(|x| x.0 == *t)) else {
        return Err(invalid("type_id", "The selected type id is invalid."));
    };
    let names = names_of(s);
    let status = match o.get("status_id").or_else(|| o.get("status")) {
        None => None,
        Some(v) => match ref_id(Some(v), &names).filter(|id| names.iter().any(|x| x.0 == *id)) {
            Some(id) => Some(id),
            None => return Err(invalid("status_id", "The selected status id is invalid.")),
        },
    };
    let attributes = attrs_from(s, o.get("attributes"));
    let sources = sources_from(o.get("sources"));
    let existing = s
        .ids_of_value(value)
        .into_iter()
        .find(|id| s.indicators[id].value == value && s.indicators[id].type_id == type_id);
    if let Some(id) = existing {
        if s.config.existing == Existing::Conflict && !consume {
            return Err((409, json!({"errors": ["The indicator already exists."]})));
        }
        let keep = (s.config.existing != Existing::Upsert && s.protected(s.indicators[&id].status_id))
            || s.config.ignore_status_updates;
        let forced = status.map(|st| s.forced(st));
        let i = s.indicators.get_mut(&id).unwrap();
        if let Some(st) = forced.filter(|_| !keep) {
            i.status_id = st;
        }
        i.attributes.extend(attributes);
        i.sources.extend(sources);
        return Ok(id);
    }
    let id = s.id();
    // Without a status the instance default applies; here, as the help center warns, Indirect.
    let status_id = s.forced(status.unwrap_or(13));
    let description = o.get("description").and_then(Value::as_str).unwrap_or("").to_string();
    s.insert_indicator(Ind {
        id,
        value: value.to_string(),
        type_id,
        status_id,
        description,
        sources,
        attributes,
        manual_score: None,
    });
    Ok(id)
}

fn api(s: &mut Inner, method: &str, seg: &[&str], query: &[(String, String)], b: Value) -> (u16, Value) {
    let lists = |s: &Inner, which: &str| -> Vec<Value> {
        if s.config.hide_lists {
            return vec![];
        }
        let name = q(query, "name");
        let keep = |n: &str| name.is_none_or(|w| w.eq_ignore_ascii_case(n));
        match which {
            "types" => s
                .types
                .iter()
                .filter(|t| keep(&t.1))
                .map(|(id, n)| {
                    json!({"id": id, "name": n, "class": "network", "score": null,
                           "wildcard_matching": "Y"})
                })
                .collect(),
            "statuses" => s
                .statuses
                .iter()
                .filter(|t| keep(&t.name))
                .map(|x| {
                    json!({"id": x.id, "name": x.name, "description": "", "user_editable": "Y",
                           "visible": "Y",
                           "include_in_export": if x.include_in_export {"Y"} else {"N"},
                           "protected": if x.protected {"Y"} else {"N"}})
                })
                .collect(),
            _ => s
                .event_types
                .iter()
                .filter(|t| keep(&t.1))
                .map(|(id, n)| json!({"id": id, "name": n}))
                .collect(),
        }
    };
    let dl = s.config.default_limit;
    let num = |x: &str| x.parse::<u64>().ok();
    match (method, seg) {
        ("GET", ["indicator", "types"]) => page(lists(s, "types"), query, dl),
        ("GET", ["indicator", "statuses"]) => page(lists(s, "statuses"), query, dl),
        ("GET", ["event", "types"]) => page(lists(s, "event"), query, dl),
        ("GET", ["indicators"]) => {
            let value = q(query, "value");
            let type_id = q(query, "type_id").and_then(num);
            let ids: Vec<u64> = match value {
                Some(v) => s.ids_of_value(v),
                None => s.indicators.keys().copied().collect(),
            };
            let found: Vec<Value> = ids
                .iter()
                .map(|id| &s.indicators[id])
                .filter(|i| value.is_none_or(|v| i.value == v) && type_id.is_none_or(|t| i.type_id == t))
                .map(|i| s.indicator_json(i))
                .collect();
            page(found, query, dl)
        }
        ("POST", ["indicators", "query"]) => indicator_query(s, query, &b),
        ("GET", ["indicators", id]) => match num(id).and_then(|id| s.indicators.get(&id)) {
            Some(i) => (200, json!({"data": s.indicator_json(i)})),
            None => not_found(),
        },
        ("POST", ["indicators"]) | ("POST", ["indicators", "consume"]) => {
            let consume = seg.len() == 2;
            if consume && !s.config.consume {
                return not_found();
            }
            let items = match b {
                Value::Array(a) => a,
                o @ Value::Object(_) if !consume => vec![o],
                _ => return invalid("data", "An array of indicators is required."),
            };
            let mut ids = vec![];
            for o in &items {
                match ingest(s, o, consume) {
                    Ok(id) => ids.push(id),
                    Err(e) => return e,
                }
            }
            let data: Vec<Value> = ids.iter().map(|id| s.indicator_json(&s.indicators[id])).collect();
            (if consume { 200 } else { 201 }, json!({"total": data.len(), "data": data}))
        }
        ("PUT", ["indicators", id]) => {
            let Some(id) = num(id).filter(|id| s.indicators.contains_key(id)) else { return not_found() };
            let names = names_of(s);
            if let Some(v) = b.get("status_id").or_else(|| b.get("status")) {
                let Some(st) = ref_id(Some(v), &names).filter(|st| names.iter().any(|x| x.0 == *st)) else {
                    return invalid("status_id", "The selected status id is invalid.");
                };
                if !s.config.ignore_status_updates {
                    let st = s.forced(st);
                    s.indicators.get_mut(&id).unwrap().status_id = st;
                }
            }
            if let Some(d) = b.get("description").and_then(Value::as_str) {
                s.indicators.get_mut(&id).unwrap().description = d.to_string();
            }
            (200, json!({"data": s.indicator_json(&s.indicators[&id])}))
        }
        ("POST", ["indicators", id, "attributes"]) => {
            let Some(id) = num(id).filter(|id| s.indicators.contains_key(id)) else { return not_found() };
            let (Some(n), Some(v)) =
                (b.get("name").and_then(Value::as_str), b.get("value").and_then(Value::as_str))
            else {
                return invalid("name", "The name and value fields are required.");
            };
            let a = Attr { id: s.id(), name: n.to_string(), value: v.to_string() };
            let out = json!({"data": {"id": a.id, "name": a.name, "value": a.value}});
            s.indicators.get_mut(&id).unwrap().attributes.push(a);
            (201, out)
        }
        ("POST", ["indicators", id, "sources"]) => {
            let Some(id) = num(id).filter(|id| s.indicators.contains_key(id)) else { return not_found() };
            let Some(n) = b.get("name").and_then(Value::as_str) else {
                return invalid("name", "The name field is required.");
            };
            s.indicators.get_mut(&id).unwrap().sources.insert(n.to_string());
            (201, json!({"data": {"name": n}}))
        }
        ("PUT", ["indicator", id, "scores"]) => {
            let Some(id) = num(id).filter(|id| s.indicators.contains_key(id)) else { return not_found() };
            let score = match b.get("manual_score") {
                Some(Value::Null) => None,
                Some(v) => match v.as_u64().filter(|n| *n <= 10) {
                    Some(n) => Some(n),
                    None => return invalid("manual_score", "The manual score must be between 0 and 10."),
                },
                None => return invalid("manual_score", "The manual score field is required."),
            };
            s.indicators.get_mut(&id).unwrap().manual_score = score;
            (200, json!({"data": {"manual_score": score}}))
        }
        ("GET", ["events"]) => {
            let title = q(query, "title");
            let found: Vec<Value> = s
                .events
                .values()
                .filter(|e| title.is_none_or(|t| e.title == t))
                .map(|e| s.event_json(e))
                .collect();
            page(found, query, dl)
        }
        ("GET", ["events", id]) => match num(id).and_then(|id| s.events.get(&id)) {
            Some(e) => (200, json!({"data": s.event_json(e)})),
            None => not_found(),
        },
        ("POST", ["events"]) => {
            let Some(title) = b.get("title").and_then(Value::as_str).filter(|t| !t.is_empty()) else {
                return invalid("title", "The title field is required.");
            };
            let et = s.event_types.clone();
            let Some(type_id) = ref_id(b.get("type_id"), &et)
                .or_else(|| ref_id(b.get("type"), &et))
                .filter(|t| et.iter().any(|x| x.0 == *t))
            else {
                return invalid("type", "The selected type is invalid.");
            };
            let happened = b.get("happened_at").and_then(Value::as_str).unwrap_or("");
            let shape_ok = happened.len() == 19
                && happened.bytes().enumerate().all(|(i, c)| match i {
                    4 | 7 => c == b'-',
                    10 => c == b' ',
                    13 | 16 => c == b':',
                    _ => c.is_ascii_digit(),
                });
            if !shape_ok {
                return invalid("happened_at", "The happened at does not match the format Y-m-d H:i:s.");
            }
            let id = s.id();
            let attributes = attrs_from(s, b.get("attributes"));
            let e = Ev {
                id,
                title: title.to_string(),
                type_id,
                happened_at: happened.to_string(),
                description: b.get("description").and_then(Value::as_str).unwrap_or("").to_string(),
                sources: sources_from(b.get("sources")),
                attributes,
            };
            let out = json!({"data": s.event_json(&e)});
            s.events.insert(id, e);
            (201, out)
        }
        ("POST", ["events", id, "indicators"]) => {
            let Some(ev) = num(id).filter(|id| s.events.contains_key(id)) else { return not_found() };
            let items = match b {
                Value::Array(a) => a,
                o @ Value::Object(_) => vec![o],
                _ => return invalid("id", "The id field is required."),
            };
            let mut ids = vec![];
            for o in &items {
                match o.get("id").and_then(Value::as_u64).filter(|i| s.indicators.contains_key(i)) {
                    Some(i) => ids.push(i),
                    None => return invalid("id", "The selected id is invalid."),
                }
            }
            let mut data = vec![];
            for i in ids {
                s.links.insert((ev, i));
                let mut j = s.indicator_json(&s.indicators[&i]);
                j["pivot"] = json!({"id": ev * 100_000 + i});
                data.push(j);
            }
            (201, json!({"data": data}))
        }
        ("GET", ["events", id, "indicators"]) => {
            let Some(ev) = num(id).filter(|id| s.events.contains_key(id)) else { return not_found() };
            let found: Vec<Value> = s
                .links
                .iter()
                .filter(|(e, _)| *e == ev)
                .filter_map(|(_, i)| s.indicators.get(i))
                .map(|i| s.indicator_json(i))
                .collect();
            page(found, query, dl)
        }
        _ => not_found(),
    }
}

/// `POST /api/indicators/query?limit=&offset=&sort=&with=` with `{"criteria":…,"filters":…}`: both
/// must hold. An expression is an object whose entries must all hold: `"+or": [expr…]`, `"+and":
/// [expr…]`, or a field (`id`, `value`, `type_id`, `type_name`, `status_id`, `status_name`) with a
/// value, `{"is": v}` or `{"+contains": v}`. Values match ignoring case.
fn indicator_query(s: &Inner, query: &[(String, String)], b: &Value) -> (u16, Value) {
    if s.config.query == Query::Absent {
        return not_found();
    }
    let empty = json!({});
    let criteria = b.get("criteria").unwrap_or(&empty);
    let filters = b.get("filters").unwrap_or(&empty);
    for e in [criteria, filters] {
        if let Err(msg) = check_expr(e) {
            return invalid("criteria", &msg);
        }
    }
    let ignore = s.config.query == Query::IgnoreCriteria;
    // Candidates from the values the expressions require, so that a query stays fast over 100,000.
    let ids: Vec<u64> = match (ignore, required_values(criteria).or_else(|| required_values(filters))) {
        (false, Some(values)) => {
            let set: BTreeSet<u64> = values.iter().flat_map(|v| s.ids_of_value(v)).collect();
            set.into_iter().collect()
        }
        _ => s.indicators.keys().copied().collect(),
    };
    let mut found: Vec<&Ind> = ids
        .iter()
        .map(|id| &s.indicators[id])
        .filter(|i| ignore || (holds(s, i, criteria) && holds(s, i, filters)))
        .collect();
    if q(query, "sort") == Some("-id") {
        found.reverse();
    }
    let with: Vec<&str> = match (s.config.query, q(query, "with")) {
        (Query::NoExpand, _) | (_, None) => vec![],
        (_, Some(w)) => w.split(',').map(str::trim).collect(),
    };
    let list = found.into_iter().map(|i| s.indicator_with(i, &with)).collect();
    page(list, query, s.config.default_limit)
}

fn check_expr(e: &Value) -> Result<(), String> {
    let Some(o) = e.as_object() else { return Err(format!("an object is expected, not {e}")) };
    for (k, v) in o {
        match k.as_str() {
            "+or" | "+and" => {
                let Some(list) = v.as_array() else { return Err(format!("{k} takes a list")) };
                list.iter().try_for_each(check_expr)?;
            }
            "id" | "value" | "type_id" | "type_name" | "status_id" | "status_name" => match v {
                Value::Object(op) if op.keys().all(|k| k == "is" || k == "+contains") => {}
                Value::Object(_) => return Err(format!("unsupported operator in {k}: {v}")),
                _ => {}
            },
            other => return Err(format!("unknown field {other}")),
        }
    }
    Ok(())
}

/// The lower-cased values an expression requires one of, when it requires a value at all.
fn required_values(e: &Value) -> Option<Vec<String>> {
    let o = e.as_object()?;
    o.iter().find_map(|(k, v)| match k.as_str() {
        "value" => match v {
            Value::Object(op) => op.get("is").and_then(Value::as_str).map(|x| vec![x.to_lowercase()]),
            Value::String(x) => Some(vec![x.to_lowercase()]),
            _ => None,
        },
        "+or" => {
            let parts: Option<Vec<Vec<String>>> = v.as_array()?.iter().map(required_values).collect();
            parts.map(|p| p.concat())
        }
        "+and" => v.as_array()?.iter().find_map(required_values),
        _ => None,
    })
}

fn holds(s: &Inner, i: &Ind, e: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(x) => x.to_lowercase(),
        other => other.to_string(),
    };
    let field = |k: &str, v: &Value| -> bool {
        let have = match k {
            "id" => i.id.to_string(),
            "value" => i.value.to_lowercase(),
            "type_id" => i.type_id.to_string(),
            "type_name" => s.type_name(i.type_id).to_lowercase(),
            "status_id" => i.status_id.to_string(),
            _ => s.status_name(i.status_id).to_lowercase(),
        };
        match v {
            Value::Object(op) => match (op.get("is"), op.get("+contains")) {
                (Some(x), _) => have == text(x),
                (_, Some(x)) => have.contains(&text(x)),
                _ => false,
            },
            x => have == text(x),
        }
    };
    e.as_object().is_some_and(|o| {
        o.iter().all(|(k, v)| match k.as_str() {
            "+or" => v.as_array().is_some_and(|l| l.iter().any(|x| holds(s, i, x))),
            "+and" => v.as_array().is_some_and(|l| l.iter().all(|x| holds(s, i, x))),
            _ => field(k, v),
        })
    })
}
