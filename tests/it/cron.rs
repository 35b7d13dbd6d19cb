//! `scripts/webshell-cron` end to end: the real binaries against the Splunk and ThreatQ emulators on
//! 127.0.0.1, over a fixed schedule of runs (the script's clock is `--now`), with every fault the issue
//! names. Each fault scenario runs the same schedule as a fault-free reference and must end with exactly
//! its ThreatQ store (`snapshot()`, ids stripped), its baseline state file (byte for byte, the header's
//! `runs` included: a window is committed exactly once) and its checkpoint.
//!
//! The data: a small site on one host; four days of traffic, learned for two; new paths (a shell among
//! them) after that; late events (indexed hours after they happened; indexed just after their window's
//! end; indexed inside a window but searchable only after the run that covered it). Before each run the
//! Splunk emulator receives the events that are searchable at that instant.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::splunk_emu::{self, EmuEvent};
use crate::threatq_emu::{self, Fault, FaultKind};
use crate::tls_emu;
use crate::util::{self, json_lines, stderr, stdout};

const TOKEN: &str = "cron-splunk-tok-5d1e7a";
/// 2026-10-01T00:00:00Z: the index time of the first window.
const T0: i64 = 1_790_812_800;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const LAG: i64 = 300;

/// The instants the job runs at. Windows: [0,1d) [1d,2d) [2d,2d6h) [2d6h,2d12h) [2d12h,3d), then a
/// day behind: [3d,4d) capped by MAX_WINDOW, [4d,4d12h) at the same instant, then nothing to do.
fn schedule() -> Vec<i64> {
    let at = |d: i64, h: i64| T0 + d * DAY + h * HOUR + LAG;
    vec![at(1, 0), at(2, 0), at(2, 6), at(2, 12), at(3, 0), at(4, 12), at(4, 12), at(4, 12)]
}

