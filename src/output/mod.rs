//! Formatting helpers for the JSON writer: timestamps and Community ID.

pub mod community_id;
pub mod time;
pub mod vlan;
