//! `tq-push` through the built binary against the ThreatQ emulator on 127.0.0.1.

use std::collections::BTreeMap;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::threatq_emu::{self as emu, Config, Emulator, Existing, Fault, FaultKind, Query};
use crate::util::{self, fixture, ok, stderr, stdout};

fn findings() -> Vec<u8> {
    std::fs::read(fixture("tq/findings.jsonl")).unwrap()
}

/// A tq-push command against `e`, with the emulator's credentials in the environment and fast retries.
fn cmd(e: &Emulator, args: &[&str]) -> std::process::Command {
    let mut c = util::cmd("tq-push");
    c.args(["--url", &e.url(), "--backoff-ms", "5", "--retry-for", "20"]).args(args);
    for v in ["TQ_CLIENT_ID", "TQ_EMAIL", "TQ_PASSWORD", "TQ_CLIENT_SECRET"] {
        c.env_remove(v);
    }
    c.envs(e.env());
    c
}

fn push(e: &Emulator, args: &[&str], input: &[u8]) -> Output {
    util::run_cmd(&mut cmd(e, args), input)
}

#[track_caller]
fn failed(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o));
    assert!(stdout(o).is_empty());
    stderr(o)
}

/// No output of any run may show a credential.
#[track_caller]
fn no_secrets(o: &Output) {
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o));
    for s in [emu::PASSWORD, emu::CLIENT_SECRET, emu::EMAIL, emu::CLIENT_ID, "emu-token-"] {
        assert!(!all.contains(s), "output shows {s:?}:\n{all}");
    }
}

/// The store after one uninterrupted run of `args` over the fixture.
fn reference(args: &[&str]) -> Value {
    let e = Emulator::start();
    ok(&push(&e, args, &findings()));
    e.snapshot()
}

const LEARNED: &[&str] = &["/api/v1/products/{int}", "/index.php", "/about/", "/feed/2"];
const NEW: &[&str] =
    &["/status.php", "/wp-content/uploads/2026/10/cmd.php", "/images/logo.aspx", "/2026/10/{name}/"];

