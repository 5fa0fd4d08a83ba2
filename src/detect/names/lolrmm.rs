//! LOLRMM catalogue feeds (<https://lolrmm.io>, the `magicsword-io/LOLRMM`
//! project): remote monitoring and management tools by name, at catalogue
//! scale (300+ tools, 666 domain patterns in late 2026).
//!
//! The operator downloads the published files and names them in
//! `[detect.names]` (`lolrmm_domains`, `lolrmm_certificates`); nothing of the
//! catalogue is shipped. Two formats are read:
//!
//! * `rmm_domains.csv`: a header `URI,RMM_Tool`, then one pattern and the
//!   tool's name per line (RFC 4180 quoting). A pattern is a host name in
//!   which a label may hold `*` (any run of characters within that label) or
//!   a character class `[a-f0-9]{8}`; a leading `*.` label means "any name
//!   below". A `:port` suffix is ignored (the sensor matches names, not
//!   ports).
//! * `rmm_certificates.json`: a JSON array of tools with `name`,
//!   `signer_names` and `company_names` (the Authenticode signers of the
//!   tools' executables). They are matched against the `O=` of a server
//!   certificate's subject or issuer, and only names that belong to a single
//!   tool are kept (a signer such as `Microsoft Corporation` signs far more
//!   than one remote-management tool).
//!
//! Matching ([`PatternIndex`]) costs one hash probe per label of the looked
//! up name and map, whatever the number of patterns: exact names and `*.`
//! suffixes are hash keys, and a pattern with a wildcard inside is filed
//! under its longest literal suffix (`plus*.site24x7.com` under
//! `site24x7.com`), so only the few patterns sharing that suffix are tried.

use serde::Deserialize;
use std::collections::HashMap;

/// Longest presentation name looked up (RFC 1035: 253 characters).
const MAX_NAME: usize = 253;

/// Largest feed file read (the published catalogue is 20 KB of domains and
/// under 1 MB of certificates; anything much larger is not that feed).
pub const MAX_FEED_BYTES: u64 = 16 * 1024 * 1024;

/// Tokens of one label pattern (a label is at most 63 bytes).
const MAX_PATTERN_TOKENS: usize = 64;

/// `*` per label: the matcher backtracks at each, so their number bounds
/// its cost (63^3 steps at worst per label).
const MAX_STARS: usize = 3;

/// One row of `rmm_domains.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRow {
    /// The pattern, normalised (lower case, no port, no trailing dot).
    pub pattern: String,
    /// The tool's name as the catalogue writes it.
    pub tool: String,
}

/// One tool of `rmm_certificates.json` with the signer names kept for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertTool {
    /// The tool's name as the catalogue writes it.
    pub tool: String,
    /// Signer/company names that belong to this tool only.
    pub names: Vec<String>,
}

/// Reads a file of at most [`MAX_FEED_BYTES`], refusing anything that is
/// not a regular file (a FIFO or `/dev/zero` would be read forever).
pub fn read_feed(path: &std::path::Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_FEED_BYTES {
        return Err(format!("larger than {MAX_FEED_BYTES} bytes"));
    }
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

/// Splits one CSV record (RFC 4180: fields separated by commas, a quoted
/// field may hold commas and doubled quotes). Records never span lines in
/// this feed, so a quote left open is an error.
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
            at_start = true;
        } else {
            cur.push(c);
            at_start = false;
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    out.push(cur);
    Ok(out)
}

/// Parses `rmm_domains.csv`. Errors name the line (1-based).
pub fn parse_domains(text: &str) -> Result<Vec<DomainRow>, String> {
    let mut lines = text.lines().enumerate();
    let header = loop {
        match lines.next() {
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((_, l)) => break l,
            None => return Err("empty file (expected the header `URI,RMM_Tool`)".into()),
        }
    };
    let header = csv_fields(header.trim_start_matches('\u{feff}').trim_end_matches('\r'))?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(uri), Some(tool)) = (col("URI"), col("RMM_Tool")) else {
        return Err("line 1: header must name the columns `URI` and `RMM_Tool`".into());
    };
    let mut rows = Vec::new();
    for (i, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let f = csv_fields(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let (Some(u), Some(t)) = (f.get(uri), f.get(tool)) else {
            return Err(format!("line {}: expected {} fields", i + 1, header.len()));
        };
        let t = t.trim();
        if t.is_empty() || t.len() > 128 {
            return Err(format!(
                "line {}: tool name must be 1 to 128 characters",
                i + 1
            ));
        }
        let pattern = normalise_pattern(u).map_err(|e| format!("line {}: `{u}`: {e}", i + 1))?;
        rows.push(DomainRow {
            pattern,
            tool: t.to_owned(),
        });
    }
    Ok(rows)
}

