//! Scoring: 0–100, deterministic, and every point explained.
//!
//! A finding's score is the sum of the weights of the signals that fire, clamped to 0–100. Each signal
//! is a [`Reason`] with a stable code, its weight and the evidence in words. The weights:
//!
//! | code | weight | when |
//! |---|---|---|
//! | `new` | +10 | first requested after the learning window |
//! | `script_ext` | +30 | a script name that this server runs (`.php`; `.aspx` on IIS; … see `pathkind::executes`) |
//! | `served_as_file` | 0 | a script-language name this server serves as a file (`.py` outside `cgi-bin` on Apache, unless the baseline showed that folder's `.py` names running), instead of `script_ext` and the folder signals |
//! | `double_ext` | +40 | the script extension hides before another (`x.php.jpg`), instead of `script_ext` |
//! | `hidden_name` | +15 | a script whose name starts with a dot (`/images/.cache.php`) |
//! | `static_dir` | +20 | a script under an upload or static folder (`/uploads/`, `/images/`, `/aspnet_client/`) |
//! | `static_only_dir` | +20 | a script in a folder that served only non-script files in the baseline |
//! | `new_dir` | +10 | a script in a folder the baseline never saw |
//! | `script_dir` | −15 | a script in a folder (or sibling folders) that already served scripts |
//! | `mostly_post` | +20 | at least half of the requests are POST (`some_post` +5 when fewer) |
//! | `few_clients` | +10 | at most 2 distinct clients made 3 or more requests |
//! | `many_clients` | −20 | 20 or more distinct clients |
//! | `new_clients` | +10 | new keys: 80 % or more of the requests from clients the baseline never saw |
//! | `lone_clients` | +10 | new keys of 3 or more requests: every sampled client asked the host for this key and nothing else (an operator going straight to the shell; visitors load pages and their assets) |
//! | `new_user_agent` | +10 | new keys: 80 % or more of the requests with user agents the baseline never saw |
//! | `tool_user_agent` | +5 | a scripting-tool user agent (curl, python-requests, Go, PowerShell, …) |
//! | `evasion` | +10 | requested with evasive spellings (`+15` for NUL, ADS, overlong, `%u`, double encoding) |
//! | `shell_params` | +10 | query parameters typical of web shells (`cmd`, `exec`, `z0`, …) |
//! | `success` | +5 | answered 2xx; `error_only` +5: answered only 5xx (a shell can fail loudly) |
//! | `redirect_only` | −20 | answered only 3xx: nothing ran for the client (a scanner's probe sent to the login or to https) |
//! | `static_kind` | −20 | a static file type (`.html`, `.png`, `.pdf`, …) |
//! | `family` | −10 | a learned or grouped family of similar names (`{name}`) |
//! | `varied_sizes` | +15 | 3 or more 200 answers of 3 or more sizes on one file's name (static, or a script name served as a file): a program's output |
//! | `one_size` | −15 | 3 or more 200 answers of one size, GET only, no query, on a name that is not a running script: a file's bytes |
//! | `command_values` | +10 | one parameter carried 2 or more different values that read as commands or encoded data (base64, hex, shell words) |
//! | `imitated_name` | +10 | a new script name that is a near-copy of a learned script name in its folder (`wp-1ogin.php` beside `wp-login.php`, `xmlrpcs.php`, `index1.php`; a `wp-` name at a WordPress root): see [`imitated`] |
//! | `burst` | +10 | new keys of one name: 3 or more requests within 10 minutes from at most 2 clients, and none in the 15 minutes or more the log went on after them |
//! | `no_site_referer` | +10 | new keys of 3 or more requests from at most 2 clients, none of them from a link on the site (no Referer, or another site's; a Referer of the page itself does not count: a shell's form posts back to it), where the host's log carries Referers |
//! | `crawlers_only` | −10 | every user agent is a search-engine crawler |
//!
//! "The site" of a Referer is the host's own name (when the records have one) and the site that referred
//! to the most of the host's keys (its pages link to its pages and load its assets), compared without a
//! port or a leading `www.`. [`ALERT`] is the documented alert threshold.

use super::aggregate::KeyStats;
use super::fold::{self, FolderStats, Kind};
use crate::normalize::path::Profile;
use crate::pathkind;
use crate::record::{Reason, Verdict};
use crate::time::Timestamp;

/// The default alert threshold: findings at or above it deserve an analyst's look.
pub const ALERT: u8 = 50;