fn attrs(ind: &Value, name: &str) -> Vec<String> {
    ind["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a[0] == name)
        .map(|a| a[1].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn tq_push_writes_statuses_attributes_and_one_event() {
    let e = Emulator::start();
    let o = push(&e, &[], &findings());
    ok(&o);
    no_secrets(&o);
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("11 findings (1 known, skipped) -> 8 indicators: 8 created"),
        "{}",
        stderr(&o)
    );

    let statuses = e.statuses();
    let want: BTreeMap<String, String> = LEARNED
        .iter()
        .map(|v| (v.to_string(), "Whitelisted".to_string()))
        .chain(NEW.iter().map(|v| (v.to_string(), "Review".to_string())))
        .collect();
    assert_eq!(statuses, want, "known /cart.php is not written, every value once");

    // Learned on the shop, new on the intranet: one indicator, Review, both hosts, per-host facts.
    let status = e.indicator("/status.php").unwrap();
    assert_eq!(attrs(&status, "Host"), ["intranet.example.test", "www.shop.test"]);
    assert_eq!(attrs(&status, "Verdict"), ["intranet.example.test: new", "www.shop.test: learned"]);
    assert_eq!(status["score"], 6, "max of 58 and 15, /10 rounded");
    assert_eq!(status["sources"], serde_json::json!(["webshell-hunt"]));
    assert_eq!(status["type"], "URL Path");

    // Ten thousand product ids are one indicator, with sample concrete paths.
    let products = e.indicator("/api/v1/products/{int}").unwrap();
    assert_eq!(attrs(&products, "Sample Path").len(), 3);
    assert_eq!(attrs(&products, "Hit Count"), ["www.shop.test: 184220"]);
    // One concrete path under a template: the path is the value, the template an attribute.
    assert_eq!(attrs(&e.indicator("/feed/2").unwrap(), "URL Template"), ["/feed/{int}"]);

    // Hostile strings arrive as inert text.
    let shell = e.indicator("/wp-content/uploads/2026/10/cmd.php").unwrap();
    assert_eq!(shell["score"], 9);
    let uas = attrs(&shell, "User Agent");
    assert!(
        uas.contains(&"www.shop.test: curl/8.5.0\\x1b[2J\\x0d\\x0aX-Injected: 1 (17 hits)".to_string()),
        "{uas:?}"
    );
    assert!(uas.iter().any(|u| u.contains("<script>alert(document.cookie)</script>")));
    assert!(
        attrs(&shell, "Reason").contains(&"www.shop.test: +25 upload_dir: under /wp-content/uploads/".into())
    );
    assert_eq!(attrs(&shell, "First Seen"), ["www.shop.test: 2026-10-15T13:55:36Z"]);

    let events = e.events();
    assert_eq!(events.len(), 1);
    let ev = &events[0];
    let linked: Vec<&str> =
        ev["indicators"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let mut new = NEW.to_vec();
    new.sort_unstable();
    assert_eq!(linked, new, "exactly the new indicators");
    assert_eq!(ev["happened_at"], "2026-10-15 09:00:00");
    assert_eq!(ev["type"], "Incident");
    let title = ev["title"].as_str().unwrap();
    assert!(
        title.starts_with(
            "webshell-hunt: 4 new URL paths on blog.example.test, intranet.example.test, www.shop.test, \
             first seen 2026-10-15 09:00 to 2026-10-17 22:01 UTC [run "
        ),
        "{title}"
    );
    let run_attr = &ev["attributes"][0];
    assert_eq!(run_attr[0], "webshell-hunt Run ID");
    assert!(title.ends_with(&format!("[run {}]", run_attr[1].as_str().unwrap())));
    let d = ev["description"].as_str().unwrap();
    assert!(!d.contains("<script>") && d.contains("<b>92/100</b>"), "{d}");
    // Ranked: the shell first, the blog's new pages last.
    assert!(d.find("cmd.php").unwrap() < d.find("logo.aspx").unwrap());
    assert!(d.find("logo.aspx").unwrap() < d.find("/2026/10/{name}/").unwrap());
}

#[test]
fn tq_push_twice_changes_nothing() {
    let e = Emulator::start();
    ok(&push(&e, &["--batch", "3"], &findings()));
    let first = e.snapshot();
    let writes = e.writes();
    let o = push(&e, &["--batch", "3"], &findings());
    ok(&o);
    assert_eq!(e.snapshot(), first);
    assert_eq!(e.writes(), writes, "the second run wrote something");
    assert!(stderr(&o).contains("0 created, 0 updated, 8 unchanged"), "{}", stderr(&o));
    assert!(stderr(&o).contains("found (4 indicators, 0 newly linked)"), "{}", stderr(&o));
    // The same findings in another order are the same run.
    let text = findings();
    let mut rev: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    rev.reverse();
    ok(&push(&e, &[], &rev.join(&b'\n')));
    assert_eq!(e.snapshot(), first);
}

#[test]
fn tq_push_other_new_findings_make_another_event_and_none_without_new() {
    let e = Emulator::start();
    ok(&push(&e, &[], &findings()));
    let text = String::from_utf8(findings()).unwrap();
    let learned: String =
        text.lines().filter(|l| l.contains("\"verdict\": \"learned\"")).map(|l| format!("{l}\n")).collect();
    ok(&push(&e, &[], learned.as_bytes()));
    assert_eq!(e.events().len(), 1, "a run with nothing new makes no event");
    // The window redone later: the same new paths with more hits are the same run, the same event.
    let grown = text.replace(
        "\"last_seen\": \"2026-10-15T14:40:10Z\", \"count\": 37",
        "\"last_seen\": \"2026-10-19T08:00:00Z\", \"count\": 90",
    );
    assert_ne!(grown, text);
    ok(&push(&e, &[], grown.as_bytes()));
    assert_eq!(e.events().len(), 1, "a redone window found its event");
    let extra = text
        .lines()
        .find(|l| l.contains("logo.aspx"))
        .unwrap()
        .replace("/images/logo.aspx", "/images/logo2.aspx")
        .replace("2026-10-17T22:01:00Z", "2026-10-19T22:01:00Z");
    ok(&push(&e, &[], format!("{text}{extra}\n").as_bytes()));
    let events = e.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events.iter().map(|e| e["indicators"].as_array().unwrap().len()).collect::<Vec<_>>(), [4, 5]);
}

#[test]
fn tq_push_refuses_active_before_any_write() {
    let e = Emulator::start();
    // By name: refused before anything is contacted.
    for name in ["Active", "active"] {
        let err = failed(&push(&e, &["--review-status", name], &findings()));
        assert!(err.contains("--review-status") && err.contains("Active"), "{err}");
    }
    assert_eq!(e.requests().len(), 0);
    // By id (Active is 11 on this instance), and through a case-insensitive name: refused after the
    // lookups, before any write.
    let err = failed(&push(&e, &["--baseline-status", "11"], &findings()));
    assert!(err.contains("resolves to Active (id 11)"), "{err}");
    assert_eq!(e.writes(), 0);
    assert!(e.requests().iter().all(|r| r.method == "GET" || r.path == "/api/token"));
    assert!(e.snapshot()["indicators"].as_array().unwrap().is_empty());
}

#[test]
fn tq_push_names_resolved_per_instance() {
    let e = Emulator::start();
    let err = failed(&push(&e, &["--baseline-status", "Benign"], &findings()));
    assert!(err.contains("\"Benign\" not found") && err.contains("Legitimate, Review, Whitelisted"), "{err}");
    let err = failed(&push(&e, &["--event-type", "Anomalous Activity"], &findings()));
    assert!(err.contains("event type \"Anomalous Activity\" not found") && err.contains("Incident"), "{err}");
    assert_eq!(e.writes(), 0);

    // The custom status some instances have, and a warning for an exported one.
    let o = push(&e, &["--baseline-status", "Legitimate", "--event-type", "sighting"], &findings());
    ok(&o);
    assert!(!stderr(&o).contains("include_in_export"), "{}", stderr(&o));
    assert_eq!(e.statuses()["/about/"], "Legitimate");
    assert_eq!(e.events()[0]["type"], "Sighting");
    let e = Emulator::start();
    let o = push(&e, &["--baseline-status", "Deploy"], &findings());
    ok(&o);
    assert!(stderr(&o).contains("--baseline-status Deploy is marked include_in_export"), "{}", stderr(&o));

    let e = Emulator::start_with(Config { hide_lists: true, ..Config::default() });
    let err = failed(&push(&e, &[], &findings()));
    assert!(err.contains("\"URL Path\" not found") && err.contains("permission"), "{err}");
}

#[test]
fn tq_push_errors_inside_a_2xx_reply_fail() {
    let e = Emulator::start();
    e.fault(Fault::new(Some("POST"), "/api/indicators/consume", 0, usize::MAX, FaultKind::ErrorsIn2xx));
    let err = failed(&push(&e, &[], &findings()));
    assert!(
        err.contains("HTTP 200 OK but the reply carries errors")
            && err.contains("The given data was invalid")
    );
    assert!(err.contains("batch 1/1"), "{err}");
    assert_eq!(e.count("POST", "/api/indicators/consume"), 1, "not retried: the server meant it");
}

#[test]
fn tq_push_retries_5xx_and_429_on_the_third_batch() {
    let want = reference(&["--batch", "2"]);
    let e = Emulator::start();
    e.fault(Fault::new(Some("POST"), "/api/indicators/consume", 2, 2, FaultKind::Status(500)));
    e.fault(Fault::new(Some("GET"), "/api/events", 0, 1, FaultKind::Status(429)));
    let o = push(&e, &["--batch", "2"], &findings());
    ok(&o);
    assert!(stderr(&o).contains("batch 3/4"), "{}", stderr(&o));
    assert_eq!(e.count("POST", "/api/indicators/consume"), 4 + 2);
    assert_eq!(e.snapshot(), want);

    // A server that stays down: exit 2, naming the batch, after the retry time.
    let e = Emulator::start();
    e.fault(Fault::new(Some("POST"), "/api/indicators/consume", 1, usize::MAX, FaultKind::Status(503)));
    let err = failed(&util::run_cmd(cmd(&e, &["--batch", "5", "--retry-for", "1"]).arg("-"), &findings()));
    assert!(err.contains("batch 2/2") && err.contains("gave up after") && err.contains("HTTP 503"), "{err}");
}

#[test]
fn tq_push_renews_a_token_that_expires_mid_run() {
    // The server drops the token early: a 401, one new token, the request again.
    let want = reference(&[]);
    let e = Emulator::start_with(Config { token_max_uses: Some(15), ..Config::default() });
    let o = push(&e, &[], &findings());
    ok(&o);
    assert!(e.tokens_issued() >= 2 && e.rejected() >= 1, "{} {}", e.tokens_issued(), e.rejected());
    assert_eq!(e.snapshot(), want);

    // The token's announced life runs out during the run: renewed before it does, no 401 at all.
    let e = Emulator::start_with(Config { token_ttl: 0.8, ..Config::default() });
    e.fault(Fault::new(None, "/api/", 0, usize::MAX, FaultKind::Delay(Duration::from_millis(100))));
    let o = push(&e, &[], &findings());
    ok(&o);
    assert!(e.tokens_issued() >= 2, "{}", e.tokens_issued());
    assert_eq!(e.rejected(), 0);
    assert_eq!(e.snapshot(), want);

    // Refused twice: a failure, not a loop.
    let e = Emulator::start_with(Config { token_max_uses: Some(0), ..Config::default() });
    let err = failed(&push(&e, &[], &findings()));
    assert!(err.contains("HTTP 401") && err.contains("refused twice"), "{err}");
    assert_eq!(e.tokens_issued(), 2);
}

#[test]
fn tq_push_slow_reply_after_the_write_creates_nothing_twice() {
    let want = reference(&["--batch", "3"]);
    let e = Emulator::start();
    // The server writes, then answers after the client's timeout: the retry's lookup finds the writes.
    e.fault(Fault::new(
        Some("POST"),
        "/api/indicators/consume",
        1,
        1,
        FaultKind::Delay(Duration::from_millis(2500)),
    ));
    let o = push(&e, &["--batch", "3", "--timeout", "1"], &findings());
    ok(&o);
    assert!(stderr(&o).contains("timed out"), "{}", stderr(&o));
    assert_eq!(e.count("POST", "/api/indicators/consume"), 3, "the late batch is not created again");
    assert_eq!(e.snapshot(), want);
}

#[test]
fn tq_push_killed_half_way_then_rerun_ends_like_one_run() {
    let args = ["--batch", "3"];
    let r = Emulator::start();
    ok(&push(&r, &args, &findings()));
    let want = r.snapshot();
    // Kill while the server holds the reply to a write it has done: a create, the lookup after it, a
    // manual score, the event, the links, and during verification.
    let log = r.requests();
    let at = |m: &str, p: &str, nth: usize| {
        log.iter().enumerate().filter(|(_, l)| l.method == m && l.path.starts_with(p)).nth(nth).unwrap().0
    };
    let points = [
        at("POST", "/api/indicators/consume", 1),
        at("POST", "/api/indicators/query", 1),
        at("PUT", "/api/indicator/", 2),
        at("POST", "/api/events", 0),
        at("POST", "/api/events/", 0),
        log.len() - 2,
    ];
    for k in points {
        let e = Emulator::start();
        e.fault(Fault::new(None, "/api/", k, usize::MAX, FaultKind::Hold));
        let mut child =
            cmd(&e, &args).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let mut sin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut sin, &findings()).unwrap();
        drop(sin);
        e.wait_held(1, Duration::from_secs(20));
        child.kill().unwrap();
        child.wait().unwrap();
        e.release();
        e.clear_faults();
        assert_eq!(e.requests().len(), k + 1);
        let o = push(&e, &args, &findings());
        ok(&o);
        assert_eq!(e.snapshot(), want, "killed at request {k} ({:?})", log[k]);
    }
}

#[test]
fn tq_push_existing_indicators_get_their_status_explicitly() {
    for mode in [Existing::KeepProtected, Existing::Upsert, Existing::Conflict] {
        let e = Emulator::start_with(Config { existing: mode, ..Config::default() });
        // Protected Whitelisted, now new on the intranet; Active (someone blocked it); Expired; an
        // indicator in review that this run only learned (stays in review: an analyst decides).
        e.seed_indicator("/status.php", "Whitelisted");
        e.seed_indicator("/index.php", "Active");
        e.seed_indicator("/feed/2", "Expired");
        e.seed_indicator("/about/", "Review");
        let o = push(&e, &[], &findings());
        ok(&o);
        assert!(stderr(&o).contains("/index.php: was Active; setting Whitelisted"), "{}", stderr(&o));
        assert!(stderr(&o).contains("4 created, 4 updated, 0 unchanged"), "{}", stderr(&o));
        let s = e.statuses();
        assert_eq!(
            [&s["/status.php"], &s["/index.php"], &s["/feed/2"], &s["/about/"]],
            ["Review", "Whitelisted", "Whitelisted", "Review"],
            "{mode:?}"
        );
        // What the existing ones lacked came in one consume per batch; a status that consume keeps
        // (protected Whitelisted, unless the server upserts) was then set explicitly.
        assert_eq!(e.count("POST", "/api/indicators/consume"), 2, "{mode:?}");
        let one_by_one =
            |tail: &str| e.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with(tail)).count();
        assert_eq!((one_by_one("/attributes"), one_by_one("/sources")), (0, 0), "{mode:?}");
        let puts = e.count("PUT", "/api/indicators/");
        assert_eq!(puts, if mode == Existing::Upsert { 0 } else { 1 }, "{mode:?}");
        let status = e.indicator("/status.php").unwrap();
        assert_eq!(status["sources"], serde_json::json!(["analyst", "webshell-hunt"]));
        assert_eq!(attrs(&status, "Host").len(), 2);
        assert_eq!(e.snapshot()["indicators"].as_array().unwrap().len(), 8);
    }
}

