//! Address feeds: files of IPv4/IPv6 prefixes and lists of AS numbers,
//! each with a name, a category and a severity.
//!
//! # File formats (detected per line, so public lists load unchanged)
//!
//! * one network per line, `a.b.c.d/len`, `x:y::/len`, or a bare address
//!   (a host route), as in X4BNet's `lists_vpn` (`output/vpn/ipv4.txt`,
//!   `output/datacenter/ipv4.txt`) and the Tor bulk exit list;
//! * `network,label` (CSV; the label is kept and reported; a first line
//!   whose first field has no digit, such as `cidr,label`, is a header);
//! * the Tor Project's exit list (`ExitNode`, `Published`, `LastStatus`
//!   lines are skipped, `ExitAddress a.b.c.d date time` gives a host);
//! * `#` starts a comment anywhere on a line, and so does `;` (Spamhaus
//!   DROP style, `a.b.c.d/len ; SBL123`); blank lines are skipped.
//!
//! Host bits below the prefix length are ignored (`10.1.2.3/8` is
//! `10.0.0.0/8`); IPv4-mapped IPv6 prefixes (`::ffff:a.b.c.d/120`) are
//! stored as IPv4, since look-ups see IPv4-mapped addresses as IPv4. Any
//! other line is an error naming the file and line.
//!
//! AS lists: one AS number per line, `AS123` or `123`, `#` comments (the
//! format of X4BNet's `input/datacenter/ASN.txt`), or inline in the config.
//!
//! # The table
//!
//! All prefix feeds go into one table per address family: the prefixes are
//! flattened into disjoint address ranges, each carrying the set of feeds
//! that cover it and the label of its most specific labelled prefix. A
//! look-up is one binary search among the ranges of the address's /16 (a
//! 65,536-entry first-level index narrows it), so it answers "every feed
//! containing this address" in one step, whatever the nesting. See
//! `benches/enrich.rs` for the measurements that chose it.

use super::{intern, intern_meta};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// Feeds (prefix feeds, and separately AS lists) one snapshot can hold: a
/// range's feed set is a 64-bit mask.
pub const MAX_FEEDS: usize = 64;

/// What a feed's addresses are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedCategory {
    /// Hosting/VPS/cloud providers: reported as `hosting` only on flows
    /// that are already VPN, proxy or remote-access flows.
    Hosting,
    /// VPN providers' servers: a `vpn` detection.
    Vpn,
    /// Open or commercial proxies: a `proxy` detection.
    Proxy,
    /// Tor relays or exits: a `proxy` detection with protocol `tor`.
    Tor,
    /// Anything else: listed in the event's feeds, never a detection.
    Custom,
}

impl FeedCategory {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            FeedCategory::Hosting => "hosting",
            FeedCategory::Vpn => "vpn",
            FeedCategory::Proxy => "proxy",
            FeedCategory::Tor => "tor",
            FeedCategory::Custom => "custom",
        }
    }

    /// Severity when the config does not give one: hosting and custom 3,
    /// VPN, proxy and Tor 2.
    pub fn default_severity(self) -> u8 {
        match self {
            FeedCategory::Hosting | FeedCategory::Custom => 3,
            FeedCategory::Vpn | FeedCategory::Proxy | FeedCategory::Tor => 2,
        }
    }
}

/// How sure a feed's membership makes a detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedConfidence {
    /// Low.
    Low,
    /// Medium (the default).
    Medium,
    /// High.
    High,
}

/// One `[[enrich.feed]]`: a file of prefixes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Name reported in events (unique among feeds and AS lists).
    pub name: String,
    /// The file (formats in the module documentation).
    pub path: PathBuf,
    /// `hosting`, `vpn`, `proxy`, `tor` or `custom`.
    pub category: FeedCategory,
    /// EVE severity 1..=3 of its detections (default: by category, see
    /// [`FeedCategory::default_severity`]).
    #[serde(default)]
    pub severity: Option<u8>,
    /// `low`, `medium` (default) or `high`.
    #[serde(default)]
    pub confidence: Option<FeedConfidence>,
}

