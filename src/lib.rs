//! gateward: a network-edge traffic sensor that tracks every flow, inspects
//! its first packets, and reports VPN, proxy, tunnel and remote-desktop
//! traffic as EVE-shaped JSON Lines.
//!
//! Layering: [`capture`] yields frames, [`decode`] reads headers, [`flow`]
//! keeps state, [`dissect`] reads application metadata, [`detect`] holds the
//! detection model, [`event`] is the wire schema, and [`pipeline`] is the
//! only module that wires them together with threads.

pub mod budget;
pub mod capture;
pub mod config;
pub mod correlate;
pub mod daemon;
pub mod decode;
pub mod detect;
pub mod dissect;
pub mod enrich;
pub mod event;
pub mod files;
pub mod flow;
pub mod output;
pub mod pipeline;
pub mod report;
pub mod sink;
pub mod stats;
