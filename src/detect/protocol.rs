//! The one list of protocol and tool names detections report.
//!
//! [`Protocol`] replaces the lower-case names that used to be passed around
//! as strings: a detector names what it found with a variant, the engine and
//! the cross-flow cache compare variants, and output gets the same strings as
//! before (`Protocol::name`). The table below is in signature-id order, so a
//! variant's position is part of its signature id (see
//! [`crate::detect::signature::signature_id`]): **append only**, never
//! reorder or remove a row, because rules and SIEM searches depend on the ids.

use super::Category;
use serde::Serialize;

/// Declares [`Protocol`] and its per-variant table from one list of
/// `Variant = "name", "Display name", Category;` rows.
macro_rules! protocols {
    ($( $variant:ident = $name:literal, $display:literal, $category:ident; )*) => {
        /// A protocol, tool or address-list kind a detection is about.
        ///
        /// Serialises as its lower-case name (`openvpn`, `hosting_asn`, ...).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Protocol {
            $(
                #[doc = concat!("`", $name, "`: ", $display, ".")]
                $variant,
            )*
            /// A service named only by a name list (`[detect.names]` extra
            /// entries such as `custom_vpn`): reported under that name, with
            /// a signature id hashed from it.
            Service(&'static str),
        }

        impl Protocol {
            /// Every named variant, in signature-id order.
            pub const ALL: &'static [Protocol] = &[$(Protocol::$variant),*];

            /// The lower-case name written to EVE (`detections[].protocol`,
            /// `alert.metadata.gateward_protocol`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Protocol::$variant => $name,)*
                    Protocol::Service(n) => n,
                }
            }

            /// The human-readable name used in signatures and reasons (the
            /// name itself for list-only services).
            pub const fn display_name(self) -> &'static str {
                match self {
                    $(Protocol::$variant => $display,)*
                    Protocol::Service(n) => n,
                }
            }

            /// The category detections of this protocol usually carry (a
            /// name-list service has the category of its list entry instead,
            /// and reports `None` here).
            pub const fn category(self) -> Option<Category> {
                match self {
                    $(Protocol::$variant => Some(Category::$category),)*
                    Protocol::Service(_) => None,
                }
            }
        }
    };
}

