//! `baseline-diff` through the built binary: verdicts, the state file, folding, scoring, feedback.

use std::path::Path;

use serde_json::{Value, json};

use crate::util::{self, json_lines, ok, run, stderr, stdout};

/// A normalized record (what path-normalize prints), built by hand.
fn rec(path: &str, time: &str, method: &str, client: &str, ua: &str) -> Value {
    let out = run(
        "path-normalize",
        &["-q"],
        json!({"host": "www.example.org", "path": path, "time": time, "method": method,
        "client": client, "user_agent": ua, "status": 200, "source": "t.log:1"})
        .to_string()
        .as_bytes(),
    );
    ok(&out);
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

fn lines(recs: &[Value]) -> String {
    recs.iter().map(|r| format!("{r}\n")).collect()
}

fn diff(state: &Path, extra: &[&str], input: &str) -> std::process::Output {
    let mut args = vec!["--state", state.to_str().unwrap()];
    args.extend_from_slice(extra);
    run("baseline-diff", &args, input.as_bytes())
}

fn by_template(out: &std::process::Output) -> Vec<(String, String, i64)> {
    ok(out);
    json_lines(&stdout(out))
        .iter()
        .map(|f| {
            (
                f["template"].as_str().unwrap().to_string(),
                f["verdict"].as_str().unwrap().to_string(),
                f["score"].as_i64().unwrap(),
            )
        })
        .collect()
}

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0";

/// A small site: pages and images requested by many clients during the first days.
fn site_baseline() -> Vec<Value> {
    let mut v = vec![];
    for day in 1..=9 {
        for (i, p) in
            ["/", "/index.php", "/login.php", "/images/logo.png", "/images/banner.jpg", "/css/site.css"]
                .iter()
                .enumerate()
        {
            v.push(rec(
                p,
                &format!("2026-10-0{day}T1{i}:00:00Z"),
                "GET",
                &format!("198.51.100.{}", day * 10 + i),
                UA,
            ));
        }
    }
    v
}

#[test]
fn learned_then_new_then_known_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let mut recs = site_baseline();
    // After the window: a shell, POSTed by one client with curl, with an evasive spelling once.
    recs.push(rec("/images/x.php", "2026-10-20T10:00:00Z", "GET", "203.0.113.66", "curl/8.5.0"));
    for m in 0..4 {
        recs.push(rec(
            "/images/./x.php",
            &format!("2026-10-20T10:0{}:00Z", m + 1),
            "POST",
            "203.0.113.66",
            "curl/8.5.0",
        ));
    }
    // Lines out of order: the shell's lines first.
    recs.rotate_right(5);
    let out = diff(&state, &["--learn-until", "2026-10-15T00:00:00Z", "--commit"], &lines(&recs));
    let got = by_template(&out);
    assert_eq!(got[0].0, "/images/x.php");
    assert_eq!(got[0].1, "new");
    assert!(got[0].2 >= 50, "{got:?}");
    assert!(got[1..].iter().all(|g| g.1 == "learned"), "{got:?}");
    let shell = &json_lines(&stdout(&out))[0];
    assert_eq!(shell["count"], 5);
    assert_eq!(shell["methods"], json!({"GET": 1, "POST": 4}));
    assert_eq!(shell["raw_paths"][0]["value"], "/images/./x.php");
    assert_eq!(shell["clients"][0], json!({"value": "203.0.113.66", "count": 5, "baseline": false}));
    assert_eq!(shell["first_seen"], "2026-10-20T10:00:00Z");
    let codes: Vec<&str> =
        shell["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    for c in [
        "new",
        "script_ext",
        "static_dir",
        "mostly_post",
        "few_clients",
        "new_clients",
        "new_user_agent",
        "tool_user_agent",
        "evasion",
    ] {
        assert!(codes.contains(&c), "{c} missing from {codes:?}");
    }
    // The score is the clamped sum of the weights.
    let sum: i64 = shell["reasons"].as_array().unwrap().iter().map(|r| r["weight"].as_i64().unwrap()).sum();
    assert_eq!(shell["score"].as_i64().unwrap(), sum.clamp(0, 100));
    assert!(stderr(&out).contains("keys: 6 learned, 1 new (1 at score >= 50), 0 known"), "{}", stderr(&out));

    // The same logs again: nothing new; with --all everything is known.
    let out = diff(&state, &["--commit"], &lines(&recs));
    assert!(by_template(&out).is_empty());
    let out = diff(&state, &["--all"], &lines(&recs));
    assert!(by_template(&out).iter().all(|g| g.1 == "known"));
    // The header remembers the window and the runs.
    let text = std::fs::read_to_string(&state).unwrap();
    let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["learn_until"], "2026-10-15T00:00:00Z");
    assert_eq!(header["runs"], 2);
}

