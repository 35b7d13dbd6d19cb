//! `--status` and `--method`: which records go on.
//!
//! A spec is a comma-separated list. Status items: a code (`200`), a class (`2xx`), a range
//! (`200-299`) or `all`; method items: a method name (case-insensitive) or `all`. An item prefixed with
//! `!` excludes. With no positive item everything not excluded passes; otherwise only what a positive
//! item names and no negative item excludes. Records without a status or method always pass (nothing to
//! filter on).
//!
//! The default status filter is `!4xx`: client errors are scanners probing paths that do not exist
//! (404) or are forbidden (403), and they would pollute the baseline; 5xx stays because a web shell can
//! answer 500 (SUPERNOVA does), and 3xx/2xx are the site working.

use std::ops::RangeInclusive;

use anyhow::{Result, bail};

/// A parsed `--status` spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFilter {
    include: Vec<RangeInclusive<u16>>,
    exclude: Vec<RangeInclusive<u16>>,
}

impl StatusFilter {
    /// Parses a spec such as `!4xx`, `2xx,3xx,500-599`, `200,302`.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut f = StatusFilter { include: vec![], exclude: vec![] };
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (neg, body) = match item.strip_prefix('!') {
                Some(b) => (true, b),
                None => (false, item),
            };
            let range = parse_status_item(body)
                .ok_or_else(|| anyhow::anyhow!("bad status item {item:?} (want 200, 2xx, 200-299 or all)"))?;
            if neg { f.exclude.push(range) } else { f.include.push(range) }
        }
        if f.include.is_empty() && f.exclude.is_empty() {
            bail!("empty status spec");
        }
        Ok(f)
    }

    /// True when a record with this status goes on.
    pub fn keeps(&self, status: Option<u16>) -> bool {
        let Some(s) = status else { return true };
        (self.include.is_empty() || self.include.iter().any(|r| r.contains(&s)))
            && !self.exclude.iter().any(|r| r.contains(&s))
    }
}

fn parse_status_item(s: &str) -> Option<RangeInclusive<u16>> {
    let s = s.to_ascii_lowercase();
    if s == "all" {
        return Some(0..=999);
    }
    if s.len() == 3 && s.ends_with("xx") {
        let d = u16::from(s.as_bytes()[0].checked_sub(b'0').filter(|d| *d <= 9)?);
        return Some(d * 100..=d * 100 + 99);
    }
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?);
        return (a <= b && b <= 999).then_some(a..=b);
    }
    let c = s.parse::<u16>().ok()?;
    (c <= 999).then_some(c..=c)
}

/// A parsed `--method` spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodFilter {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl MethodFilter {
    /// Parses a spec such as `GET,POST` or `!OPTIONS,!HEAD`.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut f = MethodFilter { include: vec![], exclude: vec![] };
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (neg, body) = match item.strip_prefix('!') {
                Some(b) => (true, b),
                None => (false, item),
            };
            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                bail!("bad method item {item:?}");
            }
            if body.eq_ignore_ascii_case("all") {
                if neg {
                    bail!("!all would drop everything");
                }
                continue;
            }
            let m = body.to_ascii_uppercase();
            if neg { f.exclude.push(m) } else { f.include.push(m) }
        }
        Ok(f)
    }

    /// True when a record with this method goes on.
    pub fn keeps(&self, method: Option<&str>) -> bool {
        let Some(m) = method else { return true };
        let is = |x: &String| x.eq_ignore_ascii_case(m);
        (self.include.is_empty() || self.include.iter().any(is)) && !self.exclude.iter().any(is)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_specs() {
        let d = StatusFilter::parse("!4xx").unwrap();
        assert!(d.keeps(Some(200)) && d.keeps(Some(302)) && d.keeps(Some(500)) && d.keeps(Some(0)));
        assert!(!d.keeps(Some(404)) && !d.keeps(Some(403)));
        assert!(d.keeps(None));
        let f = StatusFilter::parse("2xx, 500-503,!204").unwrap();
        assert!(f.keeps(Some(200)) && f.keeps(Some(502)) && !f.keeps(Some(204)) && !f.keeps(Some(301)));
        assert!(StatusFilter::parse("2x").is_err());
        assert!(StatusFilter::parse("600-500").is_err());
        assert!(StatusFilter::parse("").is_err());
        assert!(StatusFilter::parse("all").unwrap().keeps(Some(404)));
    }

    #[test]
    fn method_specs() {
        let f = MethodFilter::parse("get,POST").unwrap();
        assert!(f.keeps(Some("GET")) && f.keeps(Some("post")) && !f.keeps(Some("HEAD")) && f.keeps(None));
        let f = MethodFilter::parse("!OPTIONS").unwrap();
        assert!(f.keeps(Some("GET")) && !f.keeps(Some("options")));
        assert!(MethodFilter::parse("G ET").is_err());
    }
}
