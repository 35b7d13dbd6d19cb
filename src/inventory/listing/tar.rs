//! `tar -tvf` listings, as GNU tar prints them (`src/list.c`, `print_header`):
//!
//! ```text
//! -rw-r--r-- www-data/www-data  1234 2026-10-20 11:02 ./var/www/html/index.php
//! lrwxrwxrwx root/root             0 2026-10-20 11:02 ./var/www/html/cur -> releases/42
//! hrw-r--r-- root/root             0 2026-10-20 11:02 ./var/www/html/b.php link to ./var/www/html/a.php
//! crw-rw-rw- root/root           1,3 2026-10-20 11:02 ./dev/null
//! ```
//!
//! Type and permissions, owner/group (names, or numbers with `--numeric-owner`), size (major,minor for a
//! device), date and time (minutes, seconds with `--full-time`), the name in tar's default escape
//! quoting (`\n`, `\\`, `\ooo` for other unprintable bytes). There are no hashes and no ctime, and the
//! time is tar's local time: run `TZ=UTC tar -tvf`, which this reader assumes. A hard link is a
//! regular file whose size the listing does not give.

use anyhow::{Result, bail};

use crate::input::Input;
use crate::inventory::entry::{Entry, Type};
use crate::time::Timestamp;

/// Reads a `tar -tv` listing.
pub fn read(input: Input, sink: &mut dyn FnMut(Entry) -> Result<()>) -> Result<u64> {
    let name = input.name.clone();
    let mut lines = input.lines();
    let mut n = 0;
    while let Some(l) = lines.next_line()? {
        if l.bytes.is_empty() {
            continue;
        }
        n += 1;
        match parse(l.bytes) {
            Ok(Some(e)) => sink(e)?,
            Ok(None) => {}
            Err(why) => bail!("{name}:{}: not a GNU `tar -tv` line: {why}", l.no),
        }
    }
    Ok(n)
}

fn token<'a>(line: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    while line.get(*pos) == Some(&b' ') {
        *pos += 1;
    }
    let start = *pos;
    while *pos < line.len() && line[*pos] != b' ' {
        *pos += 1;
    }
    (*pos > start).then(|| &line[start..*pos])
}

fn num<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// One line: `None` for a folder.
fn parse(line: &[u8]) -> std::result::Result<Option<Entry>, String> {
    let mut pos = 0;
    let perms = token(line, &mut pos).ok_or("empty")?;
    if perms.len() < 10 {
        return Err("no permissions field".into());
    }
    let ty = match perms[0] {
        b'd' => None,
        b'-' | b'h' | b'C' | b'S' => Some(Type::File),
        b'l' => Some(Type::Symlink),
        b'c' | b'b' | b'p' | b's' => Some(Type::Other),
        c => return Err(format!("unknown type {:?}", char::from(c))),
    };
    let mode = mode_bits(&perms[1..10]).ok_or("bad permissions")?;
    let owner = token(line, &mut pos).ok_or("no owner/group")?;
    let (user, group) = owner.split_at(owner.iter().position(|&b| b == b'/').ok_or("no owner/group")?);
    let group = &group[1..];
    let mut size = token(line, &mut pos).ok_or("no size")?;
    let device = size.contains(&b',');
    if size.ends_with(b",") {
        size = token(line, &mut pos).ok_or("no minor number")?;
    }
    let date = token(line, &mut pos).ok_or("no date")?;
    let time = token(line, &mut pos).ok_or("no time")?;
    let mtime = timestamp(date, time).ok_or("bad date or time (expected YYYY-MM-DD HH:MM)")?;
    let rest = line.get(pos + 1..).filter(|r| !r.is_empty()).ok_or("no name")?;
    let Some(ty) = ty else { return Ok(None) };
    let (name, target) = match perms[0] {
        b'l' => split(rest, b" -> ").ok_or("a symlink without -> target")?,
        b'h' => split(rest, b" link to ").ok_or("a hard link without link to")?,
        _ => (rest, &rest[..0]),
    };
    let mut e = Entry::new(unescape(name), ty);
    e.mtime = Some(mtime);
    e.mode = Some(mode);
    if !device && perms[0] != b'h' && ty != Type::Symlink {
        e.size = Some(num(size).ok_or("bad size")?);
    }
    match num::<u32>(user) {
        Some(uid) => e.uid = Some(uid),
        None if !user.is_empty() => e.owner = Some(String::from_utf8_lossy(user).into_owned()),
        None => {}
    }
    e.gid = num(group);
    if ty == Type::Symlink {
        e.target = Some(unescape(target));
    }
    Ok(Some(e))
}