#[test]
fn tq_push_without_consume_creates_one_by_array() {
    let want = reference(&["--batch", "3"]);
    let e = Emulator::start_with(Config { consume: false, ..Config::default() });
    let o = push(&e, &["--batch", "3"], &findings());
    ok(&o);
    assert!(stderr(&o).contains("consume is not available"), "{}", stderr(&o));
    assert_eq!(e.count("POST", "/api/indicators/consume"), 1, "asked once, then remembered");
    assert_eq!(e.requests().iter().filter(|r| r.method == "POST" && r.path == "/api/indicators").count(), 3);
    assert_eq!(e.snapshot(), want);
}

/// `n` findings of one site, every `every`th new (a review item), the rest learned: a site's first
/// baseline, as scripts/bench-tq makes them.
fn site_findings(n: usize, every: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 1..=n {
        let new = i % every == 0;
        let (verdict, score, t) =
            if new { ("new", 60, "2026-10-16T10:00:00Z") } else { ("learned", 5, "2026-10-02T10:00:00Z") };
        let path = format!("/p/{}/page-{i}.php", i / 100);
        out.push_str(
            &serde_json::json!({
                "host": "www.bench.test", "template": path, "verdict": verdict, "score": score,
                "reasons": [], "paths": [{"value": path, "count": 3}], "distinct_paths": 1,
                "first_seen": t, "last_seen": t, "count": 3, "methods": {"GET": 3}, "statuses": {"200": 3},
                "distinct_clients": 1,
                "clients": [{"value": format!("192.0.2.{}", i % 250), "count": 3, "baseline": !new}],
                "user_agents": [{"value": "Mozilla/5.0", "count": 3, "baseline": true}],
            })
            .to_string(),
        );
        out.push('\n');
    }
    out.into_bytes()
}