/// The window each run of `nows` should take, from the rule [checkpoint, now - lag) capped at one day.
fn model_windows(nows: &[i64], lag: i64) -> Vec<Option<(i64, i64)>> {
    let mut cp = T0;
    nows.iter()
        .map(|&now| {
            let hi = now - lag;
            (hi > cp).then(|| {
                let w = (cp, (cp + DAY).min(hi));
                cp = w.1;
                w
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------
// The data
// ---------------------------------------------------------------------------------------------------

/// An event, and the instant from which a search can see it.
#[derive(Clone)]
struct Planned {
    visible_at: i64,
    ev: EmuEvent,
}

#[allow(clippy::too_many_arguments)]
fn event(
    time: i64,
    indextime: i64,
    method: &str,
    path: &str,
    status: u16,
    client: &str,
    ua: &str,
) -> EmuEvent {
    EmuEvent {
        time_ms: time * 1000,
        indextime,
        index: "web".into(),
        sourcetype: "access_combined".into(),
        host: "web01".into(),
        source: "/var/log/apache2/access.log".into(),
        raw: format!("{client} - - \"{method} {path} HTTP/1.1\" {status}"),
        client: Some(client.into()),
        method: Some(method.into()),
        path: Some(path.into()),
        status: Some(status.to_string()),
        bytes: Some("512".into()),
        user_agent: Some(ua.into()),
        ..EmuEvent::default()
    }
}

const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1",
];
const SITE: &[&str] = &[
    "/",
    "/index.php",
    "/about/",
    "/contact/",
    "/css/site.css",
    "/js/app.js",
    "/img/logo.png",
    "/login.php",
    "/search",
];

/// Keys whose every event is late, with their event counts: each must be counted exactly once.
const LATE: &[(&str, u64)] = &[("/late/old.php", 2), ("/lag/edge.php", 2), ("/pipe/slow.php", 3)];

fn dataset() -> Vec<Planned> {
    let mut out = Vec::new();
    let mut x: u64 = 0x5eed_cafe;
    let mut rnd = |m: u64| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) % m
    };
    let on_time = |ev: EmuEvent| Planned { visible_at: ev.indextime, ev };
    // The site's ordinary traffic, two requests per 20 minutes, indexed within 30 s.
    let mut slot = T0;
    while slot < T0 + 4 * DAY + 11 * HOUR {
        for _ in 0..2 {
            let t = slot + rnd(1200) as i64;
            let client = format!("198.51.100.{}", 1 + rnd(8));
            let ua = BROWSERS[rnd(3) as usize];
            let (path, status) = match rnd(12) {
                0..=8 => (SITE[rnd(SITE.len() as u64) as usize].to_string(), 200),
                9 | 10 => (format!("/products/{}", 1 + rnd(40)), 200),
                _ => ("/favicon.ico".to_string(), 404),
            };
            out.push(on_time(event(t, t + rnd(30) as i64, "GET", &path, status, &client, ua)));
        }
        slot += 1200;
    }
    let at = |d: i64, h: i64, m: i64| T0 + d * DAY + h * HOUR + m * 60;
    // New after the learning window (2 days): a shell, a stray script, new pages.
    for i in 0..6 {
        let t = at(2, 2, 10 * i);
        out.push(on_time(event(
            t,
            t + 4,
            "POST",
            "/uploads/2026/10/cmd.php",
            200,
            "203.0.113.9",
            "curl/8.5.0",
        )));
    }
    for (i, p) in
        ["/images/logo.aspx", "/news/launch.html", "/news/pricing.html", "/team/"].iter().enumerate()
    {
        let t = at(2, 3, 20 * i as i64);
        out.push(on_time(event(t, t + 2, "GET", p, 200, "198.51.100.3", BROWSERS[0])));
    }
    out.push(on_time(event(
        at(2, 7, 0),
        at(2, 7, 0) + 5,
        "GET",
        "/admin/report.php",
        200,
        "198.51.100.2",
        BROWSERS[1],
    )));
    out.push(on_time(event(
        at(3, 9, 0),
        at(3, 9, 0) + 5,
        "POST",
        "/wp-login.php",
        200,
        "192.0.2.44",
        "python-requests/2.32",
    )));
    out.push(on_time(event(
        at(4, 3, 0),
        at(4, 3, 0) + 5,
        "POST",
        "/img/x.jsp",
        200,
        "192.0.2.45",
        "curl/8.5.0",
    )));
    // Late by hours: happened in the third window, indexed in the fourth.
    for m in [0, 5] {
        out.push(on_time(event(
            at(2, 1, m),
            at(2, 8, m),
            "GET",
            "/late/old.php",
            200,
            "192.0.2.7",
            "Go-http-client/1.1",
        )));
    }
    // Happened in the fourth window (it ends at 2d12h), indexed just after its end (by less than the lag):
    // searchable at the fourth run, but it belongs to the fifth window.
    let end4 = at(2, 12, 0);
    for k in 0..2 {
        let t = end4 - 200 + k;
        out.push(on_time(event(t, end4 + 120 + k, "GET", "/lag/edge.php", 200, "192.0.2.8", "curl/8.5.0")));
    }
    // Indexed shortly before the fourth run but searchable only after it (still in the indexing pipeline):
    // the lag keeps its index time out of the fourth window.
    let now4 = end4 + LAG;
    for k in 0..3 {
        let t = now4 - 150 + k;
        let ev = event(t, now4 - 100 + k, "GET", "/pipe/slow.php", 200, "192.0.2.9", "curl/8.5.0");
        out.push(Planned { visible_at: now4 + 50, ev });
    }
    out.sort_by_key(|p| p.visible_at);
    out
}

// ---------------------------------------------------------------------------------------------------
// The rig: both emulators, a state directory, a config, the script
// ---------------------------------------------------------------------------------------------------

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/webshell-cron")
}

struct Rig {
    splunk: splunk_emu::Emulator,
    tq: threatq_emu::Emulator,
    dir: tempfile::TempDir,
    config: PathBuf,
    data: Vec<Planned>,
    fed: usize,
}

impl Rig {
    fn new(settings: &[(&str, &str)]) -> Rig {
        Rig::with_tq(threatq_emu::Config::default(), settings)
    }

    fn with_tq(tq: threatq_emu::Config, settings: &[(&str, &str)]) -> Rig {
        Rig::build(tq, None, settings)
    }

    /// Both servers on HTTPS, presenting these certificates.
    fn with_tls(splunk: &tls_emu::Identity, tq: &tls_emu::Identity, settings: &[(&str, &str)]) -> Rig {
        Rig::build(threatq_emu::Config::default(), Some((splunk, tq)), settings)
    }

    fn build(
        tq: threatq_emu::Config,
        tls: Option<(&tls_emu::Identity, &tls_emu::Identity)>,
        settings: &[(&str, &str)],
    ) -> Rig {
        let splunk = splunk_emu::Emulator::start(splunk_emu::Config {
            tokens: vec![TOKEN.into()],
            tls: tls.map(|t| t.0.clone()),
            ..splunk_emu::Config::default()
        });
        let tq = match tls {
            Some((_, id)) => threatq_emu::Emulator::start_tls(tq, id),
            None => threatq_emu::Emulator::start_with(tq),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut cfg: BTreeMap<&str, String> = BTreeMap::new();
        for (k, v) in [
            ("SPLUNK_URL", splunk.url()),
            ("SPLUNK_INDEX", "web".into()),
            ("SPLUNK_SOURCETYPE", "access_combined".into()),
            ("SPLUNK_RETRY_FOR", "2".into()),
            ("SPLUNK_RETRY_FIRST_MS", "10".into()),
            ("TQ_URL", tq.url()),
            ("TQ_BATCH", "2".into()),
            ("TQ_RETRY_FOR", "1".into()),
            ("TQ_BACKOFF_MS", "5".into()),
            ("STATE_DIR", dir.path().join("state").display().to_string()),
            ("START", "2026-10-01T00:00:00Z".into()),
            ("LEARN_UNTIL", "2026-10-03T00:00:00Z".into()),
            ("LAG", "5m".into()),
            ("MAX_WINDOW", "1d".into()),
            ("EVENT_LOOKBACK", "7d".into()),
        ] {
            cfg.insert(k, v);
        }
        for (k, v) in settings {
            cfg.insert(k, v.to_string());
        }
        let text: String = cfg.iter().map(|(k, v)| format!("{k}='{v}'\n")).collect();
        let config = util::write(dir.path(), "cron.env", format!("# webshell-cron test config\n{text}"));
        Rig { splunk, tq, dir, config, data: dataset(), fed: 0 }
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Gives the Splunk emulator every event searchable at `now`.
    fn feed(&mut self, now: i64) {
        let n = self.data[self.fed..].iter().take_while(|p| p.visible_at <= now).count();
        self.splunk.add_events(self.data[self.fed..self.fed + n].iter().map(|p| p.ev.clone()));
        self.fed += n;
    }

    /// The script at `now`, with the emulators' credentials in the environment (and nothing else).
    fn cmd(&mut self, now: i64, args: &[&str]) -> Command {
        self.feed(now);
        let mut c = Command::new(script());
        c.args(["--config", self.config.to_str().unwrap(), "--now", &now.to_string()]).args(args);
        for v in [
            "SPLUNK_TOKEN",
            "SPLUNK_USERNAME",
            "SPLUNK_PASSWORD",
            "TQ_CLIENT_ID",
            "TQ_EMAIL",
            "TQ_PASSWORD",
            "TQ_CLIENT_SECRET",
            "WEBSHELL_CRON_CRASH_AT",
        ] {
            c.env_remove(v);
        }
        c.env("WEBSHELL_HUNT_BIN", util::bin_dir()).env("SPLUNK_TOKEN", TOKEN).envs(self.tq.env());
        c.stdin(Stdio::null());
        c
    }

    fn run(&mut self, now: i64, args: &[&str]) -> Output {
        let o = self.cmd(now, args).output().unwrap();
        no_secrets(&o);
        o
    }

    fn run_crashing_at(&mut self, now: i64, point: &str) -> Output {
        let o = self.cmd(now, &[]).env("WEBSHELL_CRON_CRASH_AT", point).output().unwrap();
        assert_eq!(o.status.signal(), Some(9), "not killed at {point}: {}", stderr(&o));
        o
    }

    /// Runs at `now` and checks that it committed exactly `window` (or found nothing to do).
    #[track_caller]
    fn step(&mut self, now: i64, window: Option<(i64, i64)>) -> Output {
        let o = self.run(now, &[]);
        check_step(&o, window);
        o
    }

    /// The checkpoint file's committed lines (comments left out).
    fn checkpoint(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.state_dir().join("checkpoint")).ok()?;
        Some(text.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect())
    }

    /// The committed state: the file the checkpoint names.
    fn state(&self) -> Option<String> {
        let cp = self.checkpoint()?;
        let name = cp.lines().find_map(|l| l.strip_prefix("state="))?;
        Some(std::fs::read_to_string(self.state_dir().join(name)).unwrap())
    }

    /// The window a run at `now` takes after the committed checkpoint (the rule, not the script).
    fn next_window(&self, now: i64) -> Option<(i64, i64)> {
        let cp = self.checkpoint().map_or(T0, |c| {
            c.lines().find_map(|l| l.strip_prefix("index_latest=")).unwrap().parse().unwrap()
        });
        let hi = now - LAG;
        (hi > cp).then(|| (cp, (cp + DAY).min(hi)))
    }

    /// What a failed run must leave untouched: the checkpoint and the state it names.
    fn committed(&self) -> (Option<String>, Option<String>) {
        (self.checkpoint(), self.state())
    }

    fn outcome(&self) -> Outcome {
        Outcome {
            store: self.tq.snapshot(),
            state: self.state().unwrap(),
            checkpoint: self.checkpoint().unwrap(),
        }
    }
}

#[track_caller]
fn check_step(o: &Output, window: Option<(i64, i64)>) {
    let e = stderr(o);
    assert!(o.status.success(), "status {:?}\n{e}", o.status);
    assert_eq!(e.lines().count(), 1, "one line per run:\n{e}");
    match window {
        Some((a, b)) => {
            assert!(e.starts_with(&format!("webshell-cron: ok window=[{a},{b}) ")), "want [{a},{b}):\n{e}")
        }
        None => assert!(e.starts_with("webshell-cron: idle: up to date"), "{e}"),
    }
}

/// No output may show a credential.
#[track_caller]
fn no_secrets(o: &Output) {
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o));
    for s in [TOKEN, threatq_emu::PASSWORD, threatq_emu::CLIENT_ID] {
        assert!(!all.contains(s), "output shows {s:?}:\n{all}");
    }
}

