//! The bytes are a LOLRMM feed file: parse them as `rmm_domains.csv` (and
//! index every pattern, then look names up) and as `rmm_certificates.json`.
//! Hostile feeds must give an error, never a panic or a runaway match.
#![no_main]

use gateward::detect::names::lolrmm::{PatternIndex, parse_certificates, parse_domains};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rows) = parse_domains(text) {
        let mut idx = PatternIndex::default();
        for (i, r) in rows.iter().enumerate() {
            let _ = idx.insert(&r.pattern, i as u32);
        }
        for r in rows.iter().take(64) {
            // Each pattern's own text, with wildcards standing for letters.
            let name = r.pattern.replace('*', "x");
            std::hint::black_box(idx.lookup(&name));
        }
        std::hint::black_box(idx.lookup(text.lines().last().unwrap_or("")));
    }
    let _ = parse_certificates(text);
});
