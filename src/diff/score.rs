//! Scoring: 0–100, deterministic, and every point explained.
//!
//! A finding's score is the sum of the weights of the signals that fire, clamped to 0–100. Each signal
//! is a [`Reason`] with a stable code, its weight and the evidence in words. The weights:
//!
//! | code | weight | when |
//! |---|---|---|
//! | `new` | +10 | first requested after the learning window |
//! | `script_ext` | +30 | a server-side script name (`.php`, `.aspx`, `.jsp`, … see `pathkind`) |
//! | `double_ext` | +40 | the script extension hides before another (`x.php.jpg`), instead of `script_ext` |
//! | `static_dir` | +20 | a script under an upload or static folder (`/uploads/`, `/images/`, `/aspnet_client/`) |
//! | `static_only_dir` | +20 | a script in a folder that served only non-script files in the baseline |
//! | `new_dir` | +10 | a script in a folder the baseline never saw |
//! | `script_dir` | −15 | a script in a folder (or sibling folders) that already served scripts |
//! | `mostly_post` | +20 | at least half of the requests are POST (`some_post` +5 when fewer) |
//! | `few_clients` | +10 | at most 2 distinct clients made 3 or more requests |
//! | `many_clients` | −20 | 20 or more distinct clients |
//! | `new_clients` | +10 | new keys: 80 % or more of the requests from clients the baseline never saw |
//! | `new_user_agent` | +10 | new keys: 80 % or more of the requests with user agents the baseline never saw |
//! | `tool_user_agent` | +5 | a scripting-tool user agent (curl, python-requests, Go, PowerShell, …) |
//! | `evasion` | +10 | requested with evasive spellings (`+15` for NUL, ADS, overlong, `%u`, double encoding) |
//! | `shell_params` | +10 | query parameters typical of web shells (`cmd`, `exec`, `z0`, …) |
//! | `success` | +5 | answered 2xx; `error_only` +5: answered only 5xx (a shell can fail loudly) |
//! | `redirect_only` | −10 | answered only 3xx |
//! | `static_kind` | −20 | a static file type (`.html`, `.png`, `.pdf`, …) |
//! | `family` | −10 | a learned or grouped family of similar names (`{name}`) |
//! | `crawlers_only` | −10 | every user agent is a search-engine crawler |
//!
//! The missing-Referer heuristic is deliberately absent: real shell sessions set the Referer to the shell
//! page itself. [`ALERT`] is the documented alert threshold.

use super::aggregate::KeyStats;
use super::fold::{self, FolderStats, Kind};
use crate::pathkind;
use crate::record::{Reason, Verdict};

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
}

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
    if let (Some(Kind::Script(ext)), Some(sp)) = (&kind, &split) {
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

    if cx.verdict == Verdict::New {
        let sampled: Vec<(&str, u64)> = s.clients.sorted();
        let total: u64 = sampled.iter().map(|c| c.1).sum();
        let unknown: u64 = sampled.iter().filter(|c| !(cx.client_known)(c.0)).map(|c| c.1).sum();
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
        r.push(reason(-10, "redirect_only", "answered only redirects (3xx)".into()));
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

    r.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.code.cmp(&b.code)));
    let total: i32 = r.iter().map(|x| x.weight).sum();
    (total.clamp(0, 100) as u8, r)
}

fn list(items: &[&str], n: usize) -> String {
    let mut s: Vec<String> = items.iter().take(n).map(|x| x.to_string()).collect();
    if items.len() > n {
        s.push(format!("and {} more", items.len() - n));
    }
    s.join(", ")
}