/// What scoring needs to know about a key.
pub struct Context<'a> {
    /// The verdict.
    pub verdict: Verdict,
    /// The key's template.
    pub template: &'a str,
    /// The key's run statistics.
    pub stats: &'a KeyStats,
    /// What the baseline held in the key's folder, and scripts in sibling folders.
    pub folder: (Option<FolderStats>, u32),
    /// Whether a client was seen in the host's baseline.
    pub client_known: &'a dyn Fn(&str) -> bool,
    /// Whether a user agent was seen in the host's baseline.
    pub ua_known: &'a dyn Fn(&str) -> bool,
    /// Whether a client asked the host for this key and nothing else in the run.
    pub client_alone: &'a dyn Fn(&str) -> bool,
    /// `--exec-ext`: the extensions the server runs (lower case), instead of what its kind tells.
    pub exec_ext: Option<&'a [String]>,
    /// The baseline showed scripts of this key's extension running in its folder (POSTed to, asked
    /// with a query, answering with varied sizes).
    pub folder_runs: bool,
    /// `None` when the host's log carries no Referers to speak of (under [`REFERER_SHARE`] of its
    /// requests: CLF common, many IIS logs); else whether a page of the site referred to the key.
    pub site_referred: Option<bool>,
    /// The run's last request (a burst is one only if the log went on long enough after it).
    pub run_end: Option<Timestamp>,
    /// The learned script name in the key's folder that its name imitates (see [`imitated`]).
    pub imitates: Option<&'a str>,
}

/// The share of a host's requests with a Referer from which its log counts as carrying Referers.
pub const REFERER_SHARE: f64 = 0.05;
/// A burst: at least this many requests …
pub const BURST_REQUESTS: u64 = 3;
/// … all within this many seconds …
pub const BURST_SECS: i64 = 600;
/// … and the log going on this many seconds after the last of them without another.
pub const BURST_QUIET_SECS: i64 = 900;

const TOOL_AGENTS: &[&str] = &[
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "python/",
    "aiohttp",
    "go-http-client",
    "libwww-perl",
    "lwp::",
    "java/",
    "okhttp",
    "apache-httpclient",
    "powershell",
    "winhttp",
    "httpclient",
    "antsword",
    "behinder",
    "godzilla",
];
const CRAWLERS: &[&str] =
    &["googlebot", "bingbot", "yandexbot", "baiduspider", "duckduckbot", "applebot", "slurp"];
const SHELL_PARAMS: &[&str] = &[
    "cmd",
    "exec",
    "execute",
    "command",
    "shell",
    "system",
    "eval",
    "passthru",
    "popen",
    "proc_open",
    "z0",
    "z1",
    "z2",
    "payload",
    "pwd",
    "pass",
];
const EVASIONS: &[&str] = &[
    "percent_encoded",
    "dot_segments",
    "multi_slash",
    "backslash",
    "above_root",
    "path_params",
    "trailing_dot_space",
    "encoded_slash",
    "encoded_backslash",
    "absolute_form",
];
const STRONG_EVASIONS: &[&str] =
    &["encoded_nul", "ads_stream", "overlong_utf8", "u_encoding", "double_encoding"];

fn reason(weight: i32, code: &str, text: String) -> Reason {
    Reason { weight, code: code.to_string(), text }
}

