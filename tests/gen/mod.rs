//! The project's own generator of realistic access logs with planted web shells and their ground truth,
//! deterministic from a seed. The tests call it in process; `examples/gen-access-log.rs` is its command
//! line, for `scripts/bench`, `scripts/evaluate` and anyone who wants a log to try the tools on.
//!
//! The site model: a few virtual hosts, each on its own stack (a PHP forum and CMS, a Java shop, an
//! extensionless documentation site, and on IIS an ASP.NET application), each with
//! - pages of its stack, some with query strings (ids, searches, paging, campaign tags), some POSTed to;
//! - static assets fetched after a page with the page as Referer, versioned by a content hash (a
//!   deployment after the baseline renames them: new, benign static paths), images, 304s on revisits;
//! - a blog or news section that publishes every day (new, benign pages), whose readers favour the latest;
//! - an archive of old pages with a long-tail popularity (`archive`): old pages keep being requested for
//!   the first time, and a few are code samples with script extensions that the server serves as files;
//! - one legitimate new script deployed after the baseline on a PHP site, used by many visitors;
//! - crawlers, an uptime monitor, and vulnerability scanners probing paths that do not exist (404/403).
//!
//! With `webshells` K > 0, K web shells are planted after the baseline period: a new script (in the
//! site's language) in an upload, image or vendor folder, called a few to a few dozen times from one or
//! two addresses over a day or three, mostly by POST, some by GET with a command in a parameter, and
//! some requests spell the path evasively, in ways the server really treats as the same file (percent-
//! encoded letters, dot segments, doubled slashes; on IIS also case and backslashes). Each shell's
//! canonical path, host and number of requests is its ground truth ([`Shell`]).
//!
//! Times are spread over `days` with a daily rhythm (quiet nights, busy afternoons), in UTC.

#![allow(dead_code)]

use std::io::{self, Write};

/// The log formats the generator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Apache/Nginx combined; all hosts in one file.
    Combined,
    /// Apache `vhost_combined`: `host:port ` before each combined line.
    Vhost,
    /// Common log format (no Referer, no User-Agent).
    Common,
    /// IIS W3C extended, a `#Fields` header block at the start of every day, `cs-host` logged.
    Iis,
    /// One JSON object a line, Nginx-style keys (`ts`, `remote_addr`, `uri`, `bytes_sent`, …).
    Json,
}

impl Format {
    pub const NAMES: [&'static str; 5] = ["combined", "vhost", "common", "iis", "json"];

    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "combined" => Format::Combined,
            "vhost" => Format::Vhost,
            "common" => Format::Common,
            "iis" => Format::Iis,
            "json" => Format::Json,
            _ => return None,
        })
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Lines of requests (header lines of IIS files not counted).
    pub lines: u64,
    pub seed: u64,
    /// The first second, in seconds since the Unix epoch (UTC).
    pub start: i64,
    pub days: u32,
    /// Web shells are planted only after this many days.
    pub baseline_days: u32,
    pub hosts: usize,
    pub webshells: usize,
    /// Old pages per site, read with a long-tail popularity (0: none).
    pub archive: usize,
    pub format: Format,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            lines: 10_000,
            seed: 1,
            start: days_from_civil(2026, 10, 1) * 86_400,
            days: 28,
            baseline_days: 14,
            hosts: 3,
            webshells: 0,
            archive: 400,
            format: Format::Combined,
        }
    }
}

/// One planted web shell: the ground truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shell {
    pub host: String,
    /// The canonical spelling of its path.
    pub path: String,
    /// Every request made to it, in whatever spelling.
    pub hits: u64,
    /// The time of its first request, RFC 3339 UTC.
    pub first_seen: String,
    /// How it was called: `post`, `get-param` (a command in a query parameter) or `mixed`.
    pub style: &'static str,
}

impl Shell {
    /// The truth as one JSON line (without the newline).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "host": self.host,
            "path": self.path,
            "hits": self.hits,
            "first_seen": self.first_seen,
            "style": self.style,
        })
        .to_string()
    }
}

/// Writes the log to `out`; returns the planted shells in the order they were first requested.
pub fn generate(opts: &Options, out: &mut impl Write) -> io::Result<Vec<Shell>> {
    let mut g = Generator::new(opts);
    g.run(out)?;
    Ok(g.truth())
}

/// Writes a log to the file `path`; returns the planted shells.
pub fn generate_file(opts: &Options, path: &std::path::Path) -> io::Result<Vec<Shell>> {
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    let shells = generate(opts, &mut out)?;
    out.flush()?;
    Ok(shells)
}

