//! EVE's `proto` field: the IANA keyword of an IP protocol number, spelt
//! as Suricata writes it (its table follows the IANA registry of protocol
//! numbers, 0 to 143; RFC 5237 and the registry's "Keyword" column), and the
//! decimal number as a string above that. Always a string, so a SIEM that
//! maps `proto` as a keyword (Elastic's Suricata pipeline does) never meets
//! an integer.

/// Names of protocol numbers 0..=143, index = number. Numbers the registry
/// leaves to "any host internal protocol" and the like are `Any`, as in
/// Suricata.
const NAMES: [&str; 144] = [
    "HOPOPT",
    "ICMP",
    "IGMP",
    "GGP",
    "IP-in-IP",
    "ST",
    "TCP",
    "CBT",
    "EGP",
    "IGP",
    "BBN-RCC-MON",
    "NVP-II",
    "PUP",
    "ARGUS",
    "EMCON",
    "XNET",
    "CHAOS",
    "UDP",
    "MUX",
    "DCN-MEAS",
    "HMP",
    "PRM",
    "XNS-IDP",
    "TRUNK-1",
    "TRUNK-2",
    "LEAF-1",
    "LEAF-2",
    "RDP",
    "IRTP",
    "ISO-TP4",
    "NETBLT",
    "MFE-NSP",
    "MERIT-INP",
    "DCCP",
    "3PC",
    "IDPR",
    "XTP",
    "DDP",
    "IDPR-CMTP",
    "TP++",
    "IL",
    "IPv6",
    "SDRP",
    "IPv6-Route",
    "IPv6-Frag",
    "IDRP",
    "RSVP",
    "GRE",
    "DSR",
    "BNA",
    "ESP",
    "AH",
    "I-NLSP",
    "SwIPe",
    "NARP",
    "MOBILE",
    "TLSP",
    "SKIP",
    "IPv6-ICMP",
    "IPv6-NoNxt",
    "IPv6-Opts",
    "Any",
    "CFTP",
    "Any",
    "SAT-EXPAK",
    "KRYPTOLAN",
    "RVD",
    "IPPC",
    "Any",
    "SAT-MON",
    "VISA",
    "IPCU",
    "CPNX",
    "CPHB",
    "WSN",
    "PVP",
    "BR-SAT-MON",
    "SUN-ND",
    "WB-MON",
    "WB-EXPAK",
    "ISO-IP",
    "VMTP",
    "SECURE-VMTP",
    "VINES",
    "TTP",
    "NSFNET-IGP",
    "DGP",
    "TCF",
    "EIGRP",
    "OSPF",
    "Sprite-RPC",
    "LARP",
    "MTP",
    "AX.25",
    "OS",
    "MICP",
    "SCC-SP",
    "ETHERIP",
    "ENCAP",
    "Any",
    "GMTP",
    "IFMP",
    "PNNI",
    "PIM",
    "ARIS",
    "SCPS",
    "QNX",
    "A/N",
    "IPComp",
    "SNP",
    "Compaq-Peer",
    "IPX-in-IP",
    "VRRP",
    "PGM",
    "Any",
    "L2TP",
    "DDX",
    "IATP",
    "STP",
    "SRP",
    "UTI",
    "SMP",
    "SM",
    "PTP",
    "IS-IS",
    "FIRE",
    "CRTP",
    "CRUDP",
    "SSCOPMCE",
    "IPLT",
    "SPS",
    "PIPE",
    "SCTP",
    "FC",
    "RSVP-E2E-IGNORE",
    "Mobility",
    "UDPLite",
    "MPLS-in-IP",
    "manet",
    "HIP",
    "Shim6",
    "WESP",
    "ROHC",
    "Ethernet",
];

/// Decimal strings of 144..=255, three digits each, so a name is always
/// a `&'static str`.
const NUMBERS: &str = "144145146147148149150151152153154155156157158159160161162163164165166167168169170171172173174175176177178179180181182183184185186187188189190191192193194195196197198199200201202203204205206207208209210211212213214215216217218219220221222223224225226227228229230231232233234235236237238239240241242243244245246247248249250251252253254255";

/// The `proto` string of IP protocol number `p`.
pub fn name(p: u8) -> &'static str {
    let i = usize::from(p);
    match NAMES.get(i) {
        Some(n) => n,
        None => {
            let at = (i - NAMES.len()) * 3;
            NUMBERS.get(at..at + 3).unwrap_or("255")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::name;

    #[test]
    fn suricata_spellings() {
        assert_eq!(name(6), "TCP");
        assert_eq!(name(17), "UDP");
        assert_eq!(name(1), "ICMP");
        assert_eq!(name(58), "IPv6-ICMP");
        assert_eq!(name(59), "IPv6-NoNxt");
        assert_eq!(name(4), "IP-in-IP");
        assert_eq!(name(41), "IPv6");
        assert_eq!(name(47), "GRE");
        assert_eq!(name(50), "ESP");
        assert_eq!(name(51), "AH");
        assert_eq!(name(132), "SCTP");
        assert_eq!(name(136), "UDPLite");
        assert_eq!(name(143), "Ethernet");
    }

    #[test]
    fn numbers_beyond_the_table_are_strings() {
        assert_eq!(name(144), "144");
        assert_eq!(name(200), "200");
        assert_eq!(name(255), "255");
    }
}
