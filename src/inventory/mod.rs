//! `webroot-inventory`: the files of a web root as JSON lines, one per file, for
//! `baseline-diff --inventory` to join with the requests (issue 19: the file side of the baseline).
//!
//! Most web shells are new files in the web root; this lists what is there, as the server would serve
//! it (`url_path`, spelled the way `path-normalize` spells a request for it), with what tells a script
//! from a file (`kind`), its hash, owner and times. It walks a folder on disk (`walk.rs`), or reads a
//! listing made elsewhere (`listing/`: `find -printf`, an AIDE database, osquery, `tar -tv`).
//! `roots.rs` maps folders to URL prefixes, `glob.rs` holds `--exclude`, `entry.rs` the record and its
//! JSON, `hash.rs` the streamed SHA-256, `owner.rs` user names.

pub mod entry;
pub mod glob;
pub mod hash;
pub mod listing;
pub mod owner;
pub mod roots;
pub mod walk;

use std::fmt::Display;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Parser, ValueEnum};

use crate::cli::{self, Output};
use crate::normalize::path::Profile;
use entry::{Entry, Type, write_record};
use glob::Glob;
use roots::Root;

/// The tool's name, in messages.
pub const NAME: &str = "webroot-inventory";

/// Examples shown by `--help` and the man page.
pub const EXAMPLES: &str = "\
webroot-inventory --root /var/www/html > inventory.jsonl
webroot-inventory --root /var/www/html=https://www.example.org/ --root /srv/blog=https://www.example.org/blog
webroot-inventory --root /mnt/web2/inetpub/wwwroot --server iis --exclude '*.log' --exclude App_Data
# What runs, newest first:
webroot-inventory --root /var/www/html | jq -r 'select(.kind == \"script\") | [.mtime, .url_path] | @tsv' | sort -r
# A disk image, read-only, with the image's own user names:
mount -o ro,noexec,nodev,noload /dev/mapper/evidence /mnt/evidence
webroot-inventory --root /mnt/evidence/var/www/html --passwd /mnt/evidence/etc/passwd > inventory.jsonl
# A listing taken on the server, read elsewhere:
ssh web1 \"find /var/www/html -printf '%y %s %T@ %C@ %U %G %m %u %p\\0%l\\0'\" | gzip > web1.find.gz
webroot-inventory --listing find --root /var/www/html web1.find.gz
# A backup or container image, without unpacking it:
TZ=UTC tar -tvf site.tar | webroot-inventory --listing tar --root ./var/www/html
webroot-inventory --listing aide --root /var/www/html=https://www.example.org/ /var/lib/aide/aide.db.gz";

/// Man-page sections beyond the flags.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "RECORD FORMAT",
        "\
One JSON object per line, per file (folders are not printed), fields absent when unknown:
  url_path      the URL path the file is served as: the root's URL prefix and the path below the root,
                spelled as path-normalize spells a request for it (bytes that may not stand raw in a
                path as %XX, upper-case hex, per byte; lower case with --server iis)
  host          the host of the root's URL prefix, when one was given
  file          the filesystem path as found or listed; bytes that are not UTF-8 as \\xHH
  type          file, symlink or other (fifo, socket, device)
  size          bytes (for a symlink, the length of its text)
  mtime, ctime  RFC 3339 UTC (milliseconds when known)
  uid, gid      numbers
  owner         the user name, from the listing or the passwd file
  mode          permission bits in octal, as \"0644\"
  sha256        lower-case hex, for regular files that were hashed or whose listing gives it
  kind          script (the server runs it: any extension of the name, as x.php.jpg, runs on that
                server in that folder), static (a static extension such as .png, .css, .html), other
  target        a symlink's text, with \"outside_root\": true when it resolves (lexically) outside its root
  error         what failed for this file (vanished, permission denied); the rest is what was known
