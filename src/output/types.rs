//! Which event types an output takes (`types`, as in Suricata's eve-log):
//! a small bit set, read from a list of names in the configuration, and
//! the event type of a written line, found without parsing it.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// One EVE `event_type` gateward writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EventType {
    /// Detections (flow alerts and the correlation stage's host alerts).
    Alert,
    /// Flow records.
    Flow,
    /// DNS transactions.
    Dns,
    /// TLS and DTLS handshakes.
    Tls,
    /// HTTP/1.x request and response heads.
    Http,
    /// SSH banners and key exchange.
    Ssh,
    /// QUIC handshakes.
    Quic,
    /// RDP connections.
    Rdp,
    /// VNC (RFB) sessions.
    Rfb,
    /// Decoding anomalies (a packet that could not be decoded).
    Anomaly,
    /// Counters (live daemon).
    Stats,
}

impl EventType {
    /// Every type, in the order the docs list them.
    pub const ALL: [EventType; 11] = [
        EventType::Alert,
        EventType::Flow,
        EventType::Dns,
        EventType::Tls,
        EventType::Http,
        EventType::Ssh,
        EventType::Quic,
        EventType::Rdp,
        EventType::Rfb,
        EventType::Anomaly,
        EventType::Stats,
    ];

    /// The `event_type` value.
    pub const fn name(self) -> &'static str {
        match self {
            EventType::Alert => "alert",
            EventType::Flow => "flow",
            EventType::Dns => "dns",
            EventType::Tls => "tls",
            EventType::Http => "http",
            EventType::Ssh => "ssh",
            EventType::Quic => "quic",
            EventType::Rdp => "rdp",
            EventType::Rfb => "rfb",
            EventType::Anomaly => "anomaly",
            EventType::Stats => "stats",
        }
    }

    /// The type called `name`.
    pub fn from_name(name: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    const fn bit(self) -> u16 {
        1 << self as u8
    }
}

/// A set of event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct EventTypes(u16);

impl EventTypes {
    /// No type.
    pub const NONE: EventTypes = EventTypes(0);

    /// What `analyze` writes unless `output.types` says otherwise: alerts
    /// and flow records, each flow record carrying its protocol sections
    /// (the shape the scoring and correlation tools read), and the stats
    /// event of a live run without sinks.
    pub const ANALYZE: EventTypes =
        EventTypes::of(&[EventType::Alert, EventType::Flow, EventType::Stats]);

    /// What a `[[output.sink]]` takes unless its `types` says otherwise:
    /// everything, as Suricata's default eve-log, so a SIEM's Suricata
    /// dashboards (alerts, flows, DNS, TLS, HTTP, SSH, QUIC, anomalies,
    /// stats) have their events.
    pub const SINK: EventTypes = EventTypes::of(&EventType::ALL);

    /// The set of `types`.
    pub const fn of(types: &[EventType]) -> EventTypes {
        let mut bits = 0;
        let mut i = 0;
        while i < types.len() {
            bits |= types[i].bit();
            i += 1;
        }
        EventTypes(bits)
    }

    /// Whether `t` is in the set.
    #[inline]
    pub const fn has(self, t: EventType) -> bool {
        self.0 & t.bit() != 0
    }

    /// Both sets together.
    pub const fn union(self, o: EventTypes) -> EventTypes {
        EventTypes(self.0 | o.0)
    }

    /// The set without `t`.
    pub const fn without(self, t: EventType) -> EventTypes {
        EventTypes(self.0 & !t.bit())
    }

    /// Whether any per-protocol type (dns, tls, http, ssh, quic, rdp, rfb)
    /// is in the set: only then does a worker build protocol events.
    pub const fn any_protocol(self) -> bool {
        self.0
            & EventTypes::of(&[
                EventType::Dns,
                EventType::Tls,
                EventType::Http,
                EventType::Ssh,
                EventType::Quic,
                EventType::Rdp,
                EventType::Rfb,
            ])
            .0
            != 0
    }

