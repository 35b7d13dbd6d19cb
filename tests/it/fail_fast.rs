//! What retrying can fix is retried; what it cannot fails at once. Both HTTP tools, one failure class at
//! a time, with the default `--retry-for` (120 s): a refused certificate (`tls.rs`), a host name that does
//! not resolve, 400, 401, 403, 404 and a malformed answer exit 2 in under 2 s; 429 (with its
//! Retry-After) and 5xx are retried until the server is well.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::splunk::{TOKEN, config, event};
use crate::splunk_emu::{self, Fault as SFault};
use crate::threatq_emu::{self as tq, Fault, FaultKind};
use crate::util::{self, fixture, json_lines, ok, stderr, stdout};

fn findings() -> Vec<u8> {
    std::fs::read(fixture("tq/findings.jsonl")).unwrap()
}

fn tq_push(url: &str, env: &[(&str, &str)], extra: &[&str]) -> (Output, Duration) {
    let mut c = util::cmd("tq-push");
    for v in ["TQ_CLIENT_ID", "TQ_EMAIL", "TQ_PASSWORD", "TQ_CLIENT_SECRET"] {
        c.env_remove(v);
    }
    c.envs(env.iter().copied()).args(["--url", url]).args(extra).arg("-");
    let t = Instant::now();
    let o = util::run_cmd(&mut c, &findings());
    (o, t.elapsed())
}

fn splunk_export(url: &str, extra: &[&str]) -> (Output, Duration) {
    let mut c = util::cmd("splunk-export");
    c.env_remove("SPLUNK_USERNAME").env_remove("SPLUNK_PASSWORD").env("SPLUNK_TOKEN", TOKEN);
    c.args(["--url", url, "--index", "web"]).args(extra);
    let t = Instant::now();
    let o = util::run_cmd(&mut c, b"");
    (o, t.elapsed())
}

/// Exit 2 in under 2 s, not retried, with `needle` in the message.
#[track_caller]
fn fails_fast(what: &str, (o, took): (Output, Duration), needle: &str) {
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{what}: {e}");
    assert!(took < Duration::from_secs(2), "{what}: took {took:?}: {e}");
    assert!(!e.contains("retrying"), "{what}: retried: {e}");
    assert!(e.contains(needle), "{what}: no {needle:?} in: {e}");
    // The figure, for `cargo test fail_fast -- --nocapture`.
    eprintln!("{what}: exit 2 after {took:.2?}");
}

#[test]
fn tq_push_fails_fast_on_what_waiting_cannot_fix() {
    // A name under .invalid (RFC 6761) never resolves; the resolver answers at once.
    let env: Vec<(&str, &str)> = tq::Emulator::start().env().to_vec();
    fails_fast("dns", tq_push("https://threatq.invalid", &env, &[]), "does not resolve");
    for (code, needle) in [(400, "HTTP 400"), (401, "HTTP 401"), (403, "HTTP 403"), (404, "HTTP 404")] {
        let e = tq::Emulator::start();
        e.fault(Fault::new(None, "/api/", 0, usize::MAX, FaultKind::Status(code)));
        fails_fast(&format!("HTTP {code}"), tq_push(&e.url(), &e.env(), &[]), needle);
    }
    let e = tq::Emulator::start();
    e.fault(Fault::new(Some("GET"), "/api/indicator/types", 0, usize::MAX, FaultKind::Html));
    fails_fast("html", tq_push(&e.url(), &e.env(), &[]), "not JSON");
}

#[test]
fn tq_push_retries_429_after_its_retry_after_and_5xx() {
    let e = tq::Emulator::start();
    e.fault(Fault::new(Some("GET"), "/api/indicator/types", 0, 1, FaultKind::Status(429)));
    e.fault(Fault::new(Some("GET"), "/api/indicator/statuses", 0, 2, FaultKind::Status(502)));
    let (o, took) = tq_push(&e.url(), &e.env(), &["--backoff-ms", "5"]);
    ok(&o);
    let err = stderr(&o);
    assert!(took >= Duration::from_secs(1), "the 429's Retry-After: 1 was honoured: {took:?}");
    assert!(err.contains("HTTP 429") && err.contains("retrying in 1000 ms"), "{err}");
    assert_eq!(err.matches("HTTP 502 Bad Gateway").count(), 2, "{err}");
}

#[test]
fn splunk_export_fails_fast_on_what_waiting_cannot_fix() {
    fails_fast("dns", splunk_export("https://splunk.invalid:8089", &[]), "does not resolve");
    for (code, needle) in [(400, "HTTP 400"), (401, "HTTP 401"), (403, "HTTP 403"), (404, "HTTP 404")] {
        let emu = splunk_emu::Emulator::start(config());
        // Twice: a 404 on the v2 path sends the client to v1.
        emu.push_fault(SFault::Status(code));
        emu.push_fault(SFault::Status(code));
        fails_fast(&format!("HTTP {code}"), splunk_export(&emu.url(), &[]), needle);
    }
    let emu = splunk_emu::Emulator::start(config());
    emu.push_fault(SFault::Html);
    let (o, took) = splunk_export(&emu.url(), &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(took < Duration::from_secs(2) && !e.contains("retrying"), "{took:?}: {e}");
    assert!(e.contains("<!DOCTYPE") || e.to_lowercase().contains("json"), "names what came back: {e}");
}

#[test]
fn splunk_export_retries_429_after_its_retry_after_and_5xx() {
    let emu = splunk_emu::Emulator::start(config());
    emu.add_events([event(1_790_812_800, 1_790_812_800, "/after-retries")]);
    emu.push_fault(SFault::Status(429));
    emu.push_fault(SFault::Status(500));
    emu.push_fault(SFault::Status(503));
    let (o, took) = splunk_export(&emu.url(), &["--retry-first-ms", "10"]);
    ok(&o);
    let e = stderr(&o);
    assert!(took >= Duration::from_secs(1), "the 429's Retry-After: 1 was honoured: {took:?}");
    assert!(e.contains("HTTP 429") && e.contains("retrying in 1.0s"), "{e}");
    assert!(e.contains("HTTP 500") && e.contains("HTTP 503"), "{e}");
    assert_eq!(json_lines(&stdout(&o))[0]["path"], "/after-retries");
}
