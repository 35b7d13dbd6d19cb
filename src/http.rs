//! What `splunk-export` and `tq-push` share about HTTP: TLS settings, the client, and retry timing.
//!
//! TLS is verified by default against the system's roots; `--ca-cert FILE` adds a private CA (Splunk's
//! management port and on-premises ThreatQ appliances usually have one); `--insecure` turns verification
//! off only when asked, and says so on stderr every run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Connection flags shared by the HTTP tools (flattened into their `Args`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct HttpArgs {
    /// PEM file with the CA certificate(s) that signed the server's certificate.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

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
    if let Some(path) = &args.ca_cert {
        let pem =
            std::fs::read(path).with_context(|| format!("{}: cannot read CA certificate", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{}: not a PEM certificate", path.display()))?;
        if certs.is_empty() {
            anyhow::bail!("{}: no certificate in the file", path.display());
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if args.insecure {
        crate::cli::warn(tool, "warning: --insecure: the server's TLS certificate is NOT verified");
        b = b.danger_accept_invalid_certs(true);
    }
    b.build().context("cannot set up the HTTP client")
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
