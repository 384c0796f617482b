//! Card Production Life Cycle data (GET DATA 9F7F): 42 bytes of fixed fields
//! naming the chip, the OS and who made and personalized the card when.

use std::fmt::Write as _;

/// One CPLC field: name and width in bytes. Dates are `YDDD` (last digit of
/// the year, day of the year) in BCD.
const FIELDS: [(&str, usize, bool); 18] = [
    ("IC fabricator", 2, false),
    ("IC type", 2, false),
    ("Operating system ID", 2, false),
    ("Operating system release date", 2, true),
    ("Operating system release level", 2, false),
    ("IC fabrication date", 2, true),
    ("IC serial number", 4, false),
    ("IC batch identifier", 2, false),
    ("IC module fabricator", 2, false),
    ("IC module packaging date", 2, true),
    ("ICC manufacturer", 2, false),
    ("IC embedding date", 2, true),
    ("IC pre-personalizer", 2, false),
    ("IC pre-personalization equipment date", 2, true),
    ("IC pre-personalization equipment ID", 4, false),
    ("IC personalizer", 2, false),
    ("IC personalization date", 2, true),
    ("IC personalization equipment ID", 4, false),
];

/// Length of the CPLC value.
pub const CPLC_LEN: usize = 42;

/// A decoded CPLC field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CplcField {
    pub name: &'static str,
    pub hex: String,
    /// For date fields: `year digit Y, day DDD` in words, when the BCD is valid.
    pub date: Option<String>,
}

/// Decodes a CPLC value, with or without its `9F7F len` header.
pub fn decode(data: &[u8]) -> Result<Vec<CplcField>, String> {
    let body = match data {
        [0x9F, 0x7F, len, rest @ ..] if *len as usize == rest.len() => rest,
        other => other,
    };
    if body.len() != CPLC_LEN {
        return Err(format!(
            "CPLC data has {} bytes, {CPLC_LEN} expected",
            body.len()
        ));
    }
    let mut pos = 0;
    let mut out = Vec::with_capacity(FIELDS.len());
    for (name, width, is_date) in FIELDS {
        let v = &body[pos..pos + width];
        pos += width;
        let date = if is_date { bcd_date(v) } else { None };
        out.push(CplcField {
            name,
            hex: hex::encode_upper(v),
            date,
        });
    }
    Ok(out)
}

/// `YDDD` BCD to words.
fn bcd_date(v: &[u8]) -> Option<String> {
    let digits: Vec<u8> = v.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
    if digits.iter().any(|d| *d > 9) {
        return None;
    }
    let day = digits[1] as u16 * 100 + digits[2] as u16 * 10 + digits[3] as u16;
    if day == 0 || day > 366 {
        return None;
    }
    Some(format!("year ending in {}, day {day}", digits[0]))
}

/// Text rendering for `jct info`.
pub fn render(fields: &[CplcField]) -> String {
    let mut s = String::new();
    for f in fields {
        let _ = write!(s, "  {:<40} {}", f.name, f.hex);
        if let Some(d) = &f.date {
            let _ = write!(s, " ({d})");
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fields_and_dates() {
        let mut data = vec![0x9F, 0x7F, 42];
        let mut body = vec![0u8; 42];
        body[0] = 0x47;
        body[1] = 0x90;
        body[6] = 0x61;
        body[7] = 0x23; // OS release date 6123: year ...6, day 123
        data.extend_from_slice(&body);
        let f = decode(&data).unwrap();
        assert_eq!(f.len(), 18);
        assert_eq!(f[0].hex, "4790");
        assert_eq!(f[3].date.as_deref(), Some("year ending in 6, day 123"));
        assert_eq!(f[5].date, None); // 0000 is no date
        assert!(decode(&body[..41]).is_err());
        assert!(render(&f).contains("IC fabricator"));
    }
}
