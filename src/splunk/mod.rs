//! `splunk-export`: access-log events out of Splunk's REST API, aggregated at the source.
//!
//! - `spl.rs` builds the search (values quoted, field names checked, times kept out of the SPL);
//! - `fields.rs` holds the field maps (`access_combined`, `iis`, `cim`, custom);
//! - `auth.rs` the credentials (token, session key, Basic);
//! - `stream.rs` reads the export response line by line and decides whether it was complete;
//! - `row.rs` turns result rows into [`crate::record::Event`]s.
//!
//! This file holds the command line and the request loop: v2 export endpoint first, v1 on 404; one fresh
//! login on a 401 with a session key; 503, 502, 504 and connection failures retried with capped
//! exponential backoff until a total deadline, but only while no row has been printed, since a retry
//! after output would duplicate rows.

pub mod auth;
pub mod fields;
pub mod row;
pub mod spl;
pub mod stream;

use std::collections::HashSet;
use std::io::{self, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use reqwest::StatusCode;

use crate::cli::{self, Output};
use crate::http::{Backoff, HttpArgs};
use auth::{Auth, AuthKind};
use fields::FieldMap;
use spl::Mode;
use stream::StreamError;

/// The tool's name, in messages.
pub const NAME: &str = "splunk-export";

/// Examples shown by `--help` and the man page.
pub const EXAMPLES: &str = "\
# Last 24 hours of index web, one row per host, path, method and status, aggregated by Splunk:
SPLUNK_TOKEN=$(cat ~/.splunk-token) splunk-export --url https://splunk.example.org:8089 --ca-cert ca.pem --index web --sourcetype access_combined --earliest -24h@h --latest @h
# Credentials from an owner-only file; IIS sites, host from s_sitename:
splunk-export --url https://splunk:8089 --secrets /etc/webshell-hunt/secrets --index iis --fields iis --earliest -7d
# The CIM Web data model through tstats:
splunk-export --url https://splunk:8089 --fields cim --earliest 2026-10-01T00:00:00Z --latest 2026-10-02T00:00:00Z
# A window on index time, as the cron job runs it (late events land in the window they were indexed in):
splunk-export --url https://splunk:8089 --index web --index-earliest 1790812800 --index-latest 1790813100 --earliest -7d
# Every request of one hour, for forensic detail:
splunk-export --url https://splunk:8089 --index web --raw --earliest 2026-10-15T13:00:00Z --latest 2026-10-15T14:00:00Z
# Your own SPL:
splunk-export --url https://splunk:8089 --search 'index=web uri_path=\"/uploads/*\" | fields _time host clientip uri_path'";

/// Man-page sections beyond the flags.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "SEARCH",
        "\
By default splunk-export asks Splunk to aggregate, so Splunk's distributed search does the work and one
row per unique (index, sourcetype, host, path, method, status) crosses the wire:
  search index=\"web\" sourcetype=\"access_combined\" uri_path=*
  | stats count min(_time) AS first_seen max(_time) AS last_seen dc(clientip) AS distinct_clients
          values(clientip) AS clients values(useragent) AS user_agents values(uri_query) AS queries
          BY index sourcetype host uri_path method status
  | rename uri_path AS path
  | eval first_seen=round(first_seen,3), last_seen=round(last_seen,3), clients=mvindex(clients,0,9), …
With --fields cim the search is a tstats over the Web data model (FROM datamodel=Web.Web, fields
Web.*, missing BY values filled with \"-\"). --raw exports the events themselves (one record per
request, with time, bytes and referer; use it on small windows). --search sends your own SPL (\"search \"
is prefixed unless it starts with a command or a pipe); its rows may use splunk-export's column names
(path, host, count, first_seen, …) or the map's, and fields no role uses are passed through.
--verbose prints the SPL and the endpoint.

--index and --sourcetype values are put in double quotes with \\ and \" escaped; control characters are
refused. * inside them stays a wildcard (Splunk cannot escape it). Field names must match
^[A-Za-z_][A-Za-z0-9_.]*$. Time bounds are never written into the SPL: they are sent as the
earliest_time, latest_time, index_earliest and index_latest parameters.",
    ),
    (
        "FIELD MAPS",
        "\
--fields names the Splunk field for each role of the event record:
  role        access_combined  iis                          cim (Web.*)
  host        host             s_sitename|cs_host|host      site|dest
  client      clientip         c_ip                         src
  method      method           cs_method                    http_method
  path        uri_path         cs_uri_stem                  uri_path
  query       uri_query        cs_uri_query                 uri_query
  status      status           sc_status                    status
  bytes       bytes            sc_bytes                     bytes
  user_agent  useragent        cs_User_Agent                http_user_agent
  referer     referer          cs_Referer                   http_referrer
Splunk's host field is the machine that forwarded the log, not the web site. access_combined logs do
not name the site, so events carry the forwarder as host; iis uses the W3C s-sitename, then cs-host, then
the forwarder; cim uses site, then dest. A custom MAP overrides access_combined's names, e.g.
  --fields 'host=vhost|host,client=src_ip,path=url_path'
(host lists candidates in order, the first present one wins; Splunk drops rows where none is present).",
    ),
    (
        "OUTPUT",
        "\
One JSON object per line, the event record log-export prints. An aggregated row:
  {\"host\":\"web01\",\"method\":\"POST\",\"path\":\"/uploads/x.php\",\"status\":200,
   \"source\":\"splunk:web/access_combined\",\"server\":\"apache\",\"count\":14,
   \"first_seen\":\"2026-10-15T13:55:36Z\",\"last_seen\":\"2026-10-15T14:02:10.250Z\",
   \"distinct_clients\":1,\"clients\":[\"203.0.113.9\"],\"user_agents\":[\"curl/8.5.0\"],\"queries\":[\"c=id\"]}
clients, user_agents and queries are samples of at most --samples distinct values (Splunk's values()
order: lexical). source is splunk:INDEX/SOURCETYPE (--raw adds :SOURCE, the file Splunk read); server is
derived from the sourcetype (access_combined: apache; iis, ms:iis:*: iis; *nginx*: nginx) and left out
when unknown. A --raw row has time, client, query, bytes, user_agent and referer instead of the
aggregates. Rows without a path are skipped and counted on stderr.",
    ),
    (
        "STREAM INTEGRITY",
        "\
The response is read line by line as it arrives; memory does not grow with its length. Preview rows
are dropped (preview=false is sent, and rows marked preview are ignored). Splunk's INFO and WARN
messages are shown on stderr. The export fails (exit status 2) when Splunk reports an ERROR or FATAL
message, even after rows and under HTTP 200; when the stream ends before the last row of its result set
(a response must end with a row or line marked lastrow; an empty result is {\"preview\":false,
\"lastrow\":true}); and when the connection breaks mid-way. Rows already printed stay printed: a
consumer must check the exit status before it trusts the output (and before it advances a checkpoint).",
    ),
    (
        "ERRORS AND RETRIES",
        "\
The v2 endpoint (/services/search/v2/jobs/export) is tried first, the v1 path after a 404; with --app the
/servicesNS/OWNER/APP/ forms are used. HTTP 503 (the search quota is full), 502, 504 and connection
failures are retried with exponential backoff (1 s doubling to 30 s) until --retry-for seconds have
passed, as long as no row has been printed. 400 (the search was rejected), 401 (credentials), 403
(permissions) and other statuses are not retried; the message says what to fix. A session key refused
with 401 triggers one fresh login. --timeout bounds the wait for the response and for each read of the
body, not the whole export: a big stats search may send nothing for minutes.",
    ),
    (
        "ENVIRONMENT",
        "\
\x20 SPLUNK_TOKEN     an authentication token, sent as Authorization: Bearer
  SPLUNK_USERNAME  user for a session login (/services/auth/login) or --auth basic
  SPLUNK_PASSWORD  that user's password
The same names may be set in the file given with --secrets (NAME=value lines), which must be owned by
the user and not accessible by group or others (chmod 600); the file wins over the environment.
Credentials are never read from the command line and never printed, not even with --verbose.
--auth auto (the default) uses the token when set, else a session login.",
    ),
];

/// Export access-log events from Splunk, aggregated at the source.
///
/// Runs a search through Splunk's REST export endpoint (management port, usually 8089) and prints the
/// results as event records, the same JSON lines log-export prints. By default Splunk aggregates: one
/// row per index, sourcetype, host, path, method and status, with counts, first and last time, distinct
/// clients and bounded samples of clients, user agents and query strings. --raw exports the events
/// themselves; --search sends your own SPL. Credentials come from the environment or an owner-only
/// --secrets file, never from the command line. Any error or incomplete stream ends with exit status 2.
#[derive(Parser, Debug)]
#[command(name = "splunk-export", version, after_long_help = crate::manual::after_help(EXAMPLES))]
pub struct Args {
    /// Splunk's management URL, e.g. https://splunk.example.org:8089 (no credentials in it).
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// Earliest event time (inclusive): RFC 3339, epoch seconds, or a Splunk relative time (-24h@h).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub earliest: Option<String>,

    /// Latest event time (exclusive): RFC 3339, epoch seconds, or a Splunk relative time (now, @h).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub latest: Option<String>,

    /// Earliest index time (when Splunk indexed the event), for windows that catch late events.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub index_earliest: Option<String>,

    /// Latest index time; see --index-earliest.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub index_latest: Option<String>,

    /// The index to search (quoted into the SPL; * is a wildcard).
    #[arg(long, value_name = "NAME")]
    pub index: Option<String>,

    /// The sourcetype to search (quoted into the SPL; * is a wildcard, e.g. ms:iis:*).
    #[arg(long, value_name = "NAME")]
    pub sourcetype: Option<String>,

    /// Field names: access_combined, iis, cim (tstats over the Web data model), or role=field,… (see
    /// FIELD MAPS).
    #[arg(long, value_name = "MAP", default_value = "access_combined")]
    pub fields: String,

    /// Your own SPL instead of the generated search (put the index and sourcetype in it).
    #[arg(long, value_name = "SPL", conflicts_with_all = ["raw", "index", "sourcetype", "samples"])]
    pub search: Option<String>,

    /// Export events, one per request, instead of aggregating in Splunk.
    #[arg(long)]
    pub raw: bool,

    /// How many distinct clients, user agents and queries to keep per aggregated row.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub samples: u32,

    /// Run the search in this app's namespace (/servicesNS/OWNER/APP/), for its macros and data models.
    #[arg(long, value_name = "APP")]
    pub app: Option<String>,

    /// The owner part of the namespace with --app.
    #[arg(long, value_name = "USER", default_value = "nobody", requires = "app")]
    pub owner: String,

    /// How to authenticate (see ENVIRONMENT).
    #[arg(long, value_enum, default_value = "auto")]
    pub auth: AuthKind,

    /// Owner-only file with SPLUNK_TOKEN or SPLUNK_USERNAME/SPLUNK_PASSWORD lines.
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,

    #[command(flatten)]
    pub http: HttpArgs,

    /// Keep retrying 503s and connection failures for this many seconds in all (0: never retry).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub retry_for: u64,

    /// First retry delay in milliseconds (tests shorten it).
    #[arg(long, value_name = "MS", default_value_t = 1000, hide = true)]
    pub retry_first_ms: u64,

    /// Flush after every event, even into a pipe.
    #[arg(long)]
    pub line_buffered: bool,

    /// Print the endpoint, the SPL, the parameters and a summary on stderr (never a credential).
    #[arg(short, long)]
    pub verbose: bool,
}

/// Runs `splunk-export`.
pub fn run(args: Args) -> Result<ExitCode> {
    let map = FieldMap::parse(&args.fields)?;
    let (spl, mode) = match &args.search {
        Some(s) => (spl::user_search(s)?, Mode::User),
        None => spl::build(&spl::Spec {
            index: args.index.as_deref(),
            sourcetype: args.sourcetype.as_deref(),
            map: &map,
            raw: args.raw,
            samples: args.samples,
        })?,
    };
    let mut params: Vec<(&str, String)> =
        vec![("search", spl.clone()), ("output_mode", "json".into()), ("preview", "false".into())];
    for (flag, name, v) in [
        ("--earliest", "earliest_time", &args.earliest),
        ("--latest", "latest_time", &args.latest),
        ("--index-earliest", "index_earliest", &args.index_earliest),
        ("--index-latest", "index_latest", &args.index_latest),
    ] {
        if let Some(v) = v {
            params.push((name, spl::time_param(flag, v)?));
        }
    }
    let base = base_url(&args.url)?;
    let ns = match &args.app {
        Some(app) => format!("/servicesNS/{}/{}", segment("--owner", &args.owner)?, segment("--app", app)?),
        None => "/services".to_string(),
    };
    let endpoints = [format!("{base}{ns}/search/v2/jobs/export"), format!("{base}{ns}/search/jobs/export")];
    let login_url = format!("{base}/services/auth/login");

    let secrets = crate::secrets::Secrets::load(args.secrets.as_deref())?;
    let mut auth = Auth::from_secrets(&secrets, args.auth)?;
    let client = crate::http::client(NAME, &args.http, false)?;
    if args.verbose {
        cli::warn(NAME, format_args!("search: {spl}"));
        let p: Vec<String> =
            params.iter().filter(|(k, _)| *k != "search").map(|(k, v)| format!("{k}={v}")).collect();
        cli::warn(NAME, format_args!("parameters: {}", p.join(" ")));
        cli::warn(NAME, format_args!("auth: {}", auth.describe()));
    }

    let conv = row::Converter::new(mode, &map, args.index.as_deref(), args.sourcetype.as_deref());
    let mut out = Output::stdout(args.line_buffered);
    let mut backoff = Backoff::new(
        Duration::from_millis(args.retry_first_ms),
        Duration::from_secs(30).max(Duration::from_millis(args.retry_first_ms)),
        Duration::from_secs(args.retry_for),
    );
    let mut ep = 0;
    let mut relogged = false;
    // A 429's or 503's Retry-After, for the next wait.
    let mut retry_after: Option<Duration> = None;
    let mut emitted = 0u64;
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let mut skipped = 0u64;
    let mut seen_msgs: HashSet<(String, String)> = HashSet::new();
    let stats = 'outer: loop {
        // Each pass ends in success, a bail, or `retry` set to why another attempt should follow.
        let retry: String = 'attempt: {
            if auth.needs_login() {
                match login(&client, &login_url, &mut auth, args.verbose)? {
                    None => {}
                    Some(why) => break 'attempt why,
                }
            }
            let url = &endpoints[ep];
            if args.verbose {
                cli::warn(NAME, format_args!("POST {url}"));
            }
            let req = auth.apply(client.post(url).form(&params))?;
            let resp = match req.send() {
                Ok(r) => r,
                Err(e) => break 'attempt send_failure(&e, &format!("POST {url}"))?,
            };
            let status = resp.status();
            if status == StatusCode::OK {
                let body = BufReader::with_capacity(256 << 10, resp);
                let res = stream::read(
                    body,
                    |r| {
                        line.clear();
                        match conv.write(r, &mut line) {
                            Ok(()) => {
                                emitted += 1;
                                out.write_line(&line)
                            }
                            Err(row::Skip::NoPath) => {
                                skipped += 1;
                                Ok(())
                            }
                        }
                    },
                    |m| {
                        let kind = m.kind.to_ascii_uppercase();
                        if (kind != "DEBUG" || args.verbose)
                            && seen_msgs.insert((kind.clone(), m.text.clone()))
                        {
                            cli::warn(NAME, format_args!("Splunk {kind}: {}", m.text));
                        }
                    },
                );
                match res {
                    Ok(st) => break 'outer st,
                    Err(StreamError::Transport { rows: 0, source }) if emitted == 0 => {
                        break 'attempt format!("connection lost before the first row: {}", chain(&source));
                    }
                    Err(StreamError::Sink(e)) => return Err(anyhow::Error::new(e).context("writing output")),
                    Err(e) => {
                        out.finish().ok();
                        return Err(anyhow::Error::new(e).context(format!("export from {url}")));
                    }
                }
            }
            let wait = crate::http::retry_after(resp.headers(), Duration::from_secs(300));
            let msg = error_text(resp);
            match status.as_u16() {
                404 if ep == 0 => {
                    if args.verbose {
                        cli::warn(NAME, "v2 export endpoint not found (HTTP 404); trying the v1 path");
                    }
                    ep = 1;
                    continue 'outer;
                }
                401 if !relogged && auth.expire() => {
                    relogged = true;
                    cli::warn(NAME, "session key refused (HTTP 401); logging in again");
                    continue 'outer;
                }
                401 => bail!("Splunk refused the credentials (HTTP 401{msg}): {}", auth.hint_401()),
                403 => bail!(
                    "Splunk denied the search (HTTP 403{msg}): the account lacks the search capability or access \
                     to the index; ask a Splunk admin for a role that can search it"
                ),
                400 => bail!(
                    "Splunk rejected the search (HTTP 400{msg}); check --search, --fields, --index, --sourcetype and \
                     the time flags (--verbose shows the SPL)"
                ),
                404 => bail!(
                    "export endpoint not found (HTTP 404{msg}) at {} nor at {}: is --url Splunk's management port \
                     (8089), and does --app exist?",
                    endpoints[0],
                    endpoints[1]
                ),
                s if crate::http::retryable_status(s) => {
                    retry_after = wait;
                    break 'attempt format!("HTTP {status}{msg}");
                }
                _ => bail!("POST {url}: HTTP {status}{msg}"),
            }
        };
        match backoff.next_delay().map(|d| retry_after.take().map_or(d, |ra| ra.max(d))) {
            Some(d) => {
                cli::warn(
                    NAME,
                    format_args!(
                        "{retry}; retrying in {:.1}s (attempt {})",
                        d.as_secs_f64(),
                        backoff.attempts + 1
                    ),
                );
                std::thread::sleep(d);
            }
            None => bail!(
                "giving up after {} attempt{} (--retry-for {}s): {retry}",
                backoff.attempts + 1,
                if backoff.attempts == 0 { "" } else { "s" },
                args.retry_for
            ),
        }
    };
    out.finish()?;
    if skipped > 0 {
        cli::warn(NAME, format_args!("{} rows without a path skipped", cli::thousands(skipped)));
    }
    if args.verbose {
        cli::warn(
            NAME,
            format_args!(
                "{} rows, {} events{}",
                cli::thousands(stats.rows),
                cli::thousands(emitted),
                if stats.preview_rows > 0 {
                    format!(", {} preview rows dropped", cli::thousands(stats.preview_rows))
                } else {
                    String::new()
                }
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Logs in for a session key. `Ok(Some(why))` asks for a retry (503, connection failure).
fn login(
    client: &reqwest::blocking::Client,
    url: &str,
    auth: &mut Auth,
    verbose: bool,
) -> Result<Option<String>> {
    let Some(form) = auth.login_form() else { return Ok(None) };
    if verbose {
        cli::warn(NAME, format_args!("POST {url} (login)"));
    }
    let resp = match client.post(url).form(&form).send() {
        Ok(r) => r,
        Err(e) => return send_failure(&e, &format!("login at {url}")).map(Some),
    };
    let status = resp.status();
    if status.is_success() {
        let body = resp.text().with_context(|| format!("reading the login response from {url}"))?;
        auth.set_session_from(&body).with_context(|| format!("login at {url}"))?;
        return Ok(None);
    }
    let msg = error_text(resp);
    match status.as_u16() {
        401 => bail!("login refused (HTTP 401{msg}): check SPLUNK_USERNAME and SPLUNK_PASSWORD"),
        s if crate::http::retryable_status(s) => Ok(Some(format!("login: HTTP {status}{msg}"))),
        _ => bail!("login at {url}: HTTP {status}{msg}"),
    }
}

/// A failed send: `Ok(why)` when another attempt may succeed (no connection, no answer in time), an
/// error that ends the run otherwise (a refused certificate, a name that does not resolve, a bad URL).
fn send_failure(e: &reqwest::Error, what: &str) -> Result<String> {
    use crate::http::Failure;
    match crate::http::classify(e) {
        Failure::Retry(m) => Ok(format!("cannot reach Splunk: {m}")),
        Failure::Tls(m) => bail!("{what}: the server's TLS certificate is refused: {m}"),
        Failure::Dns(m) | Failure::Fatal(m) => bail!("{what}: {m}"),
    }
}

/// An error and its causes on one line (reqwest hides the useful part in `source()`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// `: message` from an error response body (Splunk's JSON or XML messages), or empty.
fn error_text(resp: reqwest::blocking::Response) -> String {
    let mut body = String::new();
    let _ = io::Read::read_to_string(&mut io::Read::take(resp, 64 << 10), &mut body);
    let mut texts: Vec<String> = Vec::new();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
        && let Some(ms) = v.get("messages").and_then(|m| m.as_array())
    {
        for m in ms {
            let kind = m.get("type").and_then(|t| t.as_str()).unwrap_or("");
            let text = m.get("text").and_then(|t| t.as_str()).unwrap_or("");
            texts.push(format!("{kind} {text}").trim().to_string());
        }
    } else {
        // XML: <msg type="ERROR">text</msg>
        let mut rest = body.as_str();
        while let Some(i) = rest.find("<msg") {
            let Some(gt) = rest[i..].find('>') else { break };
            let Some(end) = rest[i + gt..].find("</msg>") else { break };
            texts.push(rest[i + gt + 1..i + gt + end].trim().to_string());
            rest = &rest[i + gt + end..];
        }
    }
    let mut s = texts.join("; ");
    if s.is_empty() {
        s = body.trim().chars().take(200).collect();
    }
    if s.chars().count() > 300 {
        s = s.chars().take(300).collect::<String>() + "…";
    }
    let s: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.is_empty() { s } else { format!(": {s}") }
}

/// Checks `--url` and returns it without a trailing slash.
fn base_url(raw: &str) -> Result<String> {
    let u = match url::Url::parse(raw) {
        Ok(u) => u,
        // Do not echo a URL that may hold a password.
        Err(e) if raw.contains('@') => bail!(
            "--url: not a URL ({e}); it seems to hold credentials, and credentials do not belong on the command line: \
             use SPLUNK_USERNAME/SPLUNK_PASSWORD or --secrets"
        ),
        Err(e) => bail!("--url {raw:?}: not a URL ({e})"),
    };
    if !u.username().is_empty() || u.password().is_some() {
        bail!(
            "--url: credentials do not belong on the command line; use SPLUNK_USERNAME/SPLUNK_PASSWORD or --secrets"
        );
    }
    if !matches!(u.scheme(), "https" | "http") {
        bail!("--url: scheme must be https (or http), not {}", u.scheme());
    }
    if u.query().is_some() || u.fragment().is_some() {
        bail!("--url: no query or fragment, only scheme://host:port");
    }
    let loopback = match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if u.scheme() == "http" && !loopback {
        cli::warn(NAME, "warning: --url is http://: credentials and results cross the network unencrypted");
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}

/// A namespace path segment: Splunk user and app names.
fn segment(flag: &str, v: &str) -> Result<String> {
    if v.is_empty()
        || !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
        || v == ".."
        || v == "."
    {
        bail!("{flag}: {v:?} is not a Splunk user or app name");
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(base_url("https://splunk:8089/").unwrap(), "https://splunk:8089");
        assert_eq!(base_url("https://h:8089/proxy/").unwrap(), "https://h:8089/proxy");
        let e = base_url("https://admin:pw@h:8089").unwrap_err().to_string();
        assert!(e.contains("credentials") && !e.contains("pw"), "{e}");
        assert!(base_url("ftp://h").is_err());
        assert!(base_url("https://h:8089/?x=1").is_err());
        assert!(segment("--app", "search").is_ok());
        assert!(segment("--app", "../x").is_err());
    }

    #[test]
    fn cli_is_valid() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
