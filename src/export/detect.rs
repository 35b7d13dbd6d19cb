//! `--format auto`: choose a file's format from its first lines.
//!
//! Some formats announce themselves, and those signs choose the family of candidates:
//!
//! - a `#Fields:` header means W3C extended: CloudFront when it names `x-edge-location` or the data lines
//!   are tab-separated, else IIS;
//! - lines that mostly start with `{` mean JSON: Caddy and the generic JSON mapping compete, Caddy first
//!   (its parser only reads objects that carry `request.uri`);
//! - anything else: ALB (a connection type, then an ISO time), the CLF family, and headerless IIS and
//!   CloudFront lines.
//!
//! Within the family every candidate parser reads the same sample; the one that parses the most lines
//! wins, ties going to the more specific format (vhost_combined before combined before common: a
//! combined line also parses as common, never the reverse). The winner must read at least half the
//! sample and at least one request in it. A sample that no format reads well is an error that shows the
//! first line, rather than a guess.

use super::{Format, LineParser, Parsed, ParserOptions};

/// How many lines are read ahead to decide.
pub const SAMPLE_LINES: usize = 64;

/// Text-line candidates, most specific first.
const TEXT: &[Format] =
    &[Format::Alb, Format::Vhost, Format::Combined, Format::Common, Format::Iis, Format::Cloudfront];
/// JSON candidates, most specific first.
const JSON: &[Format] = &[Format::Caddy, Format::Json];

/// The candidates the sample's own signs allow.
fn family(lines: &[&[u8]]) -> &'static [Format] {
    if let Some(fields) = lines.iter().find(|l| l.len() >= 8 && l[..8].eq_ignore_ascii_case(b"#Fields:")) {
        let edge =
            fields[8..].split(u8::is_ascii_whitespace).any(|f| f.eq_ignore_ascii_case(b"x-edge-location"));
        let tabs = lines.iter().any(|l| l.first() != Some(&b'#') && l.contains(&b'\t'));
        return if edge || tabs { &[Format::Cloudfront] } else { &[Format::Iis] };
    }
    let objects = lines.iter().filter(|l| l.trim_ascii_start().first() == Some(&b'{')).count();
    if objects * 2 > lines.len() { JSON } else { TEXT }
}

/// Picks the format that reads `sample` best; an error message when none reads at least half of it.
pub fn detect(sample: &[Vec<u8>], opts: &ParserOptions) -> Result<Format, String> {
    let lines: Vec<&[u8]> =
        sample.iter().map(Vec::as_slice).filter(|l| !l.iter().all(u8::is_ascii_whitespace)).collect();
    let mut best: Option<(Format, usize)> = None;
    for &f in family(&lines) {
        let Ok(mut p) = f.parser(opts) else { continue };
        let ok = score(p.as_mut(), &lines, f.clf_variant().is_some());
        if ok > 0 && best.is_none_or(|(_, b)| ok > b) {
            best = Some((f, ok));
        }
    }
    match best {
        Some((f, ok)) if ok * 2 >= lines.len() => Ok(f),
        _ => {
            let first = lines.first().map(|l| String::from_utf8_lossy(&l[..l.len().min(120)]).into_owned());
            Err(format!(
                "cannot detect the log format from the first {} lines (first: {:?}); give --format",
                lines.len(),
                first.unwrap_or_default()
            ))
        }
    }
}

