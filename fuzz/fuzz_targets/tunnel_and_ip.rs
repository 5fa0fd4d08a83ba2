//! The bytes are an IP datagram (v4 or v6, told by the version nibble):
//! parse it and, when it is not a fragment, look for a tunnelled inner packet.
#![no_main]

use gateward::decode::ip::{self, IpLayer};
use gateward::decode::tunnel;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match ip::parse(data) {
        Ok(IpLayer::Whole(p)) => {
            if let Ok(Some(inner)) = tunnel::inner(&p) {
                std::hint::black_box((inner.kind, inner.data.len()));
                // One level down, as the worker does for IP-in-something.
                let _ = ip::parse(inner.data);
            }
        }
        Ok(IpLayer::Fragment(f)) => {
            std::hint::black_box(f.data.len());
        }
        Err(_) => {}
    }
});
