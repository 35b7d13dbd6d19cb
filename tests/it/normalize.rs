//! `path-normalize` through the built binary: the evasion matrix per profile, filters, pass-through,
//! idempotence, pipes.

use serde_json::{Value, json};

use crate::util::{self, json_lines, ok, run, stderr, stdout};

/// Runs path-normalize over events and returns the output records.
fn normalize(args: &[&str], events: &[Value]) -> Vec<Value> {
    let input: String = events.iter().map(|e| format!("{e}\n")).collect();
    let out = run("path-normalize", args, input.as_bytes());
    ok(&out);
    json_lines(&stdout(&out))
}

/// The evasion matrix of reference/webshell-detection.md §2.2: (profile, logged spelling, canonical
/// path, anomaly it must name). One binary run per profile.
const MATRIX: &[(&str, &str, &str, &str)] = &[
    ("generic", "/%73hell.php", "/shell.php", "percent_encoded"),
    ("generic", "/a/%2e%2e/shell.php", "/shell.php", "dot_segments"),
    ("generic", "/a/.%2E/shell.php", "/shell.php", "dot_segments"),
    ("generic", "/uploads/x/../shell.php", "/uploads/shell.php", "dot_segments"),
    ("generic", "/./uploads//shell.php", "/uploads/shell.php", "multi_slash"),
    ("generic", "/../../etc/shell.php", "/etc/shell.php", "above_root"),
    ("generic", "/..%252e/shell.php", "/..%252e/shell.php", "double_encoding"),
    ("generic", "/%%32%65/x.php", "/%252e/x.php", "bad_escape"),
    ("generic", "/a%c0%afb.php", "/a%C0%AFb.php", "overlong_utf8"),
    ("generic", "/a%e0%80%afb.php", "/a%E0%80%AFb.php", "overlong_utf8"),
    ("generic", "/x%u002e%u002e/y.php", "/x%u002E%u002E/y.php", "u_encoding"),
    ("generic", "/shell.php%00.jpg", "/shell.php%00.jpg", "encoded_nul"),
    ("generic", "/a%2f..%2fshell.php", "/a%2F..%2Fshell.php", "encoded_slash"),
    ("generic", "/a%5cshell.php", "/a%5Cshell.php", "encoded_backslash"),
    ("generic", "/uploads\\shell.php", "/uploads%5Cshell.php", "backslash"),
    ("generic", "/1.gif .php", "/1.gif%20.php", "raw_space"),
    ("generic", "http://evil.example:80/x.php", "/x.php", "absolute_form"),
    ("generic", "/x.php#frag", "/x.php", "fragment"),
    ("generic", "x.php", "/x.php", "non_origin_form"),
    ("generic", "/a<b>.php", "/a%3Cb%3E.php", "raw_unsafe"),
    ("iis", "/Uploads/SHELL.ASPX", "/uploads/shell.aspx", "case_folded"),
    ("iis", "/uploads\\shell.aspx", "/uploads/shell.aspx", "backslash"),
    ("iis", "/default.asp::$DATA", "/default.asp", "ads_stream"),
    ("iis", "/x.aspx:stream:$DATA", "/x.aspx", "ads_stream"),
    ("iis", "/x.aspx%3A%3A$DATA", "/x.aspx", "ads_stream"),
    ("iis", "/shell.aspx.", "/shell.aspx", "trailing_dot_space"),
    ("iis", "/shell.aspx%20", "/shell.aspx", "trailing_dot_space"),
    ("iis", "/shell.aspx. . ", "/shell.aspx", "trailing_dot_space"),
    ("iis", "/shell.asp;.jpg", "/shell.asp", "path_params"),
    ("iis", "/a/..\\..\\shell.aspx", "/shell.aspx", "above_root"),
    ("iis", "/%55ploads/x%2Easpx", "/uploads/x.aspx", "percent_encoded"),
    ("java", "/shell.jsp;.css", "/shell.jsp", "path_params"),
    ("java", "/x.jsp;jsessionid=ABC123", "/x.jsp", "path_params"),
    ("java", "/a/..;/admin/x.jsp", "/admin/x.jsp", "path_params"),
    ("java", "/a;b=c/..;/x.jsp", "/x.jsp", "dot_segments"),
    ("java", "/Shell.JSP", "/Shell.JSP", ""),
];

