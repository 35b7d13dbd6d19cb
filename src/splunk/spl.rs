//! Building the SPL `splunk-export` sends, with user values quoted so they cannot leave their quotes.
//!
//! Rules (Splunk Search Manual, "Quotes and escaping characters"):
//! - a value goes inside double quotes, with `\` written `\\` and `"` written `\"`; control characters
//!   (newlines included) are refused outright, since nothing legitimate in an index or sourcetype name
//!   needs them. `*` stays a wildcard inside quotes: Splunk cannot escape it in search terms.
//! - field names are never quoted user text: they must match `^[A-Za-z_][A-Za-z0-9_.]*$`
//!   ([`super::fields::check_field_name`]); inside `eval` they are single-quoted so that dotted names
//!   (`Web.src`) read as fields.
//! - time bounds never appear in the SPL; they travel as the `earliest_time`, `latest_time`,
//!   `index_earliest` and `index_latest` parameters.

use anyhow::{Result, bail};

use super::fields::{FieldMap, MapKind};

/// What kind of rows the search returns, which decides how they become events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `stats` rows with `splunk-export`'s own column names.
    Stats,
    /// `tstats` rows over the CIM Web data model (host from `site`, else `dest`).
    Tstats,
    /// Events, with the map's field names.
    Raw,
    /// The user's own `--search`: columns named like `splunk-export`'s, or like the map's.
    User,
}

/// Quotes a value for SPL: `"…"` with `\` and `"` escaped. Control characters are refused.
pub fn quote(what: &str, v: &str) -> Result<String> {
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        bail!("{what}: control character {c:?} not allowed in a value sent to Splunk");
    }
    if v.is_empty() {
        bail!("{what}: empty value");
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// What the default search is built from.
#[derive(Clone, Debug)]
pub struct Spec<'a> {
    /// `--index`.
    pub index: Option<&'a str>,
    /// `--sourcetype`.
    pub sourcetype: Option<&'a str>,
    /// `--fields`.
    pub map: &'a FieldMap,
    /// `--raw`.
    pub raw: bool,
    /// `--samples`: values kept per sampled column.
    pub samples: u32,
}

/// The user's own search: `search ` is prefixed unless it starts with a command (`search …`) or a pipe.
pub fn user_search(spl: &str) -> Result<String> {
    let t = spl.trim();
    if t.is_empty() {
        bail!("--search: empty search");
    }
    let starts_search = t.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("search "));
    Ok(if t.starts_with('|') || starts_search { t.to_string() } else { format!("search {t}") })
}

/// Builds the default search and says what rows it returns.
pub fn build(spec: &Spec<'_>) -> Result<(String, Mode)> {
    let mut terms = Vec::new();
    if let Some(i) = spec.index {
        terms.push(format!("index={}", quote("--index", i)?));
    }
    if let Some(s) = spec.sourcetype {
        terms.push(format!("sourcetype={}", quote("--sourcetype", s)?));
    }
    let m = spec.map;
    if spec.raw {
        terms.push(format!("{}=*", m.path));
        let mut cols = vec!["_time", "index", "sourcetype", "source"];
        for f in m.all_fields() {
            if !cols.contains(&f) {
                cols.push(f);
            }
        }
        let spl = format!("search {} | fields {} | fields - _raw", terms.join(" "), cols.join(", "));
        return Ok((spl, Mode::Raw));
    }
    let last = spec.samples.saturating_sub(1);
    let tidy = format!(
        "eval first_seen=round(first_seen,3), last_seen=round(last_seen,3), clients=mvindex(clients,0,{last}), \
         user_agents=mvindex(user_agents,0,{last}), queries=mvindex(queries,0,{last})"
    );
    if m.kind == MapKind::Cim {
        let w = |f: &str| format!("Web.{f}");
        let aggs = aggregates(&w(&m.client), &w(&m.user_agent), &w(&m.query));
        let where_ = if terms.is_empty() { String::new() } else { format!(" WHERE {}", terms.join(" ")) };
        let mut by = vec!["index".to_string(), "sourcetype".to_string()];
        by.extend(m.host.iter().map(|h| w(h)));
        by.extend([w(&m.path), w(&m.method), w(&m.status)]);
        let renames = renames(&[(&m.path, "path"), (&m.method, "method"), (&m.status, "status")]);
        let spl = format!(
            "| tstats fillnull_value=\"-\" {aggs} FROM datamodel=Web.Web{where_} BY {} \
             | rename \"Web.*\" AS *{renames} | {tidy}",
            by.join(" ")
        );
        return Ok((spl, Mode::Tstats));
    }
    terms.push(format!("{}=*", m.path));
    let mut spl = format!("search {}", terms.join(" "));
    let host = if m.host.len() == 1 {
        m.host[0].as_str()
    } else {
        let args: Vec<String> = m.host.iter().map(|h| format!("'{h}'")).collect();
        spl.push_str(&format!(" | eval host=coalesce({})", args.join(",")));
        "host"
    };
    let aggs = aggregates(&m.client, &m.user_agent, &m.query);
    let renames = renames(&[(host, "host"), (&m.path, "path"), (&m.method, "method"), (&m.status, "status")]);
    spl.push_str(&format!(
        " | stats {aggs} BY index sourcetype {host} {} {} {}{renames} | {tidy}",
        m.path, m.method, m.status
    ));
    Ok((spl, Mode::Stats))
}

