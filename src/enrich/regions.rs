//! Region names → ISO 3166-2 codes, for databases that give a region's name
//! instead of its code (the ip-location-db / DB-IP Lite layout's `state1`,
//! or a GeoIP2 subdivision without `iso_code`).
//!
//! Only Ukraine is mapped, because that is where the sanctioned-region rules
//! need subdivisions: all 27 ISO 3166-2:UA entries (24 oblasts, the Autonomous
//! Republic of Crimea, Kyiv and Sevastopol), with the spellings DB-IP Lite
//! uses (`Kharkivs’ka Oblast’`, `Sebastopol City`, `Zaporizhzhya Oblast`, ...;
//! the list of `state1` values seen for UA and RU in the June 2026 build),
//! transliteration variants (Luhansk/Lugansk, Odesa/Odessa) and the
//! Ukrainian adjectival forms (`Donetska`). The occupied regions are also
//! recognised when a database files them under RU (DB-IP Lite puts most
//! Crimean ranges under `RU` / `Crimea` and `RU` / `Sebastopol City`): the
//! code is Ukraine's whatever country the database names, as ISO 3166-2
//! and the OFAC programmes have it.

/// ISO 3166-2:UA codes with their names and spellings (normalised by
/// [`normalise`]: lower case, apostrophes dropped, `oblast`/`region`
/// suffixes removed).
const UA: &[(&str, &[&str])] = &[
    (
        "UA-05",
        &["vinnytsia", "vinnytsya", "vinnitsa", "vinnytska"],
    ),
    ("UA-07", &["volyn", "volynska", "volhynia"]),
    ("UA-09", &["luhansk", "lugansk", "luhanska", "luhanskaya"]),
    (
        "UA-12",
        &[
            "dnipropetrovsk",
            "dnipropetrovska",
            "dnepropetrovsk",
            "dnipro",
        ],
    ),
    (
        "UA-14",
        &["donetsk", "donetska", "donetskaya", "donechchyna"],
    ),
    ("UA-18", &["zhytomyr", "zhytomyrska", "zhitomir"]),
    (
        "UA-21",
        &[
            "zakarpattia",
            "zakarpatska",
            "transcarpathia",
            "zakarpattya",
        ],
    ),
    (
        "UA-23",
        &[
            "zaporizhzhia",
            "zaporizhia",
            "zaporizhzhya",
            "zaporizka",
            "zaporozhye",
            "zaporozhe",
        ],
    ),
    (
        "UA-26",
        &["ivano-frankivsk", "ivano-frankivska", "ivano-frankovsk"],
    ),
    (
        "UA-30",
        &["kyiv city", "kiev city", "city of kyiv", "kyiv misto"],
    ),
    ("UA-32", &["kyiv", "kyivska", "kiev", "kyiv region"]),
    (
        "UA-35",
        &["kirovohrad", "kirovohradska", "kirovograd", "kropyvnytskyi"],
    ),
    (
        "UA-40",
        &[
            "sevastopol",
            "sebastopol",
            "sevastopol city",
            "sebastopol city",
            "city of sevastopol",
            "sevastopol misto",
        ],
    ),
    (
        "UA-43",
        &[
            "crimea",
            "krym",
            "autonomous republic of crimea",
            "republic of crimea",
            "avtonomna respublika krym",
            "respublika krym",
            "crimean republic",
        ],
    ),
    ("UA-46", &["lviv", "lvivska", "lvov"]),
    (
        "UA-48",
        &[
            "mykolaiv",
            "mykolayiv",
            "mykolaivska",
            "nikolaev",
            "nikolayev",
        ],
    ),
    ("UA-51", &["odesa", "odessa", "odeska"]),
    ("UA-53", &["poltava", "poltavska"]),
    ("UA-56", &["rivne", "rivnenska", "rovno"]),
    ("UA-59", &["sumy", "sumska"]),
    ("UA-61", &["ternopil", "ternopilska"]),
    ("UA-63", &["kharkiv", "kharkivska", "kharkov"]),
    ("UA-65", &["kherson", "khersonska"]),
    (
        "UA-68",
        &["khmelnytskyi", "khmelnytskyy", "khmelnytska", "khmelnitsky"],
    ),
    ("UA-71", &["cherkasy", "cherkaska", "cherkassy"]),
    ("UA-74", &["chernihiv", "chernihivska", "chernigov"]),
    ("UA-77", &["chernivtsi", "chernivetska", "chernovtsy"]),
];

/// Ukrainian regions Russia claims to have annexed: recognised under a
/// database's `RU` too.
const OCCUPIED: &[&str] = &["UA-09", "UA-14", "UA-23", "UA-40", "UA-43", "UA-65"];