For example:
  {\"url_path\":\"/images/x.php.jpg\",\"host\":\"www.example.org\",\"file\":\"/var/www/html/images/x.php.jpg\",
   \"type\":\"file\",\"size\":25,\"mtime\":\"2026-10-20T11:02:13.512Z\",\"ctime\":\"2026-12-07T11:33:35.381Z\",
   \"uid\":33,\"gid\":33,\"owner\":\"www-data\",\"mode\":\"0644\",
   \"sha256\":\"02f08def0e31aa93ff1b4d0c7691d6c1535fc50c8ad62a277b142fb33a9f7cdf\",\"kind\":\"script\"}

A walk prints the entries of each folder sorted by name bytes, depth first, so two inventories of the
same tree diff cleanly; a listing is printed in its own order. Symlinks are reported, never followed (a
linked folder is not descended); fifos, sockets and devices are never opened. A folder that is another
--root is left to that root.",
    ),
    (
        "LISTINGS",
        "\
--listing reads FILE (or stdin; gzip is detected) instead of walking; --root maps the listed paths
(leading ./ and / ignored, so ./var/www and /var/www match either) to URL prefixes, and entries outside
every root are skipped and counted. A line that does not parse stops with an error naming the input and
line: a file of the wrong format is an error, never an empty inventory.

find: run on the server, NUL-terminated so that any name survives:
  find /var/www/html -printf '%y %s %T@ %C@ %U %G %m %u %p\\0%l\\0'
(type, size, mtime and ctime as epoch seconds, uid, gid, octal permissions, owner, path, then the
symlink text as its own NUL-terminated field). Lines are accepted too, for names without newlines:
  find /var/www/html -printf '%y %s %T@ %C@ %U %G %m %u %p\\t%l\\n'

aide: an AIDE database (aide --init writes /var/lib/aide/aide.db.new.gz), plain or gzip; the @@db_spec
line names the columns; name, lname, perm, uid, gid, size, mtime, ctime and sha256 are read (sha256
from base64 to hex), the rest ignored.

osquery: the JSON array of
  osqueryi --json \"select f.path, f.size, f.mtime, f.ctime, f.uid, f.gid, f.mode, f.type, h.sha256 from file f left join hash h using (path) where f.path like '/var/www/html/%%'\"
(%% is osquery's recursive match). osquery gives no symlink target and no owner name.

tar: GNU tar's verbose listing, run with TZ=UTC (tar prints local time):
  TZ=UTC tar -tvf image.tar
No hashes, no ctime, times to the minute (to the second with --full-time); symlinks as a -> b.

Without --passwd, a listing's owner is only what it names (find %u, tar's user); a walk resolves
uids with /etc/passwd.",
    ),
    (
        "SUMMARY AND ERRORS",
        "\
At the end a summary goes to stderr: files, bytes hashed, symlinks, other entries, errors, excluded
and skipped entries (-q leaves it out). A file that vanished or cannot be read gets a record with error
and is named on stderr as webroot-inventory: FILE: reason; a folder that cannot be read is named and
counted. Neither is fatal: the exit status is 0 unless the arguments are wrong, the output cannot be
written, a listing does not parse, or no root could be read at all (2).",
    ),
];

/// The `--hash` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HashArg {
    /// SHA-256 of every regular file's contents.
    Sha256,
    /// Metadata only (a walk at directory-listing speed).
    None,
}

/// The `--server` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServerArg {
    /// Apache, nginx and most servers: case-sensitive paths.
    Generic,
    /// IIS: paths lower-cased, ASP.NET names are scripts.
    Iis,
    /// Servlet containers: `;` in a name is escaped, as `;params` are cut from requests.
    Java,
}

/// List a web root's files as JSON lines, as the server serves them.
///
/// Walks each --root folder on disk (or reads a listing made with find, AIDE, osquery or tar) and prints
/// one record per file: the URL path it is served as, spelled the way path-normalize spells a request
/// for it, whether the server would run it (kind), its SHA-256, size, times, owner and mode. Symlinks
/// are reported, never followed. For baseline-diff --inventory, which joins files with requests.
#[derive(Parser, Debug)]
#[command(name = "webroot-inventory", version, after_long_help = crate::manual::after_help(EXAMPLES))]
pub struct Args {
    /// A served folder and its URL prefix: `/var/www`, `/var/www=/`, `/srv/blog=/blog`,
    /// `/srv/blog=https://www.example.org/blog` (gives host). Repeatable; at least one.
    #[arg(long, value_name = "DIR[=URLPREFIX]")]
    pub root: Vec<String>,

    /// Leave out entries whose name (pattern without /) or path below the root (pattern with /)
    /// matches: `*.log`, `cache`, `wp-content/cache/**`. A matching folder is not descended.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Hash regular files' contents.
    #[arg(long, value_enum, default_value = "sha256")]
    pub hash: HashArg,

    /// How the server spells paths and what it runs (as path-normalize --profile).
    #[arg(long, value_enum, default_value = "generic")]
    pub server: ServerArg,

    /// Read a listing of this kind from FILE or stdin instead of walking (gzip is detected).
    ///
    /// find: `find /var/www/html -printf '%y %s %T@ %C@ %U %G %m %u %p\0%l\0'` (or, for names
    /// without newlines, `... %p\t%l\n`).
    ///
    /// aide: the database, such as /var/lib/aide/aide.db.gz (its @@db_spec names the columns).
    ///
    /// osquery: `osqueryi --json "select f.path, f.size, f.mtime, f.ctime, f.uid, f.gid, f.mode,
    /// f.type, h.sha256 from file f left join hash h using (path) where f.path like
    /// '/var/www/html/%%'"`.
    ///
    /// tar: `TZ=UTC tar -tvf image.tar` (GNU tar; no hashes, no ctime, times to the minute).
    #[arg(long, value_enum, value_name = "KIND")]
    pub listing: Option<listing::Kind>,

    /// Resolve uids to owner names with this passwd file (a walk uses /etc/passwd by default; a
    /// listing only with this option).
    #[arg(long, value_name = "FILE")]
    pub passwd: Option<PathBuf>,

    /// The listing to read, with --listing (`-` is stdin).
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: String,