/// Lower-cases a pattern, drops a `:port` suffix, a scheme, a path and one
/// trailing dot, and checks it compiles.
fn normalise_pattern(raw: &str) -> Result<String, String> {
    let mut p = raw.trim().to_ascii_lowercase();
    if let Some(rest) = p
        .strip_prefix("https://")
        .or_else(|| p.strip_prefix("http://"))
    {
        p = rest.to_owned();
    }
    if let Some(slash) = p.find('/') {
        p.truncate(slash);
    }
    if let Some(colon) = p.rfind(':')
        && p[colon + 1..].bytes().all(|b| b.is_ascii_digit())
    {
        p.truncate(colon);
    }
    let p = p.strip_suffix('.').unwrap_or(&p).to_owned();
    Pattern::compile(&p)?;
    Ok(p)
}

#[derive(Deserialize)]
struct CertEntry {
    name: String,
    #[serde(default)]
    signer_names: Vec<String>,
    #[serde(default)]
    company_names: Vec<String>,
}

/// Parses `rmm_certificates.json`, keeping each tool's signer and company
/// names that no other tool of the file shares.
pub fn parse_certificates(text: &str) -> Result<Vec<CertTool>, String> {
    let entries: Vec<CertEntry> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut owners: HashMap<String, Option<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        for n in e.signer_names.iter().chain(&e.company_names) {
            let n = n.trim();
            if n.is_empty() || n.len() > 128 {
                continue;
            }
            owners
                .entry(n.to_owned())
                .and_modify(|o| {
                    if *o != Some(i) {
                        *o = None;
                    }
                })
                .or_insert(Some(i));
        }
    }
    let mut out: Vec<CertTool> = entries
        .iter()
        .map(|e| CertTool {
            tool: e.name.trim().to_owned(),
            names: Vec::new(),
        })
        .collect();
    for (name, owner) in owners {
        if let Some(t) = owner.and_then(|i| out.get_mut(i)) {
            t.names.push(name);
        }
    }
    for t in &mut out {
        t.names.sort();
    }
    out.retain(|t| !t.tool.is_empty() && !t.names.is_empty());
    Ok(out)
}

/// The protocol name a catalogue tool is reported under: lower case, runs of
/// other characters as one `_`, at most 32 bytes (`Absolute (Computrace)` →
/// `absolute_computrace`).
pub fn tool_slug(name: &str) -> String {
    let mut s = String::with_capacity(name.len().min(32));
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if s.len() == 32 {
                break;
            }
            s.push(c.to_ascii_lowercase());
        } else if !s.is_empty() && !s.ends_with('_') && s.len() < 32 {
            s.push('_');
        }
    }
    while s.ends_with('_') {
        s.pop();
    }
    if s.is_empty() {
        s.push_str("rmm_tool");
    }
    s
}

/// One token of a label pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A literal byte.
    Byte(u8),
    /// `*`: any run of bytes within the label.
    Star,
    /// `[a-f0-9]{n}`: `n` bytes from the ranges (`n` = 1 without braces).
    Class(Vec<(u8, u8)>, u8),
}

/// A label that is not a plain literal.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LabelGlob(Vec<Tok>);

fn label_byte_ok(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
}