/// The bound on requests: a site's first baseline in a few requests per batch of 500, and an
/// unchanged push in fewer still.
#[test]
fn tq_push_a_sites_baseline_in_a_few_requests_per_batch() {
    let n = 5000;
    let input = site_findings(n, 100);
    let e = Emulator::start();
    let o = push(&e, &[], &input);
    ok(&o);
    assert!(stderr(&o).contains(&format!("-> {n} indicators: {n} created")), "{}", stderr(&o));
    let first = e.requests().len();
    assert_eq!(e.count("PUT", "/api/indicator/"), n / 100, "manual scores only on the review items");
    assert_eq!(e.count("GET", "/api/indicators"), 0, "no lookups one by one");
    let o = push(&e, &[], &input);
    ok(&o);
    assert!(stderr(&o).contains(&format!("0 created, 0 updated, {n} unchanged")), "{}", stderr(&o));
    let again = e.requests().len() - first;
    let per = |r: usize| r as f64 / n as f64;
    assert!(per(first) <= 0.05 && per(again) <= 0.01, "{first} then {again} requests for {n}");
}

/// Every form the instance may lack or bend ends in the same store, and says once what it found.
#[test]
fn tq_push_bulk_lookups_fall_back_where_the_instance_lacks_them() {
    let run = |query: Query, seeds: usize| {
        let e = Emulator::start_with(Config { query, ..Config::default() });
        for i in 0..seeds {
            e.seed_indicator(&format!("/elsewhere/{i}.html"), "Whitelisted");
        }
        let o = push(&e, &["--batch", "3"], &findings());
        ok(&o);
        let writes = e.writes();
        let again = push(&e, &["--batch", "3"], &findings());
        ok(&again);
        assert_eq!(e.writes(), writes, "{query:?}: the second run wrote something");
        (e, stderr(&o))
    };
    let (full, err) = run(Query::Full, 0);
    assert!(!err.contains("query"), "{err}");
    assert_eq!(full.count("GET", "/api/indicators"), 0);
    let want = full.snapshot();
    let (e, err) = run(Query::NoExpand, 0);
    assert_eq!(err.matches("does not expand with= here").count(), 1, "{err}");
    assert_eq!(e.snapshot(), want);
    let (e, err) = run(Query::Absent, 0);
    assert_eq!(err.matches("is not usable here (POST /api/indicators/query: HTTP 404").count(), 1, "{err}");
    assert!(e.count("GET", "/api/indicators") >= 8);
    assert_eq!(e.snapshot(), want);
    // A server that ignores the criteria answers with everything: noticed, and looked up one by one.
    let (e, err) = run(Query::IgnoreCriteria, 150);
    assert_eq!(err.matches("does not filter as asked").count(), 1, "{err}");
    let (f, _) = run(Query::Full, 150);
    assert_eq!(e.snapshot(), f.snapshot());
}

