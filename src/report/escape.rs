//! Escaping of strings that came from packets (names, evidence, reasons
//! quoting them): control and direction-changing characters become
//! visible `\u{..}` text for every form, and HTML's special characters
//! become entities, so a hostile SNI can neither run a script in the HTML
//! report nor move the cursor in a terminal.

use std::fmt;

/// True for characters that must not reach a terminal or a page raw: C0
/// and C1 controls (DEL included), and the bidirectional overrides and
/// isolates that can make text read differently from what it is.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// `s` with unsafe characters written as `\u{1b}`; the original when
/// there are none (the common case costs no allocation).
pub(super) fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Displays a string escaped for HTML text and attribute values (quoted
/// with `"` or `'`): `format!("<td>{}</td>", H(name))`.
pub(super) struct H<'a>(pub &'a str);

impl fmt::Display for H<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in clean(self.0).chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_quotes_and_controls_are_neutralised() {
        let hostile = "<script>alert('x')</script>\"&\u{1b}[2J\u{0}\u{202e}\n";
        let h = H(hostile).to_string();
        assert_eq!(
            h,
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;\\u{1b}[2J\\u{0}\\u{202e}\\u{a}"
        );
        assert!(!h.contains('<') && !h.contains('"') && !h.contains('\''));
        assert!(!h.chars().any(|c| c.is_control()));
        assert_eq!(clean("eu7.astrill.com"), "eu7.astrill.com");
        assert_eq!(clean("a\tb"), "a\\u{9}b");
        assert_eq!(H("façade 日本").to_string(), "façade 日本");
    }
}