#[test]
fn evasion_matrix_per_profile() {
    for profile in ["generic", "iis", "java"] {
        let cases: Vec<_> = MATRIX.iter().filter(|c| c.0 == profile).collect();
        let events: Vec<Value> = cases.iter().map(|c| json!({"path": c.1, "status": 200})).collect();
        let out = normalize(&["--profile", profile], &events);
        assert_eq!(out.len(), cases.len());
        for (case, rec) in cases.iter().zip(&out) {
            assert_eq!(rec["path"], case.2, "{profile} {:?}: {rec}", case.1);
            assert_eq!(rec["profile"], profile);
            let names: Vec<&str> = rec["anomalies"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if case.3.is_empty() {
                assert!(names.is_empty(), "{profile} {:?}: {rec}", case.1);
            } else {
                assert!(names.contains(&case.3), "{profile} {:?}: want {} in {rec}", case.1, case.3);
            }
            // The logged spelling is kept exactly when it differs.
            if case.1 != case.2 {
                assert_eq!(rec["raw_path"], case.1);
            } else {
                assert!(rec.get("raw_path").is_none());
            }
        }
    }
}

#[test]
fn absolute_form_fills_host_and_query() {
    let out =
        normalize(&[], &[json!({"path": "HTTP://WWW.Example.ORG:8080/a/b.php?x=1&y=2&x=3", "status": 200})]);
    assert_eq!(out[0]["host"], "www.example.org");
    assert_eq!(out[0]["path"], "/a/b.php");
    assert_eq!(out[0]["query"], "x=1&y=2&x=3");
    assert_eq!(out[0]["params"], json!(["x", "y"]));
}

#[test]
fn auto_profile_follows_hint_then_script_kind() {
    let ev = |path: &str, server: Option<&str>| {
        let mut e = json!({"path": path, "status": 200});
        if let Some(s) = server {
            e["server"] = json!(s);
        }
        e
    };
    let out = normalize(
        &[],
        &[
            ev("/A/B.txt", Some("iis")),
            ev("/A/B.txt", Some("apache")),
            ev("/x/Y.jsp;jsessionid=1", Some("apache")),
            ev("/Uploads/X.ASPX", None),
            ev("/Uploads/X.ASPX", Some("nginx")),
            ev("/Uploads/X.ASPX.", Some("cloudfront")),
            ev("/app/;x/..;/Y.do", Some("tomcat")),
        ],
    );
    let got: Vec<(&str, &str)> =
        out.iter().map(|r| (r["path"].as_str().unwrap(), r["profile"].as_str().unwrap())).collect();
    assert_eq!(
        got,
        [
            ("/a/b.txt", "iis"),
            ("/A/B.txt", "generic"),
            ("/x/Y.jsp", "java"),
            ("/uploads/x.aspx", "iis"),
            ("/Uploads/X.ASPX", "generic"),
            ("/uploads/x.aspx", "iis"),
            ("/app/Y.do", "java"),
        ]
    );
}

#[test]
fn unknown_fields_pass_through_and_renormalizing_is_stable() {
    let first = normalize(
        &[],
        &[
            json!({"path": "/a/./b/../c.php", "status": 200, "mine": {"k": [1, "two"]}, "anomalies": ["raw_control"]}),
        ],
    );
    assert_eq!(first[0]["mine"], json!({"k": [1, "two"]}));
    assert_eq!(first[0]["anomalies"], json!(["raw_control", "dot_segments"]));
    // Normalising a normalized record changes nothing: raw_path is kept, nothing doubled.
    let again = normalize(&[], &first);
    assert_eq!(again, first);
}

#[test]
fn status_and_method_filters_count_what_they_drop() {
    let events: Vec<Value> = [200, 404, 403, 500, 302, 0]
        .iter()
        .map(|s| json!({"path": "/x", "status": s, "method": "GET"}))
        .chain([json!({"path": "/p", "status": 200, "method": "POST", "count": 5})])
        .collect();
    let input: String = events.iter().map(|e| format!("{e}\n")).collect();
    let out = run("path-normalize", &[], input.as_bytes());
    ok(&out);
    let statuses: Vec<i64> =
        json_lines(&stdout(&out)).iter().map(|r| r["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [200, 500, 302, 0, 200]);
    assert!(stderr(&out).contains("kept 9 requests; dropped 2 by --status !4xx"), "{}", stderr(&out));

    let out = run("path-normalize", &["--status", "2xx", "--method", "!post"], input.as_bytes());
    ok(&out);
    assert_eq!(json_lines(&stdout(&out)).len(), 1);
    assert!(stderr(&out).contains("dropped 5 by --status 2xx, 5 by --method !post"), "{}", stderr(&out));

    let out = run("path-normalize", &["--status", "2xz"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--status: bad status item"), "{}", stderr(&out));
}

#[test]
fn bad_record_names_input_and_line() {
    let out = run("path-normalize", &[], b"{\"path\":\"/a\"}\n\n{\"path\":1}\n");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("path-normalize: <stdin>:3: invalid record: path is not a string"), "{err}");
    let out = run("path-normalize", &[], b"{\"path\":\"/a\",}\n");
    assert!(
        stderr(&out).starts_with("path-normalize: <stdin>:1: invalid record: expected a key at column 14"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn real_pipe_from_log_export_and_into_head() {
    let log = std::fs::read_to_string(util::fixture("export/combined.log")).unwrap();
    let first = log.lines().nth(1).unwrap();
    let big: String = (0..100_000).map(|_| format!("{first}\n")).collect();
    let dir = tempfile::tempdir().unwrap();
    let f = util::write(dir.path(), "big.log", big);
    // log-export FILE | path-normalize | head -1
    let mut a = util::cmd("log-export");
    a.arg(&f);
    let mut b = util::cmd("path-normalize");
    let (mut pa, mut pb) = util::pipe2(&mut a, &mut b);
    let mut head = std::process::Command::new("head")
        .arg("-1")
        .stdin(pb.stdout.take().unwrap())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let line = {
        let mut s = String::new();
        std::io::Read::read_to_string(head.stdout.as_mut().unwrap(), &mut s).unwrap();
        s
    };
    head.wait().unwrap();
    for (name, child) in [("log-export", &mut pa), ("path-normalize", &mut pb)] {
        let st = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!((st.code(), err.as_str()), (Some(0), ""), "{name}");
    }
    let rec: Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(rec["template"], "/uploads/{int}/{int}/img_thumb.php");
}

/// `--line-buffered` streams: a record comes out before the input ends (`tail -f | … --line-buffered`).
#[test]
fn line_buffered_stages_stream() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let first_log_line = std::fs::read_to_string(util::fixture("export/combined.log")).unwrap();
    let first_log_line = first_log_line.lines().next().unwrap().to_string();
    for (tool, args, input) in [
        ("path-normalize", &["--line-buffered"][..], "{\"path\":\"/a/./b\",\"status\":200}".to_string()),
        ("log-export", &["--line-buffered", "--format", "combined"][..], first_log_line),
    ] {
        let mut child = util::cmd(tool)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut sin = child.stdin.take().unwrap();
        writeln!(sin, "{input}").unwrap();
        sin.flush().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // The input is still open: the record must arrive anyway.
        let line =
            rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap_or_else(|_| panic!("{tool} stalled"));
        assert!(line.contains("\"path\":"), "{tool}: {line}");
        drop(sin);
        assert!(child.wait().unwrap().success());
    }
}
