//! Learned templating: a folder whose baseline holds many distinct names of one kind becomes one
//! template, and what the baseline says about each folder.
//!
//! `path-normalize` templates what is dynamic by its shape (numbers, hashes, UUIDs). What is dynamic by
//! *habit* can only be learned: a blog that publishes `/blog/{int}/{int}/some-slug/` every day, an
//! archive of `/docs/<word>/<slug>.html`, `/static/js/<name>.<hash>.js` bundles. Three rules:
//!
//! 1. **Folder family.** When the baseline holds at least `fold_min` distinct names of one kind in a
//!    folder, the folder's names of that kind become one template: `/blog/{int}/{int}/{name}/`,
//!    `/images/{name}.png`. A name's kind is its last extension (`html`, `png`), `dir` for a name with a
//!    trailing slash, `bare` for no extension, and `script:<ext>` for a server-side script name
//!    (anywhere in it: `x.php.jpg` is `script:php`). Script names fold only when the baseline itself held
//!    at least `fold_min_script` distinct scripts of that extension in that folder: a template must never
//!    let a new script hide behind static files.
//! 2. **Sibling folders.** When at least three sibling folders (`/docs/alpha/`, `/docs/river/`, …) hold
//!    together at least `2 × fold_min` distinct names of one non-script kind, the folder level folds too:
//!    `/docs/{dir}/{name}.html`.
//! 3. **New families.** New keys of one non-script kind in one folder, at least `fold_min` of them,
//!    are reported as one new finding (`/press/2026/{name}.pdf`) rather than one each. New scripts are
//!    never grouped: each could be a shell.
//!
//! A folded template is an ordinary key in the state; its members' keys are replaced by it.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::pathkind;

/// Placeholder for a folded file name.
pub const NAME: &str = "{name}";
/// Placeholder for a folded folder.
pub const DIR: &str = "{dir}";

/// Folding thresholds.
#[derive(Debug, Clone, Copy)]
pub struct FoldConfig {
    /// Distinct names of one non-script kind that make a folder family.
    pub fold_min: usize,
    /// Distinct script names of one extension that make a script folder family.
    pub fold_min_script: usize,
}

/// The kind of a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A name with a trailing slash (a directory-style URL).
    Dir,
    /// No extension.
    Bare,
    /// A static or unknown extension (lower case).
    Ext(String),
    /// A server-side script extension (lower case).
    Script(String),
}

impl Kind {
    /// True for script kinds.
    pub fn is_script(&self) -> bool {
        matches!(self, Kind::Script(_))
    }
}

/// A template split into its folder and last name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// Everything up to and including the last `/` before the name.
    pub folder: &'a str,
    /// The last segment (without a trailing slash).
    pub name: &'a str,
    /// True when the template ends with `/`.
    pub dir: bool,
}

/// Splits a template into folder and name; `None` for the root and non-paths.
pub fn split(t: &str) -> Option<Split<'_>> {
    let dir = t.len() > 1 && t.ends_with('/');
    let body = if dir { &t[..t.len() - 1] } else { t };
    let i = body.rfind('/')?;
    let name = &body[i + 1..];
    if name.is_empty() {
        return None;
    }
    Some(Split { folder: &body[..=i], name, dir })
}

/// The kind of a split name.
pub fn kind(s: &Split<'_>) -> Kind {
    if let Some(e) = pathkind::script_ext(s.name) {
        return Kind::Script(e.to_string());
    }
    if s.dir {
        return Kind::Dir;
    }
    match pathkind::extensions(s.name).last() {
        Some(e) => Kind::Ext(e),
        None => Kind::Bare,
    }
}

/// The family template of `folder` for `kind`.
pub fn family_template(folder: &str, kind: &Kind) -> String {
    match kind {
        Kind::Dir => format!("{folder}{NAME}/"),
        Kind::Bare => format!("{folder}{NAME}"),
        Kind::Ext(e) | Kind::Script(e) => format!("{folder}{NAME}.{e}"),
    }
}

/// The folder with its last segment replaced by `{dir}` (`/docs/river/` → `/docs/{dir}/`); `None` for
/// the root and for top-level folders, whose "siblings" would be every folder of the site.
pub fn parent_pattern(folder: &str) -> Option<String> {
    let body = folder.strip_suffix('/')?;
    let i = body.rfind('/')?;
    if body.len() == i + 1 || i == 0 {
        return None;
    }
    Some(format!("{}{DIR}/", &body[..=i]))
}

/// True when a template is itself a folded family.
pub fn is_family(t: &str) -> bool {
    t.contains(NAME)
}

/// A split-invariant 64-bit hash (FNV-1a, byte at a time) of the pieces that name a folder family, so
/// the rules can be looked up without building strings: `/docs/` + `{dir}/` hashes like `/docs/{dir}/`.
#[derive(Clone, Copy)]
struct KeyHash(u64);

