//! `find -printf` listings, in the one format documented in `--help`:
//!
//! ```text
//! find /var/www -printf '%y %s %T@ %C@ %U %G %m %u %p\0%l\0'    # NUL-terminated: any name survives
//! find /var/www -printf '%y %s %T@ %C@ %U %G %m %u %p\t%l\n'    # one line per entry, for simple names
//! ```
//!
//! Type letter, size, modification and status-change times as epoch seconds with a fraction, uid, gid,
//! permission bits in octal, owner name (find prints the uid when it has no name), the path; then the
//! symlink text (empty for anything else) as its own NUL-terminated string, or after a tab. A listing
//! holding any NUL byte is read in the first form, else as lines.

use std::io::BufRead;

use anyhow::{Context, Result, bail};

use super::{epoch, octal};
use crate::input::Input;
use crate::inventory::entry::{Entry, Type};

/// Reads a find listing (see the module documentation).
pub fn read(input: Input, sink: &mut dyn FnMut(Entry) -> Result<()>) -> Result<u64> {
    let name = input.name.clone();
    let mut r = input.into_reader();
    let nul = memchr::memchr(0, r.fill_buf().with_context(|| format!("{name}: read error"))?).is_some();
    let mut n = 0u64;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    loop {
        a.clear();
        b.clear();
        let term = if nul { 0 } else { b'\n' };
        if r.read_until(term, &mut a).with_context(|| format!("{name}: read error"))? == 0 {
            break;
        }
        n += 1;
        let ctx = || if nul { format!("{name}: record {n}") } else { format!("{name}:{n}") };
        let (head, target): (&[u8], &[u8]) = if nul {
            let Some(head) = a.strip_suffix(b"\0") else {
                bail!("{}: truncated (no NUL after the path)", ctx());
            };
            r.read_until(0, &mut b).with_context(|| format!("{name}: read error"))?;
            let Some(t) = b.strip_suffix(b"\0") else {
                bail!("{}: no symlink field (%l\\0) after the path; use the -printf format in --help", ctx());
            };
            (head, t)
        } else {
            let line = a.strip_suffix(b"\n").unwrap_or(&a);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                n -= 1;
                continue;
            }
            match line.iter().rposition(|&c| c == b'\t') {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (line, &line[..0]),
            }
        };
        match parse(head, target) {
            Ok(Some(e)) => sink(e)?,
            Ok(None) => {}
            Err(why) => {
                bail!("{}: {why} (expected find -printf '%y %s %T@ %C@ %U %G %m %u %p\\0%l\\0')", ctx())
            }
        }
    }
    Ok(n)
}

/// One entry: `None` for a folder.
fn parse(head: &[u8], target: &[u8]) -> std::result::Result<Option<Entry>, String> {
    let mut f = head.splitn(9, |&c| c == b' ');
    let mut field = |what: &str| -> std::result::Result<&str, String> {
        let v = f.next().ok_or_else(|| format!("no {what}"))?;
        std::str::from_utf8(v).map_err(|_| format!("{what} is not text"))
    };
    let y = field("type")?;
    let ty = match y {
        "d" => None,
        "f" => Some(Type::File),
        "l" => Some(Type::Symlink),
        "p" | "s" | "c" | "b" | "D" | "U" | "N" | "L" => Some(Type::Other),
        _ => return Err(format!("bad type {y:?}")),
    };
    let size = field("size")?.parse::<u64>().map_err(|_| "bad size".to_string())?;
    let mtime = epoch(field("mtime")?).ok_or("bad %T@ time")?;
    let ctime = epoch(field("ctime")?).ok_or("bad %C@ time")?;
    let uid = field("uid")?.parse::<u32>().map_err(|_| "bad uid".to_string())?;
    let gid = field("gid")?.parse::<u32>().map_err(|_| "bad gid".to_string())?;
    let mode = octal(field("mode")?).ok_or("bad mode")?;
    let owner = field("owner")?.to_string();
    let path = f.next().filter(|p| !p.is_empty()).ok_or("no path")?;
    let Some(ty) = ty else { return Ok(None) };
    if ty != Type::Symlink && !target.is_empty() {
        return Err("a symlink target on an entry that is not a symlink".into());
    }
    let mut e = Entry::new(path.to_vec(), ty);
    e.size = Some(size);
    e.mtime = Some(mtime);
    e.ctime = Some(ctime);
    e.uid = Some(uid);
    e.gid = Some(gid);
    e.mode = Some(mode & 0o7777);
    if owner != uid.to_string() && !owner.is_empty() {
        e.owner = Some(owner);
    }
    if ty == Type::Symlink {
        e.target = Some(target.to_vec());
    }
    Ok(Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(data: &[u8]) -> Result<Vec<Entry>> {
        super::super::read_all(super::super::Kind::Find, "t", data)
    }

    #[test]
    fn nul_records_keep_any_name() {
        let data = b"d 4096 1.0 1.0 0 0 755 root /var/www\0\0\
f 5 1698765432.25 1698765433.0 33 33 644 www-data /var/www/a b\nc.php\0\0\
l 11 1.0 2.0 0 0 777 root /var/www/link\0/etc/passwd\0";
        let v = entries(data).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].file, b"/var/www/a b\nc.php");
        assert_eq!(v[0].owner.as_deref(), Some("www-data"));
        assert_eq!(v[0].mtime.unwrap().0, 1_698_765_432_250);
        assert_eq!(v[0].mode, Some(0o644));
        assert_eq!(v[1].target.as_deref(), Some(&b"/etc/passwd"[..]));
    }

    #[test]
    fn lines_and_errors() {
        let v = entries(b"f 5 1.0 1.0 1000 1000 600 1000 /srv/x.php\t\nl 3 1 1 0 0 777 root /srv/l\tx y\n")
            .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].owner, None);
        assert_eq!(v[1].target.as_deref(), Some(&b"x y"[..]));
        let err = entries(b"f 5 1.0 1.0 0 0 644 root /a\t\n-rw-r--r-- root/root 5 2026-10-20 11:02 a\n")
            .unwrap_err();
        assert!(format!("{err:#}").starts_with("t:2: bad type"), "{err:#}");
        // `%p\0` alone: the next record is taken as the symlink field and refused.
        let err = entries(b"f 5 1.0 1.0 0 0 644 root /a\0f 5 1.0 1.0 0 0 644 root /b\0").unwrap_err();
        assert!(format!("{err:#}").contains("record 1: a symlink target"), "{err:#}");
    }
}