/// One `[[enrich.asn_list]]`: AS numbers matched through the AS database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsnListConfig {
    /// Name reported in events (unique among feeds and AS lists).
    pub name: String,
    /// `hosting`, `vpn`, `proxy`, `tor` or `custom`.
    pub category: FeedCategory,
    /// EVE severity 1..=3 (default: by category).
    #[serde(default)]
    pub severity: Option<u8>,
    /// `low`, `medium` (default) or `high`.
    #[serde(default)]
    pub confidence: Option<FeedConfidence>,
    /// AS numbers inline.
    #[serde(default)]
    pub asns: Vec<u32>,
    /// A file of AS numbers (`AS123` or `123` per line, `#` comments).
    #[serde(default)]
    pub path: Option<PathBuf>,
}

/// Whether a feed is a prefix file or an AS list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedKind {
    /// Prefixes.
    Prefix,
    /// AS numbers, matched through the AS database.
    Asn,
}

/// A loaded feed's description (names interned for the process's life).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedMeta {
    /// Name.
    pub name: &'static str,
    /// Category.
    pub category: FeedCategory,
    /// Severity 1..=3.
    pub severity: u8,
    /// Confidence of its detections.
    pub confidence: FeedConfidence,
    /// Prefix feed or AS list.
    pub kind: FeedKind,
    /// Where it came from: the file, `inline`, or `builtin`.
    pub source: &'static str,
}

// --- parsing ---------------------------------------------------------------

/// One parsed line.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Skip,
    V4(u32, u8, Option<&'a str>),
    V6(u128, u8, Option<&'a str>),
}

fn strip_comment(line: &str) -> &str {
    let cut = line.find(['#', ';']).unwrap_or(line.len());
    line[..cut].trim()
}

fn parse_net(tok: &str) -> Option<Line<'static>> {
    let (addr, len) = match tok.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (tok, None),
    };
    if addr.contains(':') {
        let a: Ipv6Addr = addr.parse().ok()?;
        let len = len.unwrap_or(128);
        if len > 128 {
            return None;
        }
        let bits = u128::from(a);
        if len >= 96 && bits >> 32 == 0xFFFF {
            return Some(Line::V4(bits as u32, len - 96, None));
        }
        Some(Line::V6(bits, len, None))
    } else {
        let a: Ipv4Addr = addr.parse().ok()?;
        let len = len.unwrap_or(32);
        if len > 32 {
            return None;
        }
        Some(Line::V4(u32::from(a), len, None))
    }
}

/// Parses one line of a feed. `Err` carries the offending text.
fn parse_line(raw: &str) -> Result<Line<'_>, &str> {
    let line = raw.trim();
    if let Some(rest) = line.strip_prefix("ExitAddress") {
        let tok = rest.split_whitespace().next().unwrap_or("");
        return parse_net(tok).ok_or(tok);
    }
    if ["ExitNode", "Published", "LastStatus"]
        .iter()
        .any(|k| line.starts_with(k))
    {
        return Ok(Line::Skip);
    }
    let line = strip_comment(line);
    if line.is_empty() {
        return Ok(Line::Skip);
    }
    let (tok, label) = match line.split_once(',') {
        Some((t, l)) => {
            let l = l.trim().trim_matches('"').trim();
            (t.trim(), (!l.is_empty()).then_some(l))
        }
        None => {
            let mut it = line.split_whitespace();
            let t = it.next().unwrap_or("");
            if it.next().is_some() {
                return Err(line);
            }
            (t, None)
        }
    };
    match parse_net(tok).ok_or(tok)? {
        Line::V4(a, l, _) => Ok(Line::V4(a, l, label)),
        Line::V6(a, l, _) => Ok(Line::V6(a, l, label)),
        Line::Skip => Ok(Line::Skip),
    }
}

/// Parses an AS list file's text.
pub fn parse_asn_list(text: &str, origin: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw);
        if line.is_empty() {
            continue;
        }
        let tok = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .next()
            .unwrap_or("");
        let num = tok
            .strip_prefix("AS")
            .or_else(|| tok.strip_prefix("as"))
            .unwrap_or(tok);
        match num.parse::<u32>() {
            Ok(n) => out.push(n),
            Err(_) => {
                return Err(format!("{origin}:{}: `{tok}` is not an AS number", i + 1));
            }
        }
    }
    Ok(out)
}

// --- the table -------------------------------------------------------------

