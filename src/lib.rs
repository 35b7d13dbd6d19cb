//! Web-shell discovery by URL-path baselining: small Unix filters that talk JSON lines.
//!
//! ```text
//!  log-export / splunk-export ──> path-normalize ──> baseline-diff ──> tq-push / jq / findings-report
//! ```
//!
//! Each binary in `src/bin/` is a thin `main` over a module here that holds its `Args` (clap) and
//! `run`. Shared pieces: [`cli`] (the main wrapper, exit status, stdout), [`record`] (the wire format),
//! [`input`] (files, stdin, gzip), [`time`] (timestamps), [`jsonw`] (escaping log bytes into JSON).

pub mod bytes;
pub mod cli;
pub mod diff;
pub mod digest;
pub mod export;
pub mod http;
pub mod input;
pub mod inventory;
pub mod jsonscan;
pub mod jsonw;
pub mod manual;
pub mod normalize;
pub mod par;
pub mod pathkind;
pub mod record;
pub mod report;
pub mod secrets;
pub mod splunk;
pub mod time;
pub mod tls;
pub mod tq;