/// The value of `key=` in the run's log line.
fn field<'a>(log: &'a str, key: &str) -> Option<&'a str> {
    log.split_whitespace().find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// What a sequence of runs leaves behind.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    store: Value,
    state: String,
    checkpoint: String,
}

#[track_caller]
fn assert_same(got: &Outcome, want: &Outcome, what: &str) {
    assert_eq!(got.checkpoint, want.checkpoint, "{what}: checkpoint");
    assert_eq!(got.state, want.state, "{what}: baseline state");
    if got.store != want.store {
        let g = serde_json::to_string_pretty(&got.store).unwrap();
        let w = serde_json::to_string_pretty(&want.store).unwrap();
        let first = g.lines().zip(w.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "{what}: ThreatQ store differs from the fault-free one near line {first}:\n got: {:?}\nwant: {:?}",
            g.lines().skip(first).take(6).collect::<Vec<_>>(),
            w.lines().skip(first).take(6).collect::<Vec<_>>()
        );
    }
}

/// The fault-free run of the schedule, shared by the scenarios (each starts its own emulators).
struct Reference {
    outcome: Outcome,
    logs: Vec<String>,
    durations: Vec<Duration>,
    /// Non-4xx events whose index time is before the last window's end.
    served: u64,
}

fn reference() -> &'static Reference {
    static R: OnceLock<Reference> = OnceLock::new();
    R.get_or_init(|| {
        let mut rig = Rig::new(&[]);
        let nows = schedule();
        let wins = model_windows(&nows, LAG);
        let (mut logs, mut durations) = (vec![], vec![]);
        for (now, w) in nows.iter().zip(&wins) {
            let t = Instant::now();
            let o = rig.step(*now, *w);
            durations.push(t.elapsed());
            logs.push(stderr(&o));
        }
        let last_end = wins.iter().flatten().last().unwrap().1;
        let served = rig
            .data
            .iter()
            .filter(|p| p.ev.indextime < last_end && p.ev.status.as_deref() != Some("404"))
            .count() as u64;
        Reference { outcome: rig.outcome(), logs, durations, served }
    })
}

