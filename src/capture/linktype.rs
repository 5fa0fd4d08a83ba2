//! Link-layer types as pcap/pcapng name them (tcpdump.org/linktypes.html).

/// The link types the decoder understands. Anything else is refused when the
/// capture (or pcapng interface) is opened, with its number in the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    /// LINKTYPE_NULL (0): BSD loopback, 4-byte address family in the
    /// capturing host's byte order.
    Null,
    /// LINKTYPE_ETHERNET (1), with 802.1Q/802.1ad tags.
    Ethernet,
    /// LINKTYPE_RAW (101, and the historical DLT_RAW values 12 and 14):
    /// IPv4 or IPv6 told apart by the version nibble.
    Raw,
    /// LINKTYPE_LOOP (108): OpenBSD loopback, family in network byte order.
    Loop,
    /// LINKTYPE_LINUX_SLL (113): Linux "cooked" capture v1.
    LinuxSll,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_LINUX_SLL2 (276): Linux "cooked" capture v2.
    LinuxSll2,
}

impl LinkType {
    /// Maps a pcap/pcapng link-type number; `None` when unsupported. Only the
    /// low 16 bits name the type (the upper bits carry FCS information).
    pub fn from_number(n: u32) -> Option<Self> {
        Some(match n & 0xffff {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }
}
