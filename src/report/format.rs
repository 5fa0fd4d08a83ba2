//! [`ReportFormat`]: which of the three forms to write, chosen from the
//! report file's extension or from `--report-format`.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The form of the report: a terminal, a program, or a browser reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// Plain text, at most 80 columns (`.txt`, `.text`).
    Text,
    /// JSON following `docs/report.schema.json` (`.json`).
    Json,
    /// One self-contained HTML file (`.html`, `.htm`).
    Html,
}

impl ReportFormat {
    /// The format an extension asks for (case-insensitive), or `None` when
    /// the path has no known one, so the caller can require
    /// `--report-format` instead of guessing.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "txt" | "text" => Some(ReportFormat::Text),
            "json" => Some(ReportFormat::Json),
            "html" | "htm" => Some(ReportFormat::Html),
            _ => None,
        }
    }

    /// The name `FromStr` reads, for messages and help text.
    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::Text => "text",
            ReportFormat::Json => "json",
            ReportFormat::Html => "html",
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--report-format` value that is not `text`, `json` or `html`; its
/// message names the accepted values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format `{0}` (expected text, json or html)")]
pub struct UnknownFormat(pub String);

impl FromStr for ReportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "txt" => Ok(ReportFormat::Text),
            "json" => Ok(ReportFormat::Json),
            "html" | "htm" => Ok(ReportFormat::Html),
            _ => Err(UnknownFormat(s.chars().take(64).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_and_names_map_to_formats() {
        let f = |p: &str| ReportFormat::from_path(Path::new(p));
        assert_eq!(f("r.txt"), Some(ReportFormat::Text));
        assert_eq!(f("r.TEXT"), Some(ReportFormat::Text));
        assert_eq!(f("/tmp/r.json"), Some(ReportFormat::Json));
        assert_eq!(f("r.html"), Some(ReportFormat::Html));
        assert_eq!(f("r.HTM"), Some(ReportFormat::Html));
        assert_eq!(f("r.pdf"), None);
        assert_eq!(f("report"), None);
        for fmt in [ReportFormat::Text, ReportFormat::Json, ReportFormat::Html] {
            assert_eq!(fmt.name().parse::<ReportFormat>(), Ok(fmt));
        }
        let e = "xml".parse::<ReportFormat>().unwrap_err();
        assert!(e.to_string().contains("text, json or html"));
    }
}
