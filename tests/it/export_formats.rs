//! `log-export` on IIS, CloudFront, ALB, JSON and Caddy logs through the built binary: hand-written
//! fixtures with golden events, detection, wrong formats, `--field`, and generated logs.

use std::io::Write;

use serde_json::Value;

use crate::util::{self, fixture, json_lines, ok, run, stderr, stdout};

/// Runs log-export in the fixture directory so `source` reads `file:line`.
fn export_fixture(args: &[&str]) -> std::process::Output {
    let mut c = util::cmd("log-export");
    c.current_dir(fixture("export")).args(args);
    util::run_cmd(&mut c, b"")
}

/// Compares output with a golden `.jsonl`, as parsed JSON.
#[track_caller]
fn assert_golden(out: &std::process::Output, golden: &str) {
    ok(out);
    let want = std::fs::read_to_string(fixture(&format!("export/{golden}"))).unwrap();
    assert_eq!(json_lines(&stdout(out)), json_lines(&want), "stderr: {}", stderr(out));
}

/// Each fixture, the format it is in, and its golden events.
const FIXTURES: &[(&str, &str)] = &[
    // Three #Fields layouts (default set; + s-sitename, cs-host, cs(Cookie), sc-bytes; cs-host without
    // s-sitename), CRLF line endings, + in user agents and in a stem, `-` queries, an IPv6 zone.
    ("iis.log", "iis"),
    // Tabs, 000 status, URL-encoded user agents, double-encoded referer, x-host-header `-` and with a
    // port, fields beyond the header.
    ("cloudfront.log", "cloudfront"),
    // Absolute-form URLs, IPv6 clients (bare and bracketed), a WAF 403 with target `-`, an unreadable
    // request, \x22 in a user agent, trailing fields of several vintages.
    ("alb.log", "alb"),
    // Nginx escape=json template (Elastic's key names): escaped quotes and backslashes, \u001b, a
    // request of "" (400), raw bytes above 0x7f (one invalid UTF-8).
    ("nginx-json.log", "json"),
    // The same kind of template without escape=json: \xHH escapes, which JSON does not allow.
    ("nginx-json-xhh.log", "json"),
    // Access entries with and without client_ip, a 502 at level error, and admin, tls and
    // http.log.error entries mixed in.
    ("caddy.log", "caddy"),
];

#[test]
fn fixtures_auto_detected_and_forced_give_the_golden_events() {
    for (log, format) in FIXTURES {
        let golden = log.replace(".log", ".jsonl");
        assert_golden(&export_fixture(&[log]), &golden);
        assert_golden(&export_fixture(&["--format", format, "-q", log]), &golden);
    }
}

#[test]
fn lines_without_a_request_are_counted_not_failed() {
    let out = export_fixture(&["caddy.log"]);
    ok(&out);
    // Admin, TLS and http.log.error entries: half the file, not a wrong format.
    assert!(stderr(&out).contains("6 lines, 3 events; skipped 3 without a request"), "{}", stderr(&out));
    let out = export_fixture(&["alb.log"]);
    assert!(stderr(&out).contains("5 lines, 4 events; skipped 1 without a request"), "{}", stderr(&out));
    let out = export_fixture(&["nginx-json.log"]);
    assert!(stderr(&out).contains("skipped 1 without a request"), "{}", stderr(&out));
    // Nothing skipped: nothing said.
    for quiet in ["iis.log", "cloudfront.log", "nginx-json-xhh.log"] {
        let out = export_fixture(&[quiet]);
        assert_eq!(stderr(&out), "", "{quiet}");
    }
}

