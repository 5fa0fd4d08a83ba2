//! SSH dissector: identification banners (RFC 4253 section 4.2), the
//! cleartext SSH_MSG_KEXINIT of each side (RFC 4253 section 7.1) and the
//! HASSH / HASSHServer fingerprints (salesforce/hassh, BSD-3-Clause).
//!
//! SSH is how remote shells, SOCKS-over-SSH and many ad-hoc tunnels cross
//! a network edge; the banners and HASSH values identify the client and
//! server software even though everything after NEWKEYS is encrypted.
//!
//! Feed it with [`SshState::feed`]; read the EVE `ssh` object with
//! [`SshState::event`] and the richer facts (full banners, every KEXINIT
//! name-list, the negotiated algorithms) with the accessors on [`SshState`].

pub mod event;
pub mod parser;
pub mod state;

pub use event::{Hassh, SshEvent, SshPeer};
pub use state::{BannerInfo, KexInitInfo, MAX_KEXINIT_PACKET, Negotiated, SshState};

use super::verdict;

use super::dissector::{AppProto, Dissector, FlowStart, feed_and_event_are_inherent};

/// SSH on any TCP port, recognised by its banner.
impl Dissector for SshState {
    type Event = SshEvent;
    const PROTO: AppProto = AppProto::Ssh;

    fn candidate(flow: &FlowStart) -> Option<Self> {
        flow.tcp.then(SshState::new)
    }

    feed_and_event_are_inherent!();
}