// ---- randomness -------------------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea, Flood 2014): a few lines, and the same numbers from a seed on every machine
/// and every version of this project, which a crate's generator does not promise (`rand`'s `StdRng` may
/// change between versions); logs generated from a seed are compared across runs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    fn pick_str(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.below(xs.len() as u64) as usize]
    }

    /// An index in `0..n` with a long tail: log-uniform, so index 0 is the most popular and every decade
    /// of the tail gets as many requests as the one before.
    fn tail(&mut self, n: usize) -> usize {
        let x = (n as f64 + 1.0).powf(self.unit()) - 1.0;
        (x as usize).min(n - 1)
    }

    fn hex(&mut self, digits: usize) -> String {
        (0..digits).map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize])).collect()
    }
}

/// A stable number from a string: sizes of static files, so that a file answers with the same bytes.
fn stable(s: &str) -> u64 {
    let mut r = Rng(s
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)));
    r.next()
}

// ---- the site model ---------------------------------------------------------------------------------

const WORDS: &[&str] = &[
    "harbor", "lantern", "quartz", "meadow", "falcon", "cobalt", "willow", "summit", "ember", "glacier",
    "orchid", "tundra", "beacon", "saffron", "canyon", "pixel", "marble", "nectar", "ridge", "aurora",
    "basil", "cinder", "delta", "fjord", "granite", "hollow", "iris", "juniper", "kelp", "lagoon", "mosaic",
    "nimbus",
];

const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
];

const CRAWLERS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
];

const SCANNERS: &[&str] = &[
    "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.129 Safari/537.36",
    "Go-http-client/1.1",
    "python-requests/2.32.3",
    "Mozilla/5.0 zgrab/0.x",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
];

