//! `log-export` through the built binary: formats from fixtures, compression, bad input, pipes.

use std::io::Write;
use std::process::Stdio;

use crate::util::{self, fixture, json_lines, ok, run, stderr, stdout};

/// Runs log-export in the fixture directory so `source` reads `file:line`.
fn export_fixture(args: &[&str]) -> std::process::Output {
    let mut c = util::cmd("log-export");
    c.current_dir(fixture("export")).args(args);
    util::run_cmd(&mut c, b"")
}

/// Compares output with a golden `.jsonl`, as parsed JSON (field order is not part of the contract).
#[track_caller]
fn assert_golden(out: &std::process::Output, golden: &str) {
    ok(out);
    let want = std::fs::read_to_string(fixture(&format!("export/{golden}"))).unwrap();
    assert_eq!(json_lines(&stdout(out)), json_lines(&want), "stderr: {}", stderr(out));
}

#[test]
fn combined_fixture_with_edge_cases() {
    // Escaped quotes, a "-" request (408), TLS junk, IPv6, absolute-form target, a NUL byte and invalid
    // UTF-8, OPTIONS *, extra trailing fields.
    let out = export_fixture(&["combined.log"]);
    assert_golden(&out, "combined.jsonl");
    // Explicit format gives the same events.
    assert_golden(&export_fixture(&["--format", "combined", "-q", "combined.log"]), "combined.jsonl");
    assert!(stderr(&out).contains("2 without a request"), "{}", stderr(&out));
}

#[test]
fn events_are_valid_records() {
    let out = export_fixture(&["combined.log"]);
    for line in stdout(&out).lines() {
        let e: webshell_hunt::record::Event = serde_json::from_str(line).unwrap();
        assert!(e.source.unwrap().starts_with("combined.log:"));
        assert!(e.time.is_some());
    }
}

#[test]
fn gzip_detected_by_content_and_files_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(fixture("export/combined.log")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    // Named .log, not .gz: detection goes by the magic bytes.
    let a = util::write(dir.path(), "rotated.log.1", gz.finish().unwrap());
    let b = util::write(dir.path(), "b.log", &plain[..plain.iter().position(|&c| c == b'\n').unwrap() + 1]);
    let out = run("log-export", &["-q", a.to_str().unwrap(), b.to_str().unwrap()], b"");
    ok(&out);
    let ev = json_lines(&stdout(&out));
    assert_eq!(ev.len(), 7);
    assert!(ev[0]["source"].as_str().unwrap().ends_with("rotated.log.1:1"));
    assert!(ev[6]["source"].as_str().unwrap().ends_with("b.log:1"));
}

#[test]
fn stdin_is_the_default() {
    let data = std::fs::read(fixture("export/combined.log")).unwrap();
    let out = run("log-export", &["--host", "www.example.org"], &data);
    ok(&out);
    let ev = json_lines(&stdout(&out));
    assert_eq!(ev[0]["source"], "<stdin>:1");
    assert_eq!(ev[0]["host"], "www.example.org");
}

#[test]
fn wrong_format_is_an_error_naming_the_format() {
    let data = std::fs::read(fixture("export/combined.log")).unwrap();
    let out = run("log-export", &["--format", "vhost", "-"], &data);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("<stdin>:1: not vhost:"), "{err}");
    assert!(err.contains("is this the right --format?"), "{err}");
    assert!(err.starts_with("log-export: "), "{err}");
}

#[test]
fn unknown_format_under_auto_is_an_error() {
    let out = run("log-export", &[], b"this is not\na web server log\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot detect the log format"), "{}", stderr(&out));
}

#[test]
fn a_few_bad_lines_are_shown_and_skipped() {
    let good = std::fs::read_to_string(fixture("export/combined.log")).unwrap();
    let first = good.lines().next().unwrap();
    let mut data = String::new();
    for i in 0..100 {
        if i % 15 == 7 {
            data.push_str("garbled line\n");
        } else {
            data.push_str(first);
            data.push('\n');
        }
    }
    let out = run("log-export", &["--show-bad", "3"], data.as_bytes());
    ok(&out);
    assert_eq!(json_lines(&stdout(&out)).len(), 93);
    let err = stderr(&out);
    // Detected as combined, each bad line was tried as the rest of the family too.
    assert!(err.contains("<stdin>:8: not combined, vhost or common: "), "{err}");
    assert_eq!(err.matches(": not combined, vhost or common: ").count(), 3, "{err}");
    assert!(err.contains("4 more unparseable lines not shown"), "{err}");
    assert!(err.contains("7 unparseable"), "{err}");
    // Over the threshold it fails.
    let out = run("log-export", &["--max-bad", "5"], data.as_bytes());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("are not valid combined, vhost or common lines"), "{}", stderr(&out));
    // A given format holds every line to itself, and says so.
    let out = run("log-export", &["--format", "combined", "--show-bad", "1"], data.as_bytes());
    ok(&out);
    assert!(stderr(&out).contains("<stdin>:8: not combined: "), "{}", stderr(&out));
}

