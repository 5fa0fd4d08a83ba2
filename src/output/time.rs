//! Suricata's EVE timestamp format, `2023-09-18T06:13:41.532140+0000` (UTC),
//! written without a date-time crate: the civil-from-days conversion is
//! Howard Hinnant's public-domain algorithm.

use crate::capture::Timestamp;

/// Formats a capture timestamp as EVE does.
pub fn eve(ts: Timestamp) -> String {
    let mut s = String::with_capacity(31);
    write_eve(&mut s, ts);
    s
}

/// Appends the EVE form of `ts` to `out` (digits pushed by hand: three
/// timestamps per event made `fmt` a visible cost of writing flows).
pub fn write_eve(out: &mut String, ts: Timestamp) {
    let secs = ts.secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    push_digits(out, y.clamp(0, 9999) as u64, 4);
    out.push('-');
    push_digits(out, m as u64, 2);
    out.push('-');
    push_digits(out, d as u64, 2);
    out.push('T');
    push_digits(out, rem / 3600, 2);
    out.push(':');
    push_digits(out, (rem / 60) % 60, 2);
    out.push(':');
    push_digits(out, rem % 60, 2);
    out.push('.');
    push_digits(out, ts.subsec_micros() as u64, 6);
    out.push_str("+0000");
}

/// Appends `v` as exactly `width` decimal digits (zero-padded).
fn push_digits(out: &mut String, mut v: u64, width: usize) {
    let mut buf = [b'0'; 8];
    for i in (0..width).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    for &c in &buf[..width] {
        out.push(char::from(c));
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar; shared with certificate validity dates (`dissect::tls::cert`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_suricata_example() {
        // 2023-09-18T06:13:41.532140 UTC = 1695017621.532140
        assert_eq!(
            eve(Timestamp(1_695_017_621_532_140)),
            "2023-09-18T06:13:41.532140+0000"
        );
    }

    #[test]
    fn stack_rendering_matches_string_rendering() {
        for t in [0, 951_782_400_000_001, 1_695_017_621_532_140] {
            assert_eq!(EveTime(Timestamp(t)).to_string(), eve(Timestamp(t)));
        }
    }

    #[test]
    fn epoch_and_leap_day() {
        assert_eq!(eve(Timestamp(0)), "1970-01-01T00:00:00.000000+0000");
        assert_eq!(
            eve(Timestamp(951_782_400_000_001)),
            "2000-02-29T00:00:00.000001+0000"
        );
    }
}

/// A capture timestamp that serialises in EVE's format without allocating
/// (three per event: this was a visible share of writing flows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EveTime(pub Timestamp);

impl EveTime {
    /// Writes the EVE form into a stack buffer; returns it and its length.
    fn render(self) -> ([u8; 32], usize) {
        let mut b = [0u8; 32];
        let secs = self.0.secs();
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        let mut i = 0;
        let mut put = |v: u64, width: usize, sep: u8| {
            let mut v = v;
            for k in (0..width).rev() {
                b[i + k] = b'0' + (v % 10) as u8;
                v /= 10;
            }
            i += width;
            if sep != 0 {
                b[i] = sep;
                i += 1;
            }
        };
        put(y.clamp(0, 9999) as u64, 4, b'-');
        put(m as u64, 2, b'-');
        put(d as u64, 2, b'T');
        put(rem / 3600, 2, b':');
        put((rem / 60) % 60, 2, b':');
        put(rem % 60, 2, b'.');
        put(self.0.subsec_micros() as u64, 6, 0);
        b[i..i + 5].copy_from_slice(b"+0000");
        (b, i + 5)
    }
}

impl serde::Serialize for EveTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, n) = self.render();
        // Only ASCII digits and separators were written.
        s.serialize_str(std::str::from_utf8(&b[..n]).unwrap_or(""))
    }
}

impl std::fmt::Display for EveTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (b, n) = self.render();
        f.write_str(std::str::from_utf8(&b[..n]).unwrap_or(""))
    }
}