fn aggregates(client: &str, ua: &str, query: &str) -> String {
    format!(
        "count min(_time) AS first_seen max(_time) AS last_seen dc({client}) AS distinct_clients \
         values({client}) AS clients values({ua}) AS user_agents values({query}) AS queries"
    )
}

/// ` | rename a AS b, c AS d` for the pairs whose names differ; empty when none do.
fn renames(pairs: &[(&str, &str)]) -> String {
    let v: Vec<String> = pairs.iter().filter(|(a, b)| a != b).map(|(a, b)| format!("{a} AS {b}")).collect();
    if v.is_empty() { String::new() } else { format!(" | rename {}", v.join(", ")) }
}

/// Checks a time bound given to `--earliest`/`--latest`/`--index-earliest`/`--index-latest` and returns
/// the parameter value: RFC 3339 becomes epoch seconds; epoch seconds and Splunk relative specifiers
/// (`-24h@h`, `@d`, `now`, `rt-5m`) pass as they are.
pub fn time_param(flag: &str, v: &str) -> Result<String> {
    let v = v.trim();
    if let Some(t) = crate::time::Timestamp::parse_rfc3339(v) {
        let ms = t.0.rem_euclid(1000);
        return Ok(if ms == 0 { t.secs().to_string() } else { format!("{}.{ms:03}", t.secs()) });
    }
    let epoch = !v.is_empty()
        && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && v.bytes().filter(|&b| b == b'.').count() <= 1
        && v.as_bytes()[0].is_ascii_digit();
    if epoch {
        return Ok(v.to_string());
    }
    if is_relative(v) {
        return Ok(v.to_string());
    }
    bail!(
        "{flag}: {v:?} is not a time: use RFC 3339 (2026-10-01T00:00:00Z), epoch seconds (1790812800), \
         or a Splunk relative time (-24h@h, @d, now)"
    )
}

