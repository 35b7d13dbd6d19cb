//! Credentials: from the environment or from an owner-only file, never from argv, never printed.
//!
//! A secrets file holds `NAME=value` lines (`#` comments and blank lines allowed, optional `export `
//! prefix and matching quotes around the value), the same names as the environment variables, e.g.
//!
//! ```text
//! SPLUNK_TOKEN=eyJraWQiOi...
//! TQ_CLIENT_ID=3c1f...
//! TQ_EMAIL=svc-tqpush@example.org
//! TQ_PASSWORD='p@ss word'
//! ```
//!
//! The file must be owned by the user running the tool and not readable or writable by group or others
//! (mode 0600 or 0400); otherwise it is refused, as ssh refuses a readable private key. Values given in the
//! file win over the environment. [`Secret`] never shows its value in `Debug` or `Display`, and its memory is
//! wiped when it is dropped (`secrecy`/`zeroize`). Nothing prompts for a password (the tools run from cron
//! and pipes), so there is no terminal reading to hand to `rpassword`.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// A secret value: `secrecy`'s `SecretString` (its memory is zeroed when dropped), shown as `***`.
#[derive(Clone)]
pub struct Secret(secrecy::SecretString);

impl Secret {
    /// Wraps a value.
    pub fn new(v: impl Into<String>) -> Self {
        Secret(secrecy::SecretString::from(v.into()))
    }
    /// The value, for building a request. Never log it.
    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Credentials looked up by name: the secrets file first, then the environment.
#[derive(Default)]
pub struct Secrets {
    file: HashMap<String, Secret>,
}

impl Secrets {
    /// Loads `file` when given (checking it is owner-only); the environment is consulted on lookup.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let Some(path) = file else { return Ok(Secrets::default()) };
        check_owner_only(path)?;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read secrets file", path.display()))?;
        Ok(Secrets { file: parse(&text).with_context(|| format!("{}", path.display()))? })
    }

    /// The value for `name`: the file's, else the environment's; empty values count as missing.
    pub fn get(&self, name: &str) -> Option<Secret> {
        if let Some(v) = self.file.get(name) {
            return Some(v.clone());
        }
        std::env::var(name).ok().filter(|v| !v.is_empty()).map(Secret::new)
    }
}

fn parse(text: &str) -> Result<HashMap<String, Secret>> {
    let mut map = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            // The line may hold a secret: say where, not what.
            bail!("line {}: expected NAME=value", i + 1);
        };
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("line {}: bad variable name", i + 1);
        }
        let v = v.trim();
        let v = match (v.chars().next(), v.chars().last()) {
            (Some(q @ ('"' | '\'')), Some(e)) if v.len() >= 2 && q == e => &v[1..v.len() - 1],
            _ => v,
        };
        map.insert(k.to_string(), Secret::new(v));
    }
    Ok(map)
}

/// Refuses a secrets file that others could read or change.
pub fn check_owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let md =
        std::fs::metadata(path).with_context(|| format!("{}: cannot open secrets file", path.display()))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if md.uid() != me {
        bail!("{}: secrets file is owned by uid {}, not by this user ({me})", path.display(), md.uid());
    }
    if md.mode() & 0o077 != 0 {
        bail!(
            "{}: secrets file is accessible by group or others (mode {:o}); chmod 600 it",
            path.display(),
            md.mode() & 0o777
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn parses_quotes_exports_comments() {
        let m = parse("# c\nexport A=1\nB='x y'\nC=\"q\"\n\nD=a=b\n").unwrap();
        assert_eq!(m["A"].expose(), "1");
        assert_eq!(m["B"].expose(), "x y");
        assert_eq!(m["C"].expose(), "q");
        assert_eq!(m["D"].expose(), "a=b");
        let e = parse("A=1\nsecretvalue\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && !e.contains("secretvalue"), "{e}");
    }

    #[test]
    fn never_displayed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
    }

    #[test]
    fn group_readable_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, "A=1\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = format!("{:#}", Secrets::load(Some(&p)).err().unwrap());
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Secrets::load(Some(&p)).unwrap().get("A").unwrap().expose(), "1");
    }
}
