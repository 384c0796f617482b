//! GlobalPlatform SCP11 certificates (Amendment F, "Certificate Format"):
//! a compact TLV certificate, tag 7F21, signed by a CA with ECDSA.
//!
//! ```text
//! 7F21 {
//!   93   serial number                      (1..16 bytes)
//!   42   CA-KLOC identifier                 (the signer)
//!   5F20 subject identifier
//!   95   key usage                          (1 or 2 bytes)
//!   5F25 effective date   YYYYMMDD in BCD   (optional)
//!   5F24 expiration date  YYYYMMDD in BCD
//!   53 | 73 discretionary data              (optional)
//!   7F49 { B0 public key (SEC1 point), F0 key parameter reference (00 = P-256) }
//!   5F37 signature: ECDSA P-256 with SHA-256, r || s (64 bytes), over the
//!        encoding of every data object above it
//! }
//! ```
//!
//! Parsing is bounded (the BER-TLV parser checks every length against the
//! input) and each error names the field. The signature is raw `r || s`,
//! as in the card-verifiable certificates GP's format comes from.

use super::flat;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};

/// Key parameter reference of NIST P-256 (GP Amendment F, table of curves).
pub const KEY_PARAM_P256: u8 = 0x00;
/// Key usage: key agreement (an SD or OCE ECKA key).
pub const USAGE_KEY_AGREEMENT: u16 = 0x0080;
/// Key usage: verification of signatures (a CA or intermediate key).
pub const USAGE_SIGNATURE: u16 = 0x0082;

/// The largest certificate accepted: GP certificates are a few hundred
/// bytes; anything far beyond is refused before parsing.
const MAX_CERT_LEN: usize = 2048;

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The bytes are not a well-formed certificate.
    #[error("SCP11 certificate: {field}: {detail}")]
    Malformed {
        /// The data object at fault (its tag and name).
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The signature does not verify under the issuer's key.
    #[error("SCP11 certificate {serial}: signature does not verify under {issuer}")]
    Signature {
        /// Serial number of the certificate, in hex.
        serial: String,
        /// Which key was tried.
        issuer: String,
    },
    /// The certificate is not valid on the given date.
    #[error("SCP11 certificate {serial}: {why} (today is {today})")]
    Validity {
        /// Serial number, in hex.
        serial: String,
        /// "expired on ..." or "not valid before ...".
        why: String,
        /// The date checked against.
        today: Date,
    },
    /// The key usage does not allow the certificate's role.
    #[error("SCP11 certificate {serial}: key usage {usage:04X} does not allow {role}")]
    Usage {
        /// Serial number, in hex.
        serial: String,
        /// Its key usage.
        usage: u16,
        /// What it was used for.
        role: &'static str,
    },
    /// A chain with no certificate.
    #[error("SCP11 certificate chain is empty")]
    EmptyChain,
}

fn malformed(field: &'static str, detail: impl Into<String>) -> CertError {
    CertError::Malformed {
        field,
        detail: detail.into(),
    }
}

/// A calendar date, as certificates carry it (BCD YYYYMMDD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, 0..=9999.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day, 1..=31.
    pub day: u8,
}

impl core::fmt::Display for Date {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Date {
    /// A date, checked for range.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        (year <= 9999 && (1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// The UTC date `unix_seconds` after the epoch (civil-from-days,
    /// proleptic Gregorian), so callers without a date library can pass
    /// "today" from `SystemTime`.
    pub fn from_unix(unix_seconds: u64) -> Self {
        let days = i64::try_from(unix_seconds / 86_400).unwrap_or(i64::MAX / 2);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: u16::try_from(year.clamp(0, 9999)).unwrap_or(9999),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_unix(secs)
    }

    /// Days since 1970-01-01 (days-from-civil, the inverse of
    /// [`Date::from_unix`]).
    pub fn days_since_epoch(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days later (earlier when negative), clamped to
    /// 1970-01-01 .. 9999-12-31.
    pub fn plus_days(self, days: i64) -> Self {
        let target = self
            .days_since_epoch()
            .saturating_add(days)
            .clamp(0, Date::LAST.days_since_epoch());
        Date::from_unix(u64::try_from(target).unwrap_or(0) * 86_400)
    }

    /// The last date a certificate can carry.
    pub const LAST: Date = Date {
        year: 9999,
        month: 12,
        day: 31,
    };

    /// The number of days in `month` of `year` (Gregorian), 0 for a month
    /// out of range.
    pub fn days_in_month(year: u16, month: u8) -> u8 {
        match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if (year.is_multiple_of(4) && !year.is_multiple_of(100))
                || year.is_multiple_of(400) =>
            {
                29
            }
            2 => 28,
            _ => 0,
        }
    }