/// Runs the rest of the schedule from step `from`, fault-free, and compares with the reference.
#[track_caller]
fn finish(rig: &mut Rig, from: usize, what: &str) {
    let nows = schedule();
    let wins = model_windows(&nows, LAG);
    for i in from..nows.len() {
        rig.step(nows[i], wins[i]);
    }
    assert_same(&rig.outcome(), &reference().outcome, what);
}

/// A failed run: exit 2, the stage named in the one FAILED line, checkpoint and state untouched.
#[track_caller]
fn check_failed(o: &Output, stage: &str, before: &(Option<String>, Option<String>), rig: &Rig) -> String {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    let last = e.lines().last().unwrap_or("");
    assert!(last.starts_with(&format!("webshell-cron: FAILED stage={stage} status=")), "{e}");
    assert!(last.contains("(state and checkpoint unchanged; the next run redoes this window)"), "{e}");
    assert_eq!(&rig.committed(), before, "a failed run changed the state or the checkpoint");
    e
}

/// The redo of a failed window, run later than the failed attempt: the same window, marked redo=1.
#[track_caller]
fn redo(rig: &mut Rig, step: usize) {
    let now = schedule()[step];
    let w = model_windows(&schedule(), LAG)[step];
    let o = rig.step(now + 60, w);
    assert_eq!(field(&stderr(&o), "redo"), Some("1"), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------------

#[test]
fn cron_fault_free_schedule_commits_each_window_once() {
    let r = reference();
    let o = &r.outcome;
    // Every window once, in order; the sixth run is a day behind and takes one capped window.
    assert_eq!(field(&r.logs[5], "behind_s"), Some("43200"), "{}", r.logs[5]);
    assert_eq!(field(&r.logs[6], "behind_s"), Some("0"));
    assert!(
        o.checkpoint.contains(&format!("index_latest={}\n", T0 + 4 * DAY + 12 * HOUR)),
        "{}",
        o.checkpoint
    );
    assert!(o.checkpoint.contains("windows=7\n"));
    assert_eq!(field(&r.logs[0], "keys_new"), Some("0"));
    assert_eq!(field(&r.logs[2], "keys_new"), Some("5"), "{}", r.logs[2]);
    assert_ne!(field(&r.logs[2], "keys_new_alert"), Some("0"), "{}", r.logs[2]);
    assert_eq!(field(&r.logs[2], "findings_pushed"), Some("5"));

    // Nothing lost, nothing counted twice: the state's counts add up to every served request.
    let lines = json_lines(&o.state);
    assert_eq!(lines[0]["runs"], 7, "one commit per window");
    let keys: Vec<&Value> = lines.iter().filter(|l| l.get("template").is_some()).collect();
    let total: u64 = keys.iter().map(|k| k["count"].as_u64().unwrap()).sum();
    assert_eq!(total, r.served);

    // ThreatQ: the baseline whitelisted, each new path in review, one event per window with new paths.
    let store = &o.store;
    let status = |v: &str| {
        store["indicators"].as_array().unwrap().iter().find(|i| i["value"] == v).map(|i| i["status"].clone())
    };
    assert_eq!(status("/index.php"), Some("Whitelisted".into()));
    assert_eq!(status("/products/{int}"), Some("Whitelisted".into()));
    for p in ["/uploads/2026/10/cmd.php", "/admin/report.php", "/wp-login.php", "/img/x.jsp", "/late/old.php"]
    {
        assert_eq!(status(p), Some("Review".into()), "{p}");
    }
    assert_eq!(status("/favicon.ico"), None, "4xx are not paths of the site");
    let events = store["events"].as_array().unwrap();
    assert_eq!(events.len(), 5, "windows 3 to 7 have new paths");
    assert!(events.iter().any(|e| e["indicators"].as_array().unwrap().len() == 5));
}

#[test]
fn cron_late_events_are_counted_once() {
    let r = reference();
    let lines = json_lines(&r.outcome.state);
    let key = |t: &str| lines.iter().find(|l| l["template"] == t).cloned();
    for (path, n) in LATE {
        let k = key(path).unwrap_or_else(|| panic!("{path} lost"));
        assert_eq!(k["count"].as_u64(), Some(*n), "{path}: {k}");
        assert_eq!(k["verdict"], "new");
        // Reported once: one indicator, one hit count.
        let ind =
            r.outcome.store["indicators"].as_array().unwrap().iter().find(|i| i["value"] == *path).unwrap();
        let hits: Vec<&Value> =
            ind["attributes"].as_array().unwrap().iter().filter(|a| a[0] == "Hit Count").collect();
        assert_eq!(hits, [&serde_json::json!(["Hit Count", format!("web01: {n}")])], "{path}");
    }
    // The window each lands in: the one holding its index time (the fourth and the fifth).
    assert!(r.logs[3].contains("keys_new=2"), "{}", r.logs[3]);
    assert!(r.logs[4].contains("keys_new=2"), "{}", r.logs[4]);

    // The control: without the lag, the run covers index times Splunk cannot search yet, and the
    // events still in the indexing pipeline are lost for good.
    let mut rig = Rig::new(&[("LAG", "0")]);
    let nows = schedule();
    for (now, w) in nows.iter().zip(model_windows(&nows, 0)) {
        rig.step(*now, w);
    }
    let state = rig.state().unwrap();
    assert!(!state.contains("/pipe/slow.php"), "LAG=0 should lose the pipelined events");
    assert!(state.contains("\"template\":\"/lag/edge.php\""));
}

#[test]
fn cron_splunk_fatal_and_cut_connection_redo_their_window() {
    let mut rig = Rig::new(&[]);
    let nows = schedule();
    let wins = model_windows(&nows, LAG);
    rig.step(nows[0], wins[0]);
    for (step, fault, msg) in [
        (
            1,
            splunk_emu::Fault::Message {
                after: 3,
                kind: "FATAL".into(),
                text: "search process terminated".into(),
            },
            "Splunk reported FATAL after 3 rows",
        ),
        (3, splunk_emu::Fault::Cut { after: 3 }, "connection to Splunk lost after 3 rows"),
    ] {
        while schedule_pos(&rig, &wins) < step {
            let i = schedule_pos(&rig, &wins);
            rig.step(nows[i], wins[i]);
        }
        let before = rig.committed();
        let writes = rig.tq.writes();
        rig.splunk.push_fault(fault);
        let o = rig.run(nows[step], &[]);
        let e = check_failed(&o, "splunk-export", &before, &rig);
        assert!(e.contains(msg), "{e}");
        assert_eq!(rig.tq.writes(), writes, "a failed export reached ThreatQ");
        redo(&mut rig, step);
    }
    let next = schedule_pos(&rig, &wins);
    finish(&mut rig, next, "Splunk faults");
}

/// The index of the next step of the schedule, from the committed checkpoint.
fn schedule_pos(rig: &Rig, wins: &[Option<(i64, i64)>]) -> usize {
    let cp = rig.checkpoint().and_then(|c| {
        c.lines().find_map(|l| l.strip_prefix("index_latest=").map(|v| v.parse::<i64>().unwrap()))
    });
    match cp {
        None => 0,
        Some(cp) => wins.iter().position(|w| w.is_some_and(|w| w.0 == cp)).unwrap_or(wins.len()),
    }
}

#[test]
fn cron_threatq_500_on_the_third_batch_then_the_window_is_redone() {
    let mut rig = Rig::new(&[]);
    let nows = schedule();
    let wins = model_windows(&nows, LAG);
    for i in 0..2 {
        rig.step(nows[i], wins[i]);
    }
    // The third window has five new paths: batches of 2, 2 and 1. The third batch's create fails for
    // longer than tq-push retries.
    let before = rig.committed();
    let writes = rig.tq.writes();
    rig.tq.fault(Fault::new(Some("POST"), "/api/indicators/consume", 2, usize::MAX, FaultKind::Status(500)));
    let o = rig.run(nows[2], &[]);
    let e = check_failed(&o, "tq-push", &before, &rig);
    assert!(e.contains("batch 3/3") && e.contains("HTTP 500"), "{e}");
    assert!(rig.tq.writes() > writes, "the first two batches were written");
    assert!(rig.tq.events().is_empty(), "no event before every indicator is written");
    rig.tq.clear_faults();
    redo(&mut rig, 2);
    finish(&mut rig, 3, "ThreatQ 500");
}

#[test]
fn cron_threatq_token_expiry() {
    // The server drops every token after 7 uses: tq-push renews it, every run succeeds.
    let tq = threatq_emu::Config { token_max_uses: Some(7), ..threatq_emu::Config::default() };
    let mut rig = Rig::with_tq(tq, &[]);
    let nows = schedule();
    let wins = model_windows(&nows, LAG);
    for i in 0..3 {
        rig.step(nows[i], wins[i]);
    }
    assert!(rig.tq.rejected() >= 1 && rig.tq.tokens_issued() > 3, "{}", rig.tq.rejected());
    // Tokens refused at once: a failed run, then the window again when the server is well.
    rig.tq.configure(|c| c.token_max_uses = Some(0));
    let before = rig.committed();
    let e = check_failed(&rig.run(nows[3], &[]), "tq-push", &before, &rig);
    assert!(e.contains("HTTP 401"), "{e}");
    rig.tq.configure(|c| c.token_max_uses = Some(7));
    redo(&mut rig, 3);
    finish(&mut rig, 4, "token expiry");
}

#[test]
fn cron_killed_at_each_step_of_the_commit() {
    let mut rig = Rig::new(&[]);
    let nows = schedule();
    let wins = model_windows(&nows, LAG);
    for (step, point) in
        ["pending", "exported", "pushed", "checkpoint-written", "committed"].iter().enumerate()
    {
        let before = rig.committed();
        let writes = rig.tq.writes();
        rig.run_crashing_at(nows[step], point);
        if *point == "committed" {
            // The rename happened: the window is done, a rerun finds nothing to do.
            assert_ne!(rig.committed(), before);
            assert_eq!(rig.next_window(nows[step]), None);
            rig.step(nows[step], None);
            continue;
        }
        assert_eq!(rig.committed(), before, "killed at {point}");
        let pushed = rig.tq.writes();
        redo(&mut rig, step);
        if *point == "pushed" || *point == "checkpoint-written" {
            assert!(pushed > writes);
            assert_eq!(rig.tq.writes(), pushed, "killed at {point}: the redo wrote to ThreatQ again");
        }
        // Only committed files are left: no stray state, temporary file or hint.
        let mut names: Vec<String> = std::fs::read_dir(rig.state_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let end = wins[step].unwrap().1;
        assert_eq!(names, ["checkpoint", "lock", &format!("state.{end}")], "after the redo of {point}");
    }
    finish(&mut rig, 5, "SIGKILL at commit steps");
}

/// Spawns the script in a process group of its own (so that the whole run can be killed at once).
fn spawn_group(rig: &mut Rig, now: i64) -> Child {
    rig.cmd(now, &[]).stdout(Stdio::null()).stderr(Stdio::null()).process_group(0).spawn().unwrap()
}

fn kill_group(child: &mut Child) {
    // SAFETY: kill(2) on the process group this test created; no memory is involved.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    child.wait().unwrap();
}

#[test]
fn cron_killed_at_random_points() {
    let r = reference();
    let nows = schedule();
    let wins = model_windows(&nows, LAG);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    for round in 0..2 {
        let mut rig = Rig::new(&[]);
        let mut where_ = BTreeSet::new();
        // Each run's kill, to reproduce a failure: (run, milliseconds after the start, committed by then).
        let mut kills = Vec::new();
        for (i, now) in nows.iter().enumerate() {
            // Somewhere in the run (or just after it), every stage and the commit included.
            let span = r.durations[i].as_millis() as u64 * 12 / 10 + 1;
            let at = Duration::from_millis(rnd(span));
            let before = rig.committed();
            let mut child = spawn_group(&mut rig, *now);
            std::thread::sleep(at);
            kill_group(&mut child);
            let committed = rig.committed() != before;
            kills.push((i, at.as_millis(), committed));
            where_.insert(if committed { "after the commit" } else { "before it" });
            // The next run, at the same instant: the window again, or the next one when it was done.
            let next = rig.next_window(*now);
            check_step(&rig.run(*now, &[]), next);
        }
        eprintln!("round {round}: killed {where_:?}");
        assert_same(
            &rig.outcome(),
            &r.outcome,
            &format!("SIGKILL at random points, round {round}, kills (run, ms, committed) {kills:?}"),
        );
    }

    // Killed while tq-push waits for the reply to a write ThreatQ has done.
    let mut rig = Rig::new(&[]);
    for i in 0..3 {
        rig.step(nows[i], wins[i]);
    }
    rig.tq.fault(Fault::new(Some("POST"), "/api/indicators/consume", 0, 1, FaultKind::Hold));
    let mut child = spawn_group(&mut rig, nows[3]);
    rig.tq.wait_held(1, Duration::from_secs(30));
    kill_group(&mut child);
    rig.tq.release();
    rig.tq.clear_faults();
    rig.step(nows[3], wins[3]);
    finish(&mut rig, 4, "killed during tq-push");
}

#[test]
fn cron_two_runs_at_once() {
    let mut rig = Rig::new(&[]);
    let nows = schedule();
    let wins = model_windows(&nows, LAG);
    // Started together: one runs the window, the other finds it busy (or, if it came late, done).
    let a = rig.cmd(nows[0], &[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let b = rig.cmd(nows[0], &[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert!(codes == [Some(0), Some(75)] || codes == [Some(0), Some(0)], "{codes:?}");
    assert_eq!(
        [&a, &b].iter().filter(|o| stderr(o).starts_with("webshell-cron: ok window=")).count(),
        1,
        "{}\n{}",
        stderr(&a),
        stderr(&b)
    );

    // Deterministically: a run held inside tq-push; the second exits at once, naming the holder.
    rig.step(nows[1], wins[1]);
    rig.tq.fault(Fault::new(None, "/api/indicator/statuses", 0, 1, FaultKind::Hold));
    let first = rig.cmd(nows[2], &[]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    rig.tq.wait_held(1, Duration::from_secs(30));
    let t = Instant::now();
    let second = rig.run(nows[2], &[]);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(second.status.code(), Some(75), "{}", stderr(&second));
    let e = stderr(&second);
    assert!(e.starts_with("webshell-cron: busy: another run holds ") && e.contains("pid="), "{e}");
    assert!(e.contains("nothing done"), "{e}");
    rig.tq.release();
    rig.tq.clear_faults();
    let first = first.wait_with_output().unwrap();
    check_step(&first, wins[2]);

    // The script killed alone while its tq-push is held: the orphaned tq-push keeps the lock, so no
    // other run can push beside it; when it has finished, the window is redone (nothing to write).
    rig.tq.rearm();
    rig.tq.fault(Fault::new(None, "/api/indicator/statuses", 0, 1, FaultKind::Hold));
    let mut script = rig.cmd(nows[3], &[]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    rig.tq.wait_held(1, Duration::from_secs(30));
    script.kill().unwrap();
    script.wait().unwrap();
    let o = rig.run(nows[3], &[]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    rig.tq.release();
    rig.tq.clear_faults();
    let deadline = Instant::now() + Duration::from_secs(30);
    let o = loop {
        let o = rig.run(nows[3] + 60, &[]);
        if o.status.code() != Some(75) || Instant::now() > deadline {
            break o;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    check_step(&o, wins[3]);
    assert_eq!(field(&stderr(&o), "created"), Some("0"), "the orphan had written everything: {}", stderr(&o));
    finish(&mut rig, 4, "two runs at once");
}

#[test]
fn cron_dry_run_writes_nothing() {
    let mut rig = Rig::new(&[]);
    let nows = schedule();
    let o = rig.run(nows[0], &["--dry-run", "--max-window", "12h"]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(e.starts_with(&format!("webshell-cron: dry-run window=[{T0},{}) ", T0 + 12 * HOUR)), "{e}");
    assert!(e.contains("(nothing written to ThreatQ; state and checkpoint unchanged)"), "{e}");
    let findings = json_lines(&stdout(&o));
    assert!(findings.iter().any(|f| f["template"] == "/index.php" && f["verdict"] == "learned"));
    assert_eq!(field(&e, "findings_to_push"), Some(findings.len().to_string().as_str()));
    assert_eq!(rig.tq.requests().len(), 0, "a dry run contacts no ThreatQ");
    assert_eq!(rig.checkpoint(), None);
    let names: Vec<String> = std::fs::read_dir(rig.state_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["lock"]);
    finish(&mut rig, 0, "after a dry run");
}

#[test]
fn cron_refuses_bad_configs_and_a_broken_checkpoint() {
    let mut rig = Rig::new(&[]);
    let now = schedule()[0];
    let bad = |rig: &mut Rig, text: &str, want: &str| {
        let good = std::fs::read_to_string(&rig.config).unwrap();
        std::fs::write(&rig.config, format!("{good}{text}\n")).unwrap();
        let o = rig.run(now, &[]);
        std::fs::write(&rig.config, good).unwrap();
        assert_eq!(o.status.code(), Some(2), "{text}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{text}: {}", stderr(&o));
    };
    bad(&mut rig, "TQ_PASSWORD=hunter2", "TQ_PASSWORD is a secret");
    bad(&mut rig, "LAGG=5m", "unknown setting LAGG");
    bad(&mut rig, "LAG=5 min", "quote a value that contains spaces");
    bad(&mut rig, "LAG=soon", "expected a duration");
    bad(&mut rig, "SPLUNK_SEARCH='index=web'", "SPLUNK_SEARCH excludes SPLUNK_INDEX");
    bad(&mut rig, "LEARN_FOR=14d", "exclude each other");
    bad(&mut rig, "echo pwned", "expected NAME=value");
    assert_eq!(rig.tq.requests().len(), 0);
    assert!(rig.splunk.exports().is_empty());

    // A checkpoint that names a missing state is not a reason to start a new baseline.
    let o = rig.step(now, model_windows(&schedule(), LAG)[0]);
    assert!(stderr(&o).contains("windows=1"));
    let cp = rig.checkpoint().unwrap();
    let name = cp.lines().find_map(|l| l.strip_prefix("state=")).unwrap().to_string();
    let state = rig.state_dir().join(&name);
    let saved = std::fs::read(&state).unwrap();
    std::fs::remove_file(&state).unwrap();
    let o = rig.run(schedule()[1], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("FAILED stage=checkpoint") && stderr(&o).contains("is missing"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&state, saved).unwrap();
    std::fs::write(rig.state_dir().join("checkpoint"), "garbage\n").unwrap();
    let o = rig.run(schedule()[1], &[]);
    assert!(stderr(&o).contains("is not a checkpoint"), "{}", stderr(&o));
    assert!(state.exists(), "a broken checkpoint must not remove the state");

    let o = Command::new(script()).arg("--help").output().unwrap();
    assert!(o.status.success() && stdout(&o).starts_with("Usage: webshell-cron --config FILE"));
}

#[test]
fn cron_trusts_self_signed_appliances_by_certificate_and_by_pin() {
    // Splunk's lab server presents an `openssl req -x509` certificate, given as SPLUNK_CA_CERT; ThreatQ's
    // appliance presents its own, trusted by its public-key pin (TQ_PIN_SHA256).
    let (s_id, t_id) = (tls_emu::self_signed("splunk.lab"), tls_emu::self_signed("threatq.lab"));
    let certs = tempfile::tempdir().unwrap();
    let s_pem = util::write(certs.path(), "splunk.pem", &s_id.cert_pem);
    let key = rcgen::KeyPair::try_from(t_id.key_der.as_slice()).unwrap();
    let pin = {
        use base64::Engine as _;
        use sha2::Digest as _;
        let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(spki))
    };
    let settings = [("SPLUNK_CA_CERT", s_pem.to_str().unwrap()), ("TQ_PIN_SHA256", pin.as_str())];
    let mut rig = Rig::with_tls(&s_id, &t_id, &settings);
    let wins = model_windows(&schedule(), LAG);
    let o = rig.run(schedule()[0], &[]);
    check_step(&o, wins[0]);
    // Without the pin, the ThreatQ stage fails at once and the window stays to be redone.
    let mut rig = Rig::with_tls(&s_id, &t_id, &settings[..1]);
    let t = Instant::now();
    let o = rig.run(schedule()[0], &[]);
    assert!(!o.status.success() && t.elapsed() < Duration::from_secs(10), "{}", stderr(&o));
    assert!(stderr(&o).contains("TLS certificate is refused"), "{}", stderr(&o));
}

#[test]
fn cron_passes_an_inventory_taken_by_another_job() {
    // The web root as a nightly `webroot-inventory` job would list it: the site's files from before
    // the learning window ends, and a script dropped after it that no request reaches.
    let inv_dir = tempfile::tempdir().unwrap();
    let rec = |p: &str, kind: &str, ctime: &str, sha: &str| {
        serde_json::json!({"url_path": p, "file": format!("/var/www/html{p}"), "type": "file", "size": 10,
            "mtime": ctime, "ctime": ctime, "sha256": sha.repeat(64), "kind": kind})
        .to_string()
            + "\n"
    };
    let mut inv = String::new();
    for p in ["/index.php", "/login.php", "/css/site.css", "/js/app.js", "/img/logo.png"] {
        let kind = if p.ends_with(".php") { "script" } else { "static" };
        inv += &rec(p, kind, "2026-09-01T00:00:00Z", "a");
    }
    inv += &rec("/img/.thumb.php", "script", "2026-10-03T12:00:00Z", "f");
    let inv_path = util::write(inv_dir.path(), "inventory.jsonl", &inv);
    let mut rig = Rig::new(&[("INVENTORY", inv_path.to_str().unwrap())]);
    let nows = schedule();
    let first = rig.run(nows[0], &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(field(&stderr(&first), "dormant"), Some("1"), "{}", stderr(&first));
    for &now in &nows[1..] {
        let o = rig.run(now, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        if field(&stderr(&o), "dormant").is_some() {
            assert_eq!(field(&stderr(&o), "dormant"), Some("0"), "reported once: {}", stderr(&o));
        }
    }
    let statuses = rig.tq.statuses();
    assert_eq!(statuses.get("/img/.thumb.php").map(String::as_str), Some("Review"), "{statuses:?}");
    assert_eq!(statuses.get(&"f".repeat(64)).map(String::as_str), Some("Review"), "{statuses:?}");
    assert_eq!(statuses.get("/var/www/html/img/.thumb.php").map(String::as_str), Some("Review"));
    let state = rig.state().unwrap();
    assert!(state.contains("\"url_path\":\"/img/.thumb.php\""), "the state keeps the files");

    // The other job failed: the run fails, names it, and changes nothing.
    std::fs::remove_file(&inv_path).unwrap();
    let before = rig.committed();
    let o = rig.run(nows[nows.len() - 1] + DAY, &[]);
    let e = check_failed(&o, "inventory", &before, &rig);
    assert!(e.contains("cannot read the inventory"), "{e}");
}