impl LabelGlob {
    fn parse(label: &str) -> Result<Self, String> {
        let b = label.as_bytes();
        let mut toks = Vec::new();
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            match c {
                b'*' => {
                    if toks.last() != Some(&Tok::Star) {
                        if toks.iter().filter(|t| **t == Tok::Star).count() >= MAX_STARS {
                            return Err(format!("more than {MAX_STARS} `*` in one label"));
                        }
                        toks.push(Tok::Star);
                    }
                    i += 1;
                }
                b'[' => {
                    let close = b[i..]
                        .iter()
                        .position(|&x| x == b']')
                        .ok_or("unclosed `[`")?;
                    let set = &b[i + 1..i + close];
                    let mut ranges = Vec::new();
                    let mut j = 0;
                    while let Some(&lo) = set.get(j) {
                        if set.get(j + 1) == Some(&b'-') && set.get(j + 2).is_some() {
                            let hi = set[j + 2];
                            if lo > hi {
                                return Err("reversed range in `[...]`".into());
                            }
                            ranges.push((lo, hi));
                            j += 3;
                        } else {
                            ranges.push((lo, lo));
                            j += 1;
                        }
                    }
                    if ranges.is_empty() {
                        return Err("empty `[]`".into());
                    }
                    i += close + 1;
                    let mut n = 1u8;
                    if b.get(i) == Some(&b'{') {
                        let end = b[i..]
                            .iter()
                            .position(|&x| x == b'}')
                            .ok_or("unclosed `{`")?;
                        n = std::str::from_utf8(&b[i + 1..i + end])
                            .ok()
                            .and_then(|s| s.parse().ok())
                            .filter(|&n: &u8| (1..=63).contains(&n))
                            .ok_or("`{n}` must be 1 to 63")?;
                        i += end + 1;
                    }
                    toks.push(Tok::Class(ranges, n));
                }
                c if label_byte_ok(c) => {
                    toks.push(Tok::Byte(c));
                    i += 1;
                }
                c => return Err(format!("unexpected character `{}`", c.escape_ascii())),
            }
            if toks.len() > MAX_PATTERN_TOKENS {
                return Err("label pattern too long".into());
            }
        }
        Ok(LabelGlob(toks))
    }

    /// True when the whole label matches. Backtracks only at `*`, and a
    /// label is at most 63 bytes with a bounded token count, so the cost is
    /// bounded per label.
    fn matches(&self, label: &[u8]) -> bool {
        fn go(t: &[Tok], l: &[u8]) -> bool {
            match t.split_first() {
                None => l.is_empty(),
                Some((Tok::Byte(c), rest)) => l.first() == Some(c) && go(rest, &l[1..]),
                Some((Tok::Class(r, n), rest)) => {
                    let n = usize::from(*n);
                    l.len() >= n
                        && l[..n]
                            .iter()
                            .all(|b| r.iter().any(|&(lo, hi)| (lo..=hi).contains(b)))
                        && go(rest, &l[n..])
                }
                Some((Tok::Star, rest)) => (0..=l.len()).any(|k| go(rest, &l[k..])),
            }
        }
        label.len() <= 63 && go(&self.0, label)
    }
}

/// A compiled pattern: how it is filed and, for inner wildcards, the labels
/// to check in front of its literal suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// No wildcard: the name itself.
    Exact(String),
    /// `*.suffix`: any name strictly below `suffix`.
    Below(String),
    /// Wildcards inside: `labels` (in order, left to right) in front of the
    /// literal `suffix`; `open` when the first of them is a whole-label `*`
    /// that stands for one or more labels.
    Glob {
        labels: Vec<LabelGlob>,
        suffix: String,
        open: bool,
    },
}

impl Pattern {
    fn compile(p: &str) -> Result<Pattern, String> {
        if p.is_empty() || p.len() > MAX_NAME {
            return Err("empty or longer than 253 characters".into());
        }
        let labels: Vec<&str> = p.split('.').collect();
        if labels.iter().any(|l| l.is_empty()) {
            return Err("empty label".into());
        }
        let literal = |l: &str| l.bytes().all(label_byte_ok);
        let first_glob_from_end = labels.iter().rposition(|l| !literal(l));
        let Some(last_wild) = first_glob_from_end else {
            if labels.len() < 2 {
                return Err("a single label would match a whole top-level domain".into());
            }
            return Ok(Pattern::Exact(p.to_owned()));
        };
        let suffix_labels = &labels[last_wild + 1..];
        if suffix_labels.len() < 2 {
            return Err("the literal part must name at least a registered domain".into());
        }
        let suffix = suffix_labels.join(".");
        if last_wild == 0 && labels[0] == "*" {
            return Ok(Pattern::Below(suffix));
        }
        let globs = labels[..=last_wild]
            .iter()
            .map(|l| LabelGlob::parse(l))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pattern::Glob {
            open: labels[0] == "*",
            labels: globs,
            suffix,
        })
    }
}

/// An inner-wildcard pattern, its value and its text.
type GlobEntry = (Pattern, u32, Box<str>);

