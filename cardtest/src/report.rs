//! Step reports as text: one line per step, and under a failed one the
//! expected and the actual response with the differing bytes marked.
//!
//! This lives in the library, not the CLI, so that a cargo test's panic
//! message ([`crate::Outcome::assert_passed`]) reads the same as
//! `jct test`'s output.

use std::fmt::Write as _;

use crate::run::{Status, StepReport};

/// Response bytes per row of a diff, so long answers stay readable.
const ROW: usize = 32;

/// The mark of a status: `unicode` = ✓ ✗ -, else ok FAIL ERROR skip.
pub fn mark(status: Status, unicode: bool) -> &'static str {
    match (status, unicode) {
        (Status::Pass, true) => "✓",
        (Status::Fail | Status::Error, true) => "✗",
        (Status::Skipped, true) => "-",
        (Status::Pass, false) => "ok",
        (Status::Fail, false) => "FAIL",
        (Status::Error, false) => "ERROR",
        (Status::Skipped, false) => "skip",
    }
}

/// A step's report: its line, and for anything but a pass the details.
pub fn render(r: &StepReport, unicode: bool) -> String {
    let mut s = format!(
        "{} {}:{}: {}",
        mark(r.status, unicode),
        r.script,
        r.line,
        r.step
    );
    if r.status == Status::Pass {
        if let Some(info) = r.messages.first() {
            let _ = write!(s, "  ({info})");
        }
        s.push('\n');
        return s;
    }
    s.push('\n');
    if r.status == Status::Fail {
        if let Some(command) = &r.command {
            let _ = writeln!(s, "      command   {}", spaced(command));
        }
        if let Some(expected) = &r.expected {
            let _ = writeln!(s, "      expected  {expected}");
        }
        if let (Some(data), Some(sw)) = (&r.data, r.sw) {
            s.push_str(&actual(data, sw, &r.differing_bytes, r.sw_differs));
        }
    }
    for m in &r.messages {
        let label = match r.status {
            Status::Error => "error: ",
            _ => "",
        };
        let _ = writeln!(s, "      {label}{m}");
    }
    s
}

/// The actual response in rows, each followed by a row of `^^` under the
/// bytes (and the status word) that differ.
fn actual(data: &[u8], sw: u16, differing: &[usize], sw_differs: bool) -> String {
    let mut s = String::new();
    let rows: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(ROW).collect()
    };
    let last = rows.len() - 1;
    for (i, row) in rows.iter().enumerate() {
        let mut text = String::new();
        let mut marks = String::new();
        for (j, b) in row.iter().enumerate() {
            let bad = differing.binary_search(&(i * ROW + j)).is_ok();
            let _ = write!(text, "{b:02X} ");
            marks.push_str(if bad { "^^ " } else { "   " });
        }
        if i == last {
            if !row.is_empty() {
                text.push(' ');
                marks.push(' ');
            }
            let _ = write!(text, "{sw:04X}");
            marks.push_str(if sw_differs { "^^^^" } else { "" });
        }
        let label = if i == 0 { "actual    " } else { "          " };
        let _ = writeln!(s, "      {label}{}", text.trim_end());
        let marks = marks.trim_end();
        if !marks.is_empty() {
            let _ = writeln!(s, "                {marks}");
        }
    }
    s
}

fn spaced(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(status: Status) -> StepReport {
        StepReport {
            script: "t.apdu".into(),
            line: 3,
            step: ">> 8001000000 << 48656C6C6F 9000".into(),
            status,
            command: Some(vec![0x80, 1, 0, 0, 0]),
            data: Some(b"Hellp".to_vec()),
            sw: Some(0x6D00),
            expected: Some("48 65 6C 6C 6F 9000".into()),
            differing_bytes: vec![4],
            sw_differs: true,
            messages: vec!["1 data byte(s) differ from the pattern".into()],
        }
    }

    #[test]
    fn a_failure_marks_the_bytes_that_differ() {
        let text = render(&report(Status::Fail), true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "✗ t.apdu:3: >> 8001000000 << 48656C6C6F 9000");
        assert_eq!(lines[1], "      command   80 01 00 00 00");
        assert_eq!(lines[2], "      expected  48 65 6C 6C 6F 9000");
        assert_eq!(lines[3], "      actual    48 65 6C 6C 70  6D00");
        assert_eq!(lines[4], "                            ^^  ^^^^");
        assert_eq!(
            render(&report(Status::Fail), false)
                .lines()
                .next()
                .unwrap()
                .split(' ')
                .next(),
            Some("FAIL")
        );
    }

    #[test]
    fn a_pass_is_one_line_and_long_data_wraps() {
        let mut r = report(Status::Pass);
        r.messages.clear();
        assert_eq!(
            render(&r, false),
            "ok t.apdu:3: >> 8001000000 << 48656C6C6F 9000\n"
        );
        let out = actual(&[0u8; 40], 0x9000, &[33], false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[2].contains("^^"), "{out}");
    }
}