/// Paths that scanners probe on every site (found in any public web server's logs).
const PROBES: &[&str] = &[
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/xmlrpc.php",
    "/phpmyadmin/index.php",
    "/pma/index.php",
    "/admin/config.php",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/cgi-bin/luci/;stok=/locale",
    "/boaform/admin/formLogin",
    "/HNAP1/",
    "/solr/admin/info/system",
    "/actuator/env",
    "/owa/auth/logon.aspx",
    "/autodiscover/autodiscover.json",
    "/shell.php",
    "/wso.php",
    "/alfa.php",
    "/c99.php",
    "/up.php",
    "/test.php",
    "/info.php",
    "/server-status",
    "/.aws/credentials",
    "/config.json",
    "/backup.zip",
    "/wp-config.php.bak",
    "/remote/fgt_lang",
    "/api/v1/pods",
    "/manager/html",
    "/console/",
    "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application",
    "/aspnet_client/system_web/4_0_30319/shell.aspx",
    "/uploads/shell.jsp",
    "/images/x.php",
    "/cmd.aspx",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stack {
    /// A PHP forum and CMS.
    Php,
    /// A Java shop (JSP and Struts-style actions).
    Java,
    /// An extensionless documentation site with downloads.
    Docs,
    /// An ASP.NET application on IIS.
    AspNet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A page built per request: its size varies.
    Dynamic,
    /// A file: one size.
    Static,
}

#[derive(Clone, Debug)]
struct Page {
    path: String,
    kind: Kind,
    /// How the query string is made, if the page takes one.
    query: Query,
    /// The share of requests that POST (forms, logins, AJAX).
    post: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Query {
    None,
    Id,
    Search,
    Paging,
    Campaign,
    Action,
}

struct Site {
    host: String,
    stack: Stack,
    pages: Vec<Page>,
    /// Versioned assets before and after the deployment (`deployed_at`).
    assets: [Vec<String>; 2],
    deployed_at: i64,
    images: Vec<String>,
    /// Posts with their publication times, oldest first.
    posts: Vec<(i64, String)>,
    archive: Vec<Page>,
    /// A legitimate script released after the baseline, and when.
    release: Option<(i64, Page)>,
}

fn page(path: impl Into<String>, kind: Kind, query: Query, post: f64) -> Page {
    Page { path: path.into(), kind, query, post }
}

fn slug(rng: &mut Rng, words: usize) -> String {
    (0..words).map(|_| *rng.pick(WORDS)).collect::<Vec<_>>().join("-")
}

impl Site {
    fn new(rng: &mut Rng, index: usize, stack: Stack, opts: &Options) -> Site {
        let name = match (stack, index) {
            (Stack::Php, 0) | (Stack::AspNet, 0) => "www",
            (Stack::Php, _) => "forum",
            (Stack::Java, _) => "shop",
            (Stack::Docs, _) => "docs",
            (Stack::AspNet, _) => "portal",
        };
        // Later rounds of the stacks (more hosts than stacks) are numbered.
        let host = match index / 3 {
            0 => format!("{name}.example.test"),
            n => format!("{name}{}.example.test", n + 1),
        };
        use Kind::{Dynamic, Static};
        let pages: Vec<Page> = match stack {
            Stack::Php => vec![
                page("/", Dynamic, Query::Campaign, 0.0),
                page("/index.php", Dynamic, Query::Paging, 0.0),
                page("/forum/viewtopic.php", Dynamic, Query::Id, 0.02),
                page("/forum/viewforum.php", Dynamic, Query::Id, 0.0),
                page("/forum/posting.php", Dynamic, Query::Action, 0.6),
                page("/search.php", Dynamic, Query::Search, 0.1),
                page("/login.php", Dynamic, Query::None, 0.5),
                page("/ucp.php", Dynamic, Query::Action, 0.3),
                page("/wp-admin/admin-ajax.php", Dynamic, Query::Action, 0.9),
                page("/wp-cron.php", Dynamic, Query::None, 1.0),
                page("/feed/", Dynamic, Query::None, 0.0),
                page("/contact/", Dynamic, Query::None, 0.2),
                page("/about/", Dynamic, Query::None, 0.0),
            ],
            Stack::Java => vec![
                page("/", Dynamic, Query::Campaign, 0.0),
                page("/shop/catalog.do", Dynamic, Query::Paging, 0.0),
                page("/shop/product.jsp", Dynamic, Query::Id, 0.0),
                page("/shop/cart.do", Dynamic, Query::Action, 0.5),
                page("/shop/checkout.action", Dynamic, Query::None, 0.7),
                page("/account/login.action", Dynamic, Query::None, 0.5),
                page("/search.do", Dynamic, Query::Search, 0.0),
                page("/api/v2/stock", Dynamic, Query::Id, 0.0),
                page("/help/shipping.html", Static, Query::None, 0.0),
            ],
            Stack::Docs => vec![
                page("/", Dynamic, Query::Campaign, 0.0),
                page("/docs/", Dynamic, Query::None, 0.0),
                page("/search", Dynamic, Query::Search, 0.0),
                page("/api/status", Dynamic, Query::None, 0.0),
                page("/changelog/", Dynamic, Query::None, 0.0),
                page("/downloads/", Dynamic, Query::None, 0.0),
            ],
            Stack::AspNet => vec![
                page("/", Dynamic, Query::Campaign, 0.0),
                page("/Default.aspx", Dynamic, Query::None, 0.1),
                page("/Account/Login.aspx", Dynamic, Query::None, 0.5),
                page("/Products/Details.aspx", Dynamic, Query::Id, 0.0),
                page("/Products/List.aspx", Dynamic, Query::Paging, 0.2),
                page("/Handlers/Thumbnail.ashx", Dynamic, Query::Id, 0.0),
                page("/Services/Catalog.asmx", Dynamic, Query::None, 1.0),
                page("/WebResource.axd", Static, Query::Id, 0.0),
                page("/News/Article.aspx", Dynamic, Query::Id, 0.0),
                page("/Search.aspx", Dynamic, Query::Search, 0.3),
            ],
        };
        let mut pages = pages;
        // Documentation pages and product pages under folders, as many as a real site has.
        for _ in 0..40 {
            let p = match stack {
                Stack::Docs => format!("/docs/{}/{}/", rng.pick(WORDS), slug(rng, 2)),
                Stack::Java => format!("/shop/c/{}/", slug(rng, 1)),
                Stack::Php => format!("/forum/{}/", slug(rng, 2)),
                Stack::AspNet => format!("/Content/{}.html", rng.pick(WORDS)),
            };
            let kind = if stack == Stack::AspNet { Kind::Static } else { Kind::Dynamic };
            pages.push(page(p, kind, Query::None, 0.0));
        }
        if stack == Stack::Docs {
            for v in 0..12 {
                pages.push(page(
                    format!("/downloads/{}-1.{v}.tar.gz", rng.pick(WORDS)),
                    Kind::Static,
                    Query::None,
                    0.0,
                ));
            }
        }
        pages.sort_by(|a, b| a.path.cmp(&b.path));
        pages.dedup_by(|a, b| a.path == b.path);

        let asset_names = ["app", "vendor", "theme", "print", "search"];
        let folder = match stack {
            Stack::Php => "/wp-content/themes/harbor/assets",
            Stack::Java => "/static",
            Stack::Docs => "/_assets",
            Stack::AspNet => "/Scripts",
        };
        let versioned = |rng: &mut Rng| -> Vec<String> {
            asset_names
                .iter()
                .map(|n| {
                    let ext = if *n == "print" || *n == "theme" { "css" } else { "js" };
                    format!("{folder}/{n}.{}.{ext}", rng.hex(8))
                })
                .collect()
        };
        let assets = [versioned(rng), versioned(rng)];
        let span = i64::from(opts.days) * 86_400;
        let deployed_at = opts.start + span * 3 / 5 + rng.below(86_400) as i64;
        let img_folder = match stack {
            Stack::Php => "/wp-content/uploads/2026/09",
            Stack::Java => "/images/products",
            Stack::Docs => "/_images",
            Stack::AspNet => "/Content/img",
        };
        let images = (0..60)
            .map(|i| {
                let ext = *rng.pick(&["jpg", "png", "webp", "svg"]);
                format!("{img_folder}/{}-{i}.{ext}", rng.pick(WORDS))
            })
            .collect();

        // Posts: some before the log starts (already known), then one a day.
        let mut posts = Vec::new();
        for d in -20..i64::from(opts.days) {
            let t = opts.start + d * 86_400 + rng.range(6 * 3600, 18 * 3600) as i64;
            let (y, m, _) = civil((t).div_euclid(86_400));
            let s = slug(rng, 3);
            let path = match stack {
                Stack::Php => format!("/blog/{y}/{m:02}/{s}/"),
                Stack::Java => format!("/stories/{s}"),
                Stack::Docs => format!("/blog/{y}-{m:02}-{s}/"),
                Stack::AspNet => format!("/News/{y}/{m:02}/{s}.aspx"),
            };
            posts.push((t, path));
        }

        let archive = (0..opts.archive)
            .map(|i| {
                let y = 2012 + (i % 12);
                if i % 25 == 7 {
                    // A code sample: a script extension, served as a file by this server.
                    let ext = *rng.pick(&["py", "sh", "pl", "rb"]);
                    page(format!("/archive/code/{}-{i}.{ext}", slug(rng, 2)), Kind::Static, Query::None, 0.0)
                } else {
                    let ext = if stack == Stack::AspNet { "aspx" } else { "html" };
                    page(format!("/archive/{y}/{}.{ext}", slug(rng, 3)), Kind::Static, Query::None, 0.0)
                }
            })
            .collect();

        let release = (stack == Stack::Php).then(|| {
            let t =
                opts.start + i64::from(opts.baseline_days) * 86_400 + rng.range(86_400, 3 * 86_400) as i64;
            (t, page("/forum/gallery.php", Kind::Dynamic, Query::Id, 0.05))
        });
        Site { host, stack, pages, assets, deployed_at, images, posts, archive, release }
    }

    fn script_ext(&self, rng: &mut Rng) -> &'static str {
        match self.stack {
            Stack::Php | Stack::Docs => rng.pick_str(&["php", "php", "php", "phtml"]),
            Stack::Java => "jsp",
            Stack::AspNet => rng.pick_str(&["aspx", "aspx", "ashx", "asp"]),
        }
    }

    fn shell_folder(&self, rng: &mut Rng) -> &'static str {
        match self.stack {
            Stack::Php => rng.pick_str(&[
                "/wp-content/uploads/2026/10",
                "/forum/files",
                "/wp-content/plugins/harbor-forms/lib",
            ]),
            Stack::Java => rng.pick_str(&["/images/products", "/static/upload"]),
            Stack::Docs => rng.pick_str(&["/_images", "/downloads/tmp"]),
            Stack::AspNet => rng.pick_str(&["/Content/img", "/Uploads", "/aspnet_client/system_web"]),
        }
    }
}

