//! `splunk-export` through the built binary against the Splunk emulator on 127.0.0.1.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::splunk_emu::{self, Cmd, Config, EmuEvent, Emulator, Fault, LoadOpts, Term};
use serde_json::Value;

use crate::util::{self, json_lines, ok, stderr, stdout};

pub(crate) const TOKEN: &str = "tok-3f9a1c77e2b54d0c";
const USER: &str = "svc_export";
const PASSWORD: &str = "pw-Zq8!x7#not-in-logs";

pub(crate) fn config() -> Config {
    Config { tokens: vec![TOKEN.into()], users: vec![(USER.into(), PASSWORD.into())], ..Config::default() }
}

/// A splunk-export command with a clean credential environment and fast retries.
fn cmd(emu: &Emulator, args: &[&str]) -> Command {
    let mut c = util::cmd("splunk-export");
    c.env_remove("SPLUNK_TOKEN").env_remove("SPLUNK_USERNAME").env_remove("SPLUNK_PASSWORD");
    c.args(["--url", &emu.url(), "--retry-first-ms", "10", "--retry-for", "5"]).args(args);
    c
}

fn run_token(emu: &Emulator, args: &[&str]) -> Output {
    let mut c = cmd(emu, args);
    c.env("SPLUNK_TOKEN", TOKEN);
    util::run_cmd(&mut c, b"")
}

#[track_caller]
fn fails(o: &Output, needle: &str) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
    let e = stderr(o);
    assert!(e.contains(needle), "stderr lacks {needle:?}:\n{e}");
    assert!(e.starts_with("splunk-export: "), "{e}");
    e
}

/// A generated access log (the project's generator, tests/gen).
fn make_log(dir: &Path, lines: usize, vhost: bool) -> PathBuf {
    let name = if vhost { "vhost.log" } else { "access.log" };
    let format = if vhost { "vhost" } else { "combined" };
    util::generate(dir, name, &util::gen_opts(format, lines as u64, 11, 3)).0
}

fn emu_with_log(cfg: Config, lines: usize, vhost: bool) -> (Emulator, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let log = make_log(dir.path(), lines, vhost);
    let emu = Emulator::start(cfg);
    let n = emu.load_log(&log, &LoadOpts::default()).unwrap();
    assert!(n > lines * 9 / 10, "{n} events from {lines} lines");
    (emu, log, dir)
}

/// What one aggregated key holds, in a form both sides can be compared in.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Agg {
    count: u64,
    first: String,
    last: String,
    distinct: u64,
    clients: Vec<String>,
    agents: Vec<String>,
    queries: Vec<String>,
}

type Key = (String, String, String, u64);

