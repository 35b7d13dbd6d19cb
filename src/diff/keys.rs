//! One host's keys: template → [`KeyStats`], in first-seen order, each with a stable index.
//!
//! A map from template to statistics is what the aggregation needs, but its lookup is the costliest
//! step of `baseline-diff --from-logs` on a long log: hashing the template, then comparing it with the
//! stored one, which on a big host is a cache miss every line. The normalisation cache already knows,
//! for a path it has seen, which template it gives; with a [`KeyMemo`] it also remembers which entry of
//! this table that template is, so that most lines reach their statistics by index, with no hashing and
//! no comparison of strings.
//!
//! Entries are never removed and never move to another index, and every table has an identity of its
//! own; a memo names both, so a memo from another table (another host, another run) is simply not used.

use std::cell::Cell;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use super::aggregate::KeyStats;

/// Where a template's statistics were found: which table, which entry. The default names no table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyMemo {
    table: u64,
    index: u32,
}

impl KeyMemo {
    /// A memo that names no table.
    pub const NONE: KeyMemo = KeyMemo { table: 0, index: 0 };
}

/// Table identities; 0 is no table.
static NEXT_TABLE: AtomicU64 = AtomicU64::new(1);

/// The keys of one host.
#[derive(Debug)]
pub struct Keys {
    id: u64,
    entries: Vec<(Box<str>, KeyStats)>,
    /// Indices into `entries`, hashed by template.
    index: HashTable<u32>,
}

impl Default for Keys {
    fn default() -> Self {
        Keys { id: NEXT_TABLE.fetch_add(1, Ordering::Relaxed), entries: Vec::new(), index: HashTable::new() }
    }
}

fn hash(template: &str) -> u64 {
    FxBuildHasher.hash_one(template)
}

impl Keys {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, template: &str) -> Option<u32> {
        self.index.find(hash(template), |&i| *self.entries[i as usize].0 == *template).copied()
    }

    /// The statistics of a template.
    pub fn get(&self, template: &str) -> Option<&KeyStats> {
        self.find(template).map(|i| &self.entries[i as usize].1)
    }

    /// The statistics of a template, to update.
    pub fn get_mut(&mut self, template: &str) -> Option<&mut KeyStats> {
        self.find(template).map(|i| &mut self.entries[i as usize].1)
    }

    /// Adds a template that is not in the table yet.
    pub fn insert(&mut self, template: Box<str>, stats: KeyStats) {
        debug_assert!(self.find(&template).is_none(), "{template} is in the table already");
        let i = u32::try_from(self.entries.len()).expect("fewer than 2^32 keys per host");
        let entries = &self.entries;
        self.index.insert_unique(hash(&template), i, |&j| hash(&entries[j as usize].0));
        self.entries.push((template, stats));
    }

    /// The statistics of `template`, made with `new` if it has none yet. With a `memo` that names an
    /// entry of this table, that entry, found without a lookup (the caller guarantees the memo was set
    /// for this same template); the memo is set to the entry found otherwise.
    pub fn entry(
        &mut self,
        template: &str,
        memo: Option<&Cell<KeyMemo>>,
        new: impl FnOnce() -> KeyStats,
    ) -> &mut KeyStats {
        if let Some(m) = memo {
            let m = m.get();
            if m.table == self.id {
                debug_assert_eq!(*self.entries[m.index as usize].0, *template, "memo of another template");
                return &mut self.entries[m.index as usize].1;
            }
        }
        let i = match self.find(template) {
            Some(i) => i,
            None => {
                self.insert(template.into(), new());
                (self.entries.len() - 1) as u32
            }
        };
        if let Some(m) = memo {
            m.set(KeyMemo { table: self.id, index: i });
        }
        &mut self.entries[i as usize].1
    }

    /// The keys in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&Box<str>, &KeyStats)> {
        self.entries.iter().map(|(t, k)| (t, k))
    }
}

impl IntoIterator for Keys {
    type Item = (Box<str>, KeyStats);
    type IntoIter = std::vec::IntoIter<(Box<str>, KeyStats)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Keys {
    type Item = (&'a Box<str>, &'a KeyStats);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Box<str>, KeyStats)>,
        fn(&'a (Box<str>, KeyStats)) -> (&'a Box<str>, &'a KeyStats),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(t, k)| (t, k))
    }
}

impl std::ops::Index<&str> for Keys {
    type Output = KeyStats;
    fn index(&self, template: &str) -> &KeyStats {
        self.get(template).unwrap_or_else(|| panic!("no key {template}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn stats() -> KeyStats {
        KeyStats::new(Timestamp(0))
    }

    #[test]
    fn lookups_memos_and_order() {
        let mut a = Keys::default();
        let mut b = Keys::default();
        let memo = Cell::new(KeyMemo::NONE);
        // First sight: looked up, inserted, remembered.
        a.entry("/x", Some(&memo), stats).count += 1;
        assert_ne!(memo.get(), KeyMemo::NONE);
        // By the memo.
        a.entry("/x", Some(&memo), stats).count += 1;
        // Another table ignores a's memo and sets its own.
        b.entry("/x", Some(&memo), stats).count += 10;
        a.entry("/x", None, stats).count += 1;
        for i in 0..1000 {
            a.entry(&format!("/p/{i}"), None, stats).count += 1;
        }
        a.entry("/x", Some(&memo), stats).count += 1;
        assert_eq!(a["/x"].count, 4);
        assert_eq!(b["/x"].count, 10);
        assert_eq!(a.len(), 1001);
        assert!(a.get("/nope").is_none());
        let order: Vec<&str> = a.iter().take(3).map(|(t, _)| &**t).collect();
        assert_eq!(order, ["/x", "/p/0", "/p/1"]);
        for i in 0..1000 {
            assert_eq!(a[&*format!("/p/{i}")].count, 1);
        }
    }
}