protocols! {
    OpenVpn = "openvpn", "OpenVPN", Vpn;
    WireGuard = "wireguard", "WireGuard", Vpn;
    Ipsec = "ipsec", "IPsec", Vpn;
    L2tp = "l2tp", "L2TP", Vpn;
    Pptp = "pptp", "PPTP", Vpn;
    Sstp = "sstp", "SSTP", Vpn;
    SoftEther = "softether", "SoftEther", Vpn;
    AnyConnect = "anyconnect", "Cisco AnyConnect/OpenConnect", Vpn;
    Fortinet = "fortinet", "Fortinet SSL-VPN", Vpn;
    Tailscale = "tailscale", "Tailscale", Vpn;
    ZeroTier = "zerotier", "ZeroTier", Vpn;
    CloudflareWarp = "cloudflare_warp", "Cloudflare WARP", Vpn;
    Tinc = "tinc", "tinc", Vpn;
    Socks = "socks", "SOCKS", Proxy;
    HttpConnect = "http_connect", "HTTP CONNECT", Proxy;
    HttpProxy = "http_proxy", "HTTP forward proxy", Proxy;
    Tor = "tor", "Tor", Proxy;
    Psiphon = "psiphon", "Psiphon", Proxy;
    UltraSurf = "ultrasurf", "UltraSurf", Proxy;
    Shadowsocks = "shadowsocks", "Shadowsocks", Proxy;
    Vmess = "vmess", "VMess", Proxy;
    Trojan = "trojan", "Trojan", Proxy;
    Obfs4 = "obfs4", "obfs4", Proxy;
    EncryptedProxy = "encrypted_proxy", "fully encrypted proxy", Proxy;
    TlsInTls = "tls_in_tls", "TLS-in-TLS proxy", Proxy;
    DnsTunnel = "dns_tunnel", "DNS tunnel", Tunnel;
    IcmpTunnel = "icmp_tunnel", "ICMP tunnel", Tunnel;
    IpIp = "ipip", "IP-in-IP", Tunnel;
    SixInFour = "6in4", "6in4", Tunnel;
    FourInSix = "4in6", "4in6", Tunnel;
    SixInSix = "6in6", "6in6", Tunnel;
    Gre = "gre", "GRE", Tunnel;
    Teredo = "teredo", "Teredo", Tunnel;
    VpnService = "vpn_service", "commercial VPN service", Vpn;
    NordVpn = "nordvpn", "NordVPN", Vpn;
    ExpressVpn = "expressvpn", "ExpressVPN", Vpn;
    Surfshark = "surfshark", "Surfshark", Vpn;
    ProtonVpn = "protonvpn", "Proton VPN", Vpn;
    Mullvad = "mullvad", "Mullvad", Vpn;
    Windscribe = "windscribe", "Windscribe", Vpn;
    Pia = "pia", "Private Internet Access", Vpn;
    CyberGhost = "cyberghost", "CyberGhost", Vpn;
    HotspotShield = "hotspot_shield", "Hotspot Shield", Vpn;
    TunnelBear = "tunnelbear", "TunnelBear", Vpn;
    OperaVpn = "opera_vpn", "Opera VPN", Vpn;
    Astrill = "astrill", "Astrill", Vpn;
    Rdp = "rdp", "RDP", RemoteAccess;
    Vnc = "vnc", "VNC", RemoteAccess;
    TeamViewer = "teamviewer", "TeamViewer", RemoteAccess;
    AnyDesk = "anydesk", "AnyDesk", RemoteAccess;
    RustDesk = "rustdesk", "RustDesk", RemoteAccess;
    ChromeRemoteDesktop = "chrome_remote_desktop", "Chrome Remote Desktop", RemoteAccess;
    Splashtop = "splashtop", "Splashtop", RemoteAccess;
    NoMachine = "nomachine", "NoMachine", RemoteAccess;
    Radmin = "radmin", "Radmin", RemoteAccess;
    ScreenConnect = "screenconnect", "ScreenConnect", RemoteAccess;
    LogMeIn = "logmein", "LogMeIn/GoTo", RemoteAccess;
    Parsec = "parsec", "Parsec", RemoteAccess;
    ZohoAssist = "zoho_assist", "Zoho Assist", RemoteAccess;
    Ammyy = "ammyy", "Ammyy Admin", RemoteAccess;
    Citrix = "citrix", "Citrix ICA/HDX", RemoteAccess;
    X11 = "x11", "X11", RemoteAccess;
    Xdmcp = "xdmcp", "XDMCP", RemoteAccess;
    Telnet = "telnet", "Telnet", RemoteAccess;
    Rsh = "rsh", "rsh/rlogin/rexec", RemoteAccess;
    Ssh = "ssh", "SSH", RemoteAccess;
    Relay = "relay", "relayed session", Relay;
    Sanctions = "sanctions", "sanctioned jurisdiction", SanctionedRegion;
    WatchList = "watch_list", "watch-listed country", SanctionedRegion;
    HostingAsn = "hosting_asn", "hosting/VPS network (AS list)", Hosting;
    HostingFeed = "hosting_feed", "hosting/VPS network (feed)", Hosting;
    VpnFeed = "vpn_feed", "VPN exit (feed)", Vpn;
    ProxyFeed = "proxy_feed", "proxy exit (feed)", Proxy;
    Ayiya = "ayiya", "AYIYA", Tunnel;
    Vless = "vless", "VLESS", Proxy;
    V2rayMux = "v2ray_mux", "V2Ray Mux.Cool", Proxy;
    SimpleObfs = "simple_obfs", "simple-obfs", Proxy;
}

impl Protocol {
    /// Position in the signature-id table, `None` for list-only services.
    pub fn index(self) -> Option<u32> {
        Self::ALL.iter().position(|p| *p == self).map(|i| i as u32)
    }

    /// The variant of a lower-case name (`None` when no variant has it).
    pub fn from_name(name: &str) -> Option<Protocol> {
        Self::ALL.iter().copied().find(|p| p.name() == name)
    }
}

impl std::fmt::Display for Protocol {
    /// The lower-case name, as in EVE output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Protocol {
    /// The lower-case name, so output stays what it was when names were
    /// strings.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for (i, p) in Protocol::ALL.iter().enumerate() {
            assert_eq!(Protocol::from_name(p.name()), Some(*p));
            assert_eq!(p.index(), Some(i as u32));
        }
        assert_eq!(Protocol::from_name("custom_vpn"), None);
        assert_eq!(Protocol::Service("custom_vpn").name(), "custom_vpn");
        assert_eq!(Protocol::Service("custom_vpn").index(), None);
    }

    #[test]
    fn table_order_is_the_signature_order() {
        assert_eq!(Protocol::OpenVpn.index(), Some(0));
        assert_eq!(Protocol::ProxyFeed.index(), Some(72));
        assert_eq!(Protocol::SixInFour.name(), "6in4");
        assert_eq!(Protocol::Rdp.display_name(), "RDP");
    }
}