/// Scores a key: the clamped score and the reasons, heaviest first.
pub fn score(cx: &Context<'_>) -> (u8, Vec<Reason>) {
    let s = cx.stats;
    let mut r: Vec<Reason> = Vec::new();
    let split = fold::split(cx.template);
    let kind = split.as_ref().map(fold::kind);
    let is_family = fold::is_family(cx.template);

    if cx.verdict == Verdict::New {
        r.push(reason(10, "new", format!("first requested after the baseline ({})", s.first)));
    }
    let windows = s.profile == Some(Profile::Iis);
    let runs = |ext: &str, folder: &str| match cx.exec_ext {
        Some(list) => list.iter().any(|e| e.eq_ignore_ascii_case(ext)),
        None => pathkind::executes(windows, ext, folder) || cx.folder_runs,
    };
    let running = matches!((&kind, &split), (Some(Kind::Script(ext)), Some(sp)) if runs(ext, sp.folder));
    if let Some(Kind::Script(ext)) = &kind
        && !running
    {
        let server = if windows { "IIS" } else { "a Unix web server (Apache, nginx)" };
        r.push(reason(
            0,
            "served_as_file",
            format!(".{ext} names are not run by {server} here but served as files (--exec-ext if this one runs them)"),
        ));
    }
    if let (Some(Kind::Script(ext)), Some(sp)) = (&kind, &split)
        && running
    {
        let last = pathkind::extensions(sp.name).last();
        if last.as_deref() != Some(ext.as_str()) && !sp.dir {
            r.push(reason(
                40,
                "double_ext",
                format!("script extension .{ext} hidden in a double extension ({})", sp.name),
            ));
        } else {
            r.push(reason(30, "script_ext", format!("server-side script name (.{ext})")));
        }
        if sp.name.starts_with('.') && !sp.dir {
            r.push(reason(15, "hidden_name", format!("a hidden (dot) file name: {}", sp.name)));
        }
        if let Some(like) = cx.imitates
            && matches!(cx.verdict, Verdict::New | Verdict::Dormant)
        {
            r.push(reason(
                10,
                "imitated_name",
                format!("a near-copy of the site's own {like} in this folder: {}", sp.name),
            ));
        }
        let static_dir = sp
            .folder
            .split('/')
            .find(|seg| pathkind::STATIC_DIRS.iter().any(|d| d.eq_ignore_ascii_case(seg)));
        let (fs, siblings) = cx.folder;
        if let Some(d) = static_dir {
            r.push(reason(20, "static_dir", format!("script under the upload/static folder /{d}/")));
        } else if fs.is_some_and(|f| f.scripts >= 3) || siblings >= 10 {
            let n = fs.map_or(0, |f| f.scripts);
            // The sibling count includes this folder's own scripts.
            let siblings = siblings.saturating_sub(n);
            r.push(reason(
                -15,
                "script_dir",
                format!("the baseline already had scripts here ({n} in this folder, {siblings} in sibling folders)"),
            ));
        } else if let Some(f) = fs.filter(|f| f.scripts == 0) {
            r.push(reason(
                20,
                "static_only_dir",
                format!("the folder served only non-script files in the baseline ({} names)", f.others),
            ));
        } else if fs.is_none() && siblings == 0 {
            r.push(reason(
                10,
                "new_dir",
                format!("the folder {} was never requested in the baseline", sp.folder),
            ));
        }
    }

    let post = s.method_share("POST");
    if post >= 0.5 {
        let n = (post * s.count as f64).round() as u64;
        r.push(reason(20, "mostly_post", format!("{n} of {} requests are POST", s.count)));
    } else if post > 0.0 {
        r.push(reason(5, "some_post", format!("{:.0}% of requests are POST", post * 100.0)));
    }

    let (clients, capped) = s.distinct_clients.count();
    if clients <= 2 && s.count >= 3 && clients > 0 {
        r.push(reason(10, "few_clients", format!("only {clients} client(s) made {} requests", s.count)));
    } else if clients >= 20 {
        r.push(reason(
            -20,
            "many_clients",
            format!("requested by {clients}{} distinct clients", if capped { "+" } else { "" }),
        ));
    }

    // One name, not a family or a group: a page's assets come together.
    let one_name = !is_family && s.distinct_paths.count().0 <= 1;
    if cx.verdict == Verdict::New {
        let sampled: Vec<(&str, u64)> = s.clients.sorted();
        let total: u64 = sampled.iter().map(|c| c.1).sum();
        let unknown: u64 = sampled.iter().filter(|c| !(cx.client_known)(c.0)).map(|c| c.1).sum();
        if s.count >= 3 && !sampled.is_empty() && sampled.iter().all(|c| (cx.client_alone)(c.0)) {
            r.push(reason(
                10,
                "lone_clients",
                format!(
                    "its {} asked the site for nothing else",
                    if sampled.len() == 1 { "client" } else { "clients" }
                ),
            ));
        }
        let secs = (s.last.0 - s.first.0) / 1000;
        let quiet = cx.run_end.map(|e| (e.0 - s.last.0) / 1000);
        if s.count >= BURST_REQUESTS
            && one_name
            && clients <= 2
            && secs <= BURST_SECS
            && let Some(quiet) = quiet.filter(|q| *q >= BURST_QUIET_SECS)
        {
            r.push(reason(
                10,
                "burst",
                format!(
                    "{} requests within {secs} s from {clients} client(s), then none in the {} min the log went on",
                    s.count,
                    quiet / 60
                ),
            ));
        }
        if cx.site_referred == Some(false) && s.count >= 3 && clients <= 2 {
            r.push(reason(
                10,
                "no_site_referer",
                format!(
                    "none of its {} requests came from a link on the site (no Referer, or another site's)",
                    s.count
                ),
            ));
        }
        if total > 0 && unknown as f64 >= 0.8 * total as f64 {
            r.push(reason(
                10,
                "new_clients",
                "no client of this path had visited the site in the baseline".into(),
            ));
        }
        let uas = s.uas.sorted();
        let total: u64 = uas.iter().map(|c| c.1).sum();
        let unknown: Vec<&str> = uas.iter().filter(|u| !(cx.ua_known)(u.0)).map(|u| u.0).collect();
        let unknown_n: u64 = uas.iter().filter(|u| !(cx.ua_known)(u.0)).map(|u| u.1).sum();
        if total > 0 && unknown_n as f64 >= 0.8 * total as f64 {
            r.push(reason(
                10,
                "new_user_agent",
                format!("user agent never seen on the site in the baseline: {}", list(&unknown, 2)),
            ));
        }
    }
    let uas = s.uas.sorted();
    let tools: Vec<&str> = uas
        .iter()
        .map(|u| u.0)
        .filter(|u| {
            let l = u.to_ascii_lowercase();
            TOOL_AGENTS.iter().any(|t| l.starts_with(t) || l.contains(&format!(" {t}")))
        })
        .collect();
    if !tools.is_empty() {
        r.push(reason(5, "tool_user_agent", format!("scripting-tool user agent: {}", list(&tools, 2))));
    }
    if !uas.is_empty()
        && uas.iter().all(|u| {
            let l = u.0.to_ascii_lowercase();
            CRAWLERS.iter().any(|c| l.contains(c))
        })
    {
        r.push(reason(-10, "crawlers_only", "only search-engine crawlers requested it".into()));
    }

    let strong: Vec<&str> =
        s.anomalies.iter().map(|a| &**a).filter(|a| STRONG_EVASIONS.contains(a)).collect();
    let mut evasive: Vec<&str> = s.anomalies.iter().map(|a| &**a).filter(|a| EVASIONS.contains(a)).collect();
    if s.anomalies.iter().any(|a| &**a == "case_folded") && s.raw_paths.sorted().len() >= 2 {
        evasive.push("case_folded");
    }
    if !strong.is_empty() {
        let mut all = strong.clone();
        all.extend(&evasive);
        all.sort_unstable();
        r.push(reason(15, "evasion", format!("requested with evasive spellings: {}", all.join(", "))));
    } else if !evasive.is_empty() {
        evasive.sort_unstable();
        r.push(reason(10, "evasion", format!("requested with evasive spellings: {}", evasive.join(", "))));
    }

    let mut shellish: Vec<&str> = s
        .params
        .iter()
        .map(|p| &**p)
        .filter(|p| SHELL_PARAMS.iter().any(|x| x.eq_ignore_ascii_case(p)))
        .collect();
    if !shellish.is_empty() {
        shellish.sort_unstable();
        r.push(reason(
            10,
            "shell_params",
            format!("query parameters typical of web shells: {}", shellish.join(", ")),
        ));
    }

    let by_class = |lo: u16, hi: u16| -> u64 {
        s.statuses.iter().filter(|(c, _)| (lo..=hi).contains(c)).map(|e| e.1).sum()
    };
    let (ok, redirect, error) = (by_class(200, 299), by_class(300, 399), by_class(500, 599));
    let with_status: u64 = s.statuses.iter().map(|e| e.1).sum();
    if ok > 0 {
        r.push(reason(5, "success", format!("{ok} of {} requests answered 2xx", s.count)));
    } else if error > 0 && error == with_status {
        r.push(reason(
            5,
            "error_only",
            format!("answered only 5xx ({error} requests): a shell can fail loudly"),
        ));
    } else if redirect > 0 && redirect == with_status {
        r.push(reason(-20, "redirect_only", "answered only redirects (3xx)".into()));
    }

    // Sizes tell a file from a program only for one file: the names of a family differ in size anyway.
    let z = &s.sizes;
    let file_name = matches!(kind, Some(Kind::Ext(_))) || matches!(kind, Some(Kind::Script(_))) && !running;
    if one_name && file_name && z.sized >= 3 && z.count() >= 3 {
        let more = if z.more { "+" } else { "" };
        r.push(reason(
            15,
            "varied_sizes",
            format!(
                "{} answers of {}{more} different sizes: a file's name answered like a program",
                z.sized,
                z.count()
            ),
        ));
    } else if one_name
        && !running
        && z.sized >= 3
        && z.count() == 1
        && s.method_share("GET") >= 1.0
        && s.queries.is_empty()
    {
        r.push(reason(
            -15,
            "one_size",
            format!(
                "{} answers of the same {} bytes, GET only, no query: a file's bytes",
                z.sized, z.distinct[0]
            ),
        ));
    }
    if let Some((name, n)) = command_values(&s.queries.sorted()) {
        r.push(reason(
            10,
            "command_values",
            format!("parameter {name} carried {n} different values that read as commands or encoded data"),
        ));
    }

    if let Some(Kind::Ext(e)) = &kind
        && pathkind::is_in(pathkind::STATIC_EXTS, e)
    {
        r.push(reason(-20, "static_kind", format!("static file type (.{e})")));
    }
    if is_family && !matches!(kind, Some(Kind::Script(_))) {
        let (n, capped) = s.distinct_paths.count();
        r.push(reason(
            -10,
            "family",
            format!("a family of {n}{} similar names", if capped { "+" } else { "" }),
        ));
    }

    let score = total(&mut r);
    (score, r)
}