trait Key: Copy + Ord + Default + std::fmt::Debug {
    const BITS: u32;
    fn succ(self) -> Option<Self>;
    fn top16(self) -> usize;
    fn from_top16(h: usize) -> Self;
    fn range(bits: Self, len: u8) -> (Self, Self);
}

/// The same [`Key`] for each unsigned width: the top 16 bits pick the
/// bucket.
macro_rules! impl_key {
    ($($t:ty),+) => {
        $(
            impl Key for $t {
                const BITS: u32 = <$t>::BITS;
                fn succ(self) -> Option<Self> {
                    self.checked_add(1)
                }
                fn top16(self) -> usize {
                    (self >> (Self::BITS - 16)) as usize
                }
                fn from_top16(h: usize) -> Self {
                    (h as $t) << (Self::BITS - 16)
                }
                fn range(bits: Self, len: u8) -> (Self, Self) {
                    let host = <$t>::MAX.checked_shr(u32::from(len)).unwrap_or(0);
                    (bits & !host, bits | host)
                }
            }
        )+
    };
}

impl_key!(u32, u128);

#[derive(Clone, Copy, Debug)]
struct Pfx<K> {
    start: K,
    end: K,
    label: u32,
    feed: u8,
}

/// Disjoint ranges of one family: `starts[i]..starts[i+1]` has state
/// `vals[i]`; `starts[0]` is 0. `index[h]` is the range holding the first
/// address of the h-th /16 (or the top 16 bits of IPv6).
#[derive(Default)]
struct Ranges<K> {
    starts: Vec<K>,
    vals: Vec<u32>,
    index: Vec<u32>,
}

impl<K: Key> Ranges<K> {
    #[inline]
    fn find(&self, a: K) -> u32 {
        if self.starts.len() <= 1 {
            return self.vals.first().copied().unwrap_or(0);
        }
        let h = a.top16();
        let lo = self.index[h] as usize;
        let hi = match self.index.get(h + 1) {
            Some(&i) => i as usize,
            None => self.starts.len() - 1,
        };
        let i = lo + self.starts[lo + 1..=hi].partition_point(|&s| s <= a);
        self.vals[i]
    }

    fn bytes(&self) -> usize {
        self.starts.capacity() * std::mem::size_of::<K>()
            + self.vals.capacity() * 4
            + self.index.capacity() * 4
    }
}

/// A range's state: which feeds cover it and its label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct State {
    mask: u64,
    label: u32,
}

struct StateInterner {
    states: Vec<State>,
    ids: HashMap<State, u32, foldhash::fast::RandomState>,
}

impl StateInterner {
    fn new() -> Self {
        let none = State { mask: 0, label: 0 };
        let mut ids = HashMap::default();
        ids.insert(none, 0);
        StateInterner {
            states: vec![none],
            ids,
        }
    }

    fn id(&mut self, s: State) -> u32 {
        if let Some(&i) = self.ids.get(&s) {
            return i;
        }
        let i = self.states.len() as u32;
        self.states.push(s);
        self.ids.insert(s, i);
        i
    }
}

fn emit<K: Key>(starts: &mut Vec<K>, vals: &mut Vec<u32>, pos: K, v: u32) {
    if starts.last() == Some(&pos) {
        *vals.last_mut().expect("parallel vectors") = v;
        let n = vals.len();
        if n >= 2 && vals[n - 2] == vals[n - 1] {
            starts.pop();
            vals.pop();
        }
        return;
    }
    if vals.last() == Some(&v) {
        return;
    }
    starts.push(pos);
    vals.push(v);
}

#[derive(Clone, Copy)]
struct Frame<K> {
    end: K,
    label: u32,
    feed: u8,
}