/// A Splunk relative time specifier: `now`, or `[rt][+-N unit]…[@unit[N]][+-N unit]…`.
fn is_relative(v: &str) -> bool {
    if v == "now" || v == "rt" || v == "0" {
        return true;
    }
    let v = v.strip_prefix("rt").unwrap_or(v);
    if v.is_empty() || v.len() > 40 {
        return false;
    }
    let b = v.as_bytes();
    let mut i = 0;
    let mut snapped = false;
    while i < b.len() {
        match b[i] {
            b'+' | b'-' => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let s = i;
                while i < b.len() && b[i].is_ascii_lowercase() {
                    i += 1;
                }
                if !is_unit(&v[s..i]) {
                    return false;
                }
            }
            b'@' if !snapped => {
                snapped = true;
                i += 1;
                let s = i;
                while i < b.len() && b[i].is_ascii_lowercase() {
                    i += 1;
                }
                let unit = &v[s..i];
                // @w0 … @w6: the day of the week to snap to.
                if unit == "w" && i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                } else if !is_unit(unit) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

fn is_unit(u: &str) -> bool {
    matches!(
        u,
        "s" | "sec"
            | "secs"
            | "second"
            | "seconds"
            | "m"
            | "min"
            | "mins"
            | "minute"
            | "minutes"
            | "h"
            | "hr"
            | "hrs"
            | "hour"
            | "hours"
            | "d"
            | "day"
            | "days"
            | "w"
            | "week"
            | "weeks"
            | "mon"
            | "month"
            | "months"
            | "q"
            | "qtr"
            | "qtrs"
            | "quarter"
            | "quarters"
            | "y"
            | "yr"
            | "yrs"
            | "year"
            | "years"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_and_refuses_controls() {
        assert_eq!(quote("x", "web").unwrap(), "\"web\"");
        assert_eq!(quote("x", r#"a"b\c|d"#).unwrap(), r#""a\"b\\c|d""#);
        assert_eq!(quote("x", r"tail\").unwrap(), r#""tail\\""#);
        assert!(quote("x", "a\nb").is_err());
        assert!(quote("x", "a\rb").is_err());
        assert!(quote("x", "a\u{0}b").is_err());
        assert!(quote("x", "").is_err());
    }

    #[test]
    fn default_stats_search() {
        let m = FieldMap::access_combined();
        let spec = Spec {
            index: Some("web"),
            sourcetype: Some("access_combined"),
            map: &m,
            raw: false,
            samples: 10,
        };
        let (spl, mode) = build(&spec).unwrap();
        assert_eq!(mode, Mode::Stats);
        assert_eq!(
            spl,
            "search index=\"web\" sourcetype=\"access_combined\" uri_path=* | stats count min(_time) AS first_seen \
             max(_time) AS last_seen dc(clientip) AS distinct_clients values(clientip) AS clients \
             values(useragent) AS user_agents values(uri_query) AS queries BY index sourcetype host uri_path \
             method status | rename uri_path AS path | eval first_seen=round(first_seen,3), \
             last_seen=round(last_seen,3), clients=mvindex(clients,0,9), user_agents=mvindex(user_agents,0,9), \
             queries=mvindex(queries,0,9)"
        );
    }

    #[test]
    fn iis_coalesces_host_and_cim_uses_tstats() {
        let m = FieldMap::iis();
        let spec = Spec { index: None, sourcetype: Some("ms:iis:auto"), map: &m, raw: false, samples: 5 };
        let (spl, _) = build(&spec).unwrap();
        assert!(spl.contains("| eval host=coalesce('s_sitename','cs_host','host') | stats"), "{spl}");
        assert!(spl.contains("BY index sourcetype host cs_uri_stem cs_method sc_status | rename"), "{spl}");
        assert!(spl.contains("mvindex(clients,0,4)"), "{spl}");
        let m = FieldMap::cim();
        let spec = Spec { index: Some("web"), sourcetype: None, map: &m, raw: false, samples: 10 };
        let (spl, mode) = build(&spec).unwrap();
        assert_eq!(mode, Mode::Tstats);
        assert!(spl.starts_with("| tstats fillnull_value=\"-\" count"), "{spl}");
        assert!(
            spl.contains("FROM datamodel=Web.Web WHERE index=\"web\" BY index sourcetype Web.site Web.dest")
        );
        assert!(spl.contains("| rename \"Web.*\" AS * | rename uri_path AS path, http_method AS method |"));
    }

    #[test]
    fn raw_search_lists_fields_and_drops_raw() {
        let m = FieldMap::access_combined();
        let spec = Spec { index: Some("web"), sourcetype: None, map: &m, raw: true, samples: 10 };
        let (spl, mode) = build(&spec).unwrap();
        assert_eq!(mode, Mode::Raw);
        assert_eq!(
            spl,
            "search index=\"web\" uri_path=* | fields _time, index, sourcetype, source, host, clientip, method, \
             uri_path, uri_query, status, bytes, useragent, referer | fields - _raw"
        );
    }

    #[test]
    fn user_search_prefix() {
        assert_eq!(user_search(" index=web | head 1").unwrap(), "search index=web | head 1");
        assert_eq!(user_search("Search index=web").unwrap(), "Search index=web");
        assert_eq!(user_search("| tstats count").unwrap(), "| tstats count");
        assert_eq!(user_search("searchindex=x").unwrap(), "search searchindex=x");
        assert!(user_search("  ").is_err());
    }

    #[test]
    fn time_params() {
        assert_eq!(time_param("t", "2026-10-01T00:00:00Z").unwrap(), "1790812800");
        assert_eq!(time_param("t", "2026-10-01T02:00:00.250+02:00").unwrap(), "1790812800.250");
        assert_eq!(time_param("t", "1790812800").unwrap(), "1790812800");
        assert_eq!(time_param("t", "1790812800.5").unwrap(), "1790812800.5");
        for ok in ["now", "-24h@h", "@d", "-7d@w1", "rt-5m", "-1d@d+6h", "0"] {
            assert_eq!(time_param("t", ok).unwrap(), ok);
        }
        for bad in ["yesterday", "-24x", "1.2.3", "-1h; rm", "2026-10-01", "@", "--1h"] {
            assert!(time_param("t", bad).is_err(), "{bad}");
        }
    }
}
