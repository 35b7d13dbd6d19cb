//! A Splunk REST API emulator on 127.0.0.1, serving an access log, for trying `splunk-export` by hand
//! and for benchmarks. The emulator itself is `tests/emulators/splunk.rs` (shared with the tests);
//! its module documentation lists the endpoints, the SPL subset and the faults.
//!
//! ```text
//! cargo run --example splunk-emulator -- --log access.log --port 8089 --token test-token
//! SPLUNK_TOKEN=test-token splunk-export --url http://127.0.0.1:8089 --index web --earliest 0
//! ```
//!
//! It prints its URL on the first line of stdout, then serves until it is killed. The token and
//! password given here are test credentials for the emulator, not real ones.

#[path = "../tests/emulators/splunk.rs"]
mod splunk_emu;

#[path = "../tests/emulators/tls.rs"]
mod tls_emu;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use splunk_emu::{Config, Emulator, Fault, LoadOpts};

/// Serve access logs through an emulation of Splunk's REST search API.
#[derive(Parser, Debug)]
#[command(name = "splunk-emulator")]
struct Args {
    /// Access logs to index (any format log-export detects).
    #[arg(long, value_name = "FILE", required = true)]
    log: Vec<PathBuf>,
    /// Port on 127.0.0.1 (0: any free port; the URL is printed on stdout).
    #[arg(long, default_value_t = 8089)]
    port: u16,
    /// An accepted token (Authorization: Bearer); a test credential. Also read from
    /// SPLUNK_EMULATOR_TOKEN, which keeps it out of the process list.
    #[arg(long, value_name = "TOKEN", env = "SPLUNK_EMULATOR_TOKEN", hide_env_values = true)]
    token: Vec<String>,
    /// An accepted user, NAME:PASSWORD, for /services/auth/login and Basic; a test credential.
    #[arg(long, value_name = "NAME:PASSWORD")]
    user: Vec<String>,
    /// index of the loaded events.
    #[arg(long, default_value = "web")]
    index: String,
    /// sourcetype of the loaded events.
    #[arg(long, default_value = "access_combined")]
    sourcetype: String,
    /// host (the forwarder) of the loaded events.
    #[arg(long, default_value = "web01")]
    host: String,
    /// _indextime = _time + this many seconds.
    #[arg(long, default_value_t = 0)]
    index_lag: i64,
    /// Serve HTTPS with a freshly generated CA; its certificate is written to DIR/ca.pem.
    #[arg(long, value_name = "DIR")]
    tls: Option<PathBuf>,
    /// Answer 404 on the v2 export path (like Splunk before 9.0.1).
    #[arg(long)]
    no_v2: bool,
    /// Fault for the next export request, in order: 503, 401, 403, fatal:N, error:N, cut:N, slow:MS,
    /// preview, nolastrow.
    #[arg(long, value_name = "FAULT")]
    fault: Vec<String>,
    /// Fixed "now" for relative times, in epoch seconds.
    #[arg(long)]
    now: Option<i64>,
}

fn fault(spec: &str) -> Result<Fault, String> {
    let (k, n) = spec.split_once(':').unwrap_or((spec, "0"));
    let n: u64 = n.parse().map_err(|_| format!("bad number in fault {spec:?}"))?;
    Ok(match k {
        "fatal" => Fault::Message {
            after: n as usize,
            kind: "FATAL".into(),
            text: "search process terminated".into(),
        },
        "error" => {
            Fault::Message { after: n as usize, kind: "ERROR".into(), text: "a search peer is down".into() }
        }
        "cut" => Fault::Cut { after: n as usize },
        "slow" => Fault::SlowFirstByte(Duration::from_millis(n)),
        "preview" => Fault::Preview,
        "nolastrow" => Fault::NoLastrow,
        code => Fault::Status(code.parse().map_err(|_| format!("unknown fault {spec:?}"))?),
    })
}

fn main() -> Result<(), String> {
    let a = Args::parse();
    let users = a
        .user
        .iter()
        .map(|u| u.split_once(':').map(|(n, p)| (n.to_string(), p.to_string())).ok_or("--user NAME:PASSWORD"))
        .collect::<Result<Vec<_>, _>>()?;
    let tls = match &a.tls {
        Some(dir) => {
            let t = splunk_emu::generate_tls();
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("ca.pem"), &t.ca_pem).map_err(|e| e.to_string())?;
            Some(t)
        }
        None => None,
    };
    let cfg = Config {
        tokens: a.token.clone(),
        users,
        v2: !a.no_v2,
        tls,
        now: a.now,
        port: a.port,
        ..Config::default()
    };
    let emu = Emulator::start(cfg);
    let opts = LoadOpts {
        index: a.index.clone(),
        sourcetype: a.sourcetype.clone(),
        host: a.host.clone(),
        source: None,
        index_lag_secs: a.index_lag,
    };
    for f in &a.fault {
        emu.push_fault(fault(f)?);
    }
    for log in &a.log {
        let n = emu.load_log(log, &opts).map_err(|e| format!("{}: {e:#}", log.display()))?;
        eprintln!("splunk-emulator: {}: {n} events", log.display());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", emu.url()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    eprintln!("splunk-emulator: serving {} events at {}", emu.event_count(), emu.url());
    loop {
        std::thread::park();
    }
}
