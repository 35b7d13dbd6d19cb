//! `tq-push`: findings into ThreatQ as "URL Path" indicators, safely and idempotently.
//!
//! * `plan.rs`: findings → indicators, attributes, scores and the run's event (pure, deterministic).
//! * `auth.rs`: the OAuth token's life.
//! * `api.rs`: one function per endpoint; errors inside 2xx replies; transient vs. final failures.
//! * `lookup.rs`: finding a batch's indicators by value in bulk (`POST /api/indicators/query`), or one
//!   by one where the instance lacks the form.
//! * `push.rs`: name resolution and the status-safety checks, the look-up-before-write loop in batches,
//!   the event, and the read-back that verifies every status; `--dry-run` too.

pub mod api;
pub mod auth;
pub mod lookup;
pub mod plan;
pub mod push;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::http::HttpArgs;
use crate::input;
use crate::record::{Finding, for_each_record};
use auth::GrantKind;

/// The tool's name, in messages.
pub const NAME: &str = "tq-push";

/// Examples shown by `--help` and the man page.
pub const EXAMPLES: &str = "\
# the weekly replay, reviewed in ThreatQ (credentials in an owner-only file)
scripts/webshell-hunt access.log | tq-push --url https://tq.example.org --secrets /etc/webshell-hunt/tq.env
# a custom status for baselined paths, a custom event type
tq-push --url https://tq.example.org --baseline-status Legitimate --event-type Sighting < findings.jsonl
# what would be sent, without contacting anything
tq-push --url https://tq.example.org --dry-run < findings.jsonl | jq -c '{method, url}'";

/// Man-page sections beyond the flags.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "STATUS SAFETY",
        "\
Most ThreatQ exports send indicators of status Active to detection and blocking tools. A URL path of
the site's own, blocked at a proxy or WAF, takes the site down. So tq-push never gives an indicator
the status Active:

  1. Before anything is written it resolves --baseline-status and --review-status through
     GET /api/indicator/statuses and refuses to start (exit 2) when either resolves to Active, by name
     (in any case) or by id. A missing name is an error that lists the statuses that exist.
  2. It warns on stderr when a chosen status is marked include_in_export, and reminds you to check
     which statuses your exports and data-collection filters actually take.
  3. It sets every indicator's status explicitly, by id, also on indicators that already existed (a
     re-insert may keep an old status: protected statuses survive ingestion).
  4. After writing, it reads every indicator back and fails (exit 2) naming each one whose status is
     not the one asked for; an indicator found Active is reported as such, in capitals.

An indicator stands for one path on every host that saw it. It is given --review-status when any of
its findings is new, --baseline-status only when all are learned. An indicator already in the review
status is not moved to the baseline status by a later run that only learned it (an analyst decides).",
    ),
    (
        "WHAT IS WRITTEN",
        "\
One \"URL Path\" indicator per distinct value: the finding's concrete path when it saw exactly one,
else its template (/api/v1/products/{int}: ten thousand ids are one indicator). Known findings are
skipped. Attributes (each added once; a rerun adds nothing): Host, URL Template, Sample Path, and,
prefixed with \"host: \", Verdict, First Seen, Last Seen, Hit Count, Methods, HTTP Statuses, Client,
User Agent, Query String, Score and Reason. Control characters are shown as \\xHH and values are
capped at 1000 characters. The source is --source. An indicator with a new finding gets a manual
score: the finding's 0-100 score divided by ten, rounded half up (the highest of the merged findings).
A learned path gets none (ThreatQ's generated score stands; the finding's score is in its Score
attribute): a score ranks what analysts review, and a site's baseline would cost one request per path.

One Event per run that has new findings, of type --event-type, titled with the hosts, the range of
their first sightings and the run id, happened_at the earliest first sighting, its description (HTML)
listing the new paths highest score first, and linked to exactly the new indicators. The run id is 16
hex digits of FNV-1a over the sorted host, template and first_seen of the new findings: pushing the
same findings again finds the event by its title and adds nothing, also when the window was redone
with later hits of the same paths; other new findings make another event.

Findings made with baseline-diff --inventory carry the file that serves them. A review finding whose
script file was added or changed since the baseline (a new path's new file, a dormant script that no
request reached, a learned path whose script changed: these are reviewed again) also gives a
\"SHA-256\" indicator (the file's content hash) and a \"File Path\" indicator (its path on the
server), with the finding's attributes plus URL Path and the other file value, the review status
(never Active) and its manual score, linked to the same event. --no-file-indicators leaves them out.",
    ),
    (
        "HOW IT WRITES",
        "\
Indicators are written in batches of --batch, sequentially, in a few requests per batch:
  1. one POST /api/indicators/query for all the batch's values (criteria +or of the values, filter
     type_name \"URL Path\", or \"SHA-256\" and \"File Path\" for file indicators, which are written in
     batches of their own; with=status,attributes,sources,score); only exact matches are kept;
  2. one POST /api/indicators/consume creating the missing ones (POST /api/indicators with an array
     where consume is not available), then the query again to read them back;
  3. one consume bringing existing indicators to their planned state (status, missing attributes,
     source), then the query again; what still differs (a protected status that consume keeps) is
     set one request at a time: PUT /api/indicators/ID, POST .../attributes, POST .../sources;
  4. PUT /api/indicator/ID/scores for review indicators whose manual score differs.