#[test]
fn learn_for_counts_from_the_first_event_and_the_window_is_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let recs = [
        rec("/a.html", "2026-10-01T00:00:00Z", "GET", "1.1.1.1", UA),
        rec("/b.php", "2026-10-03T00:00:01Z", "GET", "1.1.1.1", UA),
    ];
    let out = diff(&state, &["--learn-for", "2d", "--commit"], &lines(&recs));
    assert_eq!(by_template(&out).iter().map(|g| g.1.as_str()).collect::<Vec<_>>(), ["new", "learned"]);
    let out = diff(&state, &["--learn-for", "3d"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the state learns for 2d; --learn-for 3d differs"), "{}", stderr(&out));
    let out = diff(&dir.path().join("fresh"), &[], &lines(&recs));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no learning window"), "{}", stderr(&out));
}

#[test]
fn state_only_written_when_asked_and_state_out_is_separate() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let input = lines(&site_baseline());
    ok(&diff(&state, &["--learn-for", "14d"], &input));
    assert!(!state.exists(), "written without --commit");
    let next = dir.path().join("s.next");
    ok(&diff(&state, &["--learn-for", "14d", "--state-out", next.to_str().unwrap()], &input));
    assert!(!state.exists() && next.exists());
}

#[test]
fn corrupt_newer_and_empty_states_are_errors_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    ok(&diff(&state, &["--learn-for", "14d", "--commit"], &lines(&site_baseline())));
    let mut text = std::fs::read_to_string(&state).unwrap();
    text.push_str("{\"host\":\"x\",\"template\":\"/y\",\"verdict\":\"maybe\",\"first_seen\":\"2026-10-01T00:00:00Z\",\"last_seen\":\"2026-10-01T00:00:00Z\"}\n");
    let n = text.lines().count();
    std::fs::write(&state, &text).unwrap();
    let out = diff(&state, &[], "");
    assert_eq!(out.status.code(), Some(2));
    let want =
        format!("baseline-diff: {}: {n}: invalid state line: unknown verdict \"maybe\"", state.display());
    assert!(stderr(&out).starts_with(&want), "{}", stderr(&out));

    std::fs::write(&state, "{\"webshell_hunt_state\":3}\n").unwrap();
    let out = diff(&state, &[], "");
    assert!(stderr(&out).contains("written by a newer baseline-diff"), "{}", stderr(&out));
    std::fs::write(&state, "").unwrap();
    let out = diff(&state, &["--learn-for", "1d"], "");
    assert!(stderr(&out).contains("empty state file"), "{}", stderr(&out));
    std::fs::write(&state, "127.0.0.1 - - [01/Oct/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1\n").unwrap();
    let out = diff(&state, &["--learn-for", "1d"], "");
    assert!(stderr(&out).contains("not a baseline-diff state file"), "{}", stderr(&out));
}

