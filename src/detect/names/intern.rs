//! Process-wide interning of the protocol names list entries introduce.
//!
//! `Protocol::Service` carries a `&'static str` (protocols are `Copy` and
//! written into every detection). Each distinct name is leaked once for the
//! life of the process and found again on every later load, so reloading
//! the same lists (SIGUSR2) allocates nothing new: memory is bounded by the
//! distinct names ever configured, not by the number of reloads (issue 15:
//! the per-load `Box::leak` grew RSS 58 → 67 MB over 6,000 reloads).

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// Distinct names interned so far (bounded: see [`MAX_INTERNED`]).
static POOL: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();

/// Most distinct names interned per process; past it a load is refused, so
/// an operator rewriting a huge list with new names on every reload cannot
/// grow memory without bound (the catalogue feeds hold a few hundred).
pub const MAX_INTERNED: usize = 65_536;

/// The process-lifetime copy of `s`, shared by every load that asks for it.
pub fn intern(s: &str) -> Result<&'static str, String> {
    let pool = POOL.get_or_init(|| Mutex::new(HashSet::new()));
    // A poisoned lock only means another thread panicked mid-insert; the set
    // itself is still consistent (insert is all-or-nothing).
    let mut set = pool.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(v) = set.get(s) {
        return Ok(v);
    }
    if set.len() >= MAX_INTERNED {
        return Err(format!(
            "more than {MAX_INTERNED} distinct protocol names loaded in this process"
        ));
    }
    let v: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(v);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_is_the_same_allocation() {
        let a = intern("intern_test_name").unwrap();
        let b = intern(&String::from("intern_test_name")).unwrap();
        assert!(std::ptr::eq(a, b));
    }
}