#[test]
fn tq_push_verifies_and_fails_loudly() {
    // A server that answers 200 to a status change and keeps the old status.
    let e = Emulator::start_with(Config { ignore_status_updates: true, ..Config::default() });
    e.seed_indicator("/about/", "Expired");
    let err = failed(&push(&e, &[], &findings()));
    assert!(err.contains("1 problem after writing") && err.contains("/about/"), "{err}");
    assert!(err.contains("status is Expired, asked for Whitelisted"), "{err}");

    // A server rule that makes everything Active: every indicator named, in capitals.
    let e = Emulator::start_with(Config { force_status: Some("Active".into()), ..Config::default() });
    let err = failed(&push(&e, &[], &findings()));
    assert!(err.contains("8 problems after writing"), "{err}");
    assert_eq!(err.matches("ACTIVE: EXPORTED TO BLOCKING TOOLS").count(), 8, "{err}");
}

#[test]
fn tq_push_dry_run_contacts_nothing_and_masks_secrets() {
    let e = Emulator::start();
    let o = push(&e, &["--dry-run", "--batch", "5"], &findings());
    ok(&o);
    no_secrets(&o);
    assert_eq!(e.requests().len(), 0);
    let reqs = util::json_lines(&stdout(&o));
    assert_eq!(reqs[0]["url"], format!("{}/api/token?grant_type=password&client_id=***", e.url()));
    assert_eq!(reqs[0]["body"], serde_json::json!({"email": "***", "password": "***"}));
    let consume: Vec<&Value> =
        reqs.iter().filter(|r| r["url"].as_str().unwrap().ends_with("/consume")).collect();
    assert_eq!(consume.iter().map(|r| r["body"].as_array().unwrap().len()).collect::<Vec<_>>(), [5, 3]);
    // Each batch is looked up, read back and (at the end) verified by one query of its values.
    let queries: Vec<usize> = reqs
        .iter()
        .filter(|r| r["url"].as_str().unwrap().contains("/indicators/query?"))
        .map(|r| r["body"]["criteria"]["+or"].as_array().unwrap().len())
        .collect();
    assert_eq!(queries, [5, 5, 3, 3, 5, 3]);
    assert!(
        !reqs.iter().any(|r| r["method"] == "GET" && r["url"].as_str().unwrap().contains("/api/indicators"))
    );
    let sent: BTreeMap<&str, &str> = consume
        .iter()
        .flat_map(|r| r["body"].as_array().unwrap())
        .map(|i| (i["value"].as_str().unwrap(), i["status_id"].as_str().unwrap()))
        .collect();
    assert_eq!(sent["/about/"], "<id of status Whitelisted>");
    assert_eq!(sent["/status.php"], "<id of status Review>");
    let ev = reqs
        .iter()
        .find(|r| r["method"] == "POST" && r["url"].as_str().unwrap().ends_with("/events"))
        .unwrap();
    assert_eq!(ev["body"]["happened_at"], "2026-10-15 09:00:00");

    // Missing credentials are reported by a dry run too, by name only.
    let mut c = cmd(&e, &["--dry-run"]);
    c.env_remove("TQ_PASSWORD");
    let err = failed(&util::run_cmd(&mut c, &findings()));
    assert!(err.contains("TQ_PASSWORD is not set"), "{err}");
}