At the end one query per batch reads every status back. Where the instance does not answer the query
(400, 404, 405, 422), answers far more hits than values (it does not filter), or gives hits without
their attributes, tq-push says so once and looks values up one by one (GET /api/indicators?value=),
or reads each found indicator (GET /api/indicators/ID): slower, the same result.

Timeouts, connection errors, 429 and 5xx replies retry the whole batch, lookups included, with
exponential backoff for up to --retry-for seconds; so a create whose reply was lost is found, not made
twice. A 2xx reply that carries \"errors\" is a failure. A run killed at any point and run again ends
with the same store as one uninterrupted run.

The token comes from POST /api/token and is renewed before its expires_in runs out, and once more if
the server answers 401. Redirects from the token endpoint are never followed.

--url must be https://, except for a loopback address (127.0.0.0/8, ::1, localhost), where http://
is allowed: nothing leaves the machine (an SSH tunnel, a local emulator).",
    ),
    (
        "ENVIRONMENT",
        "\
TQ_CLIENT_ID      the instance's OAuth client id (Settings > OAuth Management)
TQ_EMAIL          the account's email (password grant)
TQ_PASSWORD       its password (password grant)
TQ_CLIENT_SECRET  the client's secret (--grant client-credentials)

Each may instead be given as NAME=value in the file named by --secrets, which must be owned by the
user and not accessible by group or others (chmod 600); the file's values win. Credentials are never
taken from the command line and never printed; --dry-run shows them as ***.",
    ),
    (
        "OUTPUT",
        "\
Nothing on stdout, except with --dry-run: one JSON object per request it would make,
{\"method\",\"url\",\"body\"}, ids it cannot know shown as \"<…>\" placeholders, secrets as ***.
A summary goes to stderr (unless --quiet). Exit status 0 only when every finding was written and
verified; otherwise 2, naming what failed, so that the caller keeps its state and retries the same
window later.",
    ),
];

/// Push webshell-hunt findings into ThreatQ as "URL Path" indicators, safely and idempotently.
///
/// Reads findings (JSON lines from baseline-diff) and writes one "URL Path" indicator per path or
/// template: learned paths get --baseline-status, new paths --review-status, never Active. The run's
/// new paths are grouped in one Event. Everything is looked up before it is written, so pushing the
/// same findings twice changes nothing, and a failed or killed run can simply be run again. Every
/// status is read back at the end; exit status 0 means every finding is written and verified.
#[derive(Parser, Debug)]
#[command(
    name = "tq-push",
    version,
    args_override_self = true,
    after_long_help = crate::manual::after_help(EXAMPLES)
)]
pub struct Args {
    /// Findings file; `-` is standard input (the default).
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: String,

    /// The ThreatQ instance, e.g. https://tq.example.org (the API is under /api).
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// Status for indicators whose findings were all learned (the baseline). Never Active.
    #[arg(long, value_name = "NAME", default_value = "Whitelisted")]
    pub baseline_status: String,

