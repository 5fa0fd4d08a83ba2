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
    /// LINKTYPE_PPP (9): PPP (RFC 1661), with or without the RFC 1662
    /// address/control bytes (`ff 03`) in front.
    Ppp,
    /// LINKTYPE_PPP_HDLC (50): PPP in HDLC-like framing (RFC 1662, first
    /// byte 0xff) or Cisco PPP with HDLC framing (first byte 0x0f/0x8f).
    PppHdlc,
    /// LINKTYPE_RAW (101, and the historical DLT_RAW values 12 and 14):
    /// IPv4 or IPv6 told apart by the version nibble.
    Raw,
    /// LINKTYPE_C_HDLC (104): Cisco HDLC, as router WAN links capture;
    /// address, control, then an EtherType.
    CiscoHdlc,
    /// LINKTYPE_IEEE802_11 (105): 802.11 frames without a radio header.
    Ieee80211,
    /// LINKTYPE_LOOP (108): OpenBSD loopback, family in network byte order.
    Loop,
    /// LINKTYPE_LINUX_SLL (113): Linux "cooked" capture v1.
    LinuxSll,
    /// LINKTYPE_IEEE802_11_RADIOTAP (127): a radiotap header
    /// (radiotap.org), then an 802.11 frame; what Wi-Fi monitor-mode taps
    /// write.
    Radiotap,
    /// LINKTYPE_PPI (192): a Per-Packet Information header (PPI
    /// specification 1.0.10), then a frame of the link type it names.
    Ppi,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_LINUX_SLL2 (276): Linux "cooked" capture v2.
    LinuxSll2,
}

impl LinkType {
    /// The supported link types, named for error messages (an unsupported
    /// capture is refused with this list, so the user knows what works).
    pub const SUPPORTED: &'static str = "Ethernet (1), BSD/OpenBSD loopback (0, 108), raw IP \
        (12, 14, 101, 228, 229), PPP (9, 50), Cisco HDLC (104), 802.11 (105), 802.11 radiotap \
        (127), PPI (192), Linux cooked v1/v2 (113, 276)";

    /// Maps a pcap/pcapng link-type number; `None` when unsupported. Only the
    /// low 16 bits name the type (the upper bits carry FCS information).
    pub fn from_number(n: u32) -> Option<Self> {
        Some(match n & 0xffff {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 => LinkType::Ppp,
            50 => LinkType::PppHdlc,
            12 | 14 | 101 => LinkType::Raw,
            104 => LinkType::CiscoHdlc,
            105 => LinkType::Ieee80211,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            127 => LinkType::Radiotap,
            192 => LinkType::Ppi,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }
}
