//! What the sensor knows about addresses beyond the packets: which networks
//! are inside.

pub mod home;