#[test]
fn empty_file_truncated_line_huge_line() {
    let dir = tempfile::tempdir().unwrap();
    let empty = util::write(dir.path(), "empty.log", "");
    let out = run("log-export", &[empty.to_str().unwrap()], b"");
    ok(&out);
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));

    let good = std::fs::read_to_string(fixture("export/combined.log")).unwrap();
    let first = good.lines().next().unwrap();
    let cut = format!("{first}\n{first}\n{}", &first[..40]);
    let out = run("log-export", &["--format", "combined"], cut.as_bytes());
    ok(&out);
    assert_eq!(json_lines(&stdout(&out)).len(), 2);
    assert!(stderr(&out).contains("<stdin>:3: truncated last line"), "{}", stderr(&out));

    let huge = format!(
        "192.0.2.1 - - [15/Oct/2026:21:02:00 +0000] \"GET /{} HTTP/1.1\" 200 1 \"-\" \"x\"\n{first}\n",
        "a".repeat(1 << 20)
    );
    let out = run("log-export", &[], huge.as_bytes());
    ok(&out);
    let ev = json_lines(&stdout(&out));
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["path"].as_str().unwrap().len(), (1 << 20) + 1);
}

#[test]
fn head_closes_the_pipe_quietly() {
    // Enough output that log-export is still writing when head exits.
    let good = std::fs::read_to_string(fixture("export/combined.log")).unwrap();
    let first = good.lines().next().unwrap();
    let big: String = (0..200_000).map(|_| format!("{first}\n")).collect();
    let dir = tempfile::tempdir().unwrap();
    let f = util::write(dir.path(), "big.log", big);
    let mut a = util::cmd("log-export");
    a.arg(&f);
    let mut head = std::process::Command::new("head");
    head.arg("-1");
    let (mut pa, pb) = util::pipe2(&mut a, &mut head);
    let out_b = pb.wait_with_output().unwrap();
    let status = pa.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(pa.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(err, "");
    assert_eq!(String::from_utf8(out_b.stdout).unwrap().lines().count(), 1);
}

#[test]
fn missing_file_names_it() {
    let out = util::cmd("log-export").arg("/nonexistent/access.log").stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("log-export: /nonexistent/access.log: cannot open"), "{}", stderr(&out));
}

/// A file whose format changes mid-file, written by Windows tools (a byte-order mark, CRLF), with an
/// X-Forwarded-For chain as the client: every line is read, on one core and on several, and the end of
/// the file says which format read how many lines.
#[test]
fn a_format_change_mid_file_is_read_and_accounted_for() {
    let mut data = String::from("\u{feff}");
    for i in 0..400 {
        let t = format!("[07/Dec/2016:10:{:02}:{:02} +0530]", i / 60, i % 60);
        data.push_str(&match i % 8 {
            // The sample (and most of the file) is combined.
            0..=4 => format!("192.0.2.{} - - {t} \"GET /c/{i} HTTP/1.1\" 200 5 \"-\" \"ua\"\r\n", i % 250),
            5 => format!(
                "www.example.test:443 192.0.2.1 - - {t} \"GET /v/{i} HTTP/1.1\" 200 5 \"-\" \"ua\"\r\n"
            ),
            6 => {
                format!("203.0.113.9, 10.0.0.1 - - {t} \"GET /x/{i} HTTP/1.1\" 200 5 \"-\" \"ua\" \"-\"\r\n")
            }
            _ => format!("192.0.2.7 - - {t} \"GET /m/{i} HTTP/1.0\" 404 -\r\n"),
        });
    }
    for threads in ["1", "2"] {
        let out = run("log-export", &["--threads", threads, "--max-bad", "0"], data.as_bytes());
        ok(&out);
        let ev = json_lines(&stdout(&out));
        assert_eq!(ev.len(), 400);
        assert_eq!(ev[0]["client"], "192.0.2.0", "the byte-order mark is not part of the client");
        assert_eq!(ev[0]["time"], "2016-12-07T04:30:00Z");
        assert_eq!(ev[5]["host"], "www.example.test");
        assert_eq!(ev[6]["client"], "203.0.113.9");
        assert_eq!(ev[6]["forwarded_for"], "203.0.113.9, 10.0.0.1");
        assert_eq!(ev[7]["path"], "/m/7");
        assert_eq!(ev[7].get("bytes"), None);
        assert!(
            stderr(&out).contains(
                "the format changes within the file: lines read 300 as combined, 50 as common, 50 as vhost"
            ),
            "{}",
            stderr(&out)
        );
        let last = run("log-export", &["--threads", threads, "--client", "last"], data.as_bytes());
        assert_eq!(json_lines(&stdout(&last))[6]["client"], "10.0.0.1");
    }
    // Held to one format, the other lines are bad.
    let out = run("log-export", &["--format", "combined"], data.as_bytes());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not valid combined lines"), "{}", stderr(&out));
}
