//! Longest-prefix match of a dialled number against the destination prefixes.
//!
//! A digit trie held in two flat vectors: a lookup walks at most one node per digit of the
//! number (no hashing, no allocation), so rating costs the same whether the deck has 200
//! prefixes or 200,000. Built once per import or re-rating run from the `destinations` table.

/// Maps digit-string prefixes to values; `longest_match` finds the value of the longest prefix.
#[derive(Clone, Debug)]
pub struct PrefixTable<T> {
    /// Children of each node by digit; 0 = none (the root is node 0 and is nobody's child).
    nodes: Vec<[u32; 10]>,
    values: Vec<Option<T>>,
    len: usize,
}

impl<T: Copy> Default for PrefixTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy> PrefixTable<T> {
    pub fn new() -> Self {
        PrefixTable {
            nodes: vec![[0; 10]],
            values: vec![None],
            len: 0,
        }
    }

    /// Number of prefixes held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds (or replaces) a prefix. Returns false, and adds nothing, when `prefix` is empty or
    /// holds anything but ASCII digits.
    pub fn insert(&mut self, prefix: &str, value: T) -> bool {
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let mut node = 0usize;
        for b in prefix.bytes() {
            let d = (b - b'0') as usize;
            let next = self.nodes[node][d];
            node = if next == 0 {
                let id = self.nodes.len();
                self.nodes.push([0; 10]);
                self.values.push(None);
                self.nodes[node][d] = id as u32;
                id
            } else {
                next as usize
            };
        }
        if self.values[node].is_none() {
            self.len += 1;
        }
        self.values[node] = Some(value);
        true
    }

    /// The value of the longest prefix of `number`, with that prefix's length. The walk stops at
    /// the first character that is not a digit.
    pub fn longest_match(&self, number: &str) -> Option<(T, usize)> {
        let mut node = 0usize;
        let mut best = None;
        for (i, b) in number.bytes().enumerate() {
            if !b.is_ascii_digit() {
                break;
            }
            let next = self.nodes[node][(b - b'0') as usize];
            if next == 0 {
                break;
            }
            node = next as usize;
            if let Some(v) = self.values[node] {
                best = Some((v, i + 1));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_wins() {
        let mut t = PrefixTable::new();
        assert!(t.insert("44", 1));
        assert!(t.insert("447", 2));
        assert!(t.insert("4420", 3));
        assert!(t.insert("1", 4));
        assert_eq!(t.len(), 4);
        assert_eq!(t.longest_match("442079460000"), Some((3, 4)));
        assert_eq!(t.longest_match("447700900123"), Some((2, 3)));
        assert_eq!(t.longest_match("443301234567"), Some((1, 2)));
        assert_eq!(t.longest_match("12125550100"), Some((4, 1)));
        assert_eq!(t.longest_match("4"), None);
        assert_eq!(t.longest_match("33123456"), None);
        assert_eq!(t.longest_match(""), None);
    }

    #[test]
    fn a_number_is_matched_only_by_its_leading_digits() {
        let mut t = PrefixTable::new();
        t.insert("44", 1);
        t.insert("4420", 2);
        // The walk stops at the first non-digit: "44*20" is not in 4420.
        assert_eq!(t.longest_match("44*20"), Some((1, 2)));
        assert_eq!(t.longest_match("s"), None);
        // A prefix longer than the number does not match it.
        assert_eq!(t.longest_match("442"), Some((1, 2)));
    }

    #[test]
    fn bad_prefixes_are_refused_and_replacing_keeps_the_count() {
        let mut t = PrefixTable::new();
        assert!(!t.insert("", 1));
        assert!(!t.insert("+44", 1));
        assert!(!t.insert("44a", 1));
        assert!(t.is_empty());
        t.insert("44", 1);
        t.insert("44", 9);
        assert_eq!(t.len(), 1);
        assert_eq!(t.longest_match("4401"), Some((9, 2)));
    }

    #[test]
    fn agrees_with_a_brute_force_search() {
        // Prefixes and numbers from a small deterministic generator.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut t = PrefixTable::new();
        let mut all = Vec::new();
        for i in 0..500 {
            let len = 1 + (next() % 6) as usize;
            let p: String = (0..len)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            t.insert(&p, i);
            all.retain(|(q, _): &(String, i32)| q != &p);
            all.push((p, i));
        }
        for _ in 0..2000 {
            let n: String = (0..10)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let brute = all
                .iter()
                .filter(|(p, _)| n.starts_with(p.as_str()))
                .max_by_key(|(p, _)| p.len())
                .map(|(p, v)| (*v, p.len()));
            assert_eq!(t.longest_match(&n), brute, "{n}");
        }
    }
}
