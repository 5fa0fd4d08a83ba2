//! Capture-time stamps: EVE's `2026-11-21T02:36:38.141133+0000` to and from
//! microseconds since the Unix epoch.
//!
//! Self-contained (no date crate) so the correlation stage does not depend on
//! the writer in `src/event.rs`, which is being refactored separately.

/// Microseconds in one second.
pub const US_PER_S: u64 = 1_000_000;
/// Microseconds in one hour.
pub const US_PER_HOUR: u64 = 3_600 * US_PER_S;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (`civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses an EVE time stamp (`YYYY-MM-DDTHH:MM:SS[.ffffff](+|-)HHMM`, also
/// `Z` or `+HH:MM`) into µs since the epoch. Returns `None` for anything
/// else, including times before 1970.
pub fn parse_eve_time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 19 || b.len() > 40 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b'T' && b[10] != b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_us: u64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                frac_us = frac_us * 10 + u64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..6 {
            frac_us *= 10;
        }
    }
    let offset_s: i64 = match b.get(i) {
        None => 0,
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = s.get(i + 1..)?;
            let rest: String = rest.chars().filter(|c| *c != ':').collect();
            if rest.len() != 4 || !rest.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh: i64 = rest.get(0..2)?.parse().ok()?;
            let om: i64 = rest.get(2..4)?.parse().ok()?;
            let v = oh * 3600 + om * 60;
            if sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(se) - offset_s;
    let secs = u64::try_from(secs).ok()?;
    secs.checked_mul(US_PER_S)?.checked_add(frac_us)
}

/// Formats µs since the epoch the way gateward's EVE writer does
/// (`2026-11-21T02:36:38.141133+0000`, UTC).
pub fn format_eve_time(us: u64) -> String {
    let secs = us / US_PER_S;
    let frac = us % US_PER_S;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}+0000",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Local hour of day (0..24) and ISO weekday (1 = Monday .. 7 = Sunday) of a
/// capture time at a fixed UTC offset in minutes.
pub fn local_hour_weekday(us: u64, utc_offset_min: i32) -> (u8, u8) {
    let secs = (us / US_PER_S) as i64 + i64::from(utc_offset_min) * 60;
    let days = secs.div_euclid(86_400);
    let hour = (secs.rem_euclid(86_400) / 3600) as u8;
    // 1970-01-01 was a Thursday (ISO 4).
    let weekday = ((days + 3).rem_euclid(7) + 1) as u8;
    (hour, weekday)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_eve_format() {
        let s = "2026-11-21T02:36:38.141133+0000";
        let us = parse_eve_time(s).expect("parses");
        assert_eq!(format_eve_time(us), s);
        assert_eq!(parse_eve_time("1970-01-01T00:00:00+0000"), Some(0));
        assert_eq!(parse_eve_time("1970-01-01T01:00:00+0100"), Some(0));
        assert_eq!(parse_eve_time("1970-01-01T00:00:01.5Z"), Some(1_500_000));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for s in [
            "",
            "x",
            "2026-13-01T00:00:00+0000",
            "1969-12-31T23:59:59+0000",
            "2026-11-21T02:36:38.+0000",
            "２０２６-11-21T02:36:38+0000",
            "2026-11-21T02:36:38+00000",
        ] {
            assert_eq!(parse_eve_time(s), None, "{s}");
        }
    }

    #[test]
    fn local_hours_and_weekdays() {
        // 2026-11-21 is a Saturday.
        let us = parse_eve_time("2026-11-21T02:36:38+0000").expect("parses");
        assert_eq!(local_hour_weekday(us, 0), (2, 6));
        assert_eq!(local_hour_weekday(us, -300), (21, 5));
    }
}