#[test]
fn bad_input_names_input_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let good = rec("/a", "2026-10-01T00:00:00Z", "GET", "1.1.1.1", UA);
    let input = format!("{good}\n{{\"path\":\"/b\",\"time\":\"2026-10-01T00:00:00Z\"}}\n");
    let out = diff(&state, &["--learn-for", "1d"], &input);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("<stdin>:2: record has no template"), "{}", stderr(&out));
    let out = diff(
        &state,
        &["--learn-for", "1d"],
        "{\"template\":\"/a\",\"path\":\"/a\",\"time\":\"yesterday\"}\n",
    );
    assert!(
        stderr(&out).contains("<stdin>:1: invalid record: invalid time \"yesterday\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_second_process_on_the_same_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    // The first process holds the lock while it waits for stdin.
    let mut first = util::cmd("baseline-diff")
        .args(["--state", state.to_str().unwrap(), "--learn-for", "1d"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first process holds the lock (it writes its pid into the lock file).
    let lock = dir.path().join("s.state.lock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(&lock).ok().as_deref() != Some(first.id().to_string().as_str()) {
        assert!(std::time::Instant::now() < deadline, "the first process never took the lock");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = diff(&state, &["--learn-for", "1d"], "");
    assert_eq!(out.status.code(), Some(2), "first: {:?}; {}", first.try_wait(), stderr(&out));
    assert!(stderr(&out).contains("state is in use by another process (pid"), "{}", stderr(&out));
    drop(first.stdin.take());
    assert!(first.wait().unwrap().success());
    ok(&diff(&state, &["--learn-for", "1d"], ""));
}

#[test]
fn exit_code_and_min_score() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let mut recs = site_baseline();
    recs.push(rec("/images/x.php", "2026-10-20T10:00:00Z", "POST", "203.0.113.66", "curl/8.5.0"));
    recs.push(rec("/new-page.html", "2026-10-21T10:00:00Z", "GET", "198.51.100.10", UA));
    let input = lines(&recs);
    let out = diff(&state, &["--learn-until", "2026-10-15T00:00:00Z", "--exit-code"], &input);
    assert_eq!(out.status.code(), Some(1));
    let out = diff(&state, &["--learn-until", "2026-10-15T00:00:00Z", "--min-score", "50"], &input);
    assert_eq!(by_template(&out).iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), ["/images/x.php"]);
    let out = diff(&state, &["--learn-until", "2026-10-30T00:00:00Z", "--exit-code"], &input);
    assert_eq!(out.status.code(), Some(0), "nothing new: exit 0");
}

#[test]
fn learned_families_absorb_new_names_but_never_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let mut recs = vec![];
    for i in 0..12 {
        recs.push(rec(
            &format!("/blog/2026/10/post-number-{i}/"),
            &format!("2026-10-0{}T00:00:00Z", 1 + i % 9),
            "GET",
            "1.1.1.1",
            UA,
        ));
        recs.push(rec(
            &format!("/gallery/photo-{i}.jpg"),
            &format!("2026-10-0{}T00:00:00Z", 1 + i % 9),
            "GET",
            "1.1.1.1",
            UA,
        ));
    }
    // After the window: a new post and a new photo (absorbed), a script among the photos (never).
    recs.push(rec("/blog/2026/11/brand-new-post/", "2026-11-02T00:00:00Z", "GET", "1.1.1.2", UA));
    recs.push(rec("/gallery/photo-99.jpg", "2026-11-02T00:00:00Z", "GET", "1.1.1.2", UA));
    recs.push(rec("/gallery/photo-99.php", "2026-11-02T00:00:00Z", "GET", "1.1.1.2", UA));
    let out = diff(&state, &["--learn-until", "2026-10-15T00:00:00Z", "--commit"], &lines(&recs));
    let got = by_template(&out);
    let new: Vec<&str> = got.iter().filter(|g| g.1 == "new").map(|g| g.0.as_str()).collect();
    assert_eq!(new, ["/gallery/photo-99.php"]);
    let learned: Vec<&str> = got.iter().filter(|g| g.1 == "learned").map(|g| g.0.as_str()).collect();
    assert_eq!(learned.len(), 2, "{learned:?}");
    assert!(
        learned.contains(&"/blog/{int}/{int}/{name}/") && learned.contains(&"/gallery/{name}.jpg"),
        "{learned:?}"
    );
    // The state holds the families, not their members.
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.contains("\"template\":\"/gallery/{name}.jpg\"") && !text.contains("photo-3.jpg"), "{text}");
}

#[test]
fn new_static_names_in_one_folder_group_into_one_finding() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let mut recs = vec![rec("/", "2026-10-01T00:00:00Z", "GET", "1.1.1.1", UA)];
    for i in 0..10 {
        recs.push(rec(&format!("/press/release-{i}.pdf"), "2026-10-20T00:00:00Z", "GET", "1.1.1.2", UA));
    }
    for i in 0..10 {
        recs.push(rec(&format!("/press/r{i}.php"), "2026-10-20T00:00:00Z", "GET", "1.1.1.2", UA));
    }
    let out = diff(&state, &["--learn-until", "2026-10-15T00:00:00Z"], &lines(&recs));
    let new: Vec<String> = by_template(&out).into_iter().filter(|g| g.1 == "new").map(|g| g.0).collect();
    assert_eq!(new.len(), 11, "{new:?}");
    assert!(new.contains(&"/press/{name}.pdf".to_string()));
    let fam = json_lines(&stdout(&out)).into_iter().find(|f| f["template"] == "/press/{name}.pdf").unwrap();
    assert_eq!(fam["distinct_paths"], 10);
    assert_eq!(fam["count"], 10);
}

