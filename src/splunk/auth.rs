//! Credentials for Splunk's REST API: a token, a session key from `/services/auth/login`, or Basic.
//!
//! Values come from [`crate::secrets::Secrets`] (the environment or an owner-only `--secrets` file) and
//! travel only in `Authorization` headers marked sensitive; messages name the variable to fix, never its
//! value.

use anyhow::{Result, bail};
use reqwest::blocking::RequestBuilder;
use reqwest::header::HeaderValue;

use crate::secrets::{Secret, Secrets};

/// Environment variable (or secrets-file name) for an authentication token.
pub const TOKEN_VAR: &str = "SPLUNK_TOKEN";
/// Environment variable for the user name.
pub const USER_VAR: &str = "SPLUNK_USERNAME";
/// Environment variable for the password.
pub const PASSWORD_VAR: &str = "SPLUNK_PASSWORD";

/// `--auth`: how to authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthKind {
    /// A token when SPLUNK_TOKEN is set, else a session from SPLUNK_USERNAME and SPLUNK_PASSWORD.
    Auto,
    /// `Authorization: Bearer` with SPLUNK_TOKEN.
    Token,
    /// Log in at /services/auth/login and send the session key; log in again once if it expires.
    Session,
    /// `Authorization: Basic` with SPLUNK_USERNAME and SPLUNK_PASSWORD on every request.
    Basic,
}

/// Chosen credentials.
pub enum Auth {
    /// An authentication token (JWT).
    Token(Secret),
    /// User and password exchanged for a session key.
    Session {
        /// The user name.
        user: Secret,
        /// The password.
        password: Secret,
        /// The current session key, once logged in.
        key: Option<Secret>,
    },
    /// User and password on every request.
    Basic {
        /// The user name.
        user: Secret,
        /// The password.
        password: Secret,
    },
}

impl Auth {
    /// Picks credentials for `kind` from `secrets`.
    pub fn from_secrets(secrets: &Secrets, kind: AuthKind) -> Result<Self> {
        let token = secrets.get(TOKEN_VAR);
        let user = secrets.get(USER_VAR);
        let password = secrets.get(PASSWORD_VAR);
        let pair = |what: &str| -> Result<(Secret, Secret)> {
            match (user.clone(), password.clone()) {
                (Some(u), Some(p)) => Ok((u, p)),
                _ => bail!(
                    "{what} needs {USER_VAR} and {PASSWORD_VAR}, in the environment or in the --secrets file"
                ),
            }
        };
        Ok(match kind {
            AuthKind::Token => match token {
                Some(t) => Auth::Token(t),
                None => bail!("--auth token needs {TOKEN_VAR}, in the environment or in the --secrets file"),
            },
            AuthKind::Session => {
                let (user, password) = pair("--auth session")?;
                Auth::Session { user, password, key: None }
            }
            AuthKind::Basic => {
                let (user, password) = pair("--auth basic")?;
                Auth::Basic { user, password }
            }
            AuthKind::Auto => match (token, user.is_some() && password.is_some()) {
                (Some(t), _) => Auth::Token(t),
                (None, true) => {
                    let (user, password) = pair("")?;
                    Auth::Session { user, password, key: None }
                }
                (None, false) => bail!(
                    "no Splunk credentials: set {TOKEN_VAR}, or {USER_VAR} and {PASSWORD_VAR}, in the environment \
                     or in an owner-only file given with --secrets"
                ),
            },
        })
    }

    /// How this authenticates, for `--verbose` (never a value).
    pub fn describe(&self) -> &'static str {
        match self {
            Auth::Token(_) => "token (Authorization: Bearer, from SPLUNK_TOKEN)",
            Auth::Session { .. } => "session key (login as SPLUNK_USERNAME at /services/auth/login)",
            Auth::Basic { .. } => "basic (Authorization: Basic, SPLUNK_USERNAME and SPLUNK_PASSWORD)",
        }
    }

    /// What to fix after a 401.
    pub fn hint_401(&self) -> &'static str {
        match self {
            Auth::Token(_) => {
                "check SPLUNK_TOKEN: it may be expired, disabled, truncated, or issued by another Splunk instance"
            }
            Auth::Session { .. } => {
                "the session key was refused even after a fresh login; check the user's roles and SPLUNK_USERNAME"
            }
            Auth::Basic { .. } => {
                "check SPLUNK_USERNAME and SPLUNK_PASSWORD (and that Basic authentication is enabled on this \
                 Splunk; else use --auth session)"
            }
        }
    }

    /// True when a login must happen before the next request.
    pub fn needs_login(&self) -> bool {
        matches!(self, Auth::Session { key: None, .. })
    }

    /// Forgets the session key (after a 401), so the next request logs in again.
    pub fn expire(&mut self) -> bool {
        match self {
            Auth::Session { key, .. } => key.take().is_some(),
            _ => false,
        }
    }

    /// The login form for a session (`username`, `password`).
    pub fn login_form(&self) -> Option<[(&'static str, &str); 3]> {
        match self {
            Auth::Session { user, password, .. } => {
                Some([("username", user.expose()), ("password", password.expose()), ("output_mode", "json")])
            }
            _ => None,
        }
    }

    /// Stores the session key from a login response body (JSON `sessionKey`, or XML `<sessionKey>`).
    pub fn set_session_from(&mut self, body: &str) -> Result<()> {
        let key = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("sessionKey").and_then(|k| k.as_str()).map(str::to_string))
            .or_else(|| {
                let start = body.find("<sessionKey>")? + "<sessionKey>".len();
                let end = body[start..].find("</sessionKey>")? + start;
                Some(body[start..end].trim().to_string())
            })
            .filter(|k| !k.is_empty());
        match (self, key) {
            (Auth::Session { key: slot, .. }, Some(k)) => {
                *slot = Some(Secret::new(k));
                Ok(())
            }
            (_, None) => bail!("the login response holds no sessionKey"),
            _ => bail!("not a session login"),
        }
    }

    /// Adds the `Authorization` header to a request.
    pub fn apply(&self, rb: RequestBuilder) -> Result<RequestBuilder> {
        Ok(match self {
            Auth::Token(t) => {
                rb.header(reqwest::header::AUTHORIZATION, sensitive(&format!("Bearer {}", t.expose()))?)
            }
            Auth::Session { key: Some(k), .. } => {
                rb.header(reqwest::header::AUTHORIZATION, sensitive(&format!("Splunk {}", k.expose()))?)
            }
            Auth::Session { key: None, .. } => bail!("internal: no session key yet"),
            Auth::Basic { user, password } => rb.basic_auth(user.expose(), Some(password.expose())),
        })
    }
}

fn sensitive(v: &str) -> Result<HeaderValue> {
    let mut h = HeaderValue::from_str(v)
        .map_err(|_| anyhow::anyhow!("the credential contains characters not allowed in an HTTP header"))?;
    h.set_sensitive(true);
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_key_from_json_or_xml() {
        let mk = || Auth::Session { user: Secret::new("u"), password: Secret::new("p"), key: None };
        let mut a = mk();
        a.set_session_from(r#"{"sessionKey":"abc"}"#).unwrap();
        assert!(!a.needs_login());
        let mut a = mk();
        a.set_session_from("<response>\n  <sessionKey>xyz</sessionKey>\n</response>").unwrap();
        assert!(a.expire() && a.needs_login());
        assert!(mk().set_session_from("<response/>").is_err());
    }
}