    /// Whether `line` (one JSON line gateward wrote) is of a type in the
    /// set. A line whose type is unknown or cannot be found passes, so an
    /// output never loses a line to the filter by mistake.
    pub fn passes(self, line: &[u8]) -> bool {
        match line_type(line) {
            Some(t) => self.has(t),
            None => true,
        }
    }

    /// The names, in [`EventType::ALL`] order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        EventType::ALL
            .into_iter()
            .filter(move |t| self.has(*t))
            .map(EventType::name)
    }
}

/// The `event_type` of a line gateward wrote: the first `"event_type":"`
/// key. Inside a JSON string every `"` is escaped, so that byte sequence
/// can only be a key, and every writer puts `event_type` among the first
/// top-level keys (after `timestamp` and `flow_id`, whose values cannot
/// contain it).
pub fn line_type(line: &[u8]) -> Option<EventType> {
    const KEY: &[u8] = b"\"event_type\":\"";
    // The key comes within the first 128 bytes of every event gateward
    // writes; looking no further keeps the filter cheap on long lines.
    let head = &line[..line.len().min(256)];
    let at = head.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &line[at..];
    let end = rest.iter().take(16).position(|&b| b == b'"')?;
    EventType::from_name(std::str::from_utf8(&rest[..end]).ok()?)
}

impl<'de> Deserialize<'de> for EventTypes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut set = EventTypes::NONE;
        for n in &names {
            let t = EventType::from_name(n).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown event type `{n}`, expected some of {}",
                    EventType::ALL.map(EventType::name).join(", ")
                ))
            })?;
            set = set.union(EventTypes::of(&[t]));
        }
        Ok(set)
    }
}

impl fmt::Display for EventTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.names().collect();
        f.write_str(&names.join(","))
    }
}

/// When a flow that already alerted alerts again (`output.alert_repeat`):
/// SIEM rules fire once per alert, so by default a flow gets one alert per
/// signature, and another only when the severity rises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertRepeat {
    /// A new signature, or a signature already alerted now at a higher
    /// severity (a smaller EVE number).
    #[default]
    Severity,
    /// Every new or more confident finding (a `high` then a `certain`
    /// finding of one detection make two alerts).
    Upgrade,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_types_are_found_without_parsing() {
        let l = br#"{"timestamp":"2024-01-01T00:00:00.000000+0000","flow_id":1,"event_type":"dns","dns":{"event_type":"x"}}"#;
        assert_eq!(line_type(l), Some(EventType::Dns));
        let l = br#"{"timestamp":"x","event_type":"stats","stats":{}}"#;
        assert_eq!(line_type(l), Some(EventType::Stats));
        // A value that mentions the key is escaped, so it is not matched.
        let l = br#"{"timestamp":"x","http":{"url":"\"event_type\":\"tls"},"event_type":"http"}"#;
        assert_eq!(line_type(l), Some(EventType::Http));
        assert_eq!(line_type(b"{}"), None);
        assert_eq!(line_type(br#"{"event_type":"netflow"}"#), None);
    }

    #[test]
    fn sets_filter_lines() {
        let s = EventTypes::of(&[EventType::Alert, EventType::Dns]);
        assert!(s.passes(br#"{"event_type":"alert"}"#));
        assert!(!s.passes(br#"{"event_type":"flow"}"#));
        assert!(s.passes(br#"{"no":"type"}"#));
        assert!(s.any_protocol());
        assert!(!EventTypes::ANALYZE.any_protocol());
        assert_eq!(s.to_string(), "alert,dns");
    }

    #[test]
    fn names_are_checked() {
        #[derive(Deserialize)]
        struct T {
            types: EventTypes,
        }
        let t: T = toml::from_str("types = [\"alert\", \"tls\"]").unwrap();
        assert_eq!(t.types, EventTypes::of(&[EventType::Alert, EventType::Tls]));
        let e = toml::from_str::<T>("types = [\"alerts\"]").err().unwrap();
        assert!(e.to_string().contains("unknown event type `alerts`"), "{e}");
    }
}