#[test]
fn tq_push_credentials_from_an_owner_only_file_and_never_shown() {
    use std::os::unix::fs::PermissionsExt;
    let e = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let file = util::write(
        dir.path(),
        "tq.env",
        format!(
            "TQ_CLIENT_ID={}\nTQ_EMAIL={}\nTQ_PASSWORD='{}'\n",
            emu::CLIENT_ID,
            emu::EMAIL,
            emu::PASSWORD
        ),
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut c = util::cmd("tq-push");
    c.args(["--url", &e.url(), "--secrets", file.to_str().unwrap()]);
    for v in ["TQ_CLIENT_ID", "TQ_EMAIL", "TQ_PASSWORD"] {
        c.env_remove(v);
    }
    let o = util::run_cmd(&mut c, &findings());
    ok(&o);
    no_secrets(&o);

    // A wrong password: refused, and neither it nor the right one is shown.
    let mut c = cmd(&e, &[]);
    c.env("TQ_PASSWORD", "wrong-Pa55word!");
    let o = util::run_cmd(&mut c, &findings());
    let err = failed(&o);
    no_secrets(&o);
    assert!(!err.contains("wrong-Pa55word!") && err.contains("credentials refused"), "{err}");

    // Client credentials.
    let mut c = cmd(&e, &["--grant", "client-credentials"]);
    c.env("TQ_CLIENT_SECRET", emu::CLIENT_SECRET);
    let o = util::run_cmd(&mut c, &findings());
    ok(&o);
    no_secrets(&o);
}

#[test]
fn tq_push_token_redirect_not_followed_and_plain_http_only_on_loopback() {
    let e = Emulator::start_with(Config { token_redirect: true, ..Config::default() });
    let o = push(&e, &[], &findings());
    let err = failed(&o);
    no_secrets(&o);
    assert!(err.contains("redirect to /api/token-moved; not followed"), "{err}");
    assert_eq!(e.count("", "/api/token-moved"), 0);

    let o = util::run("tq-push", &["--url", "http://tq.example.org"], &findings());
    let err = failed(&o);
    assert!(err.contains("only to a loopback address; use https://"), "{err}");
}

/// The end-to-end case: the findings of a `webshell-hunt` run over a generated log, pushed.
#[test]
fn tq_push_webshell_hunt_findings_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let opts = crate::r#gen::Options { archive: 300, ..util::gen_opts("vhost", 30_000, 5, 3) };
    let (log, _) = util::generate(dir.path(), "access.log", &opts);
    let hunt = std::process::Command::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/webshell-hunt"),
    )
    .env("WEBSHELL_HUNT_BIN", util::bin_dir())
    .args(["--json", log.to_str().unwrap()])
    .output()
    .unwrap();
    ok(&hunt);
    let findings: Vec<Value> = util::json_lines(&stdout(&hunt));
    let e = Emulator::start();
    let out = push(&e, &[], &hunt.stdout);
    ok(&out);
    no_secrets(&out);
    let statuses = e.statuses();
    // One indicator per value: the concrete path when the key had one, else its template. A value can
    // stand for findings of several hosts; it is Review when any of them is new.
    let mut want: BTreeMap<String, &str> = BTreeMap::new();
    for f in &findings {
        let value = match f["paths"].as_array().unwrap().as_slice() {
            [one] if f["distinct_paths"] == 1 => one["value"].as_str().unwrap().to_string(),
            _ => f["template"].as_str().unwrap().to_string(),
        };
        let status = if f["verdict"] == "new" { "Review" } else { "Whitelisted" };
        let e = want.entry(value).or_insert(status);
        if status == "Review" {
            *e = "Review";
        }
    }
    assert_eq!(statuses.len(), want.len());
    for (value, status) in &want {
        assert_eq!(statuses.get(value).map(String::as_str), Some(*status), "{value}");
    }
    // One event linking exactly the new ones.
    let events = e.events();
    assert_eq!(events.len(), 1);
    let mut linked: Vec<String> =
        events[0]["indicators"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    linked.sort();
    let review: Vec<String> = want.iter().filter(|(_, s)| **s == "Review").map(|(v, _)| v.clone()).collect();
    assert_eq!(linked, review);
    // A second push of the same findings changes nothing.
    let before = e.snapshot();
    ok(&push(&e, &[], &hunt.stdout));
    assert_eq!(e.snapshot(), before);
}