impl KeyHash {
    fn new(host: &str) -> Self {
        KeyHash(0xcbf2_9ce4_8422_2325).bytes(host.as_bytes()).byte(0)
    }
    fn byte(self, b: u8) -> Self {
        KeyHash((self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
    }
    fn bytes(self, bs: &[u8]) -> Self {
        bs.iter().fold(self, |h, &b| h.byte(b))
    }
    /// The kind: a tag byte and the extension, lower-cased.
    fn kind(self, k: &KindRef<'_>) -> Self {
        let (tag, ext) = match k {
            KindRef::Dir => (1, ""),
            KindRef::Bare => (2, ""),
            KindRef::Ext(e) => (3, *e),
            KindRef::Script(e) => (4, *e),
        };
        ext.bytes().fold(self.byte(0).byte(tag), |h, b| h.byte(b.to_ascii_lowercase()))
    }
}

/// [`Kind`] without allocating: the extension borrowed as written.
enum KindRef<'a> {
    Dir,
    Bare,
    Ext(&'a str),
    Script(&'static str),
}

impl KindRef<'_> {
    fn of<'a>(s: &Split<'a>) -> KindRef<'a> {
        if let Some(e) = pathkind::script_ext(s.name) {
            return KindRef::Script(e);
        }
        if s.dir {
            return KindRef::Dir;
        }
        match pathkind::ext_slices(s.name).last() {
            Some(e) => KindRef::Ext(e),
            None => KindRef::Bare,
        }
    }
    fn is_script(&self) -> bool {
        matches!(self, KindRef::Script(_))
    }
}

/// The hash of `folder` with its last segment replaced by `{dir}`, without building it.
fn parent_hash(h: KeyHash, folder: &str) -> Option<KeyHash> {
    let body = folder.strip_suffix('/')?;
    let i = body.rfind('/')?;
    if body.len() == i + 1 || i == 0 {
        return None;
    }
    Some(h.bytes(&body.as_bytes()[..=i]).bytes(DIR.as_bytes()).byte(b'/'))
}

/// The folding rules learned from a baseline, and what the baseline says about each folder. Everything
/// is keyed by [`KeyHash`] so that learning from a million keys allocates almost nothing.
#[derive(Debug, Default)]
pub struct Rules {
    /// Folder families (host, folder, kind).
    l1: FxHashSet<u64>,
    /// Sibling-folder families (host, parent pattern, kind).
    l2: FxHashSet<u64>,
    /// (host, folder) → what the baseline held there.
    folders: FxHashMap<u64, FolderStats>,
    /// (host, parent pattern) → distinct script names in the sibling folders.
    sibling_scripts: FxHashMap<u64, u32>,
}

/// What a folder held in the baseline (distinct names).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FolderStats {
    /// Script names.
    pub scripts: u32,
    /// Other names (static files, directories, bare names).
    pub others: u32,
}