/// Longest region name considered (longer names are not in the table).
const MAX_NAME: usize = 64;

/// Lower-cases, drops apostrophes, and removes the words that only say
/// what kind of region it is (`Oblast`, `Region`, `People's Republic`).
fn normalise(name: &str, buf: &mut [u8; MAX_NAME]) -> Option<usize> {
    let mut n = 0;
    let mut last_space = true;
    for ch in name.trim().chars() {
        let c = match ch {
            '\'' | '’' | 'ʼ' | '`' | '´' => continue,
            '–' | '—' => '-',
            c if c.is_whitespace() => ' ',
            c if c.is_ascii() => c.to_ascii_lowercase(),
            _ => return None, // not a Latin-script name in the table
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        if n == MAX_NAME {
            return None;
        }
        buf[n] = c as u8;
        n += 1;
    }
    let mut s = std::str::from_utf8(&buf[..n]).ok()?.trim_end();
    for suffix in [" oblast", " region", " peoples republic", " province"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            s = rest.trim_end();
        }
    }
    Some(s.len())
}

/// The ISO 3166-2 code of a region `name` in `country` (the database's
/// ISO 3166-1 code, possibly empty), when the table knows it.
pub fn subdivision_from_name(country: &str, name: &str) -> Option<&'static str> {
    let ua = country.eq_ignore_ascii_case("UA");
    let ru = country.eq_ignore_ascii_case("RU");
    if !(ua || ru || country.is_empty()) {
        return None;
    }
    let mut buf = [0u8; MAX_NAME];
    let len = normalise(name, &mut buf)?;
    let key = std::str::from_utf8(&buf[..len]).ok()?;
    let code = UA
        .iter()
        .find(|(_, names)| names.contains(&key))
        .map(|(code, _)| *code)?;
    if ua || OCCUPIED.contains(&code) {
        Some(code)
    } else {
        None
    }
}

/// True when [`subdivision_from_name`] can produce `code` (so a rule on it
/// can match a name-only database).
pub fn name_mapped(code: &str) -> bool {
    UA.iter().any(|(c, _)| c.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbip_spellings_map_to_iso_codes() {
        for (country, name, code) in [
            ("UA", "Crimea", "UA-43"),
            ("RU", "Crimea", "UA-43"),
            ("RU", "Sebastopol City", "UA-40"),
            ("UA", "Sebastopol City", "UA-40"),
            ("UA", "Donetsk", "UA-14"),
            ("UA", "Luhansk", "UA-09"),
            ("RU", "Luhansk", "UA-09"),
            ("UA", "Kharkivs’ka Oblast’", "UA-63"),
            ("UA", "Zaporizhzhya Oblast", "UA-23"),
            ("UA", "Kyiv City", "UA-30"),
            ("UA", "Kyiv", "UA-32"),
        ] {
            assert_eq!(
                subdivision_from_name(country, name),
                Some(code),
                "{country} {name}"
            );
        }
    }

    #[test]
    fn common_spellings_and_forms() {
        for (name, code) in [
            ("Autonomous Republic of Crimea", "UA-43"),
            ("Republic of Crimea", "UA-43"),
            ("Avtonomna Respublika Krym", "UA-43"),
            ("Sevastopol", "UA-40"),
            ("Sevastopol'", "UA-40"),
            ("Donetsk Oblast", "UA-14"),
            ("Donets'ka Oblast'", "UA-14"),
            ("Donetsk People's Republic", "UA-14"),
            ("Luhansk Oblast", "UA-09"),
            ("Lugansk", "UA-09"),
            ("Luhans'ka oblast", "UA-09"),
            ("Lugansk People’s Republic", "UA-09"),
            ("  luhansk   region ", "UA-09"),
        ] {
            assert_eq!(subdivision_from_name("", name), Some(code), "{name}");
            assert_eq!(subdivision_from_name("UA", name), Some(code), "{name}");
        }
    }

    #[test]
    fn only_occupied_regions_under_ru_and_nothing_elsewhere() {
        assert_eq!(subdivision_from_name("RU", "Kyiv"), None);
        assert_eq!(subdivision_from_name("RU", "Moscow"), None);
        assert_eq!(subdivision_from_name("US", "Crimea"), None);
        assert_eq!(subdivision_from_name("UA", "Атлантида"), None);
        assert_eq!(subdivision_from_name("UA", &"x".repeat(200)), None);
        assert!(name_mapped("UA-43") && name_mapped("ua-09") && !name_mapped("US-CA"));
    }
}