/// Sorts reasons heaviest first and returns their clamped sum: the score.
pub fn total(r: &mut [Reason]) -> u8 {
    r.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.code.cmp(&b.code)));
    let total: i32 = r.iter().map(|x| x.weight).sum();
    total.clamp(0, 100) as u8
}

/// The root script names of WordPress: a folder that served one of the first three is a WordPress root,
/// where no other `wp-` name belongs.
const WORDPRESS_ROOT: &[&str] = &[
    "wp-login",
    "wp-cron",
    "wp-comments-post",
    "wp-activate",
    "wp-blog-header",
    "wp-config",
    "wp-links-opml",
    "wp-load",
    "wp-mail",
    "wp-settings",
    "wp-signup",
    "wp-trackback",
    "wp-config-sample",
    "wp-register",
];

/// The learned script name of `folder_names` (the baseline's script names in the new script `name`'s
/// folder, sorted) that `name` imitates, if one: the name a shell borrows to pass for one of the site's
/// own files. Two rules, both on the stem (the name without its extension, in lower case), with the
/// same extension:
///
/// - **a near-copy**: `wp-1ogin` beside `wp-login`, `xmlrpcs` beside `xmlrpc`, `index1` beside `index`.
///   One edit (insertion, deletion, substitution or swap of neighbours: the optimal string alignment
///   distance) on learned stems of 5 to 7 characters, two from 8; not when the two differ only in
///   their digits or separators (`page2` beside `page1`, `20160907-opinion` beside `20160906-opinion`,
///   `20160827-opinion` beside `20160827.opinion`: a site's numbered pages, dated posts and its own
///   misspellings, as a real blog's log showed), and not a case variant (that is the
///   same file on IIS, and an evasion signal anyway). Short stems (`cart`/`card`, `edit`/`exit`) are
///   one edit apart by chance, hence the minimum length.
/// - **a WordPress root name**: a `wp-` name the WordPress core does not have, in a folder that served
///   `wp-login.php`, `wp-cron.php` or `wp-comments-post.php` (`wp-cache.php`): the root of WordPress
///   holds the core's names only, plugins and themes live under `wp-content/`.
///
/// What is deliberately not a rule: a name that swaps one token of the site's naming scheme
/// (`admin-reports.php` beside `admin-users.php`), which is what every legitimate new file of such a
/// site looks like too. Folders of more than [`IMITATION_MAX_NAMES`] learned scripts are not compared:
/// there near-copies are common by chance, and the cost stays bounded.
pub fn imitated<'a>(name: &str, folder_names: &[&'a str]) -> Option<&'a str> {
    let (stem, ext) = name.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() || folder_names.len() > IMITATION_MAX_NAMES {
        return None;
    }
    let stem = stem.to_ascii_lowercase();
    let stems = || {
        folder_names.iter().filter_map(move |l| {
            let (s, e) = l.rsplit_once('.')?;
            e.eq_ignore_ascii_case(ext).then(|| (*l, s.to_ascii_lowercase()))
        })
    };
    let near = stems().find(|(_, learned)| {
        let limit = match learned.chars().count() {
            0..=4 => return false,
            5..=7 => 1,
            _ => 2,
        };
        *learned != stem && mask_digits(learned) != mask_digits(&stem) && osa(learned, &stem) <= limit
    });
    if let Some((l, _)) = near {
        return Some(l);
    }
    if stem.starts_with("wp-") && !WORDPRESS_ROOT.contains(&stem.as_str()) {
        return stems()
            .find(|(_, learned)| ["wp-login", "wp-cron", "wp-comments-post"].contains(&learned.as_str()))
            .map(|(l, _)| l);
    }
    None
}

