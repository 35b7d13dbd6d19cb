//! Field maps: which Splunk field plays which role in an event.
//!
//! Splunk names the same thing differently per sourcetype: the client address is `clientip` in
//! `access_combined`, `c_ip` in IIS's W3C extraction and `src` in the CIM Web data model. A [`FieldMap`]
//! names, for each role of [`crate::record::Event`], the Splunk field to read. Splunk's `host` field is the
//! machine that forwarded the log, not the virtual host, so the host role takes a list of candidates,
//! the first present one winning (IIS: `s_sitename`, then `cs_host`, then `host`).

use std::fmt;

use anyhow::{Result, bail};

/// The roles a field can play, in the order `--fields MAP` lists them.
pub const ROLES: &[&str] =
    &["host", "client", "method", "path", "query", "status", "bytes", "user_agent", "referer"];

/// The names `splunk-export`'s own aggregating SPL gives its output columns; a mapped field may not
/// take one of these names for another role, or the `rename` would clobber it.
pub const OUTPUT_NAMES: &[&str] = &[
    "host",
    "path",
    "method",
    "status",
    "count",
    "first_seen",
    "last_seen",
    "distinct_clients",
    "clients",
    "user_agents",
    "queries",
    "index",
    "sourcetype",
];

/// Which map `--fields` chose: a named one, or a custom `role=field,…` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// Apache/Nginx `access_combined` search-time extractions.
    AccessCombined,
    /// IIS W3C index-time extractions (`iis`, `ms:iis:*`).
    Iis,
    /// The CIM Web data model; aggregated with `tstats`.
    Cim,
    /// A custom map.
    Custom,
}

/// Splunk field names for each role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldMap {
    /// Which map this is.
    pub kind: MapKind,
    /// Candidates for the virtual host, the first present one wins.
    pub host: Vec<String>,
    /// The client address.
    pub client: String,
    /// The request method.
    pub method: String,
    /// The URL path without the query.
    pub path: String,
    /// The query string.
    pub query: String,
    /// The HTTP status.
    pub status: String,
    /// Response bytes.
    pub bytes: String,
    /// The User-Agent header.
    pub user_agent: String,
    /// The Referer header.
    pub referer: String,
}

fn s(v: &str) -> String {
    v.to_string()
}

impl FieldMap {
    /// `access_combined` (Splunk's `access-extractions`).
    pub fn access_combined() -> Self {
        FieldMap {
            kind: MapKind::AccessCombined,
            host: vec![s("host")],
            client: s("clientip"),
            method: s("method"),
            path: s("uri_path"),
            query: s("uri_query"),
            status: s("status"),
            bytes: s("bytes"),
            user_agent: s("useragent"),
            referer: s("referer"),
        }
    }

    /// IIS W3C fields as Splunk's `iis` sourcetype extracts them.
    pub fn iis() -> Self {
        FieldMap {
            kind: MapKind::Iis,
            host: vec![s("s_sitename"), s("cs_host"), s("host")],
            client: s("c_ip"),
            method: s("cs_method"),
            path: s("cs_uri_stem"),
            query: s("cs_uri_query"),
            status: s("sc_status"),
            bytes: s("sc_bytes"),
            user_agent: s("cs_User_Agent"),
            referer: s("cs_Referer"),
        }
    }

    /// The CIM Web data model (field names without the `Web.` prefix `tstats` needs).
    pub fn cim() -> Self {
        FieldMap {
            kind: MapKind::Cim,
            host: vec![s("site"), s("dest")],
            client: s("src"),
            method: s("http_method"),
            path: s("uri_path"),
            query: s("uri_query"),
            status: s("status"),
            bytes: s("bytes"),
            user_agent: s("http_user_agent"),
            referer: s("http_referrer"),
        }
    }