/// Flattens prefixes (a laminar family: any two are nested or disjoint)
/// into disjoint ranges with a sweep over the starts and a stack of the
/// prefixes containing the current point.
fn flatten<K: Key>(mut pfx: Vec<Pfx<K>>, interner: &mut StateInterner) -> Ranges<K> {
    pfx.sort_unstable_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(a.feed.cmp(&b.feed))
            .then(b.label.cmp(&a.label))
    });
    pfx.dedup_by(|b, a| a.start == b.start && a.end == b.end && a.feed == b.feed);
    let mut starts = Vec::with_capacity(pfx.len() * 2 + 1);
    let mut vals = Vec::with_capacity(pfx.len() * 2 + 1);
    starts.push(K::default());
    vals.push(0u32);
    let mut stack: Vec<Frame<K>> = Vec::with_capacity(K::BITS as usize + 1);
    let mut counts = [0u32; MAX_FEEDS];
    let mut mask = 0u64;
    let top_label = |stack: &Vec<Frame<K>>| stack.last().map_or(0, |f| f.label);
    for p in pfx {
        while let Some(top) = stack.last().copied() {
            if top.end >= p.start {
                break;
            }
            stack.pop();
            counts[top.feed as usize] -= 1;
            if counts[top.feed as usize] == 0 {
                mask &= !(1u64 << top.feed);
            }
            let pos = top.end.succ().expect("end below a later start");
            let id = interner.id(State {
                mask,
                label: top_label(&stack),
            });
            emit(&mut starts, &mut vals, pos, id);
        }
        counts[p.feed as usize] += 1;
        mask |= 1u64 << p.feed;
        let label = if p.label != 0 {
            p.label
        } else {
            top_label(&stack)
        };
        stack.push(Frame {
            end: p.end,
            label,
            feed: p.feed,
        });
        let id = interner.id(State { mask, label });
        emit(&mut starts, &mut vals, p.start, id);
    }
    while let Some(top) = stack.pop() {
        counts[top.feed as usize] -= 1;
        if counts[top.feed as usize] == 0 {
            mask &= !(1u64 << top.feed);
        }
        if let Some(pos) = top.end.succ() {
            let id = interner.id(State {
                mask,
                label: top_label(&stack),
            });
            emit(&mut starts, &mut vals, pos, id);
        }
    }
    starts.shrink_to_fit();
    vals.shrink_to_fit();
    let index = (0..=0xFFFFusize)
        .map(|h| {
            let first = K::from_top16(h);
            (starts.partition_point(|&s| s <= first) - 1) as u32
        })
        .collect();
    Ranges {
        starts,
        vals,
        index,
    }
}

/// Builds a [`PrefixTable`] from feed files or text.
pub struct TableBuilder {
    v4: Vec<Pfx<u32>>,
    v6: Vec<Pfx<u128>>,
    /// Per feed: label text → id.
    label_ids: Vec<HashMap<Box<str>, u32, foldhash::fast::RandomState>>,
    label_text: String,
    label_ends: Vec<u32>,
    label_feeds: Vec<u8>,
    feeds: Vec<&'static FeedMeta>,
    max_prefixes: usize,
}

impl TableBuilder {
    /// A builder refusing more than `max_prefixes` prefixes in all.
    pub fn new(max_prefixes: usize) -> Self {
        TableBuilder {
            v4: Vec::new(),
            v6: Vec::new(),
            label_ids: Vec::new(),
            label_text: String::new(),
            label_ends: Vec::new(),
            label_feeds: Vec::new(),
            feeds: Vec::new(),
            max_prefixes,
        }
    }

    fn label_id(&mut self, feed: u8, l: &str) -> u32 {
        let ids = &mut self.label_ids[feed as usize];
        if let Some(&i) = ids.get(l) {
            return i;
        }
        self.label_text.push_str(l);
        self.label_ends.push(self.label_text.len() as u32);
        self.label_feeds.push(feed);
        let id = self.label_ends.len() as u32; // 1-based; 0 = none
        ids.insert(l.into(), id);
        id
    }

