//! The `http` object of a flow's EVE JSON record: Suricata's `http` field
//! names for what both tools know, plus documented gateward extensions for
//! the proxy facts detectors need.

use super::parser::TargetForm;
use serde::Serialize;

/// The first request of a flow and the status of its response, serialised
/// under `"http"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HttpEvent {
    /// Host header (without port), else the authority of an absolute or
    /// CONNECT target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Port from the Host header (or target authority), when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_port: Option<u16>,
    /// The request target exactly as sent (escaped, capped).
    pub url: String,
    /// User-Agent header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_user_agent: Option<String>,
    /// Content-Type of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_content_type: Option<String>,
    /// The request method.
    pub http_method: String,
    /// The request's HTTP version (`HTTP/1.1`); empty for HTTP/0.9.
    pub protocol: String,
    /// Status code of the first response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Content-Length declared by the first response (Suricata logs the
    /// body bytes it saw; gateward does not read bodies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// gateward: request-target form (`origin`, `absolute`, `authority`,
    /// `asterisk`); `absolute` and `authority` mean a proxy was addressed.
    pub uri_form: TargetForm,
    /// gateward: the `host:port` a CONNECT asked the proxy to reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_target: Option<String>,
    /// gateward: for a CONNECT, whether the proxy answered 2xx (the tunnel
    /// is open); absent until the response status is seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_established: Option<bool>,
    /// gateward: proxy-related request headers present, lowercase names
    /// from: proxy-authorization, proxy-connection, x-forwarded-for, via,
    /// forwarded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxy_headers: Vec<&'static str>,
    /// gateward: the request head exceeded the buffer cap and was parsed
    /// partially.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}
