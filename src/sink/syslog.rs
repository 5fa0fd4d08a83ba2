//! RFC 5424 syslog messages carrying one EVE JSON line each:
//! `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`, where MSG is the
//! JSON line and MSGID its `event_type`. Framing per transport: none over UDP
//! (RFC 5426, one datagram per message), octet counting `LEN SP MSG` over TCP
//! and TLS (RFC 6587 § 3.4.1, RFC 5425).

use serde::Deserialize;
use std::time::{SystemTime, UNIX_EPOCH};

/// Largest UDP payload over IPv4 (65,535 − IP and UDP headers); longer
/// messages are truncated and counted.
pub const MAX_UDP_MESSAGE: usize = 65_507;

/// Syslog facility (RFC 5424 § 6.2.1); the discriminant is the code
/// (counting up from `kern` = 0 and from `local0` = 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
#[repr(u8)]
pub enum Facility {
    Kern = 0,
    User,
    Mail,
    Daemon,
    Auth,
    Syslog,
    Lpr,
    News,
    Uucp,
    Cron,
    Authpriv,
    Ftp,
    Local0 = 16,
    Local1,
    Local2,
    Local3,
    Local4,
    Local5,
    Local6,
    Local7,
}

impl Facility {
    /// The facility's code, for PRI.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The syslog severities the mapping uses (RFC 5424 § 6.2.1); the
/// discriminant is the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Severity {
    /// Critical conditions: alerts of EVE severity 1.
    Crit = 2,
    /// Error conditions: alerts of EVE severity 2.
    Err = 3,
    /// Warning: alerts of EVE severity 3 or without a severity.
    Warning = 4,
    /// Informational: every other event (`flow`, `stats`, ...).
    Info = 6,
}

/// What the message header needs from one EVE line, found without parsing
/// the whole line: `event_type`, and for alerts `alert.severity`.
#[derive(Debug, PartialEq, Eq)]
pub struct Probe<'a> {
    /// `event_type`, when present and printable (at most 32 bytes).
    pub event_type: Option<&'a str>,
    /// Syslog severity derived from the event.
    pub severity: Severity,
}

/// Reads `event_type` and the alert severity from an EVE line. Quotes inside
/// JSON strings are escaped, so `"event_type":"` and `"severity":` only match
/// keys. The event writer emits no spaces between keys and values.
pub fn probe(line: &[u8]) -> Probe<'_> {
    let event_type = find(line, b"\"event_type\":\"").and_then(|at| {
        let rest = &line[at..];
        let end = rest.iter().position(|&b| b == b'"')?;
        let v = std::str::from_utf8(&rest[..end]).ok()?;
        (!v.is_empty() && v.len() <= 32 && v.bytes().all(|b| (33..=126).contains(&b))).then_some(v)
    });
    let severity = match event_type {
        Some("alert") => {
            let level = find(line, b"\"alert\":{").and_then(|at| {
                let sev = at + find(&line[at..], b"\"severity\":")?;
                line.get(sev).copied()
            });
            match level {
                Some(b'1') => Severity::Crit,
                Some(b'2') => Severity::Err,
                _ => Severity::Warning,
            }
        }
        _ => Severity::Info,
    };
    Probe {
        event_type,
        severity,
    }
}

/// Index just past the first occurrence of `needle`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + needle.len())
}

/// The fixed parts of every header.
#[derive(Debug, Clone)]
pub struct Header {
    /// Facility code (0–23).
    pub facility: u8,
    /// HOSTNAME field.
    pub hostname: String,
    /// APP-NAME field.
    pub app_name: String,
    /// PROCID field (this process's id).
    pub procid: String,
}

impl Header {
    /// Appends the RFC 5424 message for `line` (no trailing newline) to
    /// `out`, stamped with the current time.
    pub fn write(&self, line: &[u8], out: &mut Vec<u8>) {
        self.write_at(line, SystemTime::now(), out)
    }

    /// As [`Header::write`] with an explicit time (tests).
    pub fn write_at(&self, line: &[u8], now: SystemTime, out: &mut Vec<u8>) {
        let p = probe(line);
        let pri = u32::from(self.facility) * 8 + u32::from(p.severity as u8);
        let micros = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let mut ts = crate::output::time::eve(crate::capture::Timestamp(micros));
        // EVE ends in `+0000`; RFC 3339 (and so RFC 5424) wants `Z`.
        ts.truncate(ts.len() - 5);
        ts.push('Z');
        out.extend_from_slice(format!("<{pri}>1 {ts} ").as_bytes());
        out.extend_from_slice(self.hostname.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.app_name.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.procid.as_bytes());
        out.push(b' ');
        out.extend_from_slice(p.event_type.unwrap_or("-").as_bytes());
        out.extend_from_slice(b" - ");
        out.extend_from_slice(line);
    }
}

/// The system's host name (`/proc/sys/kernel/hostname`, then
/// `/etc/hostname`), or `-` (the NILVALUE) when neither is readable.
pub fn system_hostname() -> String {
    for p in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(s) = std::fs::read_to_string(p) {
            let s = s.trim();
            if header_field_ok(s, 255) {
                return s.to_string();
            }
        }
    }
    "-".to_string()
}

/// A header field: 1 to `max` printable US-ASCII characters, no spaces.
pub fn header_field_ok(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (33..=126).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn probe_reads_event_type_and_alert_severity() {
        let a = br#"{"timestamp":"x","flow_id":1,"event_type":"alert","alert":{"action":"allowed","signature":"a \"severity\":3","severity":1},"detections":[{"severity":3}]}"#;
        assert_eq!(
            probe(a),
            Probe {
                event_type: Some("alert"),
                severity: Severity::Crit
            }
        );
        let a2 = br#"{"event_type":"alert","alert":{"severity":2}}"#;
        assert_eq!(probe(a2).severity, Severity::Err);
        let a3 = br#"{"event_type":"alert"}"#;
        assert_eq!(probe(a3).severity, Severity::Warning);
        let f = br#"{"timestamp":"x","flow_id":1,"event_type":"flow"}"#;
        assert_eq!(
            probe(f),
            Probe {
                event_type: Some("flow"),
                severity: Severity::Info
            }
        );
        assert_eq!(probe(b"not json").event_type, None);
    }

    #[test]
    fn facility_codes_are_rfc5424() {
        use Facility::*;
        let codes = [Kern, Daemon, Ftp, Local0, Local7].map(Facility::code);
        assert_eq!(codes, [0, 3, 11, 16, 23]);
    }

    #[test]
    fn header_is_rfc5424() {
        let h = Header {
            facility: Facility::Local0.code(),
            hostname: "gw1".into(),
            app_name: "gateward".into(),
            procid: "42".into(),
        };
        let mut out = Vec::new();
        let t = UNIX_EPOCH + Duration::from_micros(1_695_017_621_532_140);
        h.write_at(
            br#"{"event_type":"alert","alert":{"severity":2}}"#,
            t,
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<131>1 2023-09-18T06:13:41.532140Z gw1 gateward 42 alert - {"event_type":"alert","alert":{"severity":2}}"#
        );
    }
}