#[test]
fn accept_feeds_reviewed_findings_back() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let mut recs = site_baseline();
    recs.push(rec("/app/report.php", "2026-10-20T10:00:00Z", "GET", "198.51.100.10", UA));
    recs.push(rec("/images/x.php", "2026-10-20T10:00:00Z", "POST", "203.0.113.66", "curl/8.5.0"));
    let input = lines(&recs);
    let out = diff(&state, &["--learn-until", "2026-10-15T00:00:00Z"], &input);
    let findings = json_lines(&stdout(&out));
    let reviewed: String =
        findings.iter().filter(|f| f["template"] == "/app/report.php").map(|f| format!("{f}\n")).collect();
    let out = run("baseline-diff", &["--state", state.to_str().unwrap(), "--accept"], reviewed.as_bytes());
    ok(&out);
    assert!(stderr(&out).contains("accepted 1 keys (1 added, 0 changed)"), "{}", stderr(&out));
    let out = diff(&state, &["--learn-until", "2026-10-15T00:00:00Z"], &input);
    let new: Vec<String> = by_template(&out).into_iter().filter(|g| g.1 == "new").map(|g| g.0).collect();
    assert_eq!(new, ["/images/x.php"]);
}

#[test]
fn kill_during_state_write_leaves_a_loadable_state() {
    // A state big enough that writing it takes a while, then kill -9 at varying moments of later runs.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let mut input = String::new();
    for i in 0..60_000 {
        input.push_str(&format!(
            "{{\"host\":\"h\",\"template\":\"/p/{i}/x.html\",\"path\":\"/p/{i}/x.html\",\"time\":\"2026-10-01T00:00:00Z\",\"client\":\"c{i}\"}}\n"
        ));
    }
    ok(&diff(&state, &["--learn-for", "1d", "--commit", "-q", "--fold-min", "1000000"], &input));
    let before = std::fs::read_to_string(&state).unwrap();
    let templates = |text: &str| -> Vec<String> {
        text.lines()
            .skip(1)
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter_map(|v| v["template"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(templates(&before).len(), 60_000);
    for delay_ms in [5u64, 20, 40, 60, 80, 120, 160, 220] {
        let mut child = util::cmd("baseline-diff")
            .args(["--state", state.to_str().unwrap(), "--commit", "-q", "--fold-min", "1000000"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut sin = child.stdin.take().unwrap();
        let data = input.clone();
        let feeder = std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut sin, data.as_bytes());
        });
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let _ = feeder.join();
        // Whatever instant the kill hit, the state loads, and is the old or a complete new one.
        let out = diff(&state, &["-q", "--fold-min", "1000000"], "");
        ok(&out);
        let now = std::fs::read_to_string(&state).unwrap();
        assert_eq!(templates(&now), templates(&before), "keys lost or torn by a killed run");
    }
}

#[test]
fn findings_do_not_depend_on_line_order_or_threads() {
    // A real log's records (make-sample: a busy shop, many clients per page, beyond the sample sizes).
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("s");
    let out = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-sample"))
        .args(["--lines", "20000", sample.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let events = run("log-export", &["-q", sample.join("access.log.1").to_str().unwrap()], b"");
    ok(&events);
    let norm = run("path-normalize", &["-q"], &events.stdout);
    ok(&norm);
    let mut lines: Vec<&str> = stdout(&norm).leak().lines().collect();
    let findings = |input: &str, threads: &str| {
        let state = dir.path().join(format!("st-{threads}-{}", input.len()));
        let out = diff(&state, &["--learn-auto", "-q", "--threads", threads], input);
        ok(&out);
        stdout(&out)
    };
    let forward = findings(&lines.join("\n"), "1");
    assert!(forward.lines().count() > 10);
    // Reversed and interleaved, one thread or four: byte-identical findings.
    lines.reverse();
    let (even, odd): (Vec<_>, Vec<_>) = lines.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let shuffled: Vec<&str> = odd.into_iter().chain(even).map(|(_, l)| *l).collect();
    assert_eq!(findings(&lines.join("\n"), "1"), forward);
    assert_eq!(findings(&shuffled.join("\n"), "4"), forward);
}

/// `baseline-diff --from-logs` gives exactly what `log-export | path-normalize | baseline-diff` gives:
/// findings, summary and state, byte for byte, over logs of every format.
#[test]
fn from_logs_equals_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<Vec<String>> = Vec::new();
    for f in [
        "combined.log",
        "iis.log",
        "cloudfront.log",
        "alb.log",
        "caddy.log",
        "nginx-json.log",
        "nginx-json-xhh.log",
    ] {
        cases.push(vec![util::fixture(&format!("export/{f}")).display().to_string()]);
    }
    let sample = dir.path().join("sample");
    let out = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-sample"))
        .args(["--lines", "30000", sample.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    cases.push(
        ["access.log.2.gz", "access.log.1", "access.log"]
            .iter()
            .map(|f| sample.join(f).display().to_string())
            .collect(),
    );
    for (fmt, seed) in [("combined", 1), ("vhost", 2), ("iis", 3), ("json", 4)] {
        let (log, _) =
            util::generate(dir.path(), &format!("gen-{fmt}.log"), &util::gen_opts(fmt, 40_000, seed, 4));
        cases.push(vec![log.display().to_string()]);
    }
    for (i, files) in cases.iter().enumerate() {
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let p = |k: &str| dir.path().join(format!("{i}-{k}"));
        let (s1, s2, sum1, sum2) = (p("state-a"), p("state-b"), p("summary-a"), p("summary-b"));
        let mut le = vec!["-q"];
        le.extend(&files);
        let events = run("log-export", &le, b"");
        ok(&events);
        let norm = run("path-normalize", &["-q"], &events.stdout);
        ok(&norm);
        let common = ["--learn-auto", "--all", "--threads", "2"];
        let mut a = vec!["--state-out", s1.to_str().unwrap(), "--summary", sum1.to_str().unwrap()];
        a.extend(common);
        let piped = diff(&dir.path().join(format!("in-{i}-a")), &a, &stdout(&norm));
        ok(&piped);
        let mut b = vec![
            "--state-out",
            s2.to_str().unwrap(),
            "--summary",
            sum2.to_str().unwrap(),
            "--from-logs",
            "-q",
        ];
        b.extend(common);
        b.extend(&files);
        let fused = diff(&dir.path().join(format!("in-{i}-b")), &b, "");
        ok(&fused);
        assert!(!stdout(&piped).is_empty(), "{files:?}");
        assert_eq!(stdout(&fused), stdout(&piped), "findings differ for {files:?}");
        assert_eq!(std::fs::read(&s1).unwrap(), std::fs::read(&s2).unwrap(), "states differ for {files:?}");
        assert_eq!(
            std::fs::read(&sum1).unwrap(),
            std::fs::read(&sum2).unwrap(),
            "summaries differ for {files:?}"
        );
    }
}

/// A normalized record with a status, a size and a query.
fn rec_sized(path: &str, time: &str, method: &str, client: &str, bytes: u64, query: Option<&str>) -> Value {
    let mut r = json!({"host": "www.example.org", "path": path, "time": time, "method": method,
        "client": client, "user_agent": UA, "status": 200, "bytes": bytes, "source": "t.log:1"});
    if let Some(q) = query {
        r["query"] = json!(q);
    }
    let out = run("path-normalize", &["-q"], r.to_string().as_bytes());
    ok(&out);
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

/// Issue 17's signals: what the server runs, a hidden name, response sizes, a command channel.
#[test]
fn scores_tell_a_program_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut recs = site_baseline();
    let t = |h: u32, m: u32| format!("2026-10-2{}T{:02}:{:02}:00Z", h / 24, h % 24, m);
    // A source file offered as a download (Apache serves .py outside cgi-bin as text), and the same
    // name under cgi-bin, where it runs.
    recs.push(rec_sized("/code/tool.py", &t(1, 0), "GET", "198.51.100.200", 5120, None));
    recs.push(rec_sized("/cgi-bin/tool.py", &t(1, 5), "GET", "198.51.100.201", 310, None));
    // A GET-driven shell with a hidden name in an image folder: a command per request, varied output.
    for (i, c) in ["whoami", "id;uname -a", "ls -la /var/www", "cat /etc/passwd"].iter().enumerate() {
        let q = format!("c={}", c.replace(' ', "%20").replace(';', "%3B"));
        recs.push(rec_sized(
            "/images/.cache.php",
            &t(2, i as u32),
            "GET",
            "203.0.113.7",
            40 + 97 * i as u64,
            Some(&q),
        ));
    }
    // A document fetched four times by visitors of the site: one size, GET, no query.
    for i in 0..4 {
        recs.push(rec_sized(
            "/files/report.pdf",
            &t(3, i),
            "GET",
            &format!("198.51.100.{}", 11 + i),
            88_211,
            None,
        ));
    }
    // A "static" name answering like a program.
    for i in 0..3 {
        recs.push(rec_sized("/images/pixel.gif", &t(4, i), "POST", "203.0.113.8", 12 + 300 * i as u64, None));
    }
    // A folder whose .py names the baseline saw running (asked with a query): there .py runs.
    recs.push(rec_sized("/tools/run.py", "2026-10-05T10:00:00Z", "GET", "198.51.100.30", 100, Some("id=1")));
    recs.push(rec_sized("/tools/new.py", &t(5, 0), "GET", "198.51.100.31", 100, None));
    let run_with = |extra: &[&str]| {
        let state = dir.path().join(format!("s{}.state", extra.len()));
        let mut args = vec!["--learn-until", "2026-10-15T00:00:00Z"];
        args.extend_from_slice(extra);
        let out = diff(&state, &args, &lines(&recs));
        ok(&out);
        json_lines(&stdout(&out)).into_iter().filter(|f| f["verdict"] == "new").collect::<Vec<_>>()
    };
    let codes = |f: &Value| -> Vec<String> {
        f["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_string()).collect()
    };
    let found = run_with(&[]);
    let get = |t: &str| found.iter().find(|f| f["template"] == t).unwrap_or_else(|| panic!("{t}: {found:?}"));
    let shell = get("/images/.cache.php");
    let c = codes(shell);
    for want in ["script_ext", "hidden_name", "static_dir", "command_values", "lone_clients"] {
        assert!(c.contains(&want.to_string()), "{want} missing: {c:?}");
    }
    assert!(!c.contains(&"varied_sizes".to_string()), "a running script's output varies anyway: {c:?}");
    assert_eq!(found[0]["template"], "/images/.cache.php", "the shell ranks first");
    // The document's four readers also loaded other pages: no lone clients there.
    assert!(!codes(get("/files/report.pdf")).contains(&"lone_clients".to_string()));
    let py = get("/code/tool.py");
    assert!(
        codes(py).contains(&"served_as_file".to_string()) && !codes(py).contains(&"script_ext".to_string())
    );
    assert!(py["score"].as_i64().unwrap() < 50, "{py}");
    assert!(codes(get("/cgi-bin/tool.py")).contains(&"script_ext".to_string()));
    assert!(codes(get("/tools/new.py")).contains(&"script_ext".to_string()), "the baseline ran .py there");
    assert!(codes(get("/files/report.pdf")).contains(&"one_size".to_string()));
    let gif = codes(get("/images/pixel.gif"));
    assert!(gif.contains(&"varied_sizes".to_string()) && gif.contains(&"mostly_post".to_string()), "{gif:?}");
    // The server's own list, when it runs Python everywhere.
    let found = run_with(&["--exec-ext", "php,.PY"]);
    let py = found.iter().find(|f| f["template"] == "/code/tool.py").unwrap();
    assert!(codes(py).contains(&"script_ext".to_string()), "{py}");
}

/// One `webroot-inventory` record, written by hand.
fn file_rec(url_path: &str, kind: &str, ctime: &str, sha: &str) -> String {
    json!({"url_path": url_path, "file": format!("/var/www/html{url_path}"), "type": "file", "size": 100,
        "mtime": "2026-09-01T00:00:00Z", "ctime": ctime, "sha256": sha.repeat(64), "kind": kind})
    .to_string()
        + "\n"
}

#[test]
fn an_inventory_joins_files_with_requests() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let mut recs = site_baseline();
    // After the window: a shell whose file is new, a routed page that is no file, an old script first
    // requested now.
    for m in 0..3 {
        recs.push(rec(
            "/images/x.php",
            &format!("2026-10-20T10:0{m}:00Z"),
            "POST",
            "203.0.113.66",
            "curl/8.5.0",
        ));
    }
    recs.push(rec("/2026/10/a-new-post/", "2026-10-20T11:00:00Z", "GET", "198.51.100.7", UA));
    recs.push(rec("/admin/tools.php", "2026-10-20T12:00:00Z", "GET", "198.51.100.8", UA));
    let old = "2026-09-01T00:00:00Z";
    let mut inv = String::new();
    for (p, kind) in [
        ("/index.php", "script"),
        ("/login.php", "script"),
        ("/images/logo.png", "static"),
        ("/images/banner.jpg", "static"),
        ("/css/site.css", "static"),
        ("/admin/tools.php", "script"),
    ] {
        inv += &file_rec(p, kind, old, "a");
    }
    inv += &file_rec("/images/x.php", "script", "2026-10-20T09:59:00Z", "b");
    // Dormant: a script dropped after the window that no request reached.
    inv += &file_rec("/uploads/.cache.php", "script", "2026-10-21T03:00:00Z", "c");
    // A symlink is listed, not joined.
    inv += &(json!({"url_path": "/link.php", "file": "/var/www/html/link.php", "type": "symlink", "target": "/etc/passwd"}).to_string() + "\n");
    let inv_path = util::write(dir.path(), "inv.jsonl", &inv);
    let out = diff(
        &state,
        &["--learn-until", "2026-10-15T00:00:00Z", "--inventory", inv_path.to_str().unwrap(), "--commit"],
        &lines(&recs),
    );
    ok(&out);
    let found = json_lines(&stdout(&out));
    let get = |t: &str| {
        found.iter().find(|f| f["template"] == t).unwrap_or_else(|| panic!("{t}: {found:?}")).clone()
    };
    let codes = |f: &Value| -> Vec<String> {
        f["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_string()).collect()
    };

    let shell = get("/images/x.php");
    assert!(codes(&shell).contains(&"new_file".into()), "{shell}");
    assert_eq!(shell["file"]["exists"], true);
    assert_eq!(shell["file"]["change"], "after_window");
    assert_eq!(shell["file"]["sha256"], "b".repeat(64));
    assert_eq!(shell["score"], 100);
    let post = get("/{int}/{int}/a-new-post/");
    assert_eq!(post["file"]["exists"], false);
    assert!(codes(&post).contains(&"no_file".into()), "{post}");
    let tools = get("/admin/tools.php");
    assert!(codes(&tools).contains(&"old_file".into()), "{tools}");
    let dormant = get("/uploads/.cache.php");
    assert_eq!(dormant["verdict"], "dormant");
    assert_eq!(dormant["count"], 0);
    for c in ["dormant", "script_ext", "static_dir", "hidden_name"] {
        assert!(codes(&dormant).contains(&c.to_string()), "{c}: {dormant}");
    }
    assert!(dormant["score"].as_i64().unwrap() >= 50);
    assert!(stderr(&out).contains("inventory: 8 files, 1 dormant scripts"), "{}", stderr(&out));
    // The state keeps the files (format 2).
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.starts_with("{\"webshell_hunt_state\":2,"), "{text}");
    assert!(text.contains("\"url_path\":\"/uploads/.cache.php\""));

    // The next run: nothing new is requested; a learned script got code appended.
    let inv2 = inv.replace(
        &file_rec("/index.php", "script", old, "a"),
        &file_rec("/index.php", "script", "2026-11-02T00:00:00Z", "d"),
    );
    assert_ne!(inv, inv2);
    let inv2_path = util::write(dir.path(), "inv2.jsonl", &inv2);
    let later = vec![rec("/index.php", "2026-11-03T10:00:00Z", "GET", "198.51.100.9", UA)];
    let out = diff(&state, &["--inventory", inv2_path.to_str().unwrap()], &lines(&later));
    ok(&out);
    let found = json_lines(&stdout(&out));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["template"], "/index.php");
    assert_eq!(found[0]["verdict"], "known");
    assert_eq!(found[0]["file"]["change"], "changed");
    assert_eq!(found[0]["file"]["previous_sha256"], "a".repeat(64));
    assert!(codes(&found[0]).contains(&"file_changed".into()));
    // Reported once: the dormant script is in the state's files now, not reported again.
    assert!(!stdout(&out).contains("/uploads/.cache.php"));
}

#[test]
fn the_join_does_not_depend_on_the_order_of_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let mut recs = site_baseline();
    recs.push(rec("/images/x.php", "2026-10-20T10:00:00Z", "POST", "203.0.113.66", "curl/8.5.0"));
    let mut lines_inv: Vec<String> = ["/index.php", "/login.php", "/images/x.php", "/a.php", "/b/c.php"]
        .iter()
        .enumerate()
        .map(|(i, p)| file_rec(p, "script", &format!("2026-10-2{i}T00:00:00Z"), &i.to_string()))
        .collect();
    let mut outputs = vec![];
    for round in 0..2 {
        if round == 1 {
            lines_inv.reverse();
        }
        let inv = util::write(dir.path(), &format!("inv{round}.jsonl"), lines_inv.concat());
        let state = dir.path().join(format!("s{round}.state"));
        let out = diff(
            &state,
            &["--learn-until", "2026-10-15T00:00:00Z", "--inventory", inv.to_str().unwrap()],
            &lines(&recs),
        );
        ok(&out);
        outputs.push(stdout(&out));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert!(outputs[0].contains("\"verdict\":\"dormant\""));
}

#[test]
fn a_wrong_inventory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let recs = lines(&site_baseline());
    let empty = util::write(dir.path(), "empty.jsonl", "");
    let out = diff(
        &state,
        &["--learn-until", "2026-10-15T00:00:00Z", "--inventory", empty.to_str().unwrap()],
        &recs,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("empty.jsonl: the inventory lists no files"), "{}", stderr(&out));
    let logs = util::write(
        dir.path(),
        "access.log",
        "127.0.0.1 - - [01/Oct/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1\n",
    );
    let out = diff(
        &state,
        &["--learn-until", "2026-10-15T00:00:00Z", "--inventory", logs.to_str().unwrap()],
        &recs,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("access.log:1: invalid record"), "{}", stderr(&out));
    assert!(!state.exists(), "nothing was written");
}

/// A normalized record with a Referer (`-` for none).
fn rec_ref(path: &str, time: &str, method: &str, client: &str, referer: &str) -> Value {
    let mut r = rec(path, time, method, client, UA);
    if referer != "-" {
        r["referer"] = json!(referer);
    }
    r
}

/// Issue 17's last three signals: a name imitating the site's own, a burst the log outlived, and no
/// Referer from the site where the log carries Referers.
#[test]
fn imitated_names_bursts_and_missing_site_referers_weigh() {
    let dir = tempfile::tempdir().unwrap();
    let site = "https://www.example.org/";
    let mut recs: Vec<Value> = site_baseline()
        .into_iter()
        .map(|mut r| {
            r["referer"] = json!(site);
            r
        })
        .collect();
    for day in 1..=5 {
        recs.push(rec_ref(
            "/wp-login.php",
            &format!("2026-10-0{day}T08:00:00Z"),
            "GET",
            "198.51.100.9",
            site,
        ));
    }
    // The shell: three POSTs within two minutes from one client, no Referer, a near-copy of a learned
    // name; then the site goes on for an hour.
    for (i, m) in ["00", "01", "02"].iter().enumerate() {
        recs.push(rec_ref("/wp-1ogin.php", &format!("2026-10-20T10:{m}:1{i}Z"), "POST", "203.0.113.9", "-"));
    }
    // A new page of the site's own, reached through its links, by one visitor over two hours (its own
    // form posting back to it: a Referer of itself, which does not count either way).
    for (i, h) in ["09", "10", "11"].iter().enumerate() {
        let referer = if i == 2 { "https://www.example.org/contact.php" } else { site };
        recs.push(rec_ref(
            "/contact.php",
            &format!("2026-10-20T{h}:30:00Z"),
            "GET",
            "198.51.100.77",
            referer,
        ));
    }
    recs.push(rec_ref("/", "2026-10-20T11:59:00Z", "GET", "198.51.100.10", site));
    let out = diff(&dir.path().join("s.state"), &["--learn-until", "2026-10-15T00:00:00Z"], &lines(&recs));
    ok(&out);
    let found = json_lines(&stdout(&out));
    let codes = |t: &str| -> Vec<String> {
        let f = found.iter().find(|f| f["template"] == t).unwrap_or_else(|| panic!("{t}: {found:?}"));
        f["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_string()).collect()
    };
    let shell = codes("/wp-1ogin.php");
    for want in ["imitated_name", "burst", "no_site_referer"] {
        assert!(shell.contains(&want.to_string()), "{want} missing: {shell:?}");
    }
    let page = codes("/contact.php");
    for not in ["imitated_name", "burst", "no_site_referer"] {
        assert!(!page.contains(&not.to_string()), "{not} on the site's own page: {page:?}");
    }
    // The same records without any Referer: the log says nothing about links, the signal stays silent.
    let bare: Vec<Value> = recs
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("referer");
            r
        })
        .collect();
    let out = diff(&dir.path().join("b.state"), &["--learn-until", "2026-10-15T00:00:00Z"], &lines(&bare));
    let found = json_lines(&stdout(&out));
    let shell = found.iter().find(|f| f["template"] == "/wp-1ogin.php").unwrap();
    assert!(!shell["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "no_site_referer"), "{shell}");
}

#[test]
fn a_dormant_script_named_like_the_sites_own_files_on_disk_imitates_them() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let old = "2026-09-01T00:00:00Z";
    // wp-config.php and wp-login.php are on disk (the first is never requested); wp-cache.php was dropped
    // after the window and never requested.
    let inv = [
        file_rec("/index.php", "script", old, "a"),
        file_rec("/wp-config.php", "script", old, "b"),
        file_rec("/wp-login.php", "script", old, "c"),
        file_rec("/wp-cache.php", "script", "2026-10-21T03:00:00Z", "d"),
    ]
    .concat();
    let inv_path = util::write(dir.path(), "inv.jsonl", inv);
    let recs = lines(&site_baseline());
    let out = diff(
        &state,
        &["--learn-until", "2026-10-15T00:00:00Z", "--inventory", inv_path.to_str().unwrap()],
        &recs,
    );
    ok(&out);
    let found = json_lines(&stdout(&out));
    let f = found.iter().find(|f| f["template"] == "/wp-cache.php").unwrap();
    assert_eq!(f["verdict"], "dormant");
    let codes: Vec<&str> =
        f["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"imitated_name"), "{f}");
    assert!(!found.iter().any(|f| f["template"] == "/wp-config.php"), "unchanged files are not dormant");
}