/// Lines a parser reads as part of its format (events, headers, request-less lines). `whole_lines`:
/// the format's request-less lines are whole log lines read to the end (the CLF family's `"-"` and
/// TLS-junk requests), so they show the format as well as requests do.
fn score(p: &mut dyn LineParser, lines: &[&[u8]], whole_lines: bool) -> usize {
    let mut shown = 0;
    let mut ok = 0;
    for l in lines {
        match p.parse(l) {
            Ok(Parsed::Event(_)) => {
                shown += 1;
                ok += 1;
            }
            Ok(Parsed::NoRequest(_)) if whole_lines => {
                shown += 1;
                ok += 1;
            }
            Ok(_) => ok += 1,
            Err(_) => {}
        }
    }
    // A format that only ever sees headers (or, for Caddy, other loggers' entries) has not shown it
    // can read requests.
    if shown == 0 { 0 } else { ok }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<Vec<u8>> {
        s.lines().map(|l| l.as_bytes().to_vec()).collect()
    }

    #[test]
    fn clf_family() {
        let o = ParserOptions::default();
        let c = r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "ua""#;
        assert_eq!(detect(&lines(c), &o), Ok(Format::Combined));
        let m = r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#;
        assert_eq!(detect(&lines(m), &o), Ok(Format::Common));
        let v = format!("h:80 {c}");
        assert_eq!(detect(&lines(&v), &o), Ok(Format::Vhost));
    }

    #[test]
    fn new_formats_by_their_signs() {
        let o = ParserOptions::default();
        let iis = "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time cs-method \
                   cs-uri-stem c-ip sc-status\n2026-10-15 13:55:36 GET /a 192.0.2.1 200";
        assert_eq!(detect(&lines(iis), &o), Ok(Format::Iis));
        let cf = "#Version: 1.0\n#Fields: date time cs-method cs-uri-stem sc-status\n2026-10-15\t13:55:36\tGET\t/a\t200";
        assert_eq!(detect(&lines(cf), &o), Ok(Format::Cloudfront));
        let cf_named = "#Fields: date time x-edge-location cs-uri-stem\n";
        // Headers only: no request read, so no format is chosen.
        assert!(detect(&lines(cf_named), &o).is_err());
        let alb = "h2 2026-10-15T13:55:36.123456Z app/w/1 192.0.2.1:5 10.0.0.1:80 0 0 0 200 200 1 2 \
                   \"GET https://h:443/ HTTP/2.0\" \"ua\" - -";
        assert_eq!(detect(&lines(alb), &o), Ok(Format::Alb));
        let json = r#"{"time_local":"15/Oct/2026:13:55:36 +0000","request":"GET / HTTP/1.1","status":"200"}"#;
        assert_eq!(detect(&lines(json), &o), Ok(Format::Json));
        let caddy = r#"{"ts":1760536536.1,"logger":"http.log.access.log0","msg":"handled request","request":{"uri":"/"},"status":200}
{"ts":1760536536.1,"logger":"tls","msg":"renewed"}"#;
        assert_eq!(detect(&lines(caddy), &o), Ok(Format::Caddy));
        // Only non-access Caddy entries: neither Caddy (no request) nor JSON (no target) reads it.
        let tls = r#"{"ts":1760536536.1,"logger":"tls","msg":"renewed"}"#;
        assert!(detect(&lines(tls), &o).is_err());
    }

    #[test]
    fn a_family_member_must_read_half_the_sample() {
        let o = ParserOptions::default();
        let good = r#"{"uri":"/a","status":200}"#;
        let bad = r#"{"nothing":"here"}"#;
        let half = [good, good, bad, bad].join("\n");
        assert_eq!(detect(&lines(&half), &o), Ok(Format::Json));
        let less = [good, bad, bad].join("\n");
        assert!(detect(&lines(&less), &o).is_err());
        // A mapping given with --field takes part in detection.
        let mapped = ParserOptions { fields: vec!["uri=nothing".parse().unwrap()], ..Default::default() };
        assert_eq!(detect(&lines(&less), &mapped), Ok(Format::Json));
    }

    #[test]
    fn a_clf_file_of_request_less_lines_is_still_clf() {
        // Only TLS handshakes sent to a plain-HTTP port: well-formed lines, no request in them.
        let tls = r#"1.2.3.4 - - [17/Oct/2023:05:57:49 +1100] " " 400 226 "-" "-""#;
        assert_eq!(detect(&lines(tls), &ParserOptions::default()), Ok(Format::Combined));
    }

    #[test]
    fn unknown_is_an_error() {
        let e = detect(&lines("hello world\nfoo bar"), &ParserOptions::default()).unwrap_err();
        assert!(e.contains("hello world"), "{e}");
    }
}