/// The emulator's latency (for scripts/bench-tq) delays every answer, and a push through it still ends
/// like one without.
#[test]
fn emulator_latency_delays_each_request_and_changes_nothing_else() {
    let quick = Emulator::start();
    ok(&push(&quick, &[], &findings()));
    let slow = Emulator::start_with(Config { latency: Duration::from_millis(30), ..Config::default() });
    let t = std::time::Instant::now();
    ok(&push(&slow, &[], &findings()));
    let n = slow.requests().len();
    assert!(t.elapsed() >= Duration::from_millis(30) * n as u32, "{n} requests in {:?}", t.elapsed());
    assert_eq!(slow.statuses(), quick.statuses());
    assert_eq!(n, quick.requests().len());
}

/// A finding as baseline-diff --inventory writes it, by hand.
fn file_finding(template: &str, verdict: &str, score: u8, reason: &str, file: Value) -> String {
    serde_json::json!({
        "host": "www.shop.test", "template": template, "verdict": verdict, "score": score,
        "reasons": [{"weight": 40, "code": reason, "text": "the file"}],
        "paths": [{"value": template, "count": 3}], "distinct_paths": 1,
        "first_seen": "2026-10-20T10:00:00Z", "last_seen": "2026-10-20T10:05:00Z", "count": 3,
        "methods": {"POST": 3}, "statuses": {"200": 3}, "distinct_clients": 1,
        "clients": [], "user_agents": [], "file": file,
    })
    .to_string()
        + "\n"
}