    /// Adds a feed from its text; `origin` (the file) names it in errors.
    pub fn add_text(
        &mut self,
        meta: &'static FeedMeta,
        text: &str,
        origin: &str,
    ) -> Result<(), String> {
        if self.feeds.len() >= MAX_FEEDS {
            return Err(format!(
                "{origin}: more than {MAX_FEEDS} prefix feeds configured"
            ));
        }
        let feed = self.feeds.len() as u8;
        self.feeds.push(meta);
        self.label_ids.push(HashMap::default());
        let mut first_data = true;
        for (i, raw) in text.lines().enumerate() {
            let parsed = parse_line(raw);
            let line = match parsed {
                Ok(l) => l,
                Err(tok) => {
                    let header = first_data && !tok.chars().any(|c| c.is_ascii_digit());
                    if header {
                        first_data = false;
                        continue;
                    }
                    return Err(format!(
                        "{origin}:{}: `{}` is not an IP address or network",
                        i + 1,
                        tok.chars().take(80).collect::<String>()
                    ));
                }
            };
            match line {
                Line::Skip => continue,
                Line::V4(bits, len, label) => {
                    let label = label.map_or(0, |l| self.label_id(feed, l));
                    let (start, end) = u32::range(bits, len);
                    self.v4.push(Pfx {
                        start,
                        end,
                        label,
                        feed,
                    });
                }
                Line::V6(bits, len, label) => {
                    let label = label.map_or(0, |l| self.label_id(feed, l));
                    let (start, end) = u128::range(bits, len);
                    self.v6.push(Pfx {
                        start,
                        end,
                        label,
                        feed,
                    });
                }
            }
            first_data = false;
            if self.v4.len() + self.v6.len() > self.max_prefixes {
                return Err(format!(
                    "{origin}: more than enrich.max_prefixes ({}) prefixes in all feeds",
                    self.max_prefixes
                ));
            }
        }
        Ok(())
    }

    /// Adds a feed from a file.
    pub fn add_file(
        &mut self,
        meta: &'static FeedMeta,
        path: &std::path::Path,
    ) -> Result<(), String> {
        let origin = path.display().to_string();
        let text = crate::files::read_bounded_text(path, crate::files::MAX_LIST_BYTES)
            .map_err(|e| format!("{origin}: {e}"))?;
        self.add_text(meta, &text, &origin)
    }

    /// Flattens everything into the look-up table.
    pub fn build(self) -> PrefixTable {
        let prefixes = self.v4.len() + self.v6.len();
        let mut interner = StateInterner::new();
        let v4 = flatten(self.v4, &mut interner);
        let v6 = flatten(self.v6, &mut interner);
        PrefixTable {
            v4,
            v6,
            states: interner.states,
            label_text: self.label_text,
            label_ends: self.label_ends,
            label_feeds: self.label_feeds,
            feeds: self.feeds,
            prefixes,
        }
    }
}

/// Every prefix feed of a snapshot, flattened (see the module docs).
pub struct PrefixTable {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
    states: Vec<State>,
    label_text: String,
    label_ends: Vec<u32>,
    label_feeds: Vec<u8>,
    feeds: Vec<&'static FeedMeta>,
    prefixes: usize,
}

impl std::fmt::Debug for PrefixTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrefixTable")
            .field("feeds", &self.feeds)
            .field("prefixes", &self.prefixes)
            .field("ranges_v4", &self.v4.starts.len())
            .field("ranges_v6", &self.v6.starts.len())
            .finish()
    }
}

/// What the table says about one address: the feeds containing it (bit
/// `i` = [`PrefixTable::feed`]`(i)`) and the label of its most specific
/// labelled prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefixMatch {
    /// Feed set.
    pub mask: u64,
    /// Label id (0 = none), see [`PrefixTable::label`].
    pub label: u32,
}

impl PrefixTable {
    /// An empty table.
    pub fn empty() -> Self {
        TableBuilder::new(0).build()
    }

    /// Feeds containing `ip` (canonical: IPv4-mapped IPv6 as IPv4).
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> PrefixMatch {
        let id = match ip {
            IpAddr::V4(a) => self.v4.find(u32::from(a)),
            IpAddr::V6(a) => self.v6.find(u128::from(a)),
        };
        let s = self.states[id as usize];
        PrefixMatch {
            mask: s.mask,
            label: s.label,
        }
    }