fn split<'a>(s: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let i = s.windows(sep.len()).position(|w| w == sep)?;
    Some((&s[..i], &s[i + sep.len()..]))
}

/// `rwxr-xr-x` (with `s`, `S`, `t`, `T`) to permission bits.
fn mode_bits(p: &[u8]) -> Option<u32> {
    let mut m = 0u32;
    for (i, &c) in p.iter().enumerate() {
        let bit = 1 << (8 - i);
        let (set, special) = match (i % 3, c) {
            (_, b'-') => (false, false),
            (0, b'r') | (1, b'w') | (2, b'x') => (true, false),
            (2, b's' | b't') => (true, true),
            (2, b'S' | b'T') => (false, true),
            _ => return None,
        };
        if set {
            m |= bit;
        }
        if special {
            m |= [0o4000, 0o2000, 0o1000][i / 3];
        }
    }
    Some(m)
}

fn timestamp(date: &[u8], time: &[u8]) -> Option<Timestamp> {
    let d = std::str::from_utf8(date).ok()?;
    let t = std::str::from_utf8(time).ok()?;
    let mut dp = d.splitn(3, '-');
    let (y, mo, da) = (dp.next()?.parse().ok()?, dp.next()?.parse().ok()?, dp.next()?.parse().ok()?);
    let mut tp = t.splitn(3, ':');
    let (h, mi) = (tp.next()?.parse().ok()?, tp.next()?.parse().ok()?);
    let s = match tp.next() {
        Some(s) => s.split('.').next()?.parse().ok()?,
        None => 0,
    };
    if d.len() != 10 {
        return None;
    }
    Timestamp::from_utc(y, mo, da, h, mi, s, 0)
}

/// Undoes GNU tar's escape quoting.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 == s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let c = s[i + 1];
        let simple = match c {
            b'\\' => Some(b'\\'),
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'v' => Some(11),
            b'"' => Some(b'"'),
            b'?' => Some(b'?'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 2;
            continue;
        }
        let oct: Vec<u8> =
            s[i + 1..].iter().take(3).take_while(|b| (b'0'..=b'7').contains(b)).copied().collect();
        if oct.len() == 3 {
            out.push(oct.iter().fold(0u32, |v, &d| v * 8 + u32::from(d - b'0')) as u8);
            i += 4;
        } else {
            out.push(b'\\');
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_lines() {
        let e =
            parse(b"-rw-r--r-- www-data/33      1234 2026-10-20 11:02 ./var/www/a b.php").unwrap().unwrap();
        assert_eq!(e.file, b"./var/www/a b.php");
        assert_eq!(
            (e.size, e.mode, e.owner.as_deref(), e.gid),
            (Some(1234), Some(0o644), Some("www-data"), Some(33))
        );
        assert_eq!(e.mtime.unwrap().to_string(), "2026-10-20T11:02:00Z");
        let e = parse(b"lrwxrwxrwx 0/0 0 2026-10-20 11:02:33 ./var/www/cur -> ../releases/4\\n2")
            .unwrap()
            .unwrap();
        assert_eq!((e.ty, e.uid, e.size), (Type::Symlink, Some(0), None));
        assert_eq!(e.target.as_deref(), Some(&b"../releases/4\n2"[..]));
        let e = parse(b"crw-rw-rw- root/root 1,3 2026-10-20 11:02 ./dev/null").unwrap().unwrap();
        assert_eq!((e.ty, e.size), (Type::Other, None));
        let e = parse(b"-rwsr-xr-T root/root 5 2026-10-20 11:02 ./x\\303\\251\\\\").unwrap().unwrap();
        assert_eq!((e.mode, &e.file[..]), (Some(0o5754), "./xé\\".as_bytes()));
        assert_eq!(parse(b"drwxr-xr-x root/root 0 2026-10-20 11:02 ./var/www/").unwrap(), None);
        assert!(parse(b"f 5 1.0 1.0 0 0 644 root /a").is_err());
        assert!(parse(b"-rw-r--r--  0 root   root     1234 Oct 20 11:02 a").is_err());
    }
}