// ---- time -------------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    webshell_hunt::time::days_from_civil(y, m, d).expect("a valid date")
}

/// The date of a day since 1970-01-01.
pub fn civil(days: i64) -> (i64, u32, u32) {
    webshell_hunt::time::civil_from_days(days)
}

struct Clock {
    y: i64,
    mo: u32,
    d: u32,
    h: i64,
    mi: i64,
    s: i64,
}

fn clock(t: i64) -> Clock {
    let (y, mo, d) = civil(t.div_euclid(86_400));
    let sec = t.rem_euclid(86_400);
    Clock { y, mo, d, h: sec / 3600, mi: sec / 60 % 60, s: sec % 60 }
}

pub fn rfc3339(t: i64) -> String {
    let c = clock(t);
    format!("{}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.y, c.mo, c.d, c.h, c.mi, c.s)
}

/// Requests per hour of the day, relative (UTC; the site's audience is in one region).
const RHYTHM: [f64; 24] =
    [3., 2., 1.5, 1., 1., 1.5, 3., 5., 7., 8., 9., 9., 9., 10., 10., 10., 9., 9., 8., 8., 7., 6., 5., 4.];

/// The second of the day at which a fraction `u` of the day's requests have been made.
fn time_of_day(u: f64) -> i64 {
    let total: f64 = RHYTHM.iter().sum();
    let mut want = u * total;
    for (h, w) in RHYTHM.iter().enumerate() {
        if want < *w {
            return h as i64 * 3600 + (want / w * 3600.0) as i64;
        }
        want -= w;
    }
    86_399
}

// ---- requests ---------------------------------------------------------------------------------------

/// One request, as every format needs it.
struct Request {
    time: i64,
    host: usize,
    client: String,
    method: &'static str,
    /// Path and query as sent.
    target: String,
    status: u16,
    bytes: u64,
    referer: String,
    agent: String,
    millis: u64,
}

/// A shell's planned requests.
struct Plan {
    shell: Shell,
    /// (time, request) in time order; the time is the earliest the request may be written.
    hits: Vec<(i64, Request)>,
}

struct Generator<'o> {
    opts: &'o Options,
    rng: Rng,
    sites: Vec<Site>,
    visitors: Vec<String>,
    /// Requests made but not written yet (a page's assets follow it).
    queue: std::collections::VecDeque<Request>,
    plans: Vec<Plan>,
    /// Planned shell requests not written yet, soonest last.
    pending: Vec<(i64, usize, Request)>,
    /// Shell requests written, per plan.
    written: Vec<u64>,
    /// IIS: the day of the last header block.
    header_day: Option<i64>,
    first_seen: Vec<Option<i64>>,
}