    /// The feed at bit `i`.
    pub fn feed(&self, i: usize) -> Option<&'static FeedMeta> {
        self.feeds.get(i).copied()
    }

    /// All feeds, in bit order.
    pub fn feeds(&self) -> &[&'static FeedMeta] {
        &self.feeds
    }

    /// A label: the bit of the feed it belongs to, and its text.
    pub fn label(&self, id: u32) -> Option<(usize, &str)> {
        let i = (id as usize).checked_sub(1)?;
        let end = *self.label_ends.get(i)? as usize;
        let start = if i == 0 {
            0
        } else {
            self.label_ends[i - 1] as usize
        };
        Some((
            self.label_feeds[i] as usize,
            self.label_text.get(start..end)?,
        ))
    }

    /// Prefixes loaded (before flattening).
    pub fn prefixes(&self) -> usize {
        self.prefixes
    }

    /// Disjoint ranges after flattening (IPv4, IPv6).
    pub fn ranges(&self) -> (usize, usize) {
        (self.v4.starts.len(), self.v6.starts.len())
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.v4.bytes()
            + self.v6.bytes()
            + self.states.capacity() * std::mem::size_of::<State>()
            + self.label_text.capacity()
            + self.label_ends.capacity() * 4
            + self.label_feeds.capacity()
    }
}

/// AS lists: AS number → set of lists (bit `i` = list `i`).
#[derive(Debug, Default)]
pub struct AsnSets {
    map: HashMap<u32, u64, foldhash::fast::RandomState>,
    lists: Vec<&'static FeedMeta>,
}

impl AsnSets {
    /// Adds a list.
    pub fn add(&mut self, meta: &'static FeedMeta, asns: &[u32]) -> Result<(), String> {
        if self.lists.len() >= MAX_FEEDS {
            return Err(format!("more than {MAX_FEEDS} AS lists configured"));
        }
        let bit = 1u64 << self.lists.len();
        self.lists.push(meta);
        for &a in asns {
            *self.map.entry(a).or_insert(0) |= bit;
        }
        Ok(())
    }

    /// Lists containing `asn`.
    #[inline]
    pub fn lookup(&self, asn: u32) -> u64 {
        self.map.get(&asn).copied().unwrap_or(0)
    }

    /// The list at bit `i`.
    pub fn list(&self, i: usize) -> Option<&'static FeedMeta> {
        self.lists.get(i).copied()
    }

    /// All lists, in bit order.
    pub fn lists(&self) -> &[&'static FeedMeta] {
        &self.lists
    }
}

/// Makes a feed meta for a configured feed or list (interned for the
/// process's life, so hits refer to it without a lock or a count).
pub fn meta(
    name: &str,
    category: FeedCategory,
    severity: Option<u8>,
    confidence: Option<FeedConfidence>,
    kind: FeedKind,
    source: &str,
) -> &'static FeedMeta {
    intern_meta(FeedMeta {
        name: intern(name),
        category,
        severity: severity.unwrap_or(category.default_severity()),
        confidence: confidence.unwrap_or(FeedConfidence::Medium),
        kind,
        source: intern(source),
    })
}

/// The benchmark's synthetic feed, shared with the tests.
#[cfg(test)]
#[path = "../../benches/support/synthetic_feed.rs"]
mod synthetic;

#[cfg(test)]
mod tests {
    use super::synthetic::synthetic_feed;
    use super::*;

