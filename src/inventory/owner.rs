//! User names of uids, from a passwd file (`/etc/passwd` when walking this machine's disk; the image's
//! own `etc/passwd` with `--passwd` when the tree comes from another machine).

use std::collections::HashMap;
use std::path::Path;

/// uid → user name.
#[derive(Debug, Default)]
pub struct Owners(HashMap<u32, String>);

impl Owners {
    /// Reads a passwd file (`name:password:uid:...` lines); a file that cannot be read gives no names.
    pub fn load(path: &Path) -> std::io::Result<Owners> {
        Ok(Owners::parse(&std::fs::read(path)?))
    }

    /// Parses passwd lines; the first name of a uid wins, as `getpwuid` answers.
    pub fn parse(text: &[u8]) -> Owners {
        let mut m = HashMap::new();
        for line in text.split(|&b| b == b'\n') {
            let mut f = line.split(|&b| b == b':');
            let (Some(name), Some(_), Some(uid)) = (f.next(), f.next(), f.next()) else { continue };
            let Some(uid) = std::str::from_utf8(uid).ok().and_then(|u| u.parse::<u32>().ok()) else {
                continue;
            };
            if let Ok(name) = std::str::from_utf8(name)
                && !name.is_empty()
                && !name.starts_with('#')
            {
                m.entry(uid).or_insert_with(|| name.to_string());
            }
        }
        Owners(m)
    }

    /// The name of `uid`, if known.
    pub fn name(&self, uid: u32) -> Option<&str> {
        self.0.get(&uid).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwd_lines() {
        let o = super::Owners::parse(
            b"root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/x\nbad\ntoor:x:0:0\n",
        );
        assert_eq!(o.name(0), Some("root"));
        assert_eq!(o.name(33), Some("www-data"));
        assert_eq!(o.name(1), None);
    }
}
