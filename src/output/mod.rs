//! Formatting helpers for the JSON writer: timestamps, Community ID, the
//! `proto` names and the event-type selection (`types`).

pub mod community_id;
pub mod json;
pub mod proto;
pub mod time;
pub mod types;
pub mod vlan;