fn script_file(path: &str, sha: &str, change: &str) -> Value {
    serde_json::json!({"exists": true, "url_path": path, "path": format!("/var/www/html{path}"),
        "kind": "script", "size": 120, "sha256": sha.repeat(64), "change": change})
}

#[test]
fn tq_push_writes_the_script_files_of_an_inventory_as_hash_and_path_indicators() {
    let input = [
        file_finding(
            "/images/x.php",
            "new",
            100,
            "new_file",
            script_file("/images/x.php", "a", "after_window"),
        ),
        file_finding(
            "/uploads/.c.php",
            "dormant",
            75,
            "dormant",
            script_file("/uploads/.c.php", "b", "added"),
        ),
        file_finding("/index.php", "known", 55, "file_changed", script_file("/index.php", "c", "changed")),
        // An old file behind a learned path: nothing to review, no file indicators.
        file_finding("/login.php", "learned", 30, "script_ext", script_file("/login.php", "d", "unchanged")),
        // A routed page: no file.
        file_finding("/2026/10/post/", "new", 10, "no_file", serde_json::json!({"exists": false})),
    ]
    .concat();
    let e = Emulator::start();
    let o = push(&e, &[], input.as_bytes());
    ok(&o);
    let snap = e.snapshot();
    let inds = snap["indicators"].as_array().unwrap();
    let of_type = |t: &str| -> Vec<(String, String)> {
        inds.iter()
            .filter(|i| i["type"] == t)
            .map(|i| (i["value"].as_str().unwrap().to_string(), i["status"].as_str().unwrap().to_string()))
            .collect()
    };
    let review = |v: &str| (v.to_string(), "Review".to_string());
    assert_eq!(of_type("SHA-256"), ["a", "b", "c"].map(|h| review(&h.repeat(64))));
    assert_eq!(
        of_type("File Path"),
        ["/var/www/html/images/x.php", "/var/www/html/index.php", "/var/www/html/uploads/.c.php"].map(review)
    );
    let urls = of_type("URL Path");
    assert!(
        urls.contains(&review("/index.php")),
        "a learned script that changed is reviewed again: {urls:?}"
    );
    assert!(urls.contains(&("/login.php".to_string(), "Whitelisted".to_string())));
    assert!(urls.contains(&review("/uploads/.c.php")), "a dormant script's URL path is reviewed");
    let hash = inds.iter().find(|i| i["type"] == "SHA-256" && i["value"] == "a".repeat(64)).unwrap();
    assert_eq!(attrs(hash, "File Path"), ["/var/www/html/images/x.php"]);
    assert_eq!(attrs(hash, "URL Path"), ["/images/x.php"]);
    assert_eq!(hash["score"], 10);
    assert!(hash["description"].as_str().unwrap().contains("never for blocking"));
    // One event links the review URL paths and the file indicators.
    let events = e.events();
    assert_eq!(events.len(), 1);
    let linked = events[0]["indicators"].as_array().unwrap();
    assert_eq!(linked.len(), 4 + 6, "{linked:?}");
    assert!(linked.contains(&Value::from("b".repeat(64))));
    assert!(events[0]["description"].as_str().unwrap().contains("/var/www/html/images/x.php"));
    // Again: nothing to write.
    let before = e.writes();
    ok(&push(&e, &[], input.as_bytes()));
    assert_eq!(e.writes(), before);

    // --no-file-indicators: URL paths only.
    let e = Emulator::start();
    ok(&push(&e, &["--no-file-indicators"], input.as_bytes()));
    let snap = e.snapshot();
    assert!(snap["indicators"].as_array().unwrap().iter().all(|i| i["type"] == "URL Path"));
}