/// Learned scripts in a folder beyond which [`imitated`] does not compare.
pub const IMITATION_MAX_NAMES: usize = 200;

/// Runs of digits as one `#`, and `_` and `.` as `-`.
fn mask_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !(c.is_ascii_digit() && out.ends_with('#')) {
            out.push(match c {
                '0'..='9' => '#',
                '_' | '.' => '-',
                c => c,
            });
        }
    }
    out
}

/// The optimal string alignment distance (Damerau-Levenshtein without edits of an edited substring):
/// insertions, deletions, substitutions and swaps of neighbours.
fn osa(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * w + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v =
                    (d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1).min(d[(i - 1) * w + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[(i - 2) * w + j - 2] + 1);
                }
                v
            };
        }
    }
    d[a.len() * w + b.len()]
}

/// The parameter of the sampled `queries` whose distinct values, 2 or more, include one that reads as a
/// command or encoded data, with its number of distinct values: the channel of a shell driven by GET.
fn command_values(queries: &[(&str, u64)]) -> Option<(String, usize)> {
    let mut by: Vec<(String, Vec<String>)> = Vec::new();
    for (q, _) in queries {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if k.is_empty() || k.len() > 16 || v.is_empty() {
                continue;
            }
            match by.iter_mut().find(|(n, _)| *n == k) {
                Some((_, vals)) if !vals.iter().any(|x| *x == v) => vals.push(v.into_owned()),
                Some(_) => {}
                None => by.push((k.into_owned(), vec![v.into_owned()])),
            }
        }
    }
    by.into_iter()
        .filter(|(_, vals)| vals.len() >= 2 && vals.iter().any(|v| reads_as_command(v)))
        .max_by_key(|(n, vals)| (vals.len(), std::cmp::Reverse(n.clone())))
        .map(|(n, vals)| (n, vals.len()))
}

