//! A bounded map with least-recently-used eviction, for every keyed state the
//! stage holds (hosts, DNS domains, repeated destinations, egress prefixes).
//!
//! Lookups go through a hash map; recency is a `BTreeMap` from a monotonic
//! touch counter to the key, so a touch and an eviction are O(log n) and the
//! eviction order depends only on the input sequence (deterministic).

use std::collections::BTreeMap;
use std::hash::Hash;

use hashbrown::HashMap;

struct Slot<V> {
    value: V,
    touch: u64,
}

/// A map holding at most `cap` entries; inserting into a full map evicts the
/// entry touched longest ago.
pub struct Lru<K, V> {
    map: HashMap<K, Slot<V>, foldhash::fast::RandomState>,
    order: BTreeMap<u64, K>,
    next_touch: u64,
    cap: usize,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// An empty map for at most `cap` entries (at least one).
    pub fn new(cap: usize) -> Self {
        Lru {
            map: HashMap::default(),
            order: BTreeMap::new(),
            next_touch: 0,
            cap: cap.max(1),
        }
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Read access without changing recency.
    pub fn peek(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|s| &s.value)
    }

    /// Mutable access that marks the entry most recently used; when `k` is
    /// absent, `make` builds it, evicting the least recently used entry first
    /// if full. Returns the entry and whether an eviction happened.
    pub fn touch_or_insert_with(
        &mut self,
        k: &K,
        make: impl FnOnce() -> V,
    ) -> (&mut V, Option<(K, V)>) {
        let touch = self.next_touch;
        self.next_touch = self.next_touch.wrapping_add(1);
        let mut evicted = None;
        if !self.map.contains_key(k)
            && self.map.len() >= self.cap
            && let Some((_, old)) = self.order.pop_first()
            && let Some(slot) = self.map.remove(&old)
        {
            evicted = Some((old, slot.value));
        }
        let slot = self.map.entry(k.clone()).or_insert_with(|| Slot {
            value: make(),
            touch,
        });
        if slot.touch != touch {
            self.order.remove(&slot.touch);
            slot.touch = touch;
        }
        self.order.insert(touch, k.clone());
        (&mut slot.value, evicted)
    }

    /// Mutable access without changing recency.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k).map(|s| &mut s.value)
    }

    /// Removes an entry.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        let slot = self.map.remove(k)?;
        self.order.remove(&slot.touch);
        Some(slot.value)
    }

    /// Keys in least-recently-used-first order (deterministic).
    pub fn keys_by_age(&self) -> impl Iterator<Item = &K> {
        self.order.values()
    }

    /// Removes every entry for which `keep` returns false, visiting in
    /// least-recently-used-first order; returns how many were removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) -> usize {
        let mut dead = Vec::new();
        for (touch, k) in &self.order {
            if let Some(slot) = self.map.get_mut(k)
                && !keep(k, &mut slot.value)
            {
                dead.push((*touch, k.clone()));
            }
        }
        for (touch, k) in &dead {
            self.order.remove(touch);
            self.map.remove(k);
        }
        dead.len()
    }

    /// Every (key, value), unordered; callers sort before anything leaves.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter().map(|(k, s)| (k, &s.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut l: Lru<u32, u32> = Lru::new(2);
        assert!(l.touch_or_insert_with(&1, || 10).1.is_none());
        assert!(l.touch_or_insert_with(&2, || 20).1.is_none());
        l.touch_or_insert_with(&1, || 0); // 1 is now newest
        let (_, ev) = l.touch_or_insert_with(&3, || 30);
        assert_eq!(ev.map(|e| e.0), Some(2));
        assert_eq!(l.len(), 2);
        assert_eq!(l.peek(&1), Some(&10));
        assert_eq!(l.keys_by_age().copied().collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(l.retain(|k, _| *k != 1), 1);
        assert_eq!(l.len(), 1);
    }
}
