//! Walking a root on disk: depth first, the entries of each folder sorted by name bytes, symlinks
//! reported and never followed (so no loop is possible and a linked folder is not descended), fifos,
//! sockets and devices never opened.
//!
//! `walkdir` does the walk: it reads one folder at a time (memory is the listings of the folders on the
//! current path, not the tree), sorts with `sort_by_file_name` (byte order on Unix), and hands back
//! an error for a folder it cannot read with its path, which becomes a message and a count, never the
//! end of the walk. Each entry is then `lstat`ed once, and a regular file hashed.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::Result;
use walkdir::WalkDir;

use super::Emitter;
use super::entry::{Entry, Type};
use super::glob::{Glob, excluded};
use super::hash::Hasher;
use super::owner::Owners;
use super::roots::{Root, bytes};
use crate::time::Timestamp;

/// What a walk needs besides the root.
pub struct Walk<'a> {
    /// Every root (a folder that is another root is left to that root's walk).
    pub roots: &'a [Root],
    /// `--exclude`.
    pub excludes: &'a [Glob],
    /// `Some` with `--hash sha256`.
    pub hasher: Option<Hasher>,
    /// uid → user name.
    pub owners: &'a Owners,
}

impl Walk<'_> {
    /// Walks root `i`, printing a record per file. False when the root itself could not be read (said
    /// on stderr); an error only when the output fails.
    pub fn root(&mut self, i: usize, emit: &mut Emitter) -> Result<bool> {
        let root = &self.roots[i];
        let mut it = WalkDir::new(&root.dir).follow_links(false).sort_by_file_name().into_iter();
        while let Some(next) = it.next() {
            let ent = match next {
                Ok(ent) => ent,
                Err(e) => {
                    let path = e.path().unwrap_or(&root.dir).display().to_string();
                    let why = e.io_error().map_or_else(|| e.to_string(), ToString::to_string);
                    if e.depth() == 0 {
                        emit.warn(format!("{path}: cannot read the root: {why}"));
                        return Ok(false);
                    }
                    emit.warn(format!("{path}: cannot read folder: {why}"));
                    emit.stats.unreadable_dirs += 1;
                    continue;
                }
            };
            let is_dir = ent.file_type().is_dir();
            if ent.depth() == 0 {
                if is_dir {
                    continue;
                }
                emit.warn(format!("{}: the root is not a folder", root.dir.display()));
                return Ok(false);
            }
            let rel = ent.path().strip_prefix(&root.dir).map_or(bytes(ent.path()), bytes);
            if excluded(self.excludes, rel) {
                if is_dir {
                    it.skip_current_dir();
                }
                emit.stats.excluded += 1;
                continue;
            }
            if is_dir {
                if self.roots.iter().enumerate().any(|(j, r)| j != i && r.dir == ent.path()) {
                    it.skip_current_dir();
                }
                continue;
            }
            let hint = if ent.file_type().is_symlink() {
                Type::Symlink
            } else if ent.file_type().is_file() {
                Type::File
            } else {
                Type::Other
            };
            let e =
                describe(ent.path(), hint, self.hasher.as_mut(), self.owners, &mut emit.stats.bytes_hashed);
            emit.emit(root, rel, &e)?;
        }
        Ok(true)
    }
}

/// Everything `lstat`, `readlink` and a read tell about the entry at `path`, which the folder listing
/// said is a `hint`. Whatever fails is said in the entry's `error`: a file gone since the folder was
/// read (`vanished`), one that cannot be read (permission denied); the entry keeps what was known.
pub fn describe(
    path: &Path,
    hint: Type,
    hasher: Option<&mut Hasher>,
    owners: &Owners,
    hashed: &mut u64,
) -> Entry {
    let mut e = Entry::new(bytes(path).to_vec(), hint);
    let md = match std::fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(err) => {
            e.error = Some(if err.kind() == io::ErrorKind::NotFound {
                "vanished during the walk".to_string()
            } else {
                format!("cannot stat: {err}")
            });
            return e;
        }
    };
    e.ty = Type::from_mode(md.mode()).unwrap_or(Type::Other);
    e.size = Some(md.size());
    e.mtime = Some(time(md.mtime(), md.mtime_nsec()));
    e.ctime = Some(time(md.ctime(), md.ctime_nsec()));
    e.uid = Some(md.uid());
    e.gid = Some(md.gid());
    e.owner = owners.name(md.uid()).map(str::to_string);
    e.mode = Some(md.mode() & 0o7777);
    match e.ty {
        Type::Symlink => match std::fs::read_link(path) {
            Ok(t) => e.target = Some(bytes(&t).to_vec()),
            Err(err) => e.error = Some(read_error(&err)),
        },
        Type::File => {
            if let Some(h) = hasher {
                match h.file(path) {
                    Ok((digest, n)) => {
                        e.sha256 = Some(crate::digest::Digest(digest));
                        *hashed += n;
                    }
                    Err(err) => e.error = Some(read_error(&err)),
                }
            }
        }
        Type::Other => {}
    }
    e
}

fn read_error(err: &io::Error) -> String {
    if err.kind() == io::ErrorKind::NotFound {
        "vanished before it was read".to_string()
    } else {
        format!("cannot read: {err}")
    }
}

/// An instant from `st_*time` seconds and nanoseconds (milliseconds kept, the rest dropped).
pub fn time(secs: i64, nsec: i64) -> Timestamp {
    Timestamp(secs.saturating_mul(1000).saturating_add(nsec.clamp(0, 999_999_999) / 1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_gone_since_the_listing_is_a_record_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gone.php");
        let mut n = 0;
        let e = describe(&p, Type::File, Some(&mut Hasher::default()), &Owners::default(), &mut n);
        assert_eq!(e.ty, Type::File);
        assert_eq!(e.error.as_deref(), Some("vanished during the walk"));
        assert!(e.sha256.is_none() && e.size.is_none());
        std::fs::write(&p, b"<?php").unwrap();
        let e = describe(&p, Type::File, Some(&mut Hasher::default()), &Owners::default(), &mut n);
        assert!(e.error.is_none() && e.sha256.is_some() && n == 5);
    }

    #[test]
    fn times_keep_milliseconds() {
        assert_eq!(time(1, 999_999_999), Timestamp(1999));
        assert_eq!(time(-1, 500_000_000), Timestamp(-500));
    }
}