    fn to_bcd(self) -> [u8; 4] {
        let bcd = |v: u16| -> u8 {
            let v = v % 100;
            u8::try_from((v / 10) << 4 | (v % 10)).unwrap_or(0)
        };
        [
            bcd(self.year / 100),
            bcd(self.year % 100),
            bcd(u16::from(self.month)),
            bcd(u16::from(self.day)),
        ]
    }

    fn from_bcd(field: &'static str, bytes: &[u8]) -> Result<Self, CertError> {
        let [a, b, c, d]: [u8; 4] = bytes
            .try_into()
            .map_err(|_| malformed(field, format!("{} bytes, a BCD date has 4", bytes.len())))?;
        let digit = |v: u8| -> Result<u16, CertError> {
            let (hi, lo) = (v >> 4, v & 0x0F);
            if hi > 9 || lo > 9 {
                return Err(malformed(field, format!("{v:02X} is not BCD")));
            }
            Ok(u16::from(hi) * 10 + u16::from(lo))
        };
        let year = digit(a)? * 100 + digit(b)?;
        let month = u8::try_from(digit(c)?).unwrap_or(0);
        let day = u8::try_from(digit(d)?).unwrap_or(0);
        Date::new(year, month, day)
            .ok_or_else(|| malformed(field, format!("{year:04}-{month:02}-{day:02} is no date")))
    }
}

/// `YYYY-MM-DD`, checked against the calendar (no 31 April).
impl core::str::FromStr for Date {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a date YYYY-MM-DD");
        let mut parts = s.trim().splitn(3, '-');
        let mut next = |digits: usize| -> Result<u16, String> {
            let p = parts.next().ok_or_else(bad)?;
            if p.len() != digits || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        let year = next(4)?;
        let month = u8::try_from(next(2)?).map_err(|_| bad())?;
        let day = u8::try_from(next(2)?).map_err(|_| bad())?;
        if day == 0 || day > Date::days_in_month(year, month) {
            return Err(format!("{s}: no such day"));
        }
        Date::new(year, month, day).ok_or_else(bad)
    }
}

/// A parsed SCP11 certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Serial number (93).
    pub serial: Vec<u8>,
    /// CA-KLOC identifier of the issuer (42).
    pub issuer: Vec<u8>,
    /// Subject identifier (5F20).
    pub subject: Vec<u8>,
    /// Key usage (95).
    pub key_usage: u16,
    /// Effective date (5F25), when present.
    pub effective: Option<Date>,
    /// Expiration date (5F24).
    pub expiration: Date,
    /// Discretionary data (53 or 73), when present.
    pub discretionary: Option<Vec<u8>>,
    /// The certified P-256 public key (7F49/B0).
    pub public_key: VerifyingKey,
    /// The signed bytes: the encoding of every object before 5F37.
    signed: Vec<u8>,
    /// The signature (5F37), r || s.
    signature: Vec<u8>,
    /// The whole certificate as received.
    encoded: Vec<u8>,
}