#[test]
fn a_file_forced_through_another_format_fails_naming_it() {
    for (log, wrong, why) in [
        ("alb.log", "iis", "fields where IIS's default field set has 15"),
        ("iis.log", "alb", "neither a connection type"),
        ("iis.log", "cloudfront", "tab-separated fields where the #Fields header declares"),
        ("cloudfront.log", "iis", "fields where the #Fields header declares 33"),
        ("caddy.log", "json", "request is an object: a Caddy log? try --format caddy"),
        ("alb.log", "json", "not a JSON object"),
        ("nginx-json.log", "alb", ""),
        ("combined.log", "cloudfront", "no #Fields header yet"),
        ("alb.log", "combined", ""),
    ] {
        let out = export_fixture(&["--format", wrong, log]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{log} as {wrong}: {err}");
        assert!(
            err.contains(&format!("{log}:"))
                && err.contains(&format!(": not {wrong}: "))
                && err.contains(why),
            "{err}"
        );
        assert!(err.contains("is this the right --format?"), "{log} as {wrong}: {err}");
        assert!(stdout(&out).is_empty(), "{log} as {wrong}");
    }
    // Every line is a well-formed JSON object, none a Caddy access entry: the file as a whole is wrong.
    let out = export_fixture(&["--format", "caddy", "nginx-json.log"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("nginx-json.log: not caddy: 5 Caddy log entries and not one access entry"), "{err}");
}

#[test]
fn a_caddy_log_without_access_entries_is_noticed() {
    let lines = "\
{\"level\":\"info\",\"ts\":1792072500.1,\"logger\":\"admin\",\"msg\":\"admin endpoint started\"}
{\"level\":\"info\",\"ts\":1792072501.1,\"logger\":\"tls.obtain\",\"msg\":\"certificate obtained successfully\"}
{\"level\":\"info\",\"ts\":1792072502.1,\"logger\":\"http\",\"msg\":\"server running\",\"name\":\"srv0\"}
";
    let out = run("log-export", &["--format", "caddy"], lines.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not one access entry"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    // Detection refuses it too, rather than calling it generic JSON.
    let out = run("log-export", &[], lines.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot detect the log format"), "{}", stderr(&out));

    // One access entry among many others is a Caddy access log.
    let access = "{\"ts\":1792072536.5,\"logger\":\"http.log.access.log0\",\"msg\":\"handled request\",\
                  \"request\":{\"remote_ip\":\"192.0.2.1\",\"method\":\"GET\",\"host\":\"h\",\"uri\":\"/x\"},\
                  \"status\":200,\"size\":1}\n";
    let mixed = format!("{lines}{access}{lines}{lines}");
    let out = run("log-export", &[], mixed.as_bytes());
    ok(&out);
    let ev = json_lines(&stdout(&out));
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0]["path"].as_str(), ev[0]["server"].as_str()), (Some("/x"), Some("caddy")));
    assert!(stderr(&out).contains("skipped 9 without a request"), "{}", stderr(&out));
}

#[test]
fn alb_gzip_files_as_aws_delivers_them() {
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(fixture("export/alb.log")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let name = "123456789012_elasticloadbalancing_eu-west-1_app.web-prod.50dc6c495c0c9188_20261015T1400Z_10.0.1.9_x.log.gz";
    let f = util::write(dir.path(), name, gz.finish().unwrap());
    let out = run("log-export", &["-q", f.to_str().unwrap()], b"");
    ok(&out);
    let strip = |mut v: Vec<Value>| {
        for e in &mut v {
            e.as_object_mut().unwrap().remove("source");
        }
        v
    };
    let want = std::fs::read_to_string(fixture("export/alb.jsonl")).unwrap();
    assert_eq!(strip(json_lines(&stdout(&out))), strip(json_lines(&want)));
}

#[test]
fn field_mapping_for_an_application_json_log() {
    let log = "\
{\"@t\":\"2026-10-15T13:55:36.250Z\",\"req\":{\"url\":\"/api/upload?name=x.jsp\",\"ip\":\"198.51.100.9:51000\",\"method\":\"PUT\",\"headers\":{\"user-agent\":[\"okhttp/4.12\"]}},\"res\":{\"code\":201,\"len\":\"12\"},\"site\":\"api.example.org\"}
{\"@t\":\"2026-10-15T13:55:37Z\",\"req\":{\"url\":\"/x.jsp\",\"ip\":\"[2001:db8::3]:443\",\"method\":\"POST\"},\"res\":{\"code\":200},\"site\":\"api.example.org\"}
";
    let args = [
        "--format",
        "json",
        "--field",
        "time=@t",
        "--field",
        "uri=req.url",
        "--field",
        "client=req.ip",
        "--field",
        "method=req.method",
        "--field",
        "user_agent=req.headers.user-agent",
        "--field",
        "status=res.code",
        "--field",
        "bytes=res.len",
        "--field",
        "host=site",
    ];
    let out = run("log-export", &args, log.as_bytes());
    ok(&out);
    let ev = json_lines(&stdout(&out));
    let want = json_lines(
        r#"{"time":"2026-10-15T13:55:36.250Z","host":"api.example.org","client":"198.51.100.9","method":"PUT","path":"/api/upload","query":"name=x.jsp","status":201,"bytes":12,"user_agent":"okhttp/4.12","source":"<stdin>:1"}
{"time":"2026-10-15T13:55:37Z","host":"api.example.org","client":"2001:db8::3","method":"POST","path":"/x.jsp","status":200,"source":"<stdin>:2"}"#,
    );
    assert_eq!(ev, want);
    // The same mapping under --format auto.
    let out = run("log-export", &args[2..], log.as_bytes());
    ok(&out);
    assert_eq!(json_lines(&stdout(&out)), want);
    // Without the mapping the log has no target the defaults know: every line says so.
    let out = run("log-export", &["--format", "json"], log.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("<stdin>:1: not json: no request target: none of request, request_uri"));
}

#[test]
fn field_flag_is_checked() {
    let out = run("log-export", &["--field", "url=x", "-"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown field \"url\""), "{}", stderr(&out));
    let out = run("log-export", &["--format", "iis", "--field", "uri=x", "-"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--field applies to --format json and caddy only, not iis"),
        "{}",
        stderr(&out)
    );
}

/// Generates a log with the project's generator (tests/gen): its path and text.
fn generate(format: &str, dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let (path, _) = util::generate(dir, &format!("generated.{format}"), &util::gen_opts(format, 2000, 11, 3));
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

#[test]
fn generated_iis_log_parses_completely() {
    let dir = tempfile::tempdir().unwrap();
    let (path, text) = generate("iis", dir.path());
    let data_lines = text.lines().filter(|l| !l.starts_with('#')).count();
    assert!(data_lines >= 2000, "{data_lines}");
    let out = run("log-export", &[path.to_str().unwrap()], b"");
    ok(&out);
    assert_eq!(stderr(&out), "", "no bad lines, nothing skipped");
    let ev = json_lines(&stdout(&out));
    assert_eq!(ev.len(), data_lines);
    for e in &ev {
        assert_eq!(e["server"], "iis");
        // The generator logs cs-host and no s-sitename.
        assert!(e["host"].as_str().unwrap().ends_with("example.test"), "{e}");
        assert!(e["time"].as_str().unwrap().starts_with("2026-10-"), "{e}");
        assert!(e["status"].as_u64().is_some() && e["client"].is_string(), "{e}");
        assert!(e["path"].as_str().unwrap().starts_with('/'), "{e}");
        // Every + in a user agent was IIS's space (a literal +, as in bingbot's "+http://", cannot be
        // told apart and becomes a space too).
        assert!(!e["user_agent"].as_str().unwrap().contains('+'), "{e}");
    }
    assert!(ev.iter().any(|e| e["user_agent"].as_str().unwrap().contains("Mozilla/5.0 (")));
}

#[test]
fn generated_json_log_parses_completely() {
    let dir = tempfile::tempdir().unwrap();
    let (path, text) = generate("json", dir.path());
    let lines = text.lines().count();
    assert!(lines >= 2000, "{lines}");
    let out = run("log-export", &[path.to_str().unwrap()], b"");
    ok(&out);
    assert_eq!(stderr(&out), "", "no bad lines, nothing skipped");
    let ev = json_lines(&stdout(&out));
    assert_eq!(ev.len(), lines);
    let queries = ev.iter().filter(|e| e["query"].is_string()).count();
    assert!(queries > 0, "the generator's uri carries queries; they must be split off");
    for (e, line) in ev.iter().zip(text.lines()) {
        let src: Value = serde_json::from_str(line).unwrap();
        assert_eq!(e["host"], src["host"]);
        assert_eq!(e["client"], src["remote_addr"]);
        assert_eq!(e["status"], src["status"]);
        assert_eq!(e["bytes"], src["bytes_sent"]);
        assert_eq!(e["time"], src["ts"]);
        let uri = src["uri"].as_str().unwrap();
        assert_eq!(e["path"].as_str().unwrap(), uri.split('?').next().unwrap());
        assert!(e.get("server").is_none());
    }
}

/// W3C logs are read on several cores although a `#Fields` line changes how every later line reads:
/// each block is parsed with the headers in effect at its start. A log of many megabytes whose layout
/// changes again and again (the fixtures repeated) reads the same on one thread and on four, and every
/// repetition gives the fixture's own events.
#[test]
fn w3c_layout_changes_read_the_same_on_every_core_count() {
    let dir = tempfile::tempdir().unwrap();
    for (fixture_name, format) in [("iis.log", "iis"), ("cloudfront.log", "cloudfront")] {
        let one = std::fs::read(fixture(&format!("export/{fixture_name}"))).unwrap();
        let golden = json_lines(&stdout(&export_fixture(&["--format", format, fixture_name])));
        // Enough copies for several 1 MiB blocks, each cut somewhere else in the fixture.
        let copies = (5 << 20) / one.len() + 1;
        let big = util::write(dir.path(), fixture_name, one.repeat(copies));
        let big = big.to_str().unwrap();
        // The same log gzipped (the decoder hands over little at a time) and read from a pipe.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&one.repeat(copies)).unwrap();
        let gz_path = util::write(dir.path(), &format!("{fixture_name}.gz"), gz.finish().unwrap());
        let outs: Vec<String> = ["1", "2", "4"]
            .iter()
            .map(|t| {
                let o = run("log-export", &["--format", format, "--threads", t, big], b"");
                ok(&o);
                stdout(&o)
            })
            .collect();
        assert_eq!(outs[0], outs[1], "{format}: 1 and 2 threads differ");
        assert_eq!(outs[0], outs[2], "{format}: 1 and 4 threads differ");
        let renamed =
            |text: &str, from: &str| text.replace(&format!("\"source\":\"{from}:"), "\"source\":\"f:");
        let gz_out = run("log-export", &["--format", format, gz_path.to_str().unwrap()], b"");
        ok(&gz_out);
        assert_eq!(
            renamed(&stdout(&gz_out), gz_path.to_str().unwrap()),
            renamed(&outs[0], big),
            "{format}: gzip"
        );
        let piped = run("log-export", &["--format", format, "-"], &one.repeat(copies));
        ok(&piped);
        assert_eq!(renamed(&stdout(&piped), "<stdin>"), renamed(&outs[0], big), "{format}: stdin");
        let events = json_lines(&outs[2]);
        assert_eq!(events.len(), golden.len() * copies, "{format}");
        let without_source = |v: &Value| {
            let mut v = v.clone();
            v.as_object_mut().unwrap().remove("source");
            v
        };
        for (i, e) in events.iter().enumerate() {
            assert_eq!(without_source(e), without_source(&golden[i % golden.len()]), "{format}: event {i}");
        }
    }
}
