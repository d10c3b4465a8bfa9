//! Makes bytes from the network safe to print: nothing a peer sends reaches the terminal raw.

use std::fmt::Write as _;

/// How many bytes of a buffer strace shows by default (`-s 32`).
pub const STRACE_LIMIT: usize = 32;

/// Escapes `data` the way strace prints a buffer: printable ASCII as is, `"` and `\` escaped,
/// `\t \n \r \v \f` by name, every other byte in octal (`\33` for ESC). Shows at most `limit`
/// bytes and appends `...` when it cut.
#[must_use]
pub fn strace_bytes(data: &[u8], limit: usize) -> String {
    let shown = &data[..data.len().min(limit)];
    let mut out = String::with_capacity(shown.len() + 2);
    out.push('"');
    for (index, &byte) in shown.iter().enumerate() {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e => out.push(byte as char),
            _ => {
                // A digit right after an octal escape would be read as part of it: pad to 3.
                let next_is_digit = shown.get(index + 1).is_some_and(u8::is_ascii_digit);
                if next_is_digit {
                    let _ = write!(out, "\\{byte:03o}");
                } else {
                    let _ = write!(out, "\\{byte:o}");
                }
            }
        }
    }
    out.push('"');
    if data.len() > limit {
        out.push_str("...");
    }
    out
}

/// Replaces every control character of `text` (C0, DEL, C1) with a visible escape, so text of
/// unknown origin (a file name, a peer's bytes decoded as UTF-8) can be put on screen.
#[must_use]
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_control() {
            let _ = write!(out, "\\x{:02x}", u32::from(ch));
        } else {
            out.push(ch);
        }
    }
    out
}

/// Escapes, in JSON text, the control characters `serde_json` leaves as they are: DEL and the C1
/// controls (U+007F to U+009F; `serde_json` escapes only U+0000 to U+001F). A terminal may take
/// U+009B for CSI, so JSON on a terminal must not hold them raw. Outside strings JSON is ASCII
/// without controls, so every such character is inside a string, where `\u00XX` means the same.
#[must_use]
pub fn json_controls(json: String) -> String {
    if !json.chars().any(char::is_control) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for ch in json.chars() {
        if ch.is_control() && u32::from(ch) >= 0x7f {
            let _ = write!(out, "\\u{:04x}", u32::from(ch));
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_is_quoted_as_is() {
        assert_eq!(strace_bytes(b"hello", 32), "\"hello\"");
    }

    #[test]
    fn control_bytes_are_escaped_like_strace() {
        assert_eq!(strace_bytes(b"hi\n", 32), "\"hi\\n\"");
        assert_eq!(strace_bytes(b"\x1b[2J\x07", 32), "\"\\33[2J\\7\"");
        assert_eq!(strace_bytes(b"\x001", 32), "\"\\0001\"");
        assert_eq!(strace_bytes(b"a\"b\\", 32), "\"a\\\"b\\\\\"");
        assert_eq!(strace_bytes(&[0xff, 0x80], 32), "\"\\377\\200\"");
    }

    #[test]
    fn long_buffers_are_cut_with_an_ellipsis() {
        let data = vec![b'x'; 40];
        let shown = strace_bytes(&data, 32);
        assert_eq!(shown, format!("\"{}\"...", "x".repeat(32)));
    }

    #[test]
    fn json_controls_escapes_what_serde_json_leaves() {
        let json = serde_json::to_string("a\u{9b}2J\u{7f}\u{1b}\n한").unwrap();
        let escaped = json_controls(json);
        assert_eq!(escaped, "\"a\\u009b2J\\u007f\\u001b\\n한\"");
        let back: String = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, "a\u{9b}2J\u{7f}\u{1b}\n한");
        // Pretty-printed JSON keeps its newlines (C0 outside strings is whitespace, left alone).
        assert_eq!(json_controls("{\n  \"a\": 1\n}".into()), "{\n  \"a\": 1\n}");
    }

    #[test]
    fn visible_escapes_terminal_controls() {
        assert_eq!(visible("ok\x1b]0;pwned\x07"), "ok\\x1b]0;pwned\\x07");
        assert_eq!(visible("한국어"), "한국어");
        assert_eq!(visible("a\u{9b}b"), "a\\x9bb");
    }
}