/// Aggregates log-export's events locally the way the generated SPL asks Splunk to: BY host, path,
/// method, status (events missing one are dropped, as `stats … BY` drops them); samples are the
/// lexically first `n` distinct values (`mvindex(values(x),0,n-1)`).
fn aggregate_locally(events: &[Value], n: usize) -> BTreeMap<Key, Agg> {
    #[derive(Default)]
    struct Acc {
        count: u64,
        first: String,
        last: String,
        sets: [BTreeSet<String>; 3],
    }
    let mut acc: BTreeMap<Key, Acc> = BTreeMap::new();
    for e in events {
        let (Some(host), Some(method), Some(status)) =
            (e["host"].as_str(), e["method"].as_str(), e["status"].as_u64())
        else {
            continue;
        };
        let key = (host.to_string(), e["path"].as_str().unwrap().to_string(), method.to_string(), status);
        let t = e["time"].as_str().unwrap().to_string();
        let a = acc.entry(key).or_insert_with(|| Acc { first: t.clone(), last: t.clone(), ..Acc::default() });
        a.count += 1;
        let ts = |s: &str| webshell_hunt::time::Timestamp::parse_rfc3339(s).unwrap();
        if ts(&t) < ts(&a.first) {
            a.first = t.clone();
        }
        if ts(&t) > ts(&a.last) {
            a.last = t;
        }
        for (field, set) in ["client", "user_agent", "query"].iter().zip(a.sets.iter_mut()) {
            if let Some(v) = e[*field].as_str() {
                set.insert(v.to_string());
            }
        }
    }
    let first_n = |s: &BTreeSet<String>| s.iter().take(n).cloned().collect::<Vec<_>>();
    acc.into_iter()
        .map(|(k, a)| {
            let agg = Agg {
                count: a.count,
                first: a.first,
                last: a.last,
                distinct: a.sets[0].len() as u64,
                clients: first_n(&a.sets[0]),
                agents: first_n(&a.sets[1]),
                queries: first_n(&a.sets[2]),
            };
            (k, agg)
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

fn from_export(rows: &[Value]) -> BTreeMap<Key, Agg> {
    let mut m = BTreeMap::new();
    for r in rows {
        let key = (
            r["host"].as_str().unwrap().to_string(),
            r["path"].as_str().unwrap().to_string(),
            r["method"].as_str().unwrap().to_string(),
            r["status"].as_u64().unwrap(),
        );
        let agg = Agg {
            count: r["count"].as_u64().unwrap(),
            first: r["first_seen"].as_str().unwrap().to_string(),
            last: r["last_seen"].as_str().unwrap().to_string(),
            distinct: r["distinct_clients"].as_u64().unwrap(),
            clients: strings(&r["clients"]),
            agents: strings(&r["user_agents"]),
            queries: strings(&r["queries"]),
        };
        assert!(m.insert(key.clone(), agg).is_none(), "key {key:?} twice");
    }
    m
}

fn log_export(args: &[&str]) -> Vec<Value> {
    let out = util::run("log-export", args, b"");
    ok(&out);
    json_lines(&stdout(&out))
}

#[test]
fn aggregated_export_equals_local_aggregation() {
    let (emu, log, _d) = emu_with_log(config(), 20_000, false);
    let out = run_token(&emu, &["--index", "web", "--sourcetype", "access_combined", "--samples", "4"]);
    ok(&out);
    assert_eq!(stderr(&out), "", "quiet on success");
    let rows = json_lines(&stdout(&out));
    // The forwarder is the host: access_combined logs do not name the site.
    let local = aggregate_locally(&log_export(&["-q", "--host", "web01", log.to_str().unwrap()]), 4);
    let remote = from_export(&rows);
    assert!(local.len() > 100, "a realistic number of keys: {}", local.len());
    assert_eq!(remote.len(), local.len());
    for (k, want) in &local {
        assert_eq!(remote.get(k), Some(want), "key {k:?}");
    }
    for r in &rows {
        assert_eq!(r["source"], "splunk:web/access_combined");
        assert_eq!(r["server"], "apache");
        assert!(r.get("time").is_none() && r.get("query").is_none(), "{r}");
        let _: webshell_hunt::record::Event = serde_json::from_value(r.clone()).unwrap();
    }
    // One request, v2, with the time bounds and flags as parameters.
    let ex = emu.exports();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].path, "/services/search/v2/jobs/export");
    assert_eq!(ex[0].method, "POST");
    assert_eq!(ex[0].auth_scheme, "Bearer");
    assert_eq!((ex[0].param("output_mode"), ex[0].param("preview")), (Some("json"), Some("false")));
    assert!(ex[0].param("search").unwrap().contains("| stats count min(_time) AS first_seen"));
}

#[test]
fn cim_tstats_groups_by_site() {
    let (emu, log, _d) = emu_with_log(config(), 6_000, true);
    let out = run_token(&emu, &["--fields", "cim", "--index", "web"]);
    ok(&out);
    let rows = json_lines(&stdout(&out));
    // The vhost log names the site; CIM's `site` carries it, so the host is the site, as log-export has it.
    let local = aggregate_locally(&log_export(&["-q", log.to_str().unwrap()]), 10);
    assert_eq!(from_export(&rows), local);
    let spl = emu.exports()[0].param("search").unwrap().to_string();
    assert!(spl.starts_with("| tstats fillnull_value=\"-\" count"), "{spl}");
    assert!(spl.contains("FROM datamodel=Web.Web WHERE index=\"web\" BY"), "{spl}");
    let hosts: BTreeSet<&str> = rows.iter().map(|r| r["host"].as_str().unwrap()).collect();
    assert!(hosts.iter().all(|h| h.ends_with(".example.test")), "{hosts:?}");
}

#[test]
fn raw_export_equals_log_export_within_the_time_window() {
    let (emu, log, _d) = emu_with_log(config(), 3_000, false);
    let (from, to) = ("2026-10-01T12:00:00Z", "2026-10-02T12:00:00Z");
    let out = run_token(&emu, &["--index", "web", "--raw", "--earliest", from, "--latest", to]);
    ok(&out);
    let rows = json_lines(&stdout(&out));
    let mut local: Vec<Value> = log_export(&["-q", "--host", "web01", log.to_str().unwrap()])
        .into_iter()
        .filter(|e| {
            let t = e["time"].as_str().unwrap();
            t >= from && t < to
        })
        .collect();
    assert!(!local.is_empty());
    let strip = |mut v: Value| {
        let o = v.as_object_mut().unwrap();
        o.remove("source");
        o.remove("server");
        v
    };
    let mut remote: Vec<Value> = rows.iter().cloned().map(strip).collect();
    local = local.into_iter().map(strip).collect();
    let key = |v: &Value| v.to_string();
    remote.sort_by_key(key);
    local.sort_by_key(key);
    assert_eq!(remote, local);
    assert!(rows[0]["source"].as_str().unwrap().starts_with("splunk:web/access_combined:"));
    let ex = &emu.exports()[0];
    assert_eq!(ex.param("earliest_time"), Some("1790856000"));
    assert_eq!(ex.param("latest_time"), Some("1790942400"));
    let spl = ex.param("search").unwrap();
    assert!(
        !spl.contains("1790856000") && !spl.contains("earliest"),
        "time bounds stay out of the SPL: {spl}"
    );
}

pub(crate) fn event(time: i64, indextime: i64, path: &str) -> EmuEvent {
    EmuEvent {
        time_ms: time * 1000,
        indextime,
        index: "web".into(),
        sourcetype: "access_combined".into(),
        host: "web01".into(),
        source: "/var/log/access.log".into(),
        raw: format!("GET {path}"),
        client: Some("192.0.2.7".into()),
        method: Some("GET".into()),
        path: Some(path.into()),
        status: Some("200".into()),
        ..EmuEvent::default()
    }
}

#[test]
fn index_time_window_catches_late_events() {
    let t0 = 1_790_812_800; // 2026-10-01T00:00:00Z
    let emu = Emulator::start(Config { now: Some(t0 + 600), ..config() });
    emu.add_events([
        event(t0, t0 + 5, "/on-time"),
        // Happened an hour before the window but was indexed inside it: a late event.
        event(t0 - 3600, t0 + 100, "/late"),
        event(t0 + 10, t0 + 300, "/next-window"),
        event(t0 - 7200, t0 - 7000, "/previous-window"),
    ]);
    let out = run_token(
        &emu,
        &[
            "--index-earliest",
            &t0.to_string(),
            "--index-latest",
            &(t0 + 300).to_string(),
            "--earliest",
            "-30d",
            "--raw",
        ],
    );
    ok(&out);
    let paths: BTreeSet<String> =
        json_lines(&stdout(&out)).iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
    assert_eq!(paths, BTreeSet::from(["/late".to_string(), "/on-time".to_string()]));
    let ex = &emu.exports()[0];
    assert_eq!(ex.param("index_earliest"), Some("1790812800"));
    assert_eq!(ex.param("index_latest"), Some("1790813100"));
    assert_eq!(ex.param("earliest_time"), Some("-30d"));
}

#[test]
fn hostile_index_and_sourcetype_cannot_escape_their_quotes() {
    let emu = Emulator::start(config());
    let hostile_index = r#"web" | delete | search index="*"#;
    let hostile_st = r#"st\" OR 1=1 \\| eval x=\"y"#;
    let mut ev = event(1_790_812_800, 1_790_812_800, "/found");
    ev.index = hostile_index.into();
    ev.sourcetype = hostile_st.into();
    emu.add_events([ev.clone(), event(1_790_812_800, 1_790_812_800, "/other-index")]);
    for raw in [false, true] {
        let mut args = vec!["--index", hostile_index, "--sourcetype", hostile_st];
        if raw {
            args.push("--raw");
        }
        let out = run_token(&emu, &args);
        ok(&out);
        let rows = json_lines(&stdout(&out));
        assert_eq!(rows.len(), 1, "only the event in the hostile index: {rows:?}");
        assert_eq!(rows[0]["path"], "/found");
        // The SPL Splunk would parse: the values are single terms, the pipeline has only our commands.
        let spl = emu.exports().last().unwrap().param("search").unwrap().to_string();
        let cmds = splunk_emu::parse_spl(&spl).unwrap();
        let Cmd::Search(terms) = &cmds[0] else { panic!("{cmds:?}") };
        assert_eq!(
            terms[0],
            Term::Field { name: "index".into(), value: hostile_index.into(), negate: false }
        );
        assert_eq!(
            terms[1],
            Term::Field { name: "sourcetype".into(), value: hostile_st.into(), negate: false }
        );
        assert_eq!(terms.len(), 3, "{terms:?}");
        let kinds: Vec<&str> = cmds
            .iter()
            .map(|c| match c {
                Cmd::Search(_) => "search",
                Cmd::Stats { .. } => "stats",
                Cmd::Rename(_) => "rename",
                Cmd::Eval(_) => "eval",
                Cmd::Fields { .. } => "fields",
                _ => "other",
            })
            .collect();
        let want: &[&str] =
            if raw { &["search", "fields", "fields"] } else { &["search", "stats", "rename", "eval"] };
        assert_eq!(kinds, want, "{spl}");
    }
    // Newlines and other control characters are refused before anything is sent.
    let before = emu.requests().len();
    for bad in ["web\n| delete", "web\r", "a\tb"] {
        let out = run_token(&emu, &["--index", bad]);
        fails(&out, "control character");
    }
    let out = run_token(&emu, &["--fields", "path=uri_path|delete"]);
    fails(&out, "not allowed");
    assert_eq!(emu.requests().len(), before);
}

#[test]
fn fatal_message_after_rows_is_a_failure() {
    let (emu, _log, _d) = emu_with_log(config(), 2_000, false);
    emu.push_fault(Fault::Message {
        after: 5,
        kind: "FATAL".into(),
        text: "search process terminated".into(),
    });
    let out = run_token(&emu, &["--index", "web", "--raw"]);
    let e = fails(&out, "Splunk reported FATAL after 5 rows: search process terminated");
    assert!(e.contains("Splunk FATAL: search process terminated"), "{e}");
    assert_eq!(json_lines(&stdout(&out)).len(), 5, "rows before the message are out, but the status says 2");
    assert_eq!(emu.exports().len(), 1, "a search failure is not retried");
}

#[test]
fn error_message_fails_even_when_the_stream_completes() {
    let (emu, _log, _d) = emu_with_log(config(), 2_000, false);
    emu.push_fault(Fault::Message {
        after: 3,
        kind: "ERROR".into(),
        text: "Search peer idx2 is down".into(),
    });
    fails(
        &run_token(&emu, &["--index", "web"]),
        "Splunk reported ERROR after 3 rows: Search peer idx2 is down",
    );
}

#[test]
fn info_and_warn_messages_go_to_stderr() {
    let (emu, _log, _d) = emu_with_log(config(), 500, false);
    emu.push_fault(Fault::Message { after: 2, kind: "WARN".into(), text: "Field 'x' does not exist".into() });
    let out = run_token(&emu, &["--index", "web"]);
    ok(&out);
    assert_eq!(stderr(&out), "splunk-export: Splunk WARN: Field 'x' does not exist\n");
    assert!(json_lines(&stdout(&out)).len() > 10);
}

#[test]
fn quota_503_is_retried_with_backoff_then_succeeds() {
    let (emu, _log, _d) = emu_with_log(config(), 1_000, false);
    let want = stdout(&run_token(&emu, &["--index", "web"]));
    emu.push_fault(Fault::Status(503));
    emu.push_fault(Fault::Status(503));
    let t = Instant::now();
    let out = run_token(&emu, &["--index", "web"]);
    ok(&out);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(stdout(&out), want);
    let e = stderr(&out);
    assert_eq!(e.matches("maximum number of concurrent historical searches").count(), 2, "{e}");
    assert!(e.contains("retrying in 0.0s (attempt 2)") && e.contains("(attempt 3)"), "{e}");
    assert_eq!(emu.exports().len(), 1 + 3);
}

#[test]
fn retries_end_at_the_deadline() {
    let (emu, _log, _d) = emu_with_log(config(), 100, false);
    for _ in 0..50 {
        emu.push_fault(Fault::Status(503));
    }
    let mut c = util::cmd("splunk-export");
    c.args(["--url", &emu.url(), "--index", "web", "--retry-for", "0"]).env("SPLUNK_TOKEN", TOKEN);
    let out = util::run_cmd(&mut c, b"");
    fails(&out, "giving up after 1 attempt (--retry-for 0s): HTTP 503 Service Unavailable");
    assert_eq!(emu.exports().len(), 1);
    assert!(stdout(&out).is_empty());
}

#[test]
fn cut_connection_mid_stream_is_a_failure_not_a_short_success() {
    let (emu, _log, _d) = emu_with_log(config(), 3_000, false);
    emu.push_fault(Fault::Cut { after: 100 });
    let out = run_token(&emu, &["--index", "web", "--raw"]);
    fails(&out, "connection to Splunk lost after 100 rows");
    assert_eq!(json_lines(&stdout(&out)).len(), 100);
    assert_eq!(emu.exports().len(), 1, "rows were printed: no retry, it would duplicate them");
}

#[test]
fn cut_before_the_first_row_is_retried() {
    let (emu, _log, _d) = emu_with_log(config(), 1_000, false);
    let want = stdout(&run_token(&emu, &["--index", "web"]));
    emu.push_fault(Fault::Cut { after: 0 });
    let out = run_token(&emu, &["--index", "web"]);
    ok(&out);
    assert_eq!(stdout(&out), want);
    assert!(stderr(&out).contains("connection lost before the first row"), "{}", stderr(&out));
}

#[test]
fn stream_without_lastrow_is_a_failure() {
    let (emu, _log, _d) = emu_with_log(config(), 1_000, false);
    emu.push_fault(Fault::NoLastrow);
    let out = run_token(&emu, &["--index", "web"]);
    fails(&out, "without its last row");
    assert!(!stdout(&out).is_empty());
}

#[test]
fn slow_first_byte_is_waited_for() {
    let (emu, _log, _d) = emu_with_log(config(), 500, false);
    let want = stdout(&run_token(&emu, &["--index", "web"]));
    emu.push_fault(Fault::SlowFirstByte(Duration::from_millis(700)));
    let t = Instant::now();
    let out = run_token(&emu, &["--index", "web"]);
    ok(&out);
    assert!(t.elapsed() >= Duration::from_millis(700));
    assert_eq!(stdout(&out), want);
    assert_eq!(emu.exports().len(), 2);
}

#[test]
fn preview_rows_are_dropped() {
    let (emu, _log, _d) = emu_with_log(config(), 2_000, false);
    let want = stdout(&run_token(&emu, &["--index", "web"]));
    emu.push_fault(Fault::Preview);
    let out = run_token(&emu, &["--index", "web", "--verbose"]);
    ok(&out);
    assert_eq!(stdout(&out), want);
    assert!(stderr(&out).contains("preview rows dropped"), "{}", stderr(&out));
}

#[test]
fn empty_result_is_success() {
    let (emu, _log, _d) = emu_with_log(config(), 200, false);
    let out = run_token(&emu, &["--index", "nothing-here"]);
    ok(&out);
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
}

#[test]
fn client_errors_are_not_retried_and_say_what_to_fix() {
    let (emu, _log, _d) = emu_with_log(config(), 100, false);
    let mut c = cmd(&emu, &["--index", "web"]);
    c.env("SPLUNK_TOKEN", "wrong-token");
    fails(&util::run_cmd(&mut c, b""), "HTTP 401: WARN call not properly authenticated): check SPLUNK_TOKEN");
    emu.push_fault(Fault::Status(403));
    fails(&run_token(&emu, &["--index", "web"]), "lacks the search capability");
    let e = fails(
        &run_token(&emu, &["--search", "index=web | bogus x"]),
        "HTTP 400: FATAL Unknown search command 'bogus'.",
    );
    assert!(e.contains("--verbose shows the SPL"), "{e}");
    assert_eq!(emu.exports().len(), 3, "one request each");
}

#[test]
fn session_login_is_renewed_once_on_401() {
    let (emu, _log, _d) = emu_with_log(config(), 300, false);
    let run_session = |emu: &Emulator| {
        let mut c = cmd(emu, &["--index", "web"]);
        c.env("SPLUNK_USERNAME", USER).env("SPLUNK_PASSWORD", PASSWORD);
        util::run_cmd(&mut c, b"")
    };
    ok(&run_session(&emu));
    emu.push_fault(Fault::Status(401));
    let out = run_session(&emu);
    ok(&out);
    assert!(stderr(&out).contains("logging in again"), "{}", stderr(&out));
    let logins = emu.requests().iter().filter(|r| r.path == "/services/auth/login").count();
    assert_eq!(logins, 3);
    assert!(emu.exports().iter().all(|r| r.auth_scheme == "Splunk"));
    // Refused again after the fresh login: a failure, not a loop.
    emu.push_fault(Fault::Status(401));
    emu.push_fault(Fault::Status(401));
    fails(&run_session(&emu), "refused even after a fresh login");
    // A wrong password fails at login.
    let mut c = cmd(&emu, &["--index", "web"]);
    c.env("SPLUNK_USERNAME", USER).env("SPLUNK_PASSWORD", "nope");
    fails(&util::run_cmd(&mut c, b""), "login refused (HTTP 401");
}

#[test]
fn basic_auth_v1_fallback_and_app_namespace() {
    let cfg = Config { v2: false, ..config() };
    let (emu, _log, _d) = emu_with_log(cfg, 300, false);
    let mut c = cmd(&emu, &["--index", "web", "--auth", "basic", "--app", "search"]);
    c.env("SPLUNK_USERNAME", USER).env("SPLUNK_PASSWORD", PASSWORD);
    let out = util::run_cmd(&mut c, b"");
    ok(&out);
    assert!(!stdout(&out).is_empty());
    let paths: Vec<String> = emu.exports().iter().map(|r| format!("{} {}", r.auth_scheme, r.path)).collect();
    assert_eq!(
        paths,
        [
            "Basic /servicesNS/nobody/search/search/v2/jobs/export",
            "Basic /servicesNS/nobody/search/search/jobs/export"
        ]
    );
}

#[test]
fn user_search_rows_pass_through() {
    let (emu, _log, _d) = emu_with_log(config(), 2_000, false);
    let spl = "index=web uri_path=\"/*.php\" | stats count BY host uri_path | rename uri_path AS path | eval tenant=\"acme\"";
    let out = run_token(&emu, &["--search", spl]);
    ok(&out);
    let rows = json_lines(&stdout(&out));
    assert!(!rows.is_empty());
    for r in &rows {
        assert!(r["path"].as_str().unwrap().ends_with(".php"), "{r}");
        assert_eq!(r["tenant"], "acme");
        assert!(r["count"].as_u64().unwrap() >= 1);
    }
    assert!(emu.exports()[0].param("search").unwrap().starts_with("search index=web"));
}

#[test]
fn unreachable_splunk_is_retried_then_fails() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut c = util::cmd("splunk-export");
    c.args(["--url", &format!("http://127.0.0.1:{port}"), "--retry-first-ms", "20", "--retry-for", "1"]);
    c.env("SPLUNK_TOKEN", TOKEN);
    let t = Instant::now();
    let out = util::run_cmd(&mut c, b"");
    assert!(t.elapsed() < Duration::from_secs(3));
    let e = fails(&out, "giving up after");
    assert!(e.contains("cannot reach Splunk") && e.matches("retrying in").count() >= 3, "{e}");
}