    fn m(name: &str) -> &'static FeedMeta {
        meta(
            name,
            FeedCategory::Vpn,
            None,
            None,
            FeedKind::Prefix,
            "test",
        )
    }

    fn table(feeds: &[(&str, &str)]) -> PrefixTable {
        let mut b = TableBuilder::new(1_000_000);
        for (name, text) in feeds {
            b.add_text(m(name), text, name).unwrap();
        }
        b.build()
    }

    fn hits(t: &PrefixTable, ip: &str) -> Vec<&'static str> {
        let r = t.lookup(ip.parse().unwrap());
        (0..MAX_FEEDS)
            .filter(|i| r.mask & (1 << i) != 0)
            .map(|i| t.feed(i).unwrap().name)
            .collect()
    }

    fn label<'a>(t: &'a PrefixTable, ip: &str) -> Option<&'a str> {
        t.label(t.lookup(ip.parse().unwrap()).label).map(|(_, l)| l)
    }

    #[test]
    fn x4bnet_style_cidr_list() {
        // As in X4BNet/lists_vpn output/vpn/ipv4.txt: one CIDR per line.
        let t = table(&[("x4b", "1.2.3.0/24\n5.6.0.0/16\n9.9.9.9/32\n")]);
        assert_eq!(hits(&t, "1.2.3.4"), ["x4b"]);
        assert_eq!(hits(&t, "1.2.3.255"), ["x4b"]);
        assert!(hits(&t, "1.2.4.0").is_empty());
        assert!(hits(&t, "1.2.2.255").is_empty());
        assert_eq!(hits(&t, "5.6.255.1"), ["x4b"]);
        assert_eq!(hits(&t, "9.9.9.9"), ["x4b"]);
        assert!(hits(&t, "9.9.9.10").is_empty());
        assert!(hits(&t, "0.0.0.0").is_empty());
        assert!(hits(&t, "255.255.255.255").is_empty());
    }

    #[test]
    fn tor_exit_list_format() {
        let text = "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n\
                    Published 2024-05-01 10:11:12\n\
                    LastStatus 2024-05-01 11:00:00\n\
                    ExitAddress 162.247.74.201 2024-05-01 11:02:03\n\
                    ExitNode 0014E4B7DFE8B2C36C2E86C2C4F08B69E3D3C0C1\n\
                    Published 2024-05-01 10:11:12\n\
                    LastStatus 2024-05-01 11:00:00\n\
                    ExitAddress 185.220.101.3 2024-05-01 11:02:03\n";
        let t = table(&[("tor_exits", text)]);
        assert_eq!(hits(&t, "162.247.74.201"), ["tor_exits"]);
        assert_eq!(hits(&t, "185.220.101.3"), ["tor_exits"]);
        assert!(hits(&t, "185.220.101.4").is_empty());
        assert_eq!(t.prefixes(), 2);
    }

    #[test]
    fn csv_with_labels_header_comments_and_ipv6() {
        let text = "cidr,label\n\
                    # provider ranges\n\
                    10.0.0.0/8,outer\n\
                    10.1.0.0/16,\"inner\"\n\
                    10.1.2.0/24\n\
                    2001:db8::/32,v6 range ; trailing comment\n\
                    \n\
                    2001:db8:1::/48,deeper\n\
                    ::ffff:192.0.2.0/120,mapped\n";
        let t = table(&[("csv", text)]);
        assert_eq!(label(&t, "10.9.9.9"), Some("outer"));
        assert_eq!(label(&t, "10.1.9.9"), Some("inner"));
        // Unlabelled prefix inside a labelled one keeps the nearest label.
        assert_eq!(label(&t, "10.1.2.3"), Some("inner"));
        assert_eq!(label(&t, "10.2.0.0"), Some("outer"));
        assert_eq!(label(&t, "2001:db8:ffff::1"), Some("v6 range"));
        assert_eq!(label(&t, "2001:db8:1::1"), Some("deeper"));
        assert_eq!(label(&t, "192.0.2.77"), Some("mapped"));
        assert_eq!(label(&t, "11.0.0.0"), None);
        assert!(hits(&t, "2001:db9::1").is_empty());
    }

    #[test]
    fn overlapping_feeds_report_every_feed() {
        let t = table(&[
            ("wide", "10.0.0.0/8\n::/0\n"),
            ("narrow", "10.1.0.0/16\n10.1.0.0/16\n10.3.0.0/16\n"),
            ("host", "10.1.2.3\n0.0.0.0/0\n"),
        ]);
        assert_eq!(hits(&t, "10.1.2.3"), ["wide", "narrow", "host"]);
        assert_eq!(hits(&t, "10.1.2.4"), ["wide", "narrow", "host"]);
        assert_eq!(hits(&t, "10.2.0.1"), ["wide", "host"]);
        assert_eq!(hits(&t, "11.0.0.1"), ["host"]);
        assert_eq!(hits(&t, "ffff::1"), ["wide"]);
        assert_eq!(hits(&t, "::"), ["wide"]);
    }

    #[test]
    fn host_bits_are_ignored_and_edges_hold() {
        let t = table(&[(
            "f",
            "10.1.2.3/8\n255.255.255.255\n0.0.0.0/32\nffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n",
        )]);
        assert_eq!(hits(&t, "10.200.0.1"), ["f"]);
        assert_eq!(hits(&t, "255.255.255.255"), ["f"]);
        assert!(hits(&t, "255.255.255.254").is_empty());
        assert_eq!(hits(&t, "0.0.0.0"), ["f"]);
        assert!(hits(&t, "0.0.0.1").is_empty());
        assert_eq!(hits(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), ["f"]);
    }

    #[test]
    fn bad_lines_are_named() {
        let mut b = TableBuilder::new(10);
        let e = b
            .add_text(m("f"), "1.2.3.0/24\n1.2.3.0/33\n", "feed.txt")
            .unwrap_err();
        assert_eq!(
            e,
            "feed.txt:2: `1.2.3.0/33` is not an IP address or network"
        );
        let mut b = TableBuilder::new(10);
        let e = b
            .add_text(m("f"), "1.2.3.4 - 1.2.3.9\n", "r.txt")
            .unwrap_err();
        assert!(e.starts_with("r.txt:1:"), "{e}");
        let mut b = TableBuilder::new(2);
        let e = b
            .add_text(m("f"), "1.0.0.0/8\n2.0.0.0/8\n3.0.0.0/8\n", "big.txt")
            .unwrap_err();
        assert!(e.contains("enrich.max_prefixes (2)"), "{e}");
    }

    #[test]
    fn asn_list_files() {
        let text = "AS45090 # Tencent cloud computing\nAS3223 # VOXILITY, RO\n\n# c\n14061\nas63949 # x # y\n";
        assert_eq!(
            parse_asn_list(text, "ASN.txt").unwrap(),
            [45090, 3223, 14061, 63949]
        );
        let e = parse_asn_list("AS12\nASX\n", "a.txt").unwrap_err();
        assert_eq!(e, "a.txt:2: `ASX` is not an AS number");
        let mut s = AsnSets::default();
        s.add(m("a"), &[1, 2]).unwrap();
        s.add(m("b"), &[2]).unwrap();
        assert_eq!(s.lookup(2), 0b11);
        assert_eq!(s.lookup(1), 0b01);
        assert_eq!(s.lookup(3), 0);
    }

    #[test]
    fn table_agrees_with_a_linear_scan() {
        let text = synthetic_feed(3000, 600, 7);
        let mut b = TableBuilder::new(10_000);
        b.add_text(m("a"), &text, "a").unwrap();
        b.add_text(m("b"), &synthetic_feed(500, 100, 9), "b")
            .unwrap();
        let t = b.build();
        let mut nets: Vec<(IpAddr, u8, u64)> = Vec::new();
        for (bit, src) in [(1u64, text), (2u64, synthetic_feed(500, 100, 9))] {
            for l in src.lines().skip(1) {
                let (a, len) = l.split_once('/').unwrap();
                nets.push((a.parse().unwrap(), len.parse().unwrap(), bit));
            }
        }
        let contains = |n: &(IpAddr, u8, u64), ip: IpAddr| match (n.0, ip) {
            (IpAddr::V4(p), IpAddr::V4(a)) => {
                let (s, e) = u32::range(u32::from(p), n.1);
                (s..=e).contains(&u32::from(a))
            }
            (IpAddr::V6(p), IpAddr::V6(a)) => {
                let (s, e) = u128::range(u128::from(p), n.1);
                (s..=e).contains(&u128::from(a))
            }
            _ => false,
        };
        // Probe each prefix's first and last address and their neighbours,
        // plus pseudo-random addresses.
        let mut probes: Vec<IpAddr> = Vec::new();
        for n in nets.iter().step_by(7) {
            match n.0 {
                IpAddr::V4(p) => {
                    let (s, e) = u32::range(u32::from(p), n.1);
                    for v in [s.wrapping_sub(1), s, e, e.wrapping_add(1)] {
                        probes.push(IpAddr::V4(v.into()));
                    }
                }
                IpAddr::V6(p) => {
                    let (s, e) = u128::range(u128::from(p), n.1);
                    for v in [s.wrapping_sub(1), s, e, e.wrapping_add(1)] {
                        probes.push(IpAddr::V6(v.into()));
                    }
                }
            }
        }
        let mut x = 99u64;
        for _ in 0..2000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            probes.push(IpAddr::V4(((x >> 32) as u32).into()));
        }
        for ip in probes {
            let want = nets
                .iter()
                .filter(|n| contains(n, ip))
                .fold(0u64, |m, n| m | n.2);
            assert_eq!(t.lookup(ip).mask, want, "{ip}");
        }
    }
}