impl Certificate {
    /// Parses one certificate (7F21 with its content).
    pub fn parse(bytes: &[u8]) -> Result<Self, CertError> {
        if bytes.len() > MAX_CERT_LEN {
            return Err(malformed(
                "7F21 certificate",
                format!("{} bytes, at most {MAX_CERT_LEN} accepted", bytes.len()),
            ));
        }
        let outer = flat::objects(bytes).map_err(|e| malformed("7F21 certificate", e))?;
        let cert = match outer.as_slice() {
            [one] if one.tag == 0x7F21 => one,
            [one] => {
                return Err(malformed(
                    "7F21 certificate",
                    format!("outer tag is {:X}, not 7F21", one.tag),
                ))
            }
            _ => return Err(malformed("7F21 certificate", "not exactly one data object")),
        };
        let fields = flat::objects(cert.value).map_err(|e| malformed("7F21 certificate", e))?;
        let sig_at = fields
            .iter()
            .position(|f| f.tag == 0x5F37)
            .ok_or_else(|| malformed("5F37 signature", "missing"))?;
        if sig_at + 1 != fields.len() {
            return Err(malformed(
                "5F37 signature",
                "data objects follow the signature",
            ));
        }
        let signed: Vec<u8> = fields[..sig_at]
            .iter()
            .flat_map(|f| f.raw.to_vec())
            .collect();
        let prim = |tag: u32| fields.iter().find(|f| f.tag == tag).map(|f| f.value);
        let need = |tag: u32, name: &'static str| -> Result<&[u8], CertError> {
            prim(tag).ok_or_else(|| malformed(name, "missing"))
        };
        let serial = need(0x93, "93 serial number")?.to_vec();
        if serial.is_empty() || serial.len() > 16 {
            return Err(malformed(
                "93 serial number",
                format!("{} bytes, 1 to 16 allowed", serial.len()),
            ));
        }
        let issuer = need(0x42, "42 CA-KLOC identifier")?.to_vec();
        let subject = need(0x5F20, "5F20 subject identifier")?.to_vec();
        let key_usage = match need(0x95, "95 key usage")? {
            [a] => u16::from(*a),
            [a, b] => u16::from_be_bytes([*a, *b]),
            other => {
                return Err(malformed(
                    "95 key usage",
                    format!("{} bytes, 1 or 2 allowed", other.len()),
                ))
            }
        };
        let effective = prim(0x5F25)
            .map(|b| Date::from_bcd("5F25 effective date", b))
            .transpose()?;
        let expiration = Date::from_bcd(
            "5F24 expiration date",
            need(0x5F24, "5F24 expiration date")?,
        )?;
        let discretionary = prim(0x53).or_else(|| prim(0x73)).map(<[u8]>::to_vec);
        let key = flat::objects(need(0x7F49, "7F49 public key")?)
            .map_err(|e| malformed("7F49 public key", e))?;
        let point = key
            .iter()
            .find(|o| o.tag == 0xB0)
            .map(|o| o.value)
            .ok_or_else(|| malformed("7F49/B0 public key point", "missing"))?;
        let param = key
            .iter()
            .find(|o| o.tag == 0xF0)
            .map(|o| o.value)
            .unwrap_or(&[KEY_PARAM_P256]);
        if param != [KEY_PARAM_P256] {
            return Err(malformed(
                "7F49/F0 key parameter reference",
                format!(
                    "{} is not P-256 (00); only P-256 is supported",
                    hex::encode_upper(param)
                ),
            ));
        }
        let public_key = VerifyingKey::from_sec1_bytes(point)
            .map_err(|_| malformed("7F49/B0 public key point", "not a P-256 point"))?;
        let signature = need(0x5F37, "5F37 signature")?.to_vec();
        Ok(Certificate {
            serial,
            issuer,
            subject,
            key_usage,
            effective,
            expiration,
            discretionary,
            public_key,
            signed,
            signature,
            encoded: bytes.to_vec(),
        })
    }

    /// The certificate as it travels.
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The serial number in hex, to name the certificate in errors.
    pub fn serial_hex(&self) -> String {
        hex::encode_upper(&self.serial)
    }

    /// Checks the signature under `issuer` (named `issuer_name` in errors).
    pub fn verify_signature(
        &self,
        issuer: &VerifyingKey,
        issuer_name: &str,
    ) -> Result<(), CertError> {
        let bad = || CertError::Signature {
            serial: self.serial_hex(),
            issuer: issuer_name.to_string(),
        };
        let sig = Signature::from_slice(&self.signature).map_err(|_| bad())?;
        issuer.verify(&self.signed, &sig).map_err(|_| bad())
    }

    /// Checks that `today` lies between the effective and expiration dates.
    pub fn check_validity(&self, today: Date) -> Result<(), CertError> {
        if today > self.expiration {
            return Err(CertError::Validity {
                serial: self.serial_hex(),
                why: format!("expired on {}", self.expiration),
                today,
            });
        }
        if let Some(from) = self.effective {
            if today < from {
                return Err(CertError::Validity {
                    serial: self.serial_hex(),
                    why: format!("not valid before {from}"),
                    today,
                });
            }
        }
        Ok(())
    }

    fn require_usage(&self, usage: u16, role: &'static str) -> Result<(), CertError> {
        if self.key_usage & usage == usage {
            Ok(())
        } else {
            Err(CertError::Usage {
                serial: self.serial_hex(),
                usage: self.key_usage,
                role,
            })
        }
    }
}