impl Rules {
    /// Learns rules from the baseline's keys (host, template), learned families included. The keys are
    /// distinct, so names within a folder and kind are too: counting them is enough.
    pub fn learn<'a>(baseline: impl Iterator<Item = (&'a str, &'a str)>, cfg: FoldConfig) -> Rules {
        let mut l1_names: FxHashMap<u64, u32> = FxHashMap::default();
        // Names under a parent pattern, and up to three distinct folders there.
        let mut l2_names: FxHashMap<u64, (u32, [u64; 3])> = FxHashMap::default();
        let mut rules = Rules::default();
        let dir_suffix = format!("{DIR}/");
        for (host, t) in baseline {
            let Some(s) = split(t) else { continue };
            let k = KindRef::of(&s);
            let h = KeyHash::new(host);
            let folder = h.bytes(s.folder.as_bytes());
            let fs = rules.folders.entry(folder.0).or_default();
            // A family stands for many names.
            let family = s.name == NAME || s.name.strip_prefix(NAME).is_some_and(|r| r.starts_with('.'));
            let weight = if family { cfg.fold_min_script.max(cfg.fold_min) as u32 } else { 1 };
            if k.is_script() {
                fs.scripts += weight;
                if let Some(pp) = parent_hash(h, s.folder) {
                    *rules.sibling_scripts.entry(pp.0).or_default() += weight;
                }
            } else {
                fs.others += weight;
            }
            if family {
                // A learned family: an L1 rule, or an L2 rule when its folder is itself folded.
                if s.folder.ends_with(&dir_suffix) {
                    rules.l2.insert(folder.kind(&k).0);
                } else {
                    rules.l1.insert(folder.kind(&k).0);
                }
                continue;
            }
            *l1_names.entry(folder.kind(&k).0).or_default() += if k.is_script() { 1 } else { 1 << 16 };
            if !k.is_script()
                && let Some(pp) = parent_hash(h, s.folder)
            {
                let e = l2_names.entry(pp.kind(&k).0).or_default();
                e.0 += 1;
                if !e.1.contains(&folder.0)
                    && let Some(slot) = e.1.iter_mut().find(|x| **x == 0)
                {
                    *slot = folder.0;
                }
            }
        }
        for (key, n) in l1_names {
            // Script names count in the low 16 bits, others above: a key has only one kind, so one of
            // the two is zero.
            let (scripts, others) = (n & 0xffff, n >> 16);
            if (scripts > 0 && scripts as usize >= cfg.fold_min_script)
                || (others > 0 && others as usize >= cfg.fold_min)
            {
                rules.l1.insert(key);
            }
        }
        for (key, (names, folders)) in l2_names {
            if folders.iter().all(|f| *f != 0) && names as usize >= 2 * cfg.fold_min {
                rules.l2.insert(key);
            }
        }
        rules
    }

    /// The family a key folds into, if any.
    pub fn family(&self, host: &str, template: &str) -> Option<String> {
        if is_family(template) {
            return None;
        }
        let s = split(template)?;
        let k = KindRef::of(&s);
        let h = KeyHash::new(host);
        if self.l1.contains(&h.bytes(s.folder.as_bytes()).kind(&k).0) {
            return Some(family_template(s.folder, &kind(&s)));
        }
        if k.is_script() {
            return None;
        }
        let pp = parent_hash(h, s.folder)?;
        if self.l2.contains(&pp.kind(&k).0) {
            return Some(family_template(&parent_pattern(s.folder)?, &kind(&s)));
        }
        None
    }

    /// What the baseline held in a key's folder, and distinct scripts in its sibling folders.
    pub fn folder(&self, host: &str, template: &str) -> (Option<FolderStats>, u32) {
        let Some(s) = split(template) else { return (None, 0) };
        let h = KeyHash::new(host);
        let fs = self.folders.get(&h.bytes(s.folder.as_bytes()).0).copied();
        let sib =
            parent_hash(h, s.folder).and_then(|pp| self.sibling_scripts.get(&pp.0).copied()).unwrap_or(0);
        (fs, sib)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: FoldConfig = FoldConfig { fold_min: 4, fold_min_script: 8 };

    #[test]
    fn splitting_and_kinds() {
        let s = split("/blog/{int}/slug-1/").unwrap();
        assert_eq!((s.folder, s.name, s.dir), ("/blog/{int}/", "slug-1", true));
        assert_eq!(kind(&s), Kind::Dir);
        assert_eq!(kind(&split("/a/x.PHP.jpg").unwrap()), Kind::Script("php".into()));
        assert_eq!(kind(&split("/a/x.tar.gz").unwrap()), Kind::Ext("gz".into()));
        assert_eq!(kind(&split("/articles/slug").unwrap()), Kind::Bare);
        assert!(split("/").is_none());
        assert_eq!(parent_pattern("/docs/river/").as_deref(), Some("/docs/{dir}/"));
        assert_eq!(parent_pattern("/"), None);
        assert_eq!(parent_pattern("/docs/"), None);
    }

    #[test]
    fn static_families_fold_scripts_do_not() {
        let mut keys: Vec<(String, String)> =
            (0..5).map(|i| ("h".into(), format!("/img/p{i}.png"))).collect();
        keys.extend((0..5).map(|i| ("h".to_string(), format!("/img/s{i}.php"))));
        let r = Rules::learn(keys.iter().map(|(h, t)| (h.as_str(), t.as_str())), CFG);
        assert_eq!(r.family("h", "/img/new.png").as_deref(), Some("/img/{name}.png"));
        assert_eq!(r.family("h", "/img/new.php"), None);
        assert_eq!(r.family("h", "/img/new.png.php"), None);
        assert_eq!(r.family("other", "/img/new.png"), None);
        assert_eq!(r.folder("h", "/img/x.php"), (Some(FolderStats { scripts: 5, others: 5 }), 0));
    }

    #[test]
    fn many_scripts_fold_and_siblings_fold_static() {
        let mut keys: Vec<(String, String)> =
            (0..8).map(|i| ("h".into(), format!("/app/m{i}.php"))).collect();
        for d in ["a", "b", "c"] {
            keys.extend((0..3).map(|i| ("h".to_string(), format!("/docs/{d}/p{i}.html"))));
        }
        let r = Rules::learn(keys.iter().map(|(h, t)| (h.as_str(), t.as_str())), CFG);
        assert_eq!(r.family("h", "/app/new.php").as_deref(), Some("/app/{name}.php"));
        assert_eq!(r.family("h", "/docs/zzz/new.html").as_deref(), Some("/docs/{dir}/{name}.html"));
        // A learned family in the state is a rule by itself.
        let fam = [("h", "/docs/{dir}/{name}.html"), ("h", "/b/{int}/{name}/")];
        let r = Rules::learn(fam.into_iter(), CFG);
        assert_eq!(r.family("h", "/docs/q/new.html").as_deref(), Some("/docs/{dir}/{name}.html"));
        assert_eq!(r.family("h", "/b/{int}/slug/").as_deref(), Some("/b/{int}/{name}/"));
    }
}
