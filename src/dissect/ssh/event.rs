//! The `ssh` object of a flow's EVE JSON record, shaped like Suricata's
//! `ssh` event so existing EVE consumers can read it unchanged.

use serde::Serialize;

/// What one flow's SSH handshake revealed, serialised under `"ssh"`.
/// Either side may be missing when the flow ended (or the engine stopped
/// feeding) before that side's banner was seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SshEvent {
    /// The connection initiator's banner and HASSH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<SshPeer>,
    /// The responder's banner and HASSHServer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<SshPeer>,
}

/// One side's identification string and key-exchange fingerprint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SshPeer {
    /// `protoversion` from the banner (`2.0`, `1.99`, `1.5`...).
    pub proto_version: String,
    /// `softwareversion` from the banner, up to the first space.
    pub software_version: String,
    /// gateward extension: the banner comments after the first space.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    /// HASSH (client) or HASSHServer (server), once the KEXINIT was parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hassh: Option<Hassh>,
}

/// A HASSH fingerprint: the MD5 and the string it was computed over, as
/// Suricata logs them (`hassh.hash`, `hassh.string`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Hassh {
    /// Lowercase hex MD5 of `string`.
    pub hash: String,
    /// `kex;enc;mac;comp` name-lists from the KEXINIT.
    pub string: String,
}
