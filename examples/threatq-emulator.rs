//! The ThreatQ emulator the tests use, as a program to try `tq-push` by hand:
//!
//! ```sh
//! cargo run --example threatq-emulator -- --port 8443 &
//! eval "$(cargo run -q --example threatq-emulator -- --print-env)"   # or copy the lines it prints
//! tq-push --url http://127.0.0.1:8443 < findings.jsonl
//! ```
//!
//! It serves plain HTTP on 127.0.0.1 (tq-push accepts http:// only for loopback addresses). Press Enter
//! to print the store (indicators with status names, attributes, sources, scores, events and their
//! links) as JSON; end standard input (Ctrl-D) to stop.

use std::io::BufRead;

use clap::{Parser, ValueEnum};

#[path = "../tests/emulators/threatq.rs"]
mod threatq_emu;

#[path = "../tests/emulators/tls.rs"]
mod tls_emu;

use threatq_emu::{Config, Emulator, Existing, Query};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OnExisting {
    /// Re-creating an indicator overwrites its status.
    Upsert,
    /// Re-creating keeps a protected status (Whitelisted, Legitimate).
    KeepProtected,
    /// POST /api/indicators answers 409 for an existing indicator.
    Conflict,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OnQuery {
    /// Criteria honoured, with= expanded.
    Full,
    /// Criteria honoured, core fields only.
    NoExpand,
    /// Criteria ignored: every indicator.
    IgnoreCriteria,
    /// 404: the instance has no query endpoint.
    Absent,
}

/// Run the ThreatQ API emulator on 127.0.0.1.
#[derive(Parser, Debug)]
struct Args {
    /// Port (0: any free one, printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Print the credentials as shell `export` lines and exit.
    #[arg(long)]
    print_env: bool,
    /// Lifetime of tokens, in seconds.
    #[arg(long, default_value_t = 3600.0)]
    expires_in: f64,
    /// Drop a token after this many uses (the client sees a 401).
    #[arg(long)]
    token_uses: Option<u32>,
    /// Behave as an instance without POST /api/indicators/consume.
    #[arg(long)]
    no_consume: bool,
    /// What POST /api/indicators/query does.
    #[arg(long, value_enum, default_value = "full")]
    query: OnQuery,
    /// What creating an existing indicator does.
    #[arg(long, value_enum, default_value = "keep-protected")]
    existing: OnExisting,
    /// Answer 200 to status changes but keep the old status.
    #[arg(long)]
    ignore_status_updates: bool,
    /// Force this status on every write (try "Active" to see tq-push's verification fail).
    #[arg(long, value_name = "NAME")]
    force_status: Option<String>,
    /// Wait this long before answering each request (a real instance answers in 20-50 ms).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// On Enter, print only the counts (requests, by method and path, and tokens) as one JSON line,
    /// not the store: for scripts/bench-tq.
    #[arg(long)]
    counts_only: bool,
}

fn main() {
    let a = Args::parse();
    let env = [
        ("TQ_CLIENT_ID", threatq_emu::CLIENT_ID),
        ("TQ_EMAIL", threatq_emu::EMAIL),
        ("TQ_PASSWORD", threatq_emu::PASSWORD),
    ];
    if a.print_env {
        for (k, v) in env {
            println!("export {k}='{v}'");
        }
        return;
    }
    let config = Config {
        existing: match a.existing {
            OnExisting::Upsert => Existing::Upsert,
            OnExisting::KeepProtected => Existing::KeepProtected,
            OnExisting::Conflict => Existing::Conflict,
        },
        consume: !a.no_consume,
        query: match a.query {
            OnQuery::Full => Query::Full,
            OnQuery::NoExpand => Query::NoExpand,
            OnQuery::IgnoreCriteria => Query::IgnoreCriteria,
            OnQuery::Absent => Query::Absent,
        },
        token_ttl: a.expires_in,
        token_max_uses: a.token_uses,
        ignore_status_updates: a.ignore_status_updates,
        force_status: a.force_status,
        latency: std::time::Duration::from_millis(a.latency_ms),
        ..Config::default()
    };
    let emu = Emulator::start_on(config, a.port);
    eprintln!("ThreatQ emulator on {} (test credentials, not secrets):", emu.url());
    for (k, v) in env {
        eprintln!("  export {k}='{v}'");
    }
    eprintln!("Enter: print the store; Ctrl-D: stop.");
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        if a.counts_only {
            let mut by: std::collections::BTreeMap<String, usize> = Default::default();
            for r in emu.requests() {
                // The path without ids, so that 10,000 PUTs are one line: /api/indicators/<id>.
                let path: Vec<&str> =
                    r.path.split('/').map(|s| if s.parse::<u64>().is_ok() { "<id>" } else { s }).collect();
                *by.entry(format!("{} {}", r.method, path.join("/"))).or_default() += 1;
            }
            let counts = serde_json::json!({
                "requests": emu.requests().len(),
                "tokens": emu.tokens_issued(),
                "rejected": emu.rejected(),
                "indicators": emu.snapshot()["indicators"].as_array().map_or(0, Vec::len),
                "by": by,
            });
            println!("{counts}");
            continue;
        }
        println!("{}", serde_json::to_string_pretty(&emu.snapshot()).unwrap());
        eprintln!(
            "{} requests, {} tokens issued, {} refused with 401",
            emu.requests().len(),
            emu.tokens_issued(),
            emu.rejected()
        );
    }
}
