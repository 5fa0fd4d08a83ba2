//! Sanctioned regions: jurisdictions by ISO 3166-1 country or ISO 3166-2
//! subdivision, and a separate watch list of countries for lower-severity
//! alerts.
//!
//! The default is the comprehensive (country- or region-wide) programmes of
//! the US Treasury's Office of Foreign Assets Control as of 2025:
//!
//! | rule | programme |
//! |---|---|
//! | `CU` | Cuba: Cuban Assets Control Regulations, 31 CFR part 515 |
//! | `IR` | Iran: Iranian Transactions and Sanctions Regulations, 31 CFR part 560 |
//! | `KP` | North Korea: North Korea Sanctions Regulations, 31 CFR part 510 |
//! | `UA-43`, `UA-40` | the Crimea region of Ukraine (Crimea and Sevastopol): Executive Order 13685 (19 December 2014) |
//! | `UA-14`, `UA-09` | the so-called Donetsk and Luhansk People's Republics: Executive Order 14065 (21 February 2022) |
//!
//! The so-called DNR and LNR cover only parts of the Donetsk (UA-14) and
//! Luhansk (UA-09) oblasts, and a geolocation database knows oblasts, not
//! front lines: a match on those two rules is marked `approximate`.
//!
//! Syria is not in the default: Executive Order 14312 of 30 June 2025
//! ("Providing for the Revocation of Syria Sanctions", 90 FR 29395, 3 July
//! 2025) ended the comprehensive Syria programme with effect from 1 July
//! 2025; OFAC removed the Syrian Sanctions Regulations. Operators who still
//! want Syria flagged add `SY` to `countries` or `watch_countries`.
//!
//! Subdivision rules need a database with regions (`enrich.city_db`); with
//! only a country database they cannot match, and
//! [`super::Enricher::warnings`] says so.

use super::geo::{CountryCode, SubdivisionCode};
use super::intern;
use serde::Deserialize;

/// The `[enrich.sanctions]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SanctionsConfig {
    /// ISO 3166-1 alpha-2 countries (default `["CU", "IR", "KP"]`).
    pub countries: Vec<String>,
    /// ISO 3166-2 subdivisions (default `["UA-43", "UA-40", "UA-14",
    /// "UA-09"]`).
    pub subdivisions: Vec<String>,
    /// Subdivision rules that cover only part of the subdivision, so a match
    /// is approximate (default `["UA-14", "UA-09"]`: the so-called DNR and
    /// LNR). Each must also be in `subdivisions`.
    pub approximate: Vec<String>,
    /// Countries that raise a lower-severity (3) `sanctioned_region`
    /// detection marked `watch` (default: none).
    pub watch_countries: Vec<String>,
}

impl Default for SanctionsConfig {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        SanctionsConfig {
            countries: s(&["CU", "IR", "KP"]),
            subdivisions: s(&["UA-43", "UA-40", "UA-14", "UA-09"]),
            approximate: s(&["UA-14", "UA-09"]),
            watch_countries: Vec::new(),
        }
    }
}

/// What a rule is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// A whole country.
    Country,
    /// A subdivision.
    Subdivision,
}

/// A matched rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SanctionMatch {
    /// The rule's code as configured (`IR`, `UA-43`).
    pub rule: &'static str,
    /// Country or subdivision rule.
    pub kind: RuleKind,
    /// The programme, for the default rules (`OFAC: Iran (ITSR, 31 CFR
    /// 560)`); `configured` for others; `watch list` for the watch list.
    pub programme: &'static str,
    /// The rule covers only part of the subdivision (DNR/LNR).
    pub approximate: bool,
    /// From `watch_countries`: lower severity.
    pub watch: bool,
}

#[derive(Clone, Copy, Debug)]
struct CountryRule {
    code: CountryCode,
    text: &'static str,
    programme: &'static str,
    watch: bool,
}

#[derive(Clone, Copy, Debug)]
struct SubRule {
    code: SubdivisionCode,
    text: &'static str,
    programme: &'static str,
    approximate: bool,
}