    /// Do not print the summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Counts for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Regular files printed.
    pub files: u64,
    /// Symlinks printed.
    pub symlinks: u64,
    /// Fifos, sockets, devices printed.
    pub other: u64,
    /// Bytes read for hashing.
    pub bytes_hashed: u64,
    /// Records with an error.
    pub errors: u64,
    /// Folders that could not be read.
    pub unreadable_dirs: u64,
    /// Entries left out by --exclude.
    pub excluded: u64,
    /// Listed entries outside every root.
    pub outside: u64,
}

/// Writes records and keeps the counts.
pub struct Emitter {
    out: Output,
    buf: Vec<u8>,
    profile: Profile,
    /// The counts so far.
    pub stats: Stats,
}

impl Emitter {
    /// Prints the record of `e`, found at `rel` below `root`.
    pub fn emit(&mut self, root: &Root, rel: &[u8], e: &Entry) -> std::io::Result<()> {
        match e.ty {
            Type::File => self.stats.files += 1,
            Type::Symlink => self.stats.symlinks += 1,
            Type::Other => self.stats.other += 1,
        }
        if let Some(err) = &e.error {
            self.stats.errors += 1;
            self.warn(format!("{}: {err}", String::from_utf8_lossy(&e.file)));
        }
        let served = root.served(self.profile);
        let url = served.url_path(rel);
        let outside = e.target.as_deref().is_some_and(|t| root.outside(rel, t));
        self.buf.clear();
        write_record(&mut self.buf, e, &served, &url, outside);
        self.out.write_line(&self.buf)
    }

    /// A message on stderr.
    pub fn warn(&self, msg: impl Display) {
        cli::warn(NAME, msg);
    }
}

/// Runs `webroot-inventory`.
pub fn run(args: Args) -> Result<ExitCode> {
    let profile = match args.server {
        ServerArg::Generic => Profile::Generic,
        ServerArg::Iis => Profile::Iis,
        ServerArg::Java => Profile::Java,
    };
    if args.root.is_empty() {
        bail!("give at least one --root DIR[=URLPREFIX]");
    }
    if args.listing.is_none() && args.input != "-" {
        bail!("{}: a FILE is read only with --listing; to walk a folder, give it as --root", args.input);
    }
    let mut roots = args.root.iter().map(|s| Root::parse(s, profile)).collect::<Result<Vec<_>>>()?;
    let excludes: Vec<Glob> = args.exclude.iter().map(|g| Glob::new(g)).collect::<Result<_>>()?;
    let owners = match (&args.passwd, args.listing) {
        (Some(p), _) => owner::Owners::load(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
        (None, None) => owner::Owners::load(std::path::Path::new("/etc/passwd")).unwrap_or_default(),
        (None, Some(_)) => owner::Owners::default(),
    };
    let mut em = Emitter {
        out: Output::stdout(false),
        buf: Vec::with_capacity(1024),
        profile,
        stats: Stats::default(),
    };
    match args.listing {
        None => {
            for r in &mut roots {
                r.set_inside_walked();
            }
            let mut w = walk::Walk {
                roots: &roots,
                excludes: &excludes,
                hasher: (args.hash == HashArg::Sha256).then(hash::Hasher::default),
                owners: &owners,
            };
            let mut readable = 0;
            for i in 0..roots.len() {
                readable += usize::from(w.root(i, &mut em)?);
            }
            if readable == 0 {
                em.out.finish()?;
                bail!("no root could be read");
            }
        }
        Some(kind) => {
            for r in &mut roots {
                r.set_inside_listed();
            }
            let input = crate::input::open(&args.input)?;
            let name = input.name.clone();
            let n = listing::read(kind, input, &mut |mut e| {
                if e.owner.is_none()
                    && let Some(uid) = e.uid
                {
                    e.owner = owners.name(uid).map(str::to_string);
                }
                let key = roots::listed_key(&e.file, profile);
                let Some((i, rel)) = roots::find(&roots, &key) else {
                    em.stats.outside += 1;
                    return Ok(());
                };
                if glob::excluded_path(&excludes, rel) {
                    em.stats.excluded += 1;
                    return Ok(());
                }
                em.emit(&roots[i], rel, &e)?;
                Ok(())
            })?;
            if n == 0 {
                bail!("{name}: an empty listing");
            }
        }
    }
    let st = em.stats;
    em.out.finish()?;
    if !args.quiet {
        cli::warn(NAME, summary(&st, args.hash == HashArg::Sha256 && args.listing.is_none()));
    }
    Ok(ExitCode::SUCCESS)
}

/// The summary line.
pub fn summary(st: &Stats, hashed: bool) -> String {
    let t = cli::thousands;
    let mut s = format!("{} files", t(st.files));
    if hashed {
        s += &format!(" ({} bytes hashed)", t(st.bytes_hashed));
    }
    s += &format!(", {} symlinks, {} other, {} errors", t(st.symlinks), t(st.other), t(st.errors));
    if st.unreadable_dirs > 0 {
        s += &format!(", {} unreadable folders", t(st.unreadable_dirs));
    }
    if st.excluded > 0 {
        s += &format!(", {} excluded", t(st.excluded));
    }
    if st.outside > 0 {
        s += &format!(", {} outside every --root skipped", t(st.outside));
    }
    s
}
