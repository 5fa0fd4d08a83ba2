//! The bounded flow table: a slab of flows, a hash index, and one
//! recency list per timeout class so expiry only ever looks at flows that
//! are actually due (O(expired), not O(flows)).
//!
//! The table is generic over what it stores around each [`Flow`] (the
//! worker's slot: flow, dissector state, detector state), so the layers
//! above keep their per-flow state without the flow knowing about them.

use super::{Flow, FlowKey};
use crate::capture::Timestamp;
use hashbrown::HashMap;

const NIL: u32 = u32::MAX;

/// Number of timeout classes: 4 protocol groups × 3 states.
pub const CLASSES: usize = 12;

/// Why a flow left the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Idle longer than its class's timeout (capture time).
    Timeout,
    /// Pushed out to make room: the table was full (counted).
    Evicted,
    /// Still open at the end of input (or at shutdown).
    Shutdown,
    /// The 5-tuple was reused for a new connection (SYN after close).
    Reused,
}

impl EndReason {
    /// EVE `flow.reason` string.
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Timeout | EndReason::Reused => "timeout",
            EndReason::Evicted => "forced",
            EndReason::Shutdown => "shutdown",
        }
    }
}

struct Links {
    prev: u32,
    next: u32,
    class: u8,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

/// What the table stores per flow: anything that holds a [`Flow`].
pub trait Tracked {
    /// The flow, for its key, last time and timeout class.
    fn flow(&self) -> &Flow;
}

impl Tracked for Flow {
    fn flow(&self) -> &Flow {
        self
    }
}

/// A per-worker table with a hard capacity.
pub struct FlowTable<S: Tracked = Flow> {
    index: HashMap<FlowKey, u32, foldhash::fast::RandomState>,
    slots: Vec<Option<(S, Links)>>,
    free: Vec<u32>,
    lists: [List; CLASSES],
    timeouts_us: [u64; CLASSES],
    capacity: usize,
    /// Flows evicted because the table was full.
    pub evictions: u64,
}

impl<S: Tracked> FlowTable<S> {
    /// An empty table holding at most `capacity` flows, with one idle
    /// timeout per class (see [`Flow::timeout_class`]).
    pub fn new(capacity: usize, timeouts_us: [u64; CLASSES]) -> Self {
        FlowTable {
            index: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; CLASSES],
            timeouts_us,
            capacity: capacity.max(1),
            evictions: 0,
        }
    }

    /// Flows currently held.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no flow is held.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The slot of a flow, if present.
    #[inline]
    pub fn find(&self, key: &FlowKey) -> Option<u32> {
        self.index.get(key).copied()
    }

    /// True when the flow in `slot` has been idle at `now` for longer than
    /// its class's timeout (a packet then starts a new flow).
    pub fn is_idle(&self, slot: u32, now: Timestamp) -> bool {
        let f = self.get(slot).flow();
        now.micros_since(f.last_ts) > self.timeouts_us[f.timeout_class() as usize]
    }

    /// Idle timeout of a class, in µs.
    pub fn timeout_us(&self, class: u8) -> u64 {
        self.timeouts_us[class as usize]
    }

    /// Access a flow's slot.
    #[inline]
    pub fn get_mut(&mut self, slot: u32) -> &mut S {
        &mut self.slots[slot as usize].as_mut().expect("live slot").0
    }

    /// Access a flow's slot.
    pub fn get(&self, slot: u32) -> &S {
        &self.slots[slot as usize].as_ref().expect("live slot").0
    }

    /// Inserts a new flow; when full, the longest-idle flow is evicted first
    /// and handed to `on_evict`.
    pub fn insert(&mut self, flow: S, on_evict: &mut dyn FnMut(S, EndReason)) -> u32 {
        if self.index.len() >= self.capacity
            && let Some(victim) = self.oldest()
        {
            let f = self.remove(victim);
            self.evictions += 1;
            on_evict(f, EndReason::Evicted);
        }
        let class = flow.flow().timeout_class();
        let key = flow.flow().key;
        let links = Links {
            prev: NIL,
            next: NIL,
            class,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some((flow, links));
                s
            }
            None => {
                self.slots.push(Some((flow, links)));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, slot);
        self.push_front(slot, class);
        slot
    }

    /// Marks a flow as just used: moves it to the front of its class list,
    /// re-filing it when its class changed.
    #[inline]
    pub fn touch(&mut self, slot: u32) {
        let class = self.get(slot).flow().timeout_class();
        // Already first of its list (a burst of one flow's packets): nothing
        // to relink.
        if self.lists[class as usize].head == slot
            && self.slots[slot as usize]
                .as_ref()
                .is_some_and(|(_, l)| l.class == class)
        {
            return;
        }
        self.unlink(slot);
        self.push_front(slot, class);
    }