/// The compiled rules.
#[derive(Clone, Debug, Default)]
pub struct Sanctions {
    countries: Vec<CountryRule>,
    subdivisions: Vec<SubRule>,
}

fn programme(code: &str) -> &'static str {
    match code {
        "CU" => "OFAC: Cuba (CACR, 31 CFR 515)",
        "IR" => "OFAC: Iran (ITSR, 31 CFR 560)",
        "KP" => "OFAC: North Korea (NKSR, 31 CFR 510)",
        "UA-43" | "UA-40" => "OFAC: Crimea region of Ukraine (EO 13685)",
        "UA-14" => "OFAC: so-called Donetsk People's Republic (EO 14065)",
        "UA-09" => "OFAC: so-called Luhansk People's Republic (EO 14065)",
        _ => "configured",
    }
}

impl Sanctions {
    /// Compiles and checks the configuration. Errors name the key and value.
    pub fn new(cfg: &SanctionsConfig) -> Result<Sanctions, String> {
        let mut s = Sanctions::default();
        for (list, watch, key) in [
            (&cfg.countries, false, "countries"),
            (&cfg.watch_countries, true, "watch_countries"),
        ] {
            for c in list {
                let code = CountryCode::parse(c).ok_or_else(|| {
                    format!("enrich.sanctions.{key}: `{c}` is not an ISO 3166-1 alpha-2 code")
                })?;
                if s.countries.iter().any(|r| r.code == code) {
                    return Err(format!(
                        "enrich.sanctions.{key}: `{c}` is listed twice (countries and watch_countries are exclusive)"
                    ));
                }
                s.countries.push(CountryRule {
                    code,
                    text: intern(code.as_str()),
                    programme: if watch {
                        "watch list"
                    } else {
                        programme(code.as_str())
                    },
                    watch,
                });
            }
        }
        for a in &cfg.approximate {
            let ok = SubdivisionCode::parse(a).is_some_and(|code| {
                cfg.subdivisions
                    .iter()
                    .any(|s| SubdivisionCode::parse(s) == Some(code))
            });
            if !ok {
                return Err(format!(
                    "enrich.sanctions.approximate: `{a}` is not one of enrich.sanctions.subdivisions"
                ));
            }
        }
        for d in &cfg.subdivisions {
            let code = SubdivisionCode::parse(d).ok_or_else(|| {
                format!("enrich.sanctions.subdivisions: `{d}` is not an ISO 3166-2 code (`CC-XXX`)")
            })?;
            if s.subdivisions.iter().any(|r| r.code == code) {
                continue;
            }
            let approximate = cfg
                .approximate
                .iter()
                .any(|a| SubdivisionCode::parse(a) == Some(code));
            s.subdivisions.push(SubRule {
                code,
                text: intern(code.as_str()),
                programme: programme(code.as_str()),
                approximate,
            });
        }
        Ok(s)
    }

    /// True when there are subdivision rules.
    pub fn has_subdivision_rules(&self) -> bool {
        !self.subdivisions.is_empty()
    }