#[test]
fn secrets_never_reach_argv_stdout_or_stderr() {
    let (emu, _log, _d) = emu_with_log(config(), 300, false);
    let secrets = [TOKEN, PASSWORD];
    let check = |o: &Output| {
        for s in secrets {
            assert!(!String::from_utf8_lossy(&o.stdout).contains(s), "secret on stdout");
            assert!(!stderr(o).contains(s), "secret on stderr: {}", stderr(o));
        }
    };
    // Token from the environment, verbose, while the process runs (a slow first byte keeps it alive).
    emu.push_fault(Fault::SlowFirstByte(Duration::from_millis(500)));
    let mut c = cmd(&emu, &["--index", "web", "--verbose"]);
    c.env("SPLUNK_TOKEN", TOKEN).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let argv = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    assert!(!argv.is_empty());
    assert!(!String::from_utf8_lossy(&argv).contains(TOKEN), "token in argv");
    let out = child.wait_with_output().unwrap();
    ok(&out);
    check(&out);
    assert!(stderr(&out).contains("auth: token"), "{}", stderr(&out));
    // Session credentials from an owner-only file, verbose, and in failures.
    let dir = tempfile::tempdir().unwrap();
    let f =
        util::write(dir.path(), "secrets", format!("SPLUNK_USERNAME={USER}\nSPLUNK_PASSWORD='{PASSWORD}'\n"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let fs = f.to_str().unwrap();
    let out = util::run_cmd(&mut cmd(&emu, &["--index", "web", "--verbose", "--secrets", fs]), b"");
    ok(&out);
    check(&out);
    emu.push_fault(Fault::Status(401));
    emu.push_fault(Fault::Status(401));
    let out = util::run_cmd(&mut cmd(&emu, &["--index", "web", "--verbose", "--secrets", fs]), b"");
    fails(&out, "HTTP 401");
    check(&out);
    let mut c = cmd(&emu, &["--index", "web", "--verbose"]);
    c.env("SPLUNK_TOKEN", "not-the-token-x91");
    let out = util::run_cmd(&mut c, b"");
    assert!(!stderr(&out).contains("not-the-token-x91"), "{}", stderr(&out));
    // A group-readable file is refused, and a password in the URL too, without echoing it.
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    fails(&util::run_cmd(&mut cmd(&emu, &["--secrets", fs]), b""), "chmod 600");
    let url = format!("http://{USER}:{PASSWORD}@127.0.0.1:{}", emu.port());
    let out = util::run("splunk-export", &["--url", &url], b"");
    fails(&out, "credentials do not belong on the command line");
    check(&out);
    // No credentials at all: says where they go.
    fails(
        &util::run_cmd(&mut cmd(&emu, &[]), b""),
        "set SPLUNK_TOKEN, or SPLUNK_USERNAME and SPLUNK_PASSWORD",
    );
}

#[test]
fn tls_is_verified_by_default_and_ca_cert_trusts_a_private_ca() {
    let tls = splunk_emu::generate_tls();
    let dir = tempfile::tempdir().unwrap();
    let ca = util::write(dir.path(), "ca.pem", &tls.ca_pem);
    let emu = Emulator::start(Config { tls: Some(tls), ..config() });
    emu.add_events([event(1_790_812_800, 1_790_812_800, "/tls")]);
    assert!(emu.url().starts_with("https://127.0.0.1:"));
    let t = Instant::now();
    let out = run_token(&emu, &[]);
    let e = fails(&out, "--ca-cert");
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    assert!(
        t.elapsed() < Duration::from_secs(3) && !e.contains("retrying"),
        "a TLS failure is not retried: {e}"
    );
    let out = run_token(&emu, &["--ca-cert", ca.to_str().unwrap()]);
    ok(&out);
    assert_eq!(json_lines(&stdout(&out))[0]["path"], "/tls");
    let out = run_token(&emu, &["--insecure"]);
    ok(&out);
    assert!(stderr(&out).contains("warning: --insecure"), "{}", stderr(&out));
}

#[test]
fn emulator_rejects_spl_outside_its_subset_like_splunk() {
    for (spl, msg) in [
        ("index=web", "Unknown search command 'index'."),
        ("search a OR b", "does not support OR"),
        ("search x | eval y=len(x)", "'len' function is unsupported"),
        ("search x=\"unterminated", "Unbalanced quotes."),
        ("search x | tstats count", "must be the first command"),
    ] {
        let e = splunk_emu::parse_spl(spl).unwrap_err();
        assert!(e.contains(msg), "{spl}: {e}");
    }
    assert_eq!(splunk_emu::parse_time("-1h@h", 1_790_816_461_000, "t"), Ok(1_790_812_800_000));
    assert_eq!(splunk_emu::parse_time("@d", 1_790_816_461_000, "t"), Ok(1_790_812_800_000));
}