/// Verifies a chain (issuer first, the key-agreement certificate last)
/// from the CA key `ca`: each certificate signed by the previous one's key
/// (the first by `ca`), all valid `today`, intermediates allowed to sign,
/// the last allowed key agreement. Returns the leaf's public key.
pub fn verify_chain(
    chain: &[Certificate],
    ca: &VerifyingKey,
    today: Date,
) -> Result<VerifyingKey, CertError> {
    let (leaf, _) = chain.split_last().ok_or(CertError::EmptyChain)?;
    let mut issuer = *ca;
    let mut issuer_name = "the CA key".to_string();
    for (n, cert) in chain.iter().enumerate() {
        cert.verify_signature(&issuer, &issuer_name)?;
        cert.check_validity(today)?;
        if n + 1 < chain.len() {
            cert.require_usage(
                USAGE_SIGNATURE,
                "signing certificates (it is not the last of the chain)",
            )?;
        }
        issuer = cert.public_key;
        issuer_name = format!("certificate {}", cert.serial_hex());
    }
    leaf.require_usage(USAGE_KEY_AGREEMENT, "key agreement")?;
    Ok(leaf.public_key)
}

/// Parses a sequence of certificates laid end to end (as GET DATA BF21
/// returns them inside BF21, or a file holds them).
pub fn parse_chain(bytes: &[u8]) -> Result<Vec<Certificate>, CertError> {
    flat::objects(bytes)
        .map_err(|e| malformed("certificate chain", e))?
        .iter()
        .map(|o| Certificate::parse(o.raw))
        .collect()
}

/// What to certify: used by tests and, later, by the CA tooling.
#[derive(Debug, Clone)]
pub struct CertificateTemplate {
    /// Serial number.
    pub serial: Vec<u8>,
    /// CA-KLOC identifier of the signer.
    pub issuer: Vec<u8>,
    /// Subject identifier.
    pub subject: Vec<u8>,
    /// Key usage.
    pub key_usage: u16,
    /// Effective date.
    pub effective: Option<Date>,
    /// Expiration date.
    pub expiration: Date,
    /// The key to certify.
    pub public_key: VerifyingKey,
}

impl CertificateTemplate {
    /// Encodes and signs the certificate with `ca`.
    pub fn sign(&self, ca: &SigningKey) -> Vec<u8> {
        let mut signed = [
            flat::encode(0x93, &self.serial),
            flat::encode(0x42, &self.issuer),
            flat::encode(0x5F20, &self.subject),
            flat::encode(0x95, &self.key_usage.to_be_bytes()),
        ]
        .concat();
        if let Some(d) = self.effective {
            signed.extend(flat::encode(0x5F25, &d.to_bcd()));
        }
        signed.extend(flat::encode(0x5F24, &self.expiration.to_bcd()));
        let point = self.public_key.to_sec1_point(false);
        let key = [
            flat::encode(0xB0, point.as_bytes()),
            flat::encode(0xF0, &[KEY_PARAM_P256]),
        ]
        .concat();
        signed.extend(flat::encode(0x7F49, &key));
        let sig: Signature = ca.sign(&signed);
        signed.extend(flat::encode(0x5F37, &sig.to_bytes()));
        flat::encode(0x7F21, &signed)
    }
}

#[cfg(test)]
mod tests {
    use super::Date;

    #[test]
    fn days_since_epoch_inverts_from_unix() {
        for days in [0_i64, 59, 60, 365, 10_956, 11_016, 20_000, 2_932_896] {
            let d = Date::from_unix(u64::try_from(days).unwrap() * 86_400);
            assert_eq!(d.days_since_epoch(), days, "{d}");
        }
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(Date::new(2000, 3, 1).unwrap().days_since_epoch(), 11_017);
        assert_eq!(Date::LAST.plus_days(10), Date::LAST);
    }

    #[test]
    fn plus_days_crosses_months_and_leap_days() {
        let d: Date = "2024-02-28".parse().unwrap();
        assert_eq!(d.plus_days(1).to_string(), "2024-02-29");
        assert_eq!(d.plus_days(2).to_string(), "2024-03-01");
        assert_eq!(d.plus_days(366).to_string(), "2025-02-28");
        assert_eq!(d.plus_days(-59).to_string(), "2023-12-31");
    }

    #[test]
    fn parses_real_dates_only() {
        assert_eq!(
            "2026-12-04".parse::<Date>().unwrap(),
            Date::new(2026, 12, 4).unwrap()
        );
        assert!("2025-02-29".parse::<Date>().is_err());
        assert!("2024-02-29".parse::<Date>().is_ok());
        assert!("2026-04-31".parse::<Date>().is_err());
        for bad in [
            "2026-13-01",
            "26-12-04",
            "2026-1-04",
            "2026-12-04-1",
            "x",
            "",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
    }
}