    /// Removes a flow and returns it.
    pub fn remove(&mut self, slot: u32) -> S {
        self.unlink(slot);
        let (flow, _) = self.slots[slot as usize].take().expect("live slot");
        self.index.remove(&flow.flow().key);
        self.free.push(slot);
        flow
    }

    /// Ends every flow idle for longer than its class's timeout at `now`.
    pub fn expire(&mut self, now: Timestamp, on_end: &mut dyn FnMut(S, EndReason)) {
        for class in 0..CLASSES {
            let timeout = self.timeouts_us[class];
            loop {
                let tail = self.lists[class].tail;
                if tail == NIL {
                    break;
                }
                if now.micros_since(self.get(tail).flow().last_ts) <= timeout {
                    break;
                }
                let f = self.remove(tail);
                on_end(f, EndReason::Timeout);
            }
        }
    }

    /// Ends every flow (end of input), oldest first.
    pub fn drain(&mut self, on_end: &mut dyn FnMut(S, EndReason)) {
        while let Some(slot) = self.oldest() {
            let f = self.remove(slot);
            on_end(f, EndReason::Shutdown);
        }
        self.slots = Vec::new();
        self.free = Vec::new();
    }

    /// The flow idle for longest, across classes.
    fn oldest(&self) -> Option<u32> {
        self.lists
            .iter()
            .filter(|l| l.tail != NIL)
            .map(|l| l.tail)
            .min_by_key(|&s| self.get(s).flow().last_ts)
    }

    fn links(&mut self, slot: u32) -> &mut Links {
        &mut self.slots[slot as usize].as_mut().expect("live slot").1
    }

    fn unlink(&mut self, slot: u32) {
        let (prev, next, class) = {
            let l = self.links(slot);
            (l.prev, l.next, l.class as usize)
        };
        if prev == NIL {
            self.lists[class].head = next;
        } else {
            self.links(prev).next = next;
        }
        if next == NIL {
            self.lists[class].tail = prev;
        } else {
            self.links(next).prev = prev;
        }
    }

    fn push_front(&mut self, slot: u32, class: u8) {
        let head = self.lists[class as usize].head;
        {
            let l = self.links(slot);
            l.prev = NIL;
            l.next = head;
            l.class = class;
        }
        if head == NIL {
            self.lists[class as usize].tail = slot;
        } else {
            self.links(head).prev = slot;
        }
        self.lists[class as usize].head = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Addr;

    fn flow(port: u16, ts: u64) -> Flow {
        let (key, _) = FlowKey::new(
            Addr::v4([1, 1, 1, 1]),
            port,
            Addr::v4([2, 2, 2, 2]),
            53,
            crate::decode::IpProto::UDP,
            [0, 0],
            0,
        );
        Flow::new(key, true, Timestamp(ts))
    }

    #[test]
    fn expiry_follows_capture_time() {
        let mut t = FlowTable::<Flow>::new(10, [5_000_000; CLASSES]);
        t.insert(flow(1, 0), &mut |_, _| panic!("no eviction"));
        t.insert(flow(2, 4_000_000), &mut |_, _| panic!("no eviction"));
        let mut ended = Vec::new();
        t.expire(Timestamp(6_000_000), &mut |f, r| {
            ended.push((f.key.lo_port.max(f.key.hi_port), r))
        });
        assert_eq!(ended.len(), 1);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn full_table_evicts_longest_idle_and_counts_it() {
        let mut t = FlowTable::<Flow>::new(2, [u64::MAX; CLASSES]);
        let a = t.insert(flow(1, 0), &mut |_, _| {});
        t.insert(flow(2, 10), &mut |_, _| {});
        t.get_mut(a).last_ts = Timestamp(20);
        t.touch(a);
        let mut evicted = Vec::new();
        t.insert(flow(3, 30), &mut |f, r| evicted.push((f.first_ts, r)));
        assert_eq!(evicted, vec![(Timestamp(10), EndReason::Evicted)]);
        assert_eq!(t.evictions, 1);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn drain_empties_the_table() {
        let mut t = FlowTable::<Flow>::new(8, [u64::MAX; CLASSES]);
        for p in 0..5 {
            t.insert(flow(p, p as u64), &mut |_, _| {});
        }
        let mut n = 0;
        t.drain(&mut |_, r| {
            assert_eq!(r, EndReason::Shutdown);
            n += 1
        });
        assert_eq!(n, 5);
        assert!(t.is_empty());
    }
}