/// Wildcard host-name patterns → a value, looked up in one probe per label.
#[derive(Debug, Default)]
pub struct PatternIndex {
    /// Exact names (the key is the pattern text).
    exact: HashMap<Box<str>, u32>,
    /// `*.suffix` by suffix, with the pattern text.
    below: HashMap<Box<str>, (u32, Box<str>)>,
    /// Inner-wildcard patterns by literal suffix, with the pattern text.
    globbed: HashMap<Box<str>, Vec<GlobEntry>>,
    len: usize,
}

/// A successful look-up: the value and the pattern that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternHit<'a> {
    /// The value given at insertion.
    pub value: u32,
    /// The pattern as normalised.
    pub pattern: &'a str,
}

impl PatternIndex {
    /// Adds a normalised pattern (see [`parse_domains`]). The first value
    /// given for a pattern wins.
    pub fn insert(&mut self, pattern: &str, value: u32) -> Result<(), String> {
        let compiled = Pattern::compile(pattern)?;
        let fresh = match compiled {
            Pattern::Exact(n) => {
                let fresh = !self.exact.contains_key(n.as_str());
                if fresh {
                    self.exact.insert(n.into(), value);
                }
                fresh
            }
            Pattern::Below(s) => {
                let fresh = !self.below.contains_key(s.as_str());
                if fresh {
                    self.below.insert(s.into(), (value, pattern.into()));
                }
                fresh
            }
            Pattern::Glob { ref suffix, .. } => {
                let v = self.globbed.entry(suffix.as_str().into()).or_default();
                let fresh = !v.iter().any(|(p, _, _)| *p == compiled);
                if fresh {
                    v.push((compiled, value, pattern.into()));
                }
                fresh
            }
        };
        self.len += usize::from(fresh);
        Ok(())
    }

    /// Distinct patterns loaded.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pattern a host name matches (ASCII case and one trailing dot
    /// ignored): an exact name first, then the longest suffix. Allocates
    /// nothing.
    pub fn lookup(&self, name: &str) -> Option<PatternHit<'_>> {
        if self.len == 0 {
            return None;
        }
        let name = name.strip_prefix("*.").unwrap_or(name);
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || name.len() > MAX_NAME {
            return None;
        }
        let mut buf = [0u8; MAX_NAME];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name.as_bytes());
        lower.make_ascii_lowercase();
        let lower = std::str::from_utf8(lower).ok()?;
        if let Some((k, &v)) = self.exact.get_key_value(lower) {
            return Some(PatternHit {
                value: v,
                pattern: k,
            });
        }
        // Walk proper suffixes from the longest: `front` is what precedes.
        let mut dot = lower.find('.');
        while let Some(d) = dot {
            let (front, rest) = (&lower[..d], &lower[d + 1..]);
            if let Some(v) = self.globbed.get(rest) {
                for (p, val, text) in v {
                    if glob_front_matches(p, front) {
                        return Some(PatternHit {
                            value: *val,
                            pattern: text,
                        });
                    }
                }
            }
            if let Some((v, text)) = self.below.get(rest) {
                return Some(PatternHit {
                    value: *v,
                    pattern: text,
                });
            }
            dot = rest.find('.').map(|n| d + 1 + n);
        }
        None
    }
}