fn address(rng: &mut Rng) -> String {
    if rng.chance(0.06) {
        return format!(
            "2001:db8:{:x}:{:x}::{:x}",
            rng.below(0xffff),
            rng.below(0xffff),
            rng.range(1, 0xfff)
        );
    }
    // Public-looking unicast ranges; the first octets avoid private and reserved blocks.
    let first = *rng.pick(&[
        23u64, 31, 37, 45, 51, 62, 66, 73, 77, 81, 86, 91, 95, 104, 109, 122, 141, 151, 176, 185, 188, 193,
        212, 217,
    ]);
    format!("{first}.{}.{}.{}", rng.below(256), rng.below(256), rng.range(1, 254))
}

impl<'o> Generator<'o> {
    fn new(opts: &'o Options) -> Generator<'o> {
        let mut rng = Rng(opts.seed ^ 0x5eed_0fac_ce55_u64);
        let stacks: &[Stack] = if opts.format == Format::Iis {
            &[Stack::AspNet, Stack::AspNet, Stack::Docs]
        } else {
            &[Stack::Php, Stack::Java, Stack::Docs]
        };
        let sites: Vec<Site> =
            (0..opts.hosts.max(1)).map(|i| Site::new(&mut rng, i, stacks[i % stacks.len()], opts)).collect();
        let n = (300 + opts.lines / 30).min(200_000) as usize;
        let visitors = (0..n).map(|_| address(&mut rng)).collect();
        let mut g = Generator {
            opts,
            rng,
            sites,
            visitors,
            queue: Default::default(),
            plans: Vec::new(),
            pending: Vec::new(),
            written: Vec::new(),
            header_day: None,
            first_seen: Vec::new(),
        };
        g.plan_shells();
        g
    }

    fn end(&self) -> i64 {
        self.opts.start + i64::from(self.opts.days) * 86_400
    }

    /// Plans every shell: where it is, when it is called, how.
    fn plan_shells(&mut self) {
        let baseline_end = self.opts.start + i64::from(self.opts.baseline_days) * 86_400;
        let end = self.end();
        let mut taken = std::collections::HashSet::new();
        for k in 0..self.opts.webshells {
            let site = k % self.sites.len();
            let (ext, folder) = {
                let s = &self.sites[site];
                let ext = s.script_ext(&mut self.rng);
                (ext, s.shell_folder(&mut self.rng))
            };
            let rng = &mut self.rng;
            let mut path;
            loop {
                let name = match rng.below(5) {
                    0 => format!("{}.{ext}", rng.pick(&["cache", "config", "db", "lib", "index", "upload"])),
                    1 => format!("{}-{}.{ext}", rng.pick(WORDS), rng.hex(4)),
                    2 => format!("{}{}.{ext}", rng.pick(&["img", "thumb", "x", "s"]), rng.below(100)),
                    3 => format!("{}.jpg.{ext}", rng.pick(WORDS)),
                    _ => format!("{}.{ext}", rng.hex(6)),
                };
                path = format!("{folder}/{name}");
                if taken.insert((site, path.clone())) {
                    break;
                }
            }
            let first = baseline_end + rng.below(((end - baseline_end) * 3 / 4).max(1) as u64) as i64;
            let hits = rng.range(6, 48);
            let style = *rng.pick(&["post", "post", "get-param", "mixed"]);
            let attackers = [address(rng), address(rng)];
            let agent =
                (*rng.pick(&[BROWSERS[0], BROWSERS[3], "python-requests/2.31.0", "curl/8.5.0"])).to_string();
            let param = *rng.pick(&["cmd", "c", "x", "q", "exec"]);
            let iis = self.opts.format == Format::Iis;
            let mut t = first;
            let mut reqs = Vec::new();
            for h in 0..hits {
                let spelled = if h > 0 && rng.chance(0.3) { evasive(rng, &path, iis) } else { path.clone() };
                let get = h == 0 || style == "get-param" || (style == "mixed" && rng.chance(0.5));
                let target = if get && h > 0 {
                    format!(
                        "{spelled}?{param}={}",
                        rng.pick(&[
                            "id",
                            "whoami",
                            "uname%20-a",
                            "ls%20-la",
                            "cat%20/etc/passwd",
                            "dir",
                            "net%20user"
                        ])
                    )
                } else {
                    spelled
                };
                let req = Request {
                    time: t,
                    host: site,
                    client: attackers[usize::from(rng.chance(0.2))].clone(),
                    method: if get { "GET" } else { "POST" },
                    target,
                    status: if rng.chance(0.92) { 200 } else { 500 },
                    bytes: rng.range(20, 24_000),
                    referer: "-".into(),
                    agent: agent.clone(),
                    millis: rng.range(30, 2500),
                };
                reqs.push((t, req));
                // Calls come in bursts: seconds apart, sometimes hours later.
                t += if rng.chance(0.15) {
                    rng.range(3600, 12 * 3600) as i64
                } else {
                    rng.range(2, 90) as i64
                };
                t = t.min(end - 1);
            }
            self.plans.push(Plan {
                shell: Shell {
                    host: self.sites[site].host.clone(),
                    path,
                    hits,
                    first_seen: rfc3339(first),
                    style,
                },
                hits: reqs,
            });
        }
        for (i, p) in self.plans.iter_mut().enumerate() {
            for (t, r) in p.hits.drain(..) {
                self.pending.push((t, i, r));
            }
        }
        self.pending.sort_by_key(|(t, i, _)| std::cmp::Reverse((*t, *i)));
        self.written = vec![0; self.plans.len()];
        self.first_seen = vec![None; self.plans.len()];
    }

    fn truth(&self) -> Vec<Shell> {
        let mut v: Vec<Shell> = self
            .plans
            .iter()
            .zip(&self.written)
            .zip(&self.first_seen)
            .filter(|((_, n), _)| **n > 0)
            .map(|((p, n), first)| Shell {
                hits: *n,
                first_seen: first.map_or_else(|| p.shell.first_seen.clone(), rfc3339),
                ..p.shell.clone()
            })
            .collect();
        v.sort_by(|a, b| a.first_seen.cmp(&b.first_seen));
        v
    }

    /// The time of line `i` of `n`: days share the lines alike, each day in the site's rhythm.
    fn time_at(&self, i: u64) -> i64 {
        let n = self.opts.lines.max(1);
        let days = u64::from(self.opts.days.max(1));
        let day = i * days / n;
        let first = (day * n).div_ceil(days);
        let next = ((day + 1) * n).div_ceil(days);
        let u = (i - first) as f64 / (next - first).max(1) as f64;
        self.opts.start + day as i64 * 86_400 + time_of_day(u)
    }

    fn run(&mut self, out: &mut impl Write) -> io::Result<()> {
        for i in 0..self.opts.lines {
            let t = self.time_at(i);
            let req = match self.pending.last() {
                Some((due, _, _)) if *due <= t => {
                    let (_, plan, mut r) = self.pending.pop().unwrap();
                    self.written[plan] += 1;
                    self.first_seen[plan].get_or_insert(t);
                    r.time = t;
                    r
                }
                _ => {
                    if self.queue.is_empty() {
                        self.visit(t);
                    }
                    let mut r = self.queue.pop_front().unwrap();
                    r.time = t;
                    r
                }
            };
            self.write(out, &req)?;
        }
        Ok(())
    }

    fn visitor(&mut self) -> String {
        let i = self.rng.tail(self.visitors.len());
        self.visitors[i].clone()
    }

    /// Queues the requests of one visit: a browser's page and its assets, a crawler's fetch, a
    /// scanner's probes, a monitor's check.
    fn visit(&mut self, t: i64) {
        let site = self.rng.below(self.sites.len() as u64) as usize;
        let roll = self.rng.unit();
        if roll < 0.03 {
            self.scan(t, site);
        } else if roll < 0.05 {
            let client = "198.51.100.7".to_string();
            self.push(
                t,
                site,
                client,
                "HEAD",
                "/".into(),
                200,
                0,
                "-".into(),
                "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)".into(),
            );
        } else if roll < 0.14 {
            let agent = (*self.rng.pick(CRAWLERS)).to_string();
            let client = format!("66.249.{}.{}", 64 + self.rng.below(16), self.rng.range(1, 254));
            let (target, status, bytes) = self.page_view(t, site);
            self.push(t, site, client, "GET", target, status, bytes, "-".into(), agent);
        } else {
            self.browse(t, site);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        t: i64,
        host: usize,
        client: String,
        method: &'static str,
        target: String,
        status: u16,
        bytes: u64,
        referer: String,
        agent: String,
    ) {
        let millis = self.rng.range(1, 400);
        self.queue.push_back(Request {
            time: t,
            host,
            client,
            method,
            target,
            status,
            bytes,
            referer,
            agent,
            millis,
        });
    }

    fn scan(&mut self, t: i64, site: usize) {
        let client = address(&mut self.rng);
        let agent = (*self.rng.pick(SCANNERS)).to_string();
        for _ in 0..self.rng.range(1, 6) {
            let probe = (*self.rng.pick(PROBES)).to_string();
            let status = if self.rng.chance(0.85) { 404 } else { 403 };
            let method = if self.rng.chance(0.8) { "GET" } else { "POST" };
            let bytes = self.rng.range(150, 500);
            self.push(t, site, client.clone(), method, probe, status, bytes, "-".into(), agent.clone());
        }
    }

    /// A page someone reads now: its target, status and size.
    fn page_view(&mut self, t: i64, site: usize) -> (String, u16, u64) {
        let rng = &mut self.rng;
        let s = &self.sites[site];
        let roll = rng.unit();
        let published = s.posts.partition_point(|(pt, _)| *pt <= t);
        let p: Page = if roll < 0.2 && published > 0 {
            // Readers favour the latest posts.
            let back = rng.tail(published);
            page(s.posts[published - 1 - back].1.clone(), Kind::Dynamic, Query::Campaign, 0.0)
        } else if roll < 0.3 && !s.archive.is_empty() {
            s.archive[rng.tail(s.archive.len())].clone()
        } else if roll < 0.36 && s.release.as_ref().is_some_and(|(rt, _)| *rt <= t) {
            s.release.as_ref().unwrap().1.clone()
        } else {
            s.pages[rng.tail(s.pages.len())].clone()
        };
        let query = match p.query {
            Query::None => None,
            Query::Id => Some(format!("id={}", rng.range(1, 4000))),
            Query::Search => Some(format!("q={}", rng.pick(WORDS))),
            Query::Paging => rng.chance(0.5).then(|| format!("page={}", rng.range(2, 30))),
            Query::Campaign => rng.chance(0.15).then(|| {
                format!(
                    "utm_source={}&utm_medium=email&utm_campaign={}",
                    rng.pick(&["newsletter", "partner", "social"]),
                    rng.pick(WORDS)
                )
            }),
            Query::Action => {
                Some(format!("action={}", rng.pick(&["reply", "edit", "heartbeat", "preview", "vote"])))
            }
        };
        let mut target = p.path.clone();
        if let Some(q) = query {
            target.push('?');
            target.push_str(&q);
        }
        let status = if rng.chance(0.01) {
            404
        } else if p.kind == Kind::Dynamic && rng.chance(0.003) {
            500
        } else {
            200
        };
        let base = 2_000 + stable(&p.path) % 60_000;
        let bytes = match (status, p.kind) {
            (404, _) => 512,
            (_, Kind::Static) => base,
            _ => base + rng.below(base / 4 + 1),
        };
        (target, status, bytes)
    }

    fn browse(&mut self, t: i64, site: usize) {
        let client = self.visitor();
        let agent = (*self.rng.pick(BROWSERS)).to_string();
        let (target, status, bytes) = self.page_view(t, site);
        let path = target.split('?').next().unwrap().to_string();
        let post = {
            let s = &self.sites[site];
            s.pages
                .iter()
                .chain(s.release.iter().map(|(_, p)| p))
                .find(|p| p.path == path)
                .map_or(0.0, |p| p.post)
        };
        let method = if self.rng.chance(post) { "POST" } else { "GET" };
        let host = self.sites[site].host.clone();
        let referer = if self.rng.chance(0.4) {
            "-".to_string()
        } else if self.rng.chance(0.5) {
            "https://www.google.com/".to_string()
        } else {
            format!("https://{host}/")
        };
        let status = if method == "POST" && status == 200 && self.rng.chance(0.3) { 302 } else { status };
        self.push(t, site, client.clone(), method, target.clone(), status, bytes, referer, agent.clone());
        if method == "POST" || status != 200 {
            return;
        }
        // The page's assets: a first visit fetches them, a return visit mostly revalidates (304).
        let page_url = format!("https://{host}{target}");
        let revisit = self.rng.chance(0.4);
        let version = usize::from(t >= self.sites[site].deployed_at);
        let n_assets = self.rng.below(4) as usize;
        for k in 0..n_assets {
            let a = self.sites[site].assets[version][k].clone();
            let (st, b) = if revisit { (304, 0) } else { (200, 8_000 + stable(&a) % 200_000) };
            self.push(t, site, client.clone(), "GET", a, st, b, page_url.clone(), agent.clone());
        }
        for _ in 0..self.rng.below(3) {
            let i = self.rng.tail(self.sites[site].images.len());
            let img = self.sites[site].images[i].clone();
            let b = 3_000 + stable(&img) % 400_000;
            self.push(t, site, client.clone(), "GET", img, 200, b, page_url.clone(), agent.clone());
        }
    }

    // ---- formats ----------------------------------------------------------------------------------

    fn write(&mut self, out: &mut impl Write, r: &Request) -> io::Result<()> {
        let host = &self.sites[r.host].host;
        let c = clock(r.time);
        let bytes = if r.bytes == 0 && r.status == 304 { "-".to_string() } else { r.bytes.to_string() };
        const MONTHS: [&str; 12] =
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let clf_time = format!(
            "[{:02}/{}/{}:{:02}:{:02}:{:02} +0000]",
            c.d,
            MONTHS[c.mo as usize - 1],
            c.y,
            c.h,
            c.mi,
            c.s
        );
        match self.opts.format {
            Format::Combined | Format::Vhost => {
                if self.opts.format == Format::Vhost {
                    let port = if stable(&r.client).is_multiple_of(10) { 80 } else { 443 };
                    write!(out, "{host}:{port} ")?;
                }
                writeln!(
                    out,
                    "{} - - {clf_time} \"{} {} HTTP/1.1\" {} {bytes} \"{}\" \"{}\"",
                    r.client, r.method, r.target, r.status, r.referer, r.agent
                )
            }
            Format::Common => {
                writeln!(
                    out,
                    "{} - - {clf_time} \"{} {} HTTP/1.1\" {} {bytes}",
                    r.client, r.method, r.target, r.status
                )
            }
            Format::Json => {
                let line = serde_json::json!({
                    "ts": rfc3339(r.time),
                    "host": host,
                    "remote_addr": r.client,
                    "method": r.method,
                    "uri": r.target,
                    "status": r.status,
                    "bytes_sent": r.bytes,
                    "request_time": r.millis as f64 / 1000.0,
                    "http_referer": r.referer,
                    "user_agent": r.agent,
                });
                writeln!(out, "{line}")
            }
            Format::Iis => {
                let day = r.time.div_euclid(86_400);
                if self.header_day != Some(day) {
                    self.header_day = Some(day);
                    writeln!(out, "#Software: Microsoft Internet Information Services 10.0")?;
                    writeln!(out, "#Version: 1.0")?;
                    writeln!(out, "#Date: {}-{:02}-{:02} {:02}:{:02}:{:02}", c.y, c.mo, c.d, c.h, c.mi, c.s)?;
                    writeln!(out, "#Fields: {IIS_FIELDS}")?;
                }
                let (stem, query) = r.target.split_once('?').unwrap_or((&r.target, "-"));
                let plus =
                    |s: &str| if s.is_empty() || s == "-" { "-".to_string() } else { s.replace(' ', "+") };
                writeln!(
                    out,
                    "{}-{:02}-{:02} {:02}:{:02}:{:02} 10.0.0.5 {} {stem} {query} 443 - {} {} {} {host} {} 0 0 {} {}",
                    c.y,
                    c.mo,
                    c.d,
                    c.h,
                    c.mi,
                    c.s,
                    r.method,
                    r.client,
                    plus(&r.agent),
                    plus(&r.referer),
                    r.status,
                    r.bytes,
                    r.millis
                )
            }
        }
    }
}

/// The generator's IIS `#Fields` (GoAccess needs them spelt out in `scripts/bench`).
pub const IIS_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes time-taken";

/// Another spelling of `path` that the server maps to the same file.
fn evasive(rng: &mut Rng, path: &str, iis: bool) -> String {
    let (head, name) = path.rsplit_once('/').unwrap();
    let choices: &[&str] =
        if iis { &["encode", "dot", "slash", "case", "backslash"] } else { &["encode", "dot", "slash"] };
    match *rng.pick(choices) {
        "encode" => {
            // One letter of the name percent-encoded (%73 for s).
            let i = name.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(0);
            let b = name.as_bytes()[i];
            format!("{head}/{}%{b:02X}{}", &name[..i], &name[i + 1..])
        }
        "dot" => match head.rsplit_once('/') {
            Some((up, last)) if !last.is_empty() => format!("{up}/{last}/../{last}/{name}"),
            _ => format!("{head}/./{name}"),
        },
        "slash" => format!("{head}//{name}"),
        "case" => path.to_ascii_uppercase(),
        _ => path.replace('/', "\\").replacen('\\', "/", 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for d in [-1000, 0, 20_000, 20_727, 60_000] {
            let (y, m, dd) = civil(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(rfc3339(days_from_civil(2026, 10, 1) * 86_400 + 3661), "2026-10-01T01:01:01Z");
    }
}
