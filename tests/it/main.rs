//! One integration-test binary (one link): every module runs the real binaries through real pipes.

mod corpus;
mod cron;
mod diff;
mod export;
mod export_formats;
mod fail_fast;
mod floors;
mod hunt;
mod install;
mod inventory;
mod man;
mod normalize;
mod report;
mod splunk;
mod tls;
mod tq;
mod util;
mod webroot;

#[path = "../gen/mod.rs"]
mod r#gen;

#[path = "../emulators/threatq.rs"]
mod threatq_emu;

#[path = "../emulators/splunk.rs"]
mod splunk_emu;

#[path = "../emulators/tls.rs"]
mod tls_emu;