    /// Parses `--fields`: `access_combined`, `iis`, `cim`, or `role=field,…` over the `access_combined`
    /// names, with `host=a|b|c` listing host candidates in order.
    pub fn parse(spec: &str) -> Result<Self> {
        match spec {
            "access_combined" => return Ok(Self::access_combined()),
            "iis" => return Ok(Self::iis()),
            "cim" => return Ok(Self::cim()),
            _ => {}
        }
        if !spec.contains('=') {
            bail!(
                "--fields: unknown map {spec:?}; use access_combined, iis, cim, or role=field,… (roles: {})",
                ROLES.join(", ")
            );
        }
        let mut m = Self::access_combined();
        m.kind = MapKind::Custom;
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((role, field)) = item.split_once('=') else {
                bail!("--fields: {item:?} is not role=field");
            };
            let role = role.trim();
            let field = field.trim();
            if role == "host" {
                let cands: Vec<String> = field.split('|').map(|f| f.trim().to_string()).collect();
                for c in &cands {
                    check_field_name(c)?;
                }
                m.host = cands;
                continue;
            }
            check_field_name(field)?;
            let slot = match role {
                "client" => &mut m.client,
                "method" => &mut m.method,
                "path" => &mut m.path,
                "query" => &mut m.query,
                "status" => &mut m.status,
                "bytes" => &mut m.bytes,
                "user_agent" => &mut m.user_agent,
                "referer" => &mut m.referer,
                _ => bail!("--fields: unknown role {role:?}; roles are {}", ROLES.join(", ")),
            };
            *slot = field.to_string();
        }
        m.check()?;
        Ok(m)
    }

    /// The single-field roles with their role names.
    pub fn singles(&self) -> [(&'static str, &str); 8] {
        [
            ("client", &self.client),
            ("method", &self.method),
            ("path", &self.path),
            ("query", &self.query),
            ("status", &self.status),
            ("bytes", &self.bytes),
            ("user_agent", &self.user_agent),
            ("referer", &self.referer),
        ]
    }

    /// The role's output column in the aggregated SPL (`None`: the role is only sampled or dropped).
    fn output_of(role: &str) -> Option<&'static str> {
        match role {
            "host" => Some("host"),
            "path" => Some("path"),
            "method" => Some("method"),
            "status" => Some("status"),
            _ => None,
        }
    }

    /// Refuses maps whose fields would collide in the generated SPL.
    fn check(&self) -> Result<()> {
        let mut used: Vec<(&str, &str)> = Vec::new();
        for h in &self.host {
            used.push(("host", h));
        }
        used.extend(self.singles());
        for (i, (role, f)) in used.iter().enumerate() {
            if let Some((other, _)) = used[..i].iter().find(|(r, g)| g == f && r != role) {
                bail!("--fields: field {f:?} is mapped to both {other} and {role}");
            }
            if OUTPUT_NAMES.contains(f) && Self::output_of(role) != Some(f) {
                bail!(
                    "--fields: field {f:?} for {role} collides with the output column {f:?}; use another field"
                );
            }
        }
        Ok(())
    }

    /// Every field name the map reads, host candidates first.
    pub fn all_fields(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.host.iter().map(String::as_str).collect();
        v.extend(self.singles().iter().map(|(_, f)| *f));
        v
    }
}

impl fmt::Display for FieldMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host={}", self.host.join("|"))?;
        for (role, field) in self.singles() {
            write!(f, ",{role}={field}")?;
        }
        Ok(())
    }
}

/// Field names allowed in generated SPL: `^[A-Za-z_][A-Za-z0-9_.]*$`, at most 128 characters.
pub fn check_field_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && name.len() <= 128;
    if !ok {
        bail!(
            "--fields: field name {name:?} is not allowed (letters, digits, _ and ., not starting with a digit)"
        );
    }
    Ok(())
}

/// The `server` hint for a sourcetype: how the server resolves paths, for `path-normalize`.
pub fn server_for_sourcetype(st: &str) -> Option<&'static str> {
    let st = st.to_ascii_lowercase();
    if st == "iis" || st.starts_with("iis:") || st.starts_with("ms:iis") || st.starts_with("iis_") {
        Some("iis")
    } else if st.contains("nginx") {
        Some("nginx")
    } else if st.starts_with("access_combined") || st.starts_with("access_common") || st.contains("apache") {
        Some("apache")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_maps() {
        assert_eq!(FieldMap::parse("iis").unwrap().host, ["s_sitename", "cs_host", "host"]);
        assert_eq!(FieldMap::parse("cim").unwrap().client, "src");
        assert!(FieldMap::parse("apache").unwrap_err().to_string().contains("unknown map"));
    }

    #[test]
    fn custom_map_over_access_combined() {
        let m = FieldMap::parse("path=cs_uri_stem, client=c_ip,host=s_sitename|host").unwrap();
        assert_eq!(m.kind, MapKind::Custom);
        assert_eq!(
            (m.path.as_str(), m.client.as_str(), m.method.as_str()),
            ("cs_uri_stem", "c_ip", "method")
        );
        assert_eq!(m.host, ["s_sitename", "host"]);
        assert_eq!(m.to_string().split(',').next(), Some("host=s_sitename|host"));
    }

    #[test]
    fn hostile_or_colliding_names_refused() {
        for bad in ["path=uri path", "path=a\"b", "path=x|stats", "path=1abc", "client=a]", "path="] {
            assert!(FieldMap::parse(bad).is_err(), "{bad}");
        }
        let e = FieldMap::parse("client=count").unwrap_err().to_string();
        assert!(e.contains("collides"), "{e}");
        let e = FieldMap::parse("client=uri_path").unwrap_err().to_string();
        assert!(e.contains("both"), "{e}");
        assert!(FieldMap::parse("colour=x").unwrap_err().to_string().contains("unknown role"));
        assert!(FieldMap::parse("path=Web.uri_path,host=Web.dest").is_ok());
    }

    #[test]
    fn server_hints() {
        assert_eq!(server_for_sourcetype("access_combined"), Some("apache"));
        assert_eq!(server_for_sourcetype("access_combined_wcookie"), Some("apache"));
        assert_eq!(server_for_sourcetype("ms:iis:auto"), Some("iis"));
        assert_eq!(server_for_sourcetype("iis"), Some("iis"));
        assert_eq!(server_for_sourcetype("nginx:plus:kv"), Some("nginx"));
        assert_eq!(server_for_sourcetype("my_custom"), None);
    }
}
