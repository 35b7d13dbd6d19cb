//! The OAuth token's life: fetched at `/api/token`, renewed before `expires_in` runs out, and once more
//! when the server answers 401 anyway.
//!
//! Password grant (the form ThreatQ's own SDK and most integrations use): `POST
//! /api/token?grant_type=password&client_id=ID` with the JSON body `{"email":…,"password":…}`. Client
//! credentials: `POST /api/token?grant_type=client_credentials` with HTTP Basic `client_id:secret`. The
//! token client never follows redirects (credentials must not be replayed to wherever a redirect points),
//! and nothing here ever prints the request body, the token or a response body.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use reqwest::blocking::Client;
use serde::Deserialize;

use super::api::{Transient, summary};
use crate::secrets::{Secret, Secrets};

/// Renew this long before the token's announced end: a minute, or a quarter of a short lifetime.
pub fn renew_margin(expires_in: Duration) -> Duration {
    (expires_in / 4).min(Duration::from_secs(60))
}

/// Which OAuth grant to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GrantKind {
    /// TQ_CLIENT_ID, TQ_EMAIL, TQ_PASSWORD (a user account).
    Password,
    /// TQ_CLIENT_ID, TQ_CLIENT_SECRET (a service client).
    ClientCredentials,
}

/// The credentials of one grant.
pub enum Grant {
    Password { client_id: Secret, email: Secret, password: Secret },
    ClientCredentials { client_id: Secret, secret: Secret },
}

fn need(secrets: &Secrets, name: &str) -> Result<Secret> {
    secrets
        .get(name)
        .ok_or_else(|| anyhow!("{name} is not set (environment, or NAME=value in --secrets FILE)"))
}

impl Grant {
    /// Reads the grant's credentials from the secrets file or the environment.
    pub fn load(kind: GrantKind, secrets: &Secrets) -> Result<Self> {
        Ok(match kind {
            GrantKind::Password => Grant::Password {
                client_id: need(secrets, "TQ_CLIENT_ID")?,
                email: need(secrets, "TQ_EMAIL")?,
                password: need(secrets, "TQ_PASSWORD")?,
            },
            GrantKind::ClientCredentials => Grant::ClientCredentials {
                client_id: need(secrets, "TQ_CLIENT_ID")?,
                secret: need(secrets, "TQ_CLIENT_SECRET")?,
            },
        })
    }
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    expires_in: Option<f64>,
}

/// A token source for one ThreatQ instance.
pub struct Auth {
    http: Client,
    url: url::Url,
    grant: Grant,
    token: Option<(Secret, Instant)>,
    /// Tokens fetched so far.
    pub fetched: u32,
}

/// Assumed lifetime when the reply has no `expires_in` (the SDK assumes 30 minutes).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(1800);

impl Auth {
    /// `http` must not follow redirects; `url` is the instance's `/api/token`.
    pub fn new(http: Client, url: url::Url, grant: Grant) -> Self {
        Auth { http, url, grant, token: None, fetched: 0 }
    }

    /// A valid token, renewed first when it is about to run out.
    pub fn bearer(&mut self) -> Result<&Secret> {
        let fresh = matches!(&self.token, Some((_, renew_at)) if Instant::now() < *renew_at);
        if !fresh {
            self.token = None;
            let (tok, renew_at) = self.fetch()?;
            self.token = Some((tok, renew_at));
        }
        Ok(&self.token.as_ref().expect("token just set").0)
    }

    /// Forgets the token (after a 401): the next [`Auth::bearer`] fetches a new one.
    pub fn invalidate(&mut self) {
        self.token = None;
    }

    fn fetch(&mut self) -> Result<(Secret, Instant)> {
        let mut url = self.url.clone();
        let req = match &self.grant {
            Grant::Password { client_id, email, password } => {
                url.query_pairs_mut()
                    .append_pair("grant_type", "password")
                    .append_pair("client_id", client_id.expose());
                self.http
                    .post(url)
                    .json(&serde_json::json!({"email": email.expose(), "password": password.expose()}))
            }
            Grant::ClientCredentials { client_id, secret } => {
                url.query_pairs_mut().append_pair("grant_type", "client_credentials");
                self.http.post(url).basic_auth(client_id.expose(), Some(secret.expose()))
            }
        };
        let started = Instant::now();
        // The URL carries the client id: report the endpoint only.
        let resp =
            req.send().map_err(|e| super::api::send_error(&format!("token request to {}", self.url), &e))?;
        let status = resp.status();
        if status.is_redirection() {
            let to = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("?").to_string();
            bail!(
                "{}: answered {status} with a redirect to {}; not followed (credentials are never replayed \
                 to a redirect target): check --url",
                self.url,
                crate::tq::plan::clean(&to)
            );
        }
        if crate::http::retryable_status(status.as_u16()) {
            let retry_after = crate::http::retry_after(resp.headers(), Duration::from_secs(60));
            return Err(anyhow!(Transient { msg: format!("{}: HTTP {status}", self.url), retry_after }));
        }
        if !status.is_success() {
            // Only the OAuth error code and description are shown: some servers echo the request.
            let text = resp.text().unwrap_or_default();
            let why = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .map(|v| {
                    ["error", "error_description", "message"]
                        .iter()
                        .filter_map(|k| v.get(k).and_then(|x| x.as_str()).map(summary))
                        .collect::<Vec<_>>()
                        .join(": ")
                })
                .unwrap_or_default();
            let hint = if matches!(status.as_u16(), 400 | 401) { " (credentials refused)" } else { "" };
            bail!("{}: HTTP {status}{hint}{}{why}", self.url, if why.is_empty() { "" } else { ": " });
        }
        let reply: TokenReply = resp.json().map_err(|e| {
            anyhow!("{}: token reply is not the expected JSON: {}", self.url, e.without_url())
        })?;
        if reply.access_token.is_empty() {
            bail!("{}: token reply has an empty access_token", self.url);
        }
        let life = reply
            .expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| Duration::from_secs_f64(s.min(1e9)))
            .unwrap_or(DEFAULT_LIFETIME);
        self.fetched += 1;
        let renew_at = started + life - renew_margin(life);
        Ok((Secret::new(reply.access_token), renew_at))
    }
}

/// The token endpoint of an API base (`…/api/`).
pub fn token_url(api_base: &url::Url) -> Result<url::Url> {
    api_base.join("token").context("building the token URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_a_minute_early_or_a_quarter_of_a_short_life() {
        assert_eq!(renew_margin(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(renew_margin(Duration::from_secs(2)), Duration::from_millis(500));
    }
}