    /// The subdivision rules' codes.
    pub fn subdivision_codes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.subdivisions.iter().map(|r| r.text)
    }

    /// The rule matching a location: a subdivision rule first (it is more
    /// specific), then a sanctioned country, then the watch list.
    pub fn check(
        &self,
        country: Option<CountryCode>,
        subdivision: Option<SubdivisionCode>,
    ) -> Option<SanctionMatch> {
        if let Some(sub) = subdivision
            && let Some(r) = self.subdivisions.iter().find(|r| r.code == sub)
        {
            return Some(SanctionMatch {
                rule: r.text,
                kind: RuleKind::Subdivision,
                programme: r.programme,
                approximate: r.approximate,
                watch: false,
            });
        }
        let country = country?;
        let mut found: Option<&CountryRule> = None;
        for r in self.countries.iter().filter(|r| r.code == country) {
            if found.is_none_or(|f| f.watch && !r.watch) {
                found = Some(r);
            }
        }
        found.map(|r| SanctionMatch {
            rule: r.text,
            kind: RuleKind::Country,
            programme: r.programme,
            approximate: false,
            watch: r.watch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(s: &str) -> Option<CountryCode> {
        CountryCode::parse(s)
    }
    fn sd(s: &str) -> Option<SubdivisionCode> {
        SubdivisionCode::parse(s)
    }

    #[test]
    fn defaults_are_the_2025_ofac_comprehensive_programmes() {
        let s = Sanctions::new(&SanctionsConfig::default()).unwrap();
        for c in ["CU", "IR", "KP"] {
            let m = s.check(cc(c), None).unwrap();
            assert_eq!(m.rule, c);
            assert_eq!(m.kind, RuleKind::Country);
            assert!(m.programme.starts_with("OFAC"), "{}", m.programme);
            assert!(!m.approximate && !m.watch);
        }
        // Syria's programme ended on 1 July 2025.
        assert!(s.check(cc("SY"), None).is_none());
        assert!(s.check(cc("RU"), sd("RU-MOW")).is_none());
        assert!(s.check(cc("UA"), sd("UA-30")).is_none());
        for (code, approx) in [
            ("UA-43", false),
            ("UA-40", false),
            ("UA-14", true),
            ("UA-09", true),
        ] {
            // Whatever country the database filed it under.
            for country in ["UA", "RU"] {
                let m = s.check(cc(country), sd(code)).unwrap();
                assert_eq!(m.rule, code);
                assert_eq!(m.kind, RuleKind::Subdivision);
                assert_eq!(m.approximate, approx, "{code}");
            }
        }
        assert!(s.check(cc("UA-43"), None).is_none());
        assert!(s.has_subdivision_rules());
    }

    #[test]
    fn watch_list_is_lower_severity_and_separate() {
        let cfg = SanctionsConfig {
            watch_countries: vec!["ru".into(), "BY".into()],
            ..Default::default()
        };
        let s = Sanctions::new(&cfg).unwrap();
        let m = s.check(cc("RU"), None).unwrap();
        assert!(m.watch);
        assert_eq!(m.rule, "RU");
        assert_eq!(m.programme, "watch list");
        // A sanctioned subdivision beats the watch-listed country.
        let m = s.check(cc("RU"), sd("UA-43")).unwrap();
        assert!(!m.watch);
        assert_eq!(m.rule, "UA-43");
        assert!(!s.check(cc("IR"), None).unwrap().watch);
    }

    #[test]
    fn configuration_errors_name_the_key() {
        let bad = |cfg: SanctionsConfig| Sanctions::new(&cfg).unwrap_err();
        let e = bad(SanctionsConfig {
            countries: vec!["IRN".into()],
            ..Default::default()
        });
        assert!(
            e.contains("enrich.sanctions.countries") && e.contains("IRN"),
            "{e}"
        );
        let e = bad(SanctionsConfig {
            subdivisions: vec!["Crimea".into()],
            approximate: vec![],
            ..Default::default()
        });
        assert!(e.contains("enrich.sanctions.subdivisions"), "{e}");
        let e = bad(SanctionsConfig {
            approximate: vec!["UA-23".into()],
            ..Default::default()
        });
        assert!(e.contains("enrich.sanctions.approximate"), "{e}");
        let e = bad(SanctionsConfig {
            watch_countries: vec!["IR".into()],
            ..Default::default()
        });
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn custom_rules_and_empty_lists() {
        let cfg = SanctionsConfig {
            countries: vec!["SY".into()],
            subdivisions: vec!["UA-23".into(), "ua-65".into()],
            approximate: vec!["UA-23".into(), "UA-65".into()],
            watch_countries: vec![],
        };
        let s = Sanctions::new(&cfg).unwrap();
        let m = s.check(cc("SY"), None).unwrap();
        assert_eq!(m.programme, "configured");
        assert!(s.check(cc("UA"), sd("UA-65")).unwrap().approximate);
        assert!(s.check(cc("UA"), sd("UA-43")).is_none());
        let none = Sanctions::new(&SanctionsConfig {
            countries: vec![],
            subdivisions: vec![],
            approximate: vec![],
            watch_countries: vec![],
        })
        .unwrap();
        assert!(none.check(cc("KP"), sd("UA-43")).is_none());
        assert!(!none.has_subdivision_rules());
    }
}
