//! What `splunk-export` and `tq-push` share about HTTP: TLS settings, the client, and retry timing.
//!
//! TLS is verified by default against the system's roots; `--ca-cert FILE` adds a private CA (Splunk's
//! management port and on-premises ThreatQ appliances usually have one) or the appliance's own
//! self-signed certificate, `--pin-sha256` trusts a public key, and `--insecure` turns verification off
//! only when asked, and says so on stderr every run (see [`crate::tls`]).
//!
//! Which failures are worth another attempt is decided here for both tools ([`classify`]): a timeout, a
//! refused or reset connection, 429 and 5xx may heal by waiting; a certificate, a name that does not
//! resolve, 400/401/403/404 and a malformed answer will not, and fail at once.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Connection flags shared by the HTTP tools (flattened into their `Args`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct HttpArgs {
    /// PEM file with the CA certificate(s) that signed the server's certificate, or the server's own
    /// self-signed certificate (trusted when it is exactly the one presented, current, and names the host).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Trust the server whose public key has this SHA-256 (base64 of its SubjectPublicKeyInfo's digest, as
    /// curl's --pinnedpubkey; `sha256//` prefix optional; several joined by `;`). The pin alone decides:
    /// the certificate's issuer, name and dates are not checked. The README shows how to get it.
    #[arg(long, value_name = "BASE64")]
    pub pin_sha256: Option<String>,

    /// Do not verify the server's TLS certificate (prints a warning every run).
    #[arg(long)]
    pub insecure: bool,

    /// Seconds to wait for a connection, and between bytes of a response.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
}

/// Builds a blocking client. `follow_redirects` is false for token endpoints, whose credentials must not
/// be replayed to wherever a redirect points.
pub fn client(tool: &str, args: &HttpArgs, follow_redirects: bool) -> Result<reqwest::blocking::Client> {
    let mut b = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(args.timeout.min(60)))
        // The blocking client applies this to the wait for the response head and to each read of the body,
        // not to the whole transfer: an export streams for as long as it has rows.
        .timeout(Duration::from_secs(args.timeout))
        .user_agent(concat!("webshell-hunt/", env!("CARGO_PKG_VERSION")));
    if !follow_redirects {
        b = b.redirect(reqwest::redirect::Policy::none());
    }
    let mut trust = crate::tls::Trust { insecure: args.insecure, ..Default::default() };
    if let Some(path) = &args.ca_cert {
        trust.certs = crate::tls::read_pem_certs(path)?;
    }
    if let Some(p) = &args.pin_sha256 {
        trust.pins = crate::tls::parse_pins(p)?;
    }
    if args.insecure {
        crate::cli::warn(tool, "warning: --insecure: the server's TLS certificate is NOT verified");
    }
    b = b.tls_backend_preconfigured(crate::tls::client_config(trust)?);
    b.build().context("cannot set up the HTTP client")
}

/// What a failed request means for the next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt: a timeout, a refused or reset connection (a server restarting).
    Retry(String),
    /// The server's certificate was refused: waiting will not change it.
    Tls(String),
    /// The host name does not resolve: a typo or a missing DNS entry, not a passing fault.
    Dns(String),
    /// Anything else (a bad URL, a redirect loop): fails at once.
    Fatal(String),
}

impl Failure {
    /// The message, whatever the class.
    pub fn message(&self) -> &str {
        match self {
            Failure::Retry(m) | Failure::Tls(m) | Failure::Dns(m) | Failure::Fatal(m) => m,
        }
    }
}

/// Classifies a failed send. The message is the error's causes, without the URL (whose query may carry
/// anything), the certificate's identity included for TLS failures.
pub fn classify(e: &reqwest::Error) -> Failure {
    let causes = causes(e);
    let lower = causes.to_ascii_lowercase();
    let any = |keys: &[&str]| keys.iter().any(|k| lower.contains(k));
    if let Some(why) = crate::tls::take_refusal() {
        Failure::Tls(why)
    } else if any(&[
        "certificate",
        "handshake",
        "unknownissuer",
        "tls alert",
        "received fatal alert",
        "peer sent no",
    ]) {
        Failure::Tls(causes)
    } else if any(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "no address associated",
    ]) {
        Failure::Dns(format!("{causes} (the host name does not resolve: check --url)"))
    } else if e.is_timeout() || e.is_connect() || (e.is_request() && !e.is_builder()) || e.is_body() {
        Failure::Retry(if e.is_timeout() { format!("timed out ({causes})") } else { causes })
    } else {
        Failure::Fatal(causes)
    }
}

/// The error's causes on one line, without its own message (which holds the URL).
fn causes(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        let t = c.to_string();
        // Wrappers repeat their cause's text; keep the most specific spelling once.
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.retain(|p| !t.contains(p.as_str()));
            parts.push(t);
        }
        cur = c.source();
    }
    if parts.is_empty() { e.to_string() } else { parts.join(": ") }
}

/// True for the statuses worth another attempt: 429 and every 5xx.
pub fn retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// A `Retry-After` in delta-seconds, capped at `cap` (an HTTP-date is ignored: the backoff applies).
pub fn retry_after(headers: &reqwest::header::HeaderMap, cap: Duration) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(v).min(cap))
}

/// Capped exponential backoff with a total deadline.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
    deadline: Instant,
    /// Attempts made so far.
    pub attempts: u32,
}

impl Backoff {
    /// Starts at `first`, doubles up to `max`, gives up after `total` from now.
    pub fn new(first: Duration, max: Duration, total: Duration) -> Self {
        Backoff { next: first, max, deadline: Instant::now() + total, attempts: 0 }
    }

    /// The delay before the next attempt, or `None` when the deadline would pass.
    pub fn next_delay(&mut self) -> Option<Duration> {
        let d = self.next;
        if Instant::now() + d > self.deadline {
            return None;
        }
        self.attempts += 1;
        self.next = (self.next * 2).min(self.max);
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_ends() {
        let mut b = Backoff::new(Duration::from_millis(1), Duration::from_millis(4), Duration::from_secs(60));
        let v: Vec<_> = (0..4).map(|_| b.next_delay().unwrap().as_millis()).collect();
        assert_eq!(v, [1, 2, 4, 4]);
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(10), Duration::from_secs(1));
        assert_eq!(b.next_delay(), None);
    }
}
