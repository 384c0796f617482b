//! Flag bytes in words, so a reader need not decode bit masks by hand.
//! Bits no table names are kept as hex, never dropped.

/// `0x09 (public static)`; `0x00 (none)`; unknown bits as `+0x40`.
pub fn with_hex(value: u16, table: &[(u16, &str)], width: usize) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut rest = value;
    for &(bit, name) in table {
        if value & bit != 0 {
            words.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        words.push(format!("+{rest:#x}"));
    }
    if words.is_empty() {
        words.push("none".into());
    }
    format!("{value:#0width$x} ({})", words.join(" "), width = width + 2)
}

/// Header package flags.
pub const HEADER: &[(u16, &str)] = &[
    (0x01, "int"),
    (0x02, "export"),
    (0x04, "applet"),
    (0x08, "extended"),
];

/// The 4-bit flags of a Class component entry.
pub const CLASS_ENTRY: &[(u16, &str)] = &[(0x8, "interface"), (0x4, "shareable"), (0x2, "remote")];

/// The 4-bit flags of a method header.
pub const METHOD_HEADER: &[(u16, &str)] = &[(0x8, "extended"), (0x4, "abstract")];

/// Descriptor class flags.
pub const DESC_CLASS: &[(u16, &str)] = &[
    (0x01, "public"),
    (0x10, "final"),
    (0x40, "interface"),
    (0x80, "abstract"),
];

/// Descriptor field flags.
pub const DESC_FIELD: &[(u16, &str)] = &[
    (0x01, "public"),
    (0x02, "private"),
    (0x04, "protected"),
    (0x08, "static"),
    (0x10, "final"),
];

/// Descriptor method flags.
pub const DESC_METHOD: &[(u16, &str)] = &[
    (0x01, "public"),
    (0x02, "private"),
    (0x04, "protected"),
    (0x08, "static"),
    (0x10, "final"),
    (0x40, "abstract"),
    (0x80, "init"),
];

/// The JVM-style u2 access flags of the Debug component.
pub const DEBUG: &[(u16, &str)] = &[
    (0x0001, "public"),
    (0x0002, "private"),
    (0x0004, "protected"),
    (0x0008, "static"),
    (0x0010, "final"),
    (0x0020, "synchronized"),
    (0x0040, "volatile"),
    (0x0080, "transient"),
    (0x0100, "native"),
    (0x0200, "interface"),
    (0x0400, "abstract"),
    (0x0800, "strict"),
    (0x1000, "synthetic"),
];

/// Hex bytes in rows of 16, each prefixed with its offset, for raw data.
pub fn hex_rows(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, row)| {
            let hex: Vec<String> = row.iter().map(|b| format!("{b:02X}")).collect();
            format!("{:04x}: {}", i * 16, hex.join(" "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_unknown_bits() {
        assert_eq!(with_hex(0x09, DESC_FIELD, 2), "0x09 (public static)");
        assert_eq!(with_hex(0, HEADER, 2), "0x00 (none)");
        assert_eq!(with_hex(0x24, HEADER, 2), "0x24 (applet +0x20)");
        assert_eq!(with_hex(0x8, METHOD_HEADER, 1), "0x8 (extended)");
    }

    #[test]
    fn hex_rows_are_sixteen_wide() {
        let rows = hex_rows(&[0xAB; 17]);
        assert_eq!(rows.len(), 2);
        assert!(rows[0].starts_with("0000: AB AB"));
        assert_eq!(rows[1], "0010: AB");
        assert!(hex_rows(&[]).is_empty());
    }
}
