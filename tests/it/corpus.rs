//! Real access logs from other projects' test data (`tests/fixtures/real/`, sources in its README):
//! each is read completely with `--format auto` and gives the events of its golden, written by hand
//! from the lines, field by field. Files of other kinds are still refused.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{fixture, json_lines, run, stderr, stdout};

/// The fields a golden states; a field it leaves out must be absent from the event too.
const FIELDS: &[&str] =
    &["time", "client", "forwarded_for", "host", "method", "path", "query", "status", "bytes", "user_agent"];

fn corpus() -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(fixture("real"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    logs
}

/// Files with lines that are not log lines at all, put there on purpose by their project's tests, and
/// how many: they must be counted as unparseable, no more and no fewer.
const JUNK: &[(&str, u64)] = &[
    // netdata's weblog test data mixes in "Unmatched! The rat the cat the dog chased killed ate the malt!".
    ("netdata--vhost-ipv6-trailing.log", 3),
];

/// What differs between a file's events and its golden, one line per difference.
fn differences(log: &Path, threads: &str) -> Vec<String> {
    let name = log.file_name().unwrap().to_string_lossy().into_owned();
    let golden =
        std::fs::read_to_string(log.with_extension("golden.jsonl")).expect("a golden beside each log");
    let want = json_lines(&golden);
    let junk = JUNK.iter().find(|(f, _)| *f == name).map_or(0, |(_, n)| *n);
    let mut args = vec!["--format", "auto", "--threads", threads, log.to_str().unwrap()];
    if junk > 0 {
        args.extend(["--max-bad", "100"]);
    }
    let out = run("log-export", &args, b"");
    if !out.status.success() {
        return vec![format!("{name}: exit {:?}: {}", out.status.code(), stderr(&out).trim())];
    }
    // Read completely: nothing skipped as unparseable, but the junk.
    let skipped = stderr(&out).contains("unparseable");
    if (junk == 0 && skipped) || (junk > 0 && !stderr(&out).contains(&format!(" {junk} unparseable"))) {
        return vec![format!("{name}: {}", stderr(&out).trim())];
    }
    let got = json_lines(&stdout(&out));
    let mut diffs = Vec::new();
    if got.len() != want.len() {
        diffs.push(format!("{name}: {} events, the golden has {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        for f in FIELDS {
            if g.get(f) != w.get(f) {
                let src = g["source"].as_str().unwrap_or("?").rsplit(':').next().unwrap_or("?").to_string();
                diffs.push(format!(
                    "{name}: event {} (line {src}): {f} is {}, the golden says {}",
                    i + 1,
                    g.get(f).unwrap_or(&Value::Null),
                    w.get(f).unwrap_or(&Value::Null)
                ));
            }
        }
    }
    diffs
}

#[test]
fn the_corpus_is_large_and_varied_enough() {
    let logs = corpus();
    assert!(logs.len() >= 30, "{} files", logs.len());
    let projects: std::collections::BTreeSet<String> = logs
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().split("--").next().unwrap().to_string())
        .collect();
    assert!(projects.len() >= 5, "{projects:?}");
    let readme = std::fs::read_to_string(fixture("real/README.md")).unwrap();
    for log in &logs {
        let name = log.file_name().unwrap().to_string_lossy().into_owned();
        assert!(readme.contains(&name), "{name} has no source in the README");
    }
}

#[test]
fn every_real_log_is_read_completely_and_matches_its_golden() {
    let mut diffs = Vec::new();
    for log in corpus() {
        // On one core and on several (blocks cut mid-file, W3C headers carried into each block).
        for threads in ["1", "2"] {
            for d in differences(&log, threads) {
                if !diffs.contains(&d) {
                    diffs.push(d);
                }
            }
        }
    }
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

#[test]
fn files_of_other_kinds_are_still_refused() {
    let cases: &[(&str, &str)] = &[
        // RFC 3164's own examples of BSD syslog messages (section 5.4).
        (
            "syslog",
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n\
             <13>Feb  5 17:32:18 10.0.0.99 Use the BFG!\n\
             <165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.\n",
        ),
        // An application's JSON log: objects, but no request in them.
        (
            "json",
            "{\"level\":\"info\",\"ts\":1760536536.1,\"msg\":\"server started\",\"port\":8080}\n\
             {\"level\":\"warn\",\"ts\":1760536537.2,\"msg\":\"slow query\",\"ms\":912}\n",
        ),
        // A CSV export.
        ("csv", "date,ip,url,status\n2026-10-15,192.0.2.1,/index.php,200\n2026-10-15,192.0.2.2,/a.php,404\n"),
    ];
    for (what, text) in cases {
        let out = run("log-export", &["--format", "auto"], text.as_bytes());
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        assert!(stderr(&out).contains("cannot detect the log format"), "{what}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{what}");
    }
}