const SHELL_WORDS: &[&str] = &[
    "whoami",
    "id",
    "uname",
    "ls",
    "dir",
    "cat",
    "type",
    "pwd",
    "cd",
    "net",
    "ipconfig",
    "ifconfig",
    "wget",
    "curl",
    "echo",
    "ps",
    "tasklist",
    "netstat",
    "systeminfo",
    "hostname",
    "powershell",
    "cmd",
    "bash",
    "sh",
    "chmod",
    "nc",
    "python",
    "perl",
    "find",
    "rm",
    "del",
    "copy",
    "mv",
    "tar",
];

/// A value that reads as a shell command line, or as encoded data (base64 or hex of some length, with
/// the variety of characters of random bytes).
fn reads_as_command(v: &str) -> bool {
    let first = v.split([' ', ';', '|', '&']).next().unwrap_or("").trim().to_ascii_lowercase();
    let first = first.rsplit(['/', '\\']).next().unwrap_or("").trim_end_matches(".exe");
    let shellish = v.contains(' ') || v.contains(';') || v.contains('|') || v.contains("&&");
    if SHELL_WORDS.contains(&first) && (shellish || v.len() <= 12) {
        return true;
    }
    let hex = v.len() >= 16 && v.len().is_multiple_of(2) && v.bytes().all(|b| b.is_ascii_hexdigit());
    let b64 = v.len() >= 16
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_uppercase())
        && v.bytes().any(|b| b.is_ascii_lowercase());
    // Hex has 16 symbols (4 bits at most); hex of text uses fewer.
    (hex && entropy(v) >= 2.8) || (b64 && entropy(v) >= 3.5)
}

/// Shannon entropy in bits per character.
fn entropy(v: &str) -> f64 {
    let mut n = [0u32; 256];
    for b in v.bytes() {
        n[b as usize] += 1;
    }
    let len = v.len() as f64;
    n.iter().filter(|&&c| c > 0).map(|&c| c as f64 / len).map(|p| -p * p.log2()).sum()
}

