//! The ranked table for a terminal: what `findings-report` and `webshell-hunt` on a tty print.
//!
//! New findings first, highest score first, each with its three heaviest reasons; then the baseline
//! audit (learned findings at or above the alert threshold). Everything that came from a log is passed
//! through [`clean`] first: a user agent or path may carry terminal escape sequences, and a report must
//! never let a logged string drive the analyst's terminal.

use std::fmt::Write as _;

use crate::record::Finding;

/// Table settings.
#[derive(Debug, Clone)]
pub struct TableOptions {
    /// Terminal width.
    pub width: usize,
    /// At most this many new findings.
    pub limit: usize,
    /// ANSI colours.
    pub color: bool,
    /// The alert threshold.
    pub alert: u8,
}

/// Replaces control characters (and other characters that move the cursor) with `?`.
pub fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() || ('\u{80}'..='\u{9f}').contains(&c) { '?' } else { c }).collect()
}

/// The path to show: the concrete path when the key had exactly one, else the template.
pub fn display_path(f: &Finding) -> &str {
    match f.paths.as_slice() {
        [one] if f.distinct_paths == 1 => &one.value,
        _ => &f.template,
    }
}

fn fit(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        return s.to_string();
    }
    let keep = w.saturating_sub(1);
    let head = keep * 2 / 3;
    let tail = keep - head;
    let chars: Vec<char> = s.chars().collect();
    format!("{}…{}", chars[..head].iter().collect::<String>(), chars[n - tail..].iter().collect::<String>())
}

fn fit_end(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_string();
    }
    let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Renders the table.
pub fn render(findings: &[Finding], o: &TableOptions) -> String {
    let super::Ranked { new, audit, learned, .. } = super::rank(findings, o.alert);
    let alerts = new.iter().filter(|f| f.score >= o.alert).count();

    let mut out = String::new();
    let (bold, red, dim, reset) =
        if o.color { ("\x1b[1m", "\x1b[31m", "\x1b[2m", "\x1b[0m") } else { ("", "", "", "") };
    let _ = writeln!(
        out,
        "{bold}{} ({alerts} at score >= {}){reset}   learned: {learned}",
        super::review_title(&new),
        o.alert
    );
    section(&mut out, &new, o, (bold, red, dim, reset));
    if new.len() > o.limit {
        let _ = writeln!(
            out,
            "{dim}... {} more new paths (JSON output has them all){reset}",
            new.len() - o.limit
        );
    }
    if !audit.is_empty() {
        let _ = writeln!(
            out,
            "\n{bold}Baseline audit: learned paths scoring >= {}: {}{reset}",
            o.alert,
            audit.len()
        );
        section(&mut out, &audit, o, (bold, red, dim, reset));
    }
    out
}

fn section(
    out: &mut String,
    rows: &[&Finding],
    o: &TableOptions,
    (bold, red, dim, reset): (&str, &str, &str, &str),
) {
    if rows.is_empty() {
        let _ = writeln!(out, "  (none)");
        return;
    }
    let host_w = rows
        .iter()
        .take(o.limit)
        .map(|f| f.host.as_deref().map_or(1, |h| h.chars().count()))
        .max()
        .unwrap_or(1)
        .min(28);
    let fixed = 5 + 2 + 7 + 2 + 7 + 2 + 16 + 2 + host_w + 2;
    let path_w = o.width.saturating_sub(fixed).max(20);
    let _ = writeln!(
        out,
        "{dim}{:>5}  {:>7}  {:>7}  {:<16}  {:<host_w$}  PATH{reset}",
        "SCORE", "HITS", "CLIENTS", "FIRST SEEN (UTC)", "HOST"
    );
    for f in rows.iter().take(o.limit) {
        let first = f.first_seen.to_string();
        let first = first.get(..16).unwrap_or(&first).replace('T', " ");
        let clients = format!("{}{}", f.distinct_clients, if f.distinct_clients_capped { "+" } else { "" });
        let color = if f.score >= o.alert { red } else { "" };
        let _ = writeln!(
            out,
            "{color}{bold}{:>5}{reset}  {:>7}  {:>7}  {:<16}  {:<host_w$}  {}",
            f.score,
            f.count,
            clients,
            first,
            fit(&clean(f.host.as_deref().unwrap_or("-")), host_w),
            fit(&clean(&format!("{}{}", display_path(f), super::review_mark(f))), path_w),
        );
        let why: Vec<String> = f
            .reasons
            .iter()
            .filter(|r| r.weight > 0)
            .take(3)
            .map(|r| format!("{} ({:+})", clean(&r.text), r.weight))
            .collect();
        if !why.is_empty() {
            let _ = writeln!(
                out,
                "{dim}       {}{reset}",
                fit_end(&why.join("; "), o.width.saturating_sub(7).max(20))
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(clean("a\x1b[2Jb\u{9b}c\n"), "a?[2Jb?c?");
    }

    #[test]
    fn long_paths_are_shortened_in_the_middle() {
        let s = fit("/a/very/long/path/to/some/file.php", 20);
        assert_eq!(s.chars().count(), 20);
        assert!(s.starts_with("/a/very/") && s.ends_with("ile.php") && s.contains('…'), "{s}");
    }
}