/// True when the labels in `front` (the name before the literal suffix)
/// match a glob pattern's labels.
fn glob_front_matches(p: &Pattern, front: &str) -> bool {
    let Pattern::Glob { labels, open, .. } = p else {
        return false;
    };
    let got = front.split('.').count();
    // The leading `*` of an open pattern stands for one or more labels.
    let (fixed, count_ok) = if *open {
        (labels.len() - 1, got > labels.len() - 1)
    } else {
        (labels.len(), got == labels.len())
    };
    count_ok
        && labels
            .iter()
            .rev()
            .take(fixed)
            .zip(front.rsplit('.'))
            .all(|(g, l)| g.matches(l.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample in the published format (rows modelled on the catalogue's
    /// own shapes: exact names, `*.` suffixes, inner wildcards, a character
    /// class with a port, a quoted tool name with a comma).
    pub(crate) const SAMPLE_CSV: &str = "URI,RMM_Tool\r\n\
*.anydesk.com,AnyDesk\r\n\
relay-[a-f0-9]{8}.net.anydesk.com:443,AnyDesk\r\n\
boot.net.anydesk.com,AnyDesk\r\n\
plus*.site24x7.com,Site24x7\r\n\
rescue-list.*.logmein-gateway.com,LogMeIn rescue\r\n\
search.namequery.com,Absolute (Computrace)\r\n\
*.247ithelp.com,\"247ithelp.com (ConnectWise, Inc.)\"\r\n";

    #[test]
    fn parses_the_published_format() {
        let rows = parse_domains(SAMPLE_CSV).unwrap();
        assert_eq!(rows.len(), 7);
        assert_eq!(rows[1].pattern, "relay-[a-f0-9]{8}.net.anydesk.com");
        assert_eq!(rows[6].tool, "247ithelp.com (ConnectWise, Inc.)");
    }

    #[test]
    fn patterns_match_like_the_catalogue_means() {
        let mut idx = PatternIndex::default();
        for (i, r) in parse_domains(SAMPLE_CSV).unwrap().iter().enumerate() {
            idx.insert(&r.pattern, i as u32).unwrap();
        }
        let v = |n: &str| idx.lookup(n).map(|h| (h.value, h.pattern.to_owned()));
        assert_eq!(v("relay-0a1b2c3d.net.anydesk.com").unwrap().0, 1);
        assert_eq!(v("Boot.Net.AnyDesk.com.").unwrap().0, 2);
        assert_eq!(v("relay-xyz.net.anydesk.com").unwrap().0, 0); // falls to *.anydesk.com
        assert_eq!(v("anydesk.com"), None); // `*.` means below
        assert_eq!(v("plus3.site24x7.com").unwrap().0, 3);
        assert_eq!(v("plus.site24x7.com").unwrap().0, 3);
        assert_eq!(v("www.site24x7.com"), None);
        assert_eq!(v("a.plus3.site24x7.com"), None);
        assert_eq!(v("rescue-list.eu.logmein-gateway.com").unwrap().0, 4);
        assert_eq!(v("x.rescue-list.eu.logmein-gateway.com"), None);
        assert_eq!(v("search.namequery.com").unwrap().0, 5);
        assert_eq!(v("a.search.namequery.com"), None);
        assert_eq!(v("notanydesk.com"), None);
        assert_eq!(v("x.y.247ithelp.com").unwrap().1, "*.247ithelp.com");
    }

    #[test]
    fn bad_files_give_one_line_errors() {
        for (text, want) in [
            ("", "empty file"),
            ("Domain,Tool\nx.com,X\n", "header"),
            ("URI,RMM_Tool\n*.com,X\n", "line 2"),
            ("URI,RMM_Tool\nok.example.com,\"X\n", "line 2: unterminated"),
            ("URI,RMM_Tool\nbad host.example.com,X\n", "line 2"),
            ("URI,RMM_Tool\nx[a-.example.com,X\n", "line 2"),
        ] {
            let e = parse_domains(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn certificate_names_shared_by_tools_are_dropped() {
        let json = r#"[
          {"name": "Tool A", "signer_names": ["A Ltd", "Big Corp"], "company_names": ["A Ltd"], "certificates": []},
          {"name": "Tool B", "signer_names": ["Big Corp"], "company_names": []},
          {"name": "Tool C", "signer_names": [], "company_names": ["C GmbH"]}
        ]"#;
        let t = parse_certificates(json).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].tool.as_str(), t[0].names.clone()),
            ("Tool A", vec!["A Ltd".to_owned()])
        );
        assert_eq!(t[1].names, vec!["C GmbH".to_owned()]);
        assert!(parse_certificates("{").is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(tool_slug("Absolute (Computrace)"), "absolute_computrace");
        assert_eq!(tool_slug("AnyDesk"), "anydesk");
        assert_eq!(tool_slug("()"), "rmm_tool");
        assert!(tool_slug(&"x".repeat(100)).len() <= 32);
    }

    proptest::proptest! {
        #[test]
        fn lookups_never_panic(name in "[a-z0-9.*-]{0,80}", pat in "[a-z0-9.*\\[\\]{}-]{0,40}") {
            let mut idx = PatternIndex::default();
            let _ = idx.insert(&pat, 0);
            let _ = idx.insert("*.anydesk.com", 1);
            let _ = idx.lookup(&name);
        }
    }
}