    /// Status for indicators with a new finding. Never Active.
    #[arg(long, value_name = "NAME", default_value = "Review")]
    pub review_status: String,

    /// Event type of the run's event (it must exist; "Anomalous Activity" is not a default type).
    #[arg(long, value_name = "NAME", default_value = "Incident")]
    pub event_type: String,

    /// Source name put on indicators, attributes and the event.
    #[arg(long, value_name = "NAME", default_value = "webshell-hunt")]
    pub source: String,

    /// Print the requests that would be made (secrets masked) and contact nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Indicators per batch (1-500).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 500,
        value_parser = clap::value_parser!(u16).range(1..=500)
    )]
    pub batch: u16,

    /// OAuth grant: password (TQ_EMAIL, TQ_PASSWORD) or client-credentials (TQ_CLIENT_SECRET).
    #[arg(long, value_enum, default_value = "password")]
    pub grant: GrantKind,

    /// File of NAME=value credentials (owner-only), instead of the environment.
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<std::path::PathBuf>,

    /// Give up retrying a step (timeouts, 429, 5xx) after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub retry_for: u64,

    /// First retry delay in milliseconds (doubles each time, up to 32 times this). For tests.
    #[arg(long, value_name = "MS", default_value_t = 1000, hide = true)]
    pub backoff_ms: u64,

    /// Write only URL Path indicators: no SHA-256 and File Path indicators for the script files of
    /// findings made with baseline-diff --inventory.
    #[arg(long)]
    pub no_file_indicators: bool,

    /// No summary on stderr (warnings and errors are still shown).
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub http: HttpArgs,
}

/// Retry timing.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub first: Duration,
    pub total: Duration,
}

/// The API base (`…/api/`) of `--url`: https, or http on a loopback address only.
pub fn api_base(url: &str) -> Result<url::Url> {
    let mut u = url::Url::parse(url).with_context(|| format!("--url {url:?}: not a URL"))?;
    match u.scheme() {
        "https" => {}
        "http" if is_loopback(&u) => {}
        "http" => bail!(
            "--url {url}: plain http:// is allowed only to a loopback address; use https:// (credentials \
             and tokens would cross the network in clear)"
        ),
        s => bail!("--url {url}: unsupported scheme {s}:// (use https://)"),
    }
    if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        bail!("--url {url}: give the instance only, without credentials, query or fragment");
    }
    let path = u.path().trim_end_matches('/').trim_end_matches("/api").trim_end_matches('/').to_string();
    u.set_path(&format!("{path}/api/"));
    Ok(u)
}

fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Runs `tq-push`.
pub fn run(args: Args) -> Result<ExitCode> {
    let base = api_base(&args.url)?;
    push::refuse_active_names(&args)?;
    let mut findings: Vec<Finding> = Vec::new();
    for_each_record(input::open(&args.input)?, |f: Finding, _| {
        findings.push(f);
        Ok(())
    })?;
    let plan = plan::plan(&findings, !args.no_file_indicators);
    let retry = Retry {
        first: Duration::from_millis(args.backoff_ms.max(1)),
        total: Duration::from_secs(args.retry_for),
    };
    if args.dry_run {
        push::dry_run(&args, &base, &plan)?;
    } else {
        push::push(&args, base, &plan, findings.len(), retry)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_http_only() {
        assert_eq!(api_base("https://tq.example.org").unwrap().as_str(), "https://tq.example.org/api/");
        assert_eq!(api_base("https://tq.example.org/api/").unwrap().as_str(), "https://tq.example.org/api/");
        assert_eq!(api_base("https://h/tq/api").unwrap().as_str(), "https://h/tq/api/");
        assert_eq!(api_base("http://127.0.0.1:8080").unwrap().as_str(), "http://127.0.0.1:8080/api/");
        assert!(api_base("http://[::1]:1/").is_ok());
        assert!(api_base("http://localhost:1/").is_ok());
        assert!(api_base("http://tq.example.org").is_err());
        assert!(api_base("http://127.0.0.1.example.org").is_err());
        assert!(api_base("https://u:p@tq.example.org").is_err());
        assert!(api_base("ftp://tq.example.org").is_err());
    }
}
