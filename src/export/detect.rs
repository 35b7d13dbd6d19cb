//! `--format auto`: choose a file's format from its first lines.
//!
//! Every candidate parser reads the same sample; the one that parses the most lines wins, ties going to
//! the more specific format (vhost_combined before combined before common: a combined line also parses
//! as common, never the reverse). A sample that no format reads well is an error that shows the first
//! line, rather than a guess.

use super::{Format, LineParser, Parsed, ParserOptions};

/// How many lines are read ahead to decide.
pub const SAMPLE_LINES: usize = 64;

/// Candidates, most specific first.
const CANDIDATES: &[Format] = &[Format::Vhost, Format::Combined, Format::Common];

/// Picks the format that reads `sample` best; an error message when none reads at least half of it.
pub fn detect(sample: &[Vec<u8>], opts: &ParserOptions) -> Result<Format, String> {
    let lines: Vec<&[u8]> =
        sample.iter().map(Vec::as_slice).filter(|l| !l.iter().all(u8::is_ascii_whitespace)).collect();
    let mut best: Option<(Format, usize)> = None;
    for &f in CANDIDATES {
        let Ok(mut p) = f.parser(opts) else { continue };
        let ok = score(p.as_mut(), &lines);
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

/// Lines a parser reads as part of its format (events, headers, request-less lines).
fn score(p: &mut dyn LineParser, lines: &[&[u8]]) -> usize {
    let mut events = 0;
    let mut ok = 0;
    for l in lines {
        match p.parse(l) {
            Ok(Parsed::Event(_)) => {
                events += 1;
                ok += 1;
            }
            Ok(_) => ok += 1,
            Err(_) => {}
        }
    }
    // A format that only ever sees headers has not shown it can read requests.
    if events == 0 { 0 } else { ok }
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
    fn unknown_is_an_error() {
        let e = detect(&lines("hello world\nfoo bar"), &ParserOptions::default()).unwrap_err();
        assert!(e.contains("hello world"), "{e}");
    }
}
