//! The APDU trace file format, read by replay and written by record.
//!
//! Text, one APDU per line, so traces diff well and can be written by hand:
//!
//! ```text
//! # jct trace: PC/SC reader 'ACS ACR39U 00 00'
//! # ATR: 3BF81300008131FE15597562696B657934D4
//! >> 00A4040000            # SELECT the ISD
//! << 6F108408A000000151000000A5049F6501FF9000
//! ```
//!
//! - `>> HEX` is a command as sent on the wire, `<< HEX` the response to
//!   the command above it, SW1 SW2 included;
//! - `#` starts a comment, to the end of the line; blank lines are ignored;
//! - hex is case-insensitive and may contain spaces or tabs;
//! - one comment has a meaning: `# ATR: HEX` on a line of its own gives the
//!   ATR a replay reports (the first one counts).

use super::{hex_upper, TransportError};

/// One recorded command and its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedExchange {
    /// 1-based line number of the `>>` line.
    pub line: usize,
    pub command: Vec<u8>,
    pub response: Vec<u8>,
}

/// A parsed trace file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub atr: Option<Vec<u8>>,
    pub exchanges: Vec<RecordedExchange>,
}

/// The line for a command: `>> ` and uppercase hex.
pub fn command_line(command: &[u8]) -> String {
    format!(">> {}", hex_upper(command))
}

/// The line for a response: `<< ` and uppercase hex.
pub fn response_line(response: &[u8]) -> String {
    format!("<< {}", hex_upper(response))
}

/// The comment line that carries an ATR.
pub fn atr_line(atr: &[u8]) -> String {
    format!("# ATR: {}", hex_upper(atr))
}

/// Parses trace text; `name` (usually the file path) goes into errors.
pub fn parse(name: &str, text: &str) -> Result<Trace, TransportError> {
    let mut trace = Trace::default();
    let mut pending: Option<(usize, Vec<u8>)> = None;
    let syntax = |line: usize, message: String| TransportError::TraceSyntax {
        path: name.to_string(),
        line,
        message,
    };
    for (index, raw_line) in text.lines().enumerate() {
        let line_no = index + 1;
        let (content, comment) = match raw_line.split_once('#') {
            Some((content, comment)) => (content.trim(), Some(comment)),
            None => (raw_line.trim(), None),
        };
        if content.is_empty() {
            if let Some(atr) = comment.and_then(atr_comment) {
                let atr = decode_hex(atr).map_err(|m| syntax(line_no, format!("ATR: {m}")))?;
                trace.atr.get_or_insert(atr);
            }
            continue;
        }
        if let Some(hex) = content.strip_prefix(">>") {
            if let Some((line, _)) = pending.take() {
                return Err(syntax(
                    line,
                    "command has no `<<` response line after it".to_string(),
                ));
            }
            let command = decode_hex(hex).map_err(|m| syntax(line_no, m))?;
            if command.is_empty() {
                return Err(syntax(line_no, "empty command".to_string()));
            }
            pending = Some((line_no, command));
        } else if let Some(hex) = content.strip_prefix("<<") {
            let response = decode_hex(hex).map_err(|m| syntax(line_no, m))?;
            if response.len() < 2 {
                return Err(syntax(
                    line_no,
                    "response shorter than the 2-byte status word".to_string(),
                ));
            }
            let (line, command) = pending.take().ok_or_else(|| {
                syntax(
                    line_no,
                    "response without a `>>` command before it".to_string(),
                )
            })?;
            trace.exchanges.push(RecordedExchange {
                line,
                command,
                response,
            });
        } else {
            return Err(syntax(
                line_no,
                format!(
                    "expected `>> HEX`, `<< HEX`, a `#` comment or a blank line, found '{}'",
                    truncate(content, 40)
                ),
            ));
        }
    }
    if let Some((line, _)) = pending {
        return Err(syntax(
            line,
            "command has no `<<` response line after it".to_string(),
        ));
    }
    Ok(trace)
}

/// The hex of a `# ATR: HEX` comment (the text after `#`).
fn atr_comment(comment: &str) -> Option<&str> {
    let comment = comment.trim_start();
    let (key, rest) = comment.split_at_checked(4)?;
    key.eq_ignore_ascii_case("atr:").then_some(rest)
}

/// Hex with optional spaces and tabs, either case.
fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text.chars().filter(|c| *c != ' ' && *c != '\t').collect();
    if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("'{bad}' is not a hex digit"));
    }
    if digits.len() & 1 == 1 {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    hex::decode(&digits).map_err(|e| e.to_string())
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comments_case_and_spaces() {
        let text = "# header\n\n# ATR: 3b 02 14 50\n>> 00a4 0400 00  # select\n<< 6A82\n\t>>80CA9F7F00\n<<9000 # ok\n# ATR: FFFF\n";
        let t = parse("t", text).unwrap();
        assert_eq!(t.atr, Some(vec![0x3B, 0x02, 0x14, 0x50]));
        assert_eq!(t.exchanges.len(), 2);
        assert_eq!(t.exchanges[0].line, 4);
        assert_eq!(t.exchanges[0].command, [0x00, 0xA4, 0x04, 0x00, 0x00]);
        assert_eq!(t.exchanges[0].response, [0x6A, 0x82]);
        assert_eq!(t.exchanges[1].line, 6);
    }

    fn err_line(text: &str) -> (usize, String) {
        match parse("f.trace", text) {
            Err(TransportError::TraceSyntax {
                path,
                line,
                message,
            }) => {
                assert_eq!(path, "f.trace");
                (line, message)
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn malformed_lines_name_their_line() {
        assert_eq!(err_line(">> 00A4\n>> 00A4\n<< 9000").0, 1);
        assert_eq!(err_line("# c\n<< 9000").0, 2);
        assert_eq!(err_line(">> 00A40\n<< 9000").0, 1);
        assert!(err_line(">> 00G4\n<< 9000").1.contains("'G'"));
        assert_eq!(err_line(">> 00A40400\n<< 90").0, 2);
        assert_eq!(err_line(">> 00A40400\n").0, 1);
        assert_eq!(err_line(">>\n<< 9000").0, 1);
        assert!(err_line("\n\nhello").1.contains("hello"));
        assert_eq!(err_line("# ATR: XYZ").0, 1);
        assert_eq!(err_line("# ATR: XYZ").0, 1);
        // Multi-byte characters do not trip the truncation.
        assert!(err_line(&"é".repeat(100)).1.ends_with("...'"));
    }

    #[test]
    fn formats_lines() {
        assert_eq!(command_line(&[0x00, 0xa4]), ">> 00A4");
        assert_eq!(response_line(&[0x90, 0x00]), "<< 9000");
        assert_eq!(atr_line(&[0x3b]), "# ATR: 3B");
    }
}
