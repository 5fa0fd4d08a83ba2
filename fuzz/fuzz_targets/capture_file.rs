//! The bytes are a capture file (pcap or pcapng, any byte order): open it and
//! read every record until the end or the first error.
#![no_main]

use gateward::capture::{FileSource, PacketSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut src) = FileSource::new(data) else {
        return;
    };
    let _ = src.format();
    while let Ok(Some(p)) = src.next_packet() {
        // Touch the frame so a bad slice would be noticed.
        std::hint::black_box((p.ts, p.wire_len, p.link, p.data.len()));
    }
});
