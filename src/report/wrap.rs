//! Word wrapping for the text form: every line it returns fits the width
//! (counted in characters), long words (addresses, community ids, hostile
//! names without spaces) are broken rather than allowed to overflow.

/// `text` wrapped to `width` columns; the first line starts with `first`,
/// the others with `rest` (a hanging indent). Prefixes wider than half the
/// width are cut, so a line always has room for text.
pub(super) fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let width = width.max(8);
    let cap = |p: &str| -> String { p.chars().take(width / 2).collect() };
    let (first, rest) = (cap(first), cap(rest));
    let mut lines = Vec::new();
    let mut line = first.clone();
    let mut len = line.chars().count();
    let mut empty = true;
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let gap = usize::from(!empty);
            if len + gap + word.len() <= width {
                if !empty {
                    line.push(' ');
                }
                line.extend(word.iter());
                len += gap + word.len();
                empty = false;
                break;
            }
            if !empty {
                lines.push(std::mem::replace(&mut line, rest.clone()));
                len = line.chars().count();
                empty = true;
                continue;
            }
            // A word longer than a whole line: break it.
            let room = width - len;
            let tail = word.split_off(room.min(word.len()));
            line.extend(word.iter());
            lines.push(std::mem::replace(&mut line, rest.clone()));
            len = line.chars().count();
            word = tail;
            if word.is_empty() {
                break;
            }
        }
    }
    if !empty || lines.is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fit_and_long_words_break() {
        let text = format!("short words then {} and more", "x".repeat(200));
        let lines = wrap(&text, 40, "- ", "  ");
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:?}");
        assert!(lines[0].starts_with("- short words then"));
        assert!(lines[1..].iter().all(|l| l.starts_with("  ")));
        let joined: String = lines.concat().chars().filter(|c| *c == 'x').collect();
        assert_eq!(joined.len(), 200);
        assert_eq!(wrap("", 80, "a: ", ""), vec!["a:".to_owned()]);
        let wide = wrap("日本語の名前", 10, &"p".repeat(50), "");
        assert!(wide.iter().all(|l| l.chars().count() <= 10), "{wide:?}");
    }
}