fn list(items: &[&str], n: usize) -> String {
    let mut s: Vec<String> = items.iter().take(n).map(|x| x.to_string()).collect();
    if items.len() > n {
        s.push(format!("and {} more", items.len() - n));
    }
    s.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use compact_str::CompactString;

    /// A new key's stats: `n` requests of `method`, answered 200 with `sizes` (cycled), from `clients`.
    fn stats(n: u64, method: &str, sizes: &[u64], clients: &[&str], query: Option<&str>) -> KeyStats {
        let mut k = KeyStats::new(Timestamp(1_760_000_000_000));
        k.count = n;
        k.methods = vec![(CompactString::new(method), n)];
        k.statuses = vec![(200, n)];
        for i in 0..n as usize {
            if !sizes.is_empty() {
                k.sizes.add(sizes[i % sizes.len()], 1);
            }
            let c = clients[i % clients.len()];
            k.clients.add(c, 1, 8);
            k.distinct_clients.add(c);
            if let Some(q) = query {
                k.queries.add(&q.replace("{i}", &i.to_string()), 1, 5);
            }
        }
        k
    }

    /// The codes of a new key's reasons and its score.
    fn scored(template: &str, k: &KeyStats, alone: bool, folder_runs: bool) -> (u8, Vec<String>) {
        scored_in(template, k, alone, folder_runs, (None, None, None))
    }

    /// [`scored`] with every context signal given: whether its clients were alone, whether the folder
    /// ran scripts, and (site_referred, run_end, imitates).
    fn scored_in(
        template: &str,
        k: &KeyStats,
        alone: bool,
        folder_runs: bool,
        (site_referred, run_end, imitates): (Option<bool>, Option<Timestamp>, Option<&str>),
    ) -> (u8, Vec<String>) {
        let known = |_: &str| true;
        let alone = move |_: &str| alone;
        let cx = Context {
            verdict: Verdict::New,
            template,
            stats: k,
            folder: (None, 0),
            client_known: &known,
            ua_known: &known,
            client_alone: &alone,
            exec_ext: None,
            folder_runs,
            site_referred,
            run_end,
            imitates,
        };
        let (score, reasons) = score(&cx);
        (score, reasons.into_iter().map(|r| r.code).collect())
    }

    #[test]
    fn a_script_name_counts_only_where_it_runs() {
        let k = stats(1, "GET", &[5120], &["198.51.100.1"], None);
        let (_, c) = scored("/code/tool.py", &k, false, false);
        assert!(c.contains(&"served_as_file".into()) && !c.contains(&"script_ext".into()), "{c:?}");
        let (_, c) = scored("/code/tool.py", &k, false, true);
        assert!(c.contains(&"script_ext".into()), "the baseline showed .py running here: {c:?}");
        let (_, c) = scored("/cgi-bin/tool.py", &k, false, false);
        assert!(c.contains(&"script_ext".into()), "{c:?}");
    }

    #[test]
    fn a_hidden_script_name_weighs() {
        let k = stats(2, "GET", &[10, 20], &["203.0.113.7"], None);
        let (hidden, c) = scored("/images/.cache.php", &k, false, false);
        assert!(c.contains(&"hidden_name".into()), "{c:?}");
        let (plain, _) = scored("/images/cache.php", &k, false, false);
        assert_eq!(hidden, plain + 15);
    }

    #[test]
    fn sizes_tell_a_program_from_a_file() {
        // A static name answering with varied sizes, and one answering with one size to GETs.
        let (_, c) =
            scored("/images/pixel.gif", &stats(3, "POST", &[12, 312, 612], &["a"], None), false, false);
        assert!(c.contains(&"varied_sizes".into()), "{c:?}");
        let (_, c) =
            scored("/files/report.pdf", &stats(4, "GET", &[88_211], &["a", "b"], None), false, false);
        assert!(c.contains(&"one_size".into()), "{c:?}");
        // Not on a running script (its output varies anyway), nor with a query.
        let (_, c) = scored("/x.php", &stats(4, "GET", &[1, 2, 3], &["a"], None), false, false);
        assert!(!c.contains(&"varied_sizes".into()), "{c:?}");
        let (_, c) = scored("/f.pdf", &stats(4, "GET", &[7], &["a"], Some("v={i}")), false, false);
        assert!(!c.contains(&"one_size".into()), "{c:?}");
    }

    #[test]
    fn lone_clients_and_command_values_weigh() {
        let q = Some("c=whoami%20{i}");
        let k = stats(4, "GET", &[40, 137, 234, 331], &["203.0.113.7"], q);
        let (alone, c) = scored("/images/x.php", &k, true, false);
        assert!(c.contains(&"lone_clients".into()) && c.contains(&"command_values".into()), "{c:?}");
        let (not_alone, c) = scored("/images/x.php", &k, false, false);
        assert!(!c.contains(&"lone_clients".into()));
        assert_eq!(alone, (not_alone + 10).min(100));
        // Fewer than three requests: a visitor's one look, not a session.
        let (_, c) = scored("/images/x.php", &stats(2, "GET", &[40], &["a"], None), true, false);
        assert!(!c.contains(&"lone_clients".into()), "{c:?}");
    }

    /// The codes and score of a new key with the three context signals set.
    fn scored_with(
        template: &str,
        k: &KeyStats,
        site_referred: Option<bool>,
        run_end: Option<Timestamp>,
        imitates: Option<&str>,
    ) -> (u8, Vec<String>) {
        scored_in(template, k, false, false, (site_referred, run_end, imitates))
    }

    #[test]
    fn a_name_that_imitates_the_sites_own_weighs() {
        let learned = ["index.php", "wp-comments-post.php", "wp-config.php", "wp-login.php", "xmlrpc.php"];
        for (name, like) in [
            ("wp-1ogin.php", "wp-login.php"),
            ("wp-lgoin.php", "wp-login.php"),
            ("xmlrpcs.php", "xmlrpc.php"),
            ("index1.php", "index.php"),
            ("Wp-Cache.PHP", "wp-comments-post.php"),
        ] {
            assert_eq!(imitated(name, &learned), Some(like), "{name}");
        }
        // Not an imitation: another extension, the same name in another case, a number in a numbered
        // series, short stems one edit apart by chance, a new name of the site's scheme, a core name.
        for name in ["index.aspx", "INDEX.php", "wp-links-opml.php", "cart.php", "admin-reports.php"] {
            assert_eq!(imitated(name, &learned), None, "{name}");
        }
        assert_eq!(imitated("page3.php", &["page1.php", "page2.php"]), None);
        assert_eq!(imitated("20160907-opinion.php", &["20160906-opinion.php"]), None);
        assert_eq!(imitated("20160827-opinion.php", &["20160827.opinion.php"]), None);
        assert_eq!(imitated("card.php", &["cart.php"]), None, "4 letters: one edit is chance");
        assert_eq!(imitated("users.php", &["user.php"]), None);
        assert_eq!(imitated("wp-cache.php", &["wp-config.php"]), None, "not a WordPress root");
        let many: Vec<String> = (0..=IMITATION_MAX_NAMES).map(|i| format!("n{i}x.php")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(imitated("index1.php", &[&many[..], &["index.php"]].concat()), None);
        assert_eq!(osa("ab", "ba"), 1);
        assert_eq!(osa("kitten", "sitting"), 3);

        let k = stats(2, "POST", &[10], &["203.0.113.7"], None);
        let (plain, c) = scored_with("/wp-1ogin.php", &k, None, None, None);
        assert!(!c.contains(&"imitated_name".into()));
        let (like, c) = scored_with("/wp-1ogin.php", &k, None, None, Some("wp-login.php"));
        assert!(c.contains(&"imitated_name".into()), "{c:?}");
        assert_eq!(like, plain + 10);
    }

    #[test]
    fn a_burst_that_the_log_outlived_weighs() {
        let mut k = stats(5, "GET", &[300, 800], &["203.0.113.7"], None);
        k.last = Timestamp(k.first.0 + 200_000);
        k.statuses = vec![(200, 3), (500, 2)];
        let later = |secs: i64| Some(Timestamp(k.last.0 + secs * 1000));
        let (burst, c) = scored_with("/css/xl.php", &k, None, later(3600), None);
        assert!(c.contains(&"burst".into()), "{c:?}");
        let (not, c) = scored_with("/css/xl.php", &k, None, later(600), None);
        assert!(!c.contains(&"burst".into()), "the log ended 10 min after it: it may go on: {c:?}");
        assert_eq!(burst, not + 10);
        // Spread over more than 10 minutes, fewer than 3 requests, or 3 clients: no burst.
        let mut slow = k.clone();
        slow.last = Timestamp(k.first.0 + 601_000);
        assert!(!scored_with("/css/xl.php", &slow, None, later(3600), None).1.contains(&"burst".into()));
        let two = stats(2, "GET", &[300], &["a"], None);
        assert!(
            !scored_with("/css/xl.php", &two, None, Some(Timestamp(two.last.0 + 3_600_000)), None)
                .1
                .contains(&"burst".into())
        );
        let many = stats(5, "GET", &[300], &["a", "b", "c"], None);
        assert!(
            !scored_with("/css/xl.php", &many, None, Some(Timestamp(many.last.0 + 3_600_000)), None)
                .1
                .contains(&"burst".into())
        );
    }

    #[test]
    fn no_referer_from_the_site_weighs_where_the_log_has_referers() {
        let k = stats(4, "GET", &[300, 800], &["203.0.113.7"], None);
        let (none, c) = scored_with("/css/x.php", &k, Some(false), None, None);
        assert!(c.contains(&"no_site_referer".into()), "{c:?}");
        let (linked, c) = scored_with("/css/x.php", &k, Some(true), None, None);
        assert!(!c.contains(&"no_site_referer".into()), "{c:?}");
        assert_eq!(none, linked + 10);
        // A log without Referers says nothing; nor do fewer than 3 requests, or 3 clients and more.
        for (k, referred) in [
            (k.clone(), None),
            (stats(2, "POST", &[1], &["a"], None), Some(false)),
            (stats(6, "GET", &[1], &["a", "b", "c"], None), Some(false)),
        ] {
            let (_, c) = scored_with("/css/x.php", &k, referred, None, None);
            assert!(!c.contains(&"no_site_referer".into()), "{c:?}");
        }
    }

    #[test]
    fn commands_and_encoded_data_read_as_such() {
        for v in ["whoami", "ls -la /var/www", "cat /etc/passwd", "C:\\Windows\\System32\\cmd.exe /c dir"] {
            assert!(reads_as_command(v), "{v}");
        }
        assert!(reads_as_command("d2hvYW1pO2lkO3VuYW1lIC1h"), "base64");
        assert!(reads_as_command("6964203b20756e616d65202d61"), "hex");
        for v in ["2", "news", "summer sale", "id", "aGVsbG8=", "ffffffffffffffff", "Product-Page-2024"] {
            // "id" alone is a word, and a short one: it counts only with other signs of a command.
            if v == "id" {
                continue;
            }
            assert!(!reads_as_command(v), "{v}");
        }
        assert!(entropy("aaaa") < 0.1 && entropy("abcd") > 1.9);
    }

    #[test]
    fn a_parameter_with_varied_command_values_is_a_channel() {
        let q = [("c=whoami", 1), ("c=uname%20-a", 1), ("c=ls+-la", 1), ("page=2", 3)];
        assert_eq!(command_values(&q), Some(("c".to_string(), 3)));
        // One value only, or values that read as words: no channel.
        assert_eq!(command_values(&[("c=whoami", 5)]), None);
        assert_eq!(command_values(&[("q=shoes", 1), ("q=red+shoes", 1)]), None);
    }
}
