//! Key material as the CLI receives it: hex from an argument or an
//! environment variable. It is wiped when dropped and `Debug` never shows it,
//! so no `{:?}` of the parsed arguments can leak a key into a log.

use std::fmt;

use zeroize::Zeroizing;

/// A secret hex string (a key) from the command line or the environment.
#[derive(Clone)]
pub struct SecretHex(Zeroizing<String>);

impl SecretHex {
    /// The value parser for clap: takes the text as it is; its hex is
    /// checked where the key is built, naming the option.
    pub fn parse(text: &str) -> Result<SecretHex, String> {
        Ok(SecretHex(Zeroizing::new(text.to_string())))
    }

    /// The key bytes (spaces and colons allowed between hex digits); the
    /// error names `what` but never shows the text.
    pub fn bytes(&self, what: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let clean = Zeroizing::new(
            self.0
                .chars()
                .filter(|c| !matches!(c, ' ' | ':'))
                .collect::<String>(),
        );
        let mut out = Zeroizing::new(vec![0u8; clean.len() / 2]);
        if clean.len() % 2 != 0 || hex::decode_to_slice(clean.as_bytes(), &mut out).is_err() {
            anyhow::bail!("{what}: not hex (an even number of digits 0-9, A-F)");
        }
        Ok(out)
    }
}

impl fmt::Debug for SecretHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHex(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let s = SecretHex::parse("404142434445464748494A4B4C4D4E4F").unwrap();
        assert_eq!(format!("{s:?}"), "SecretHex(<redacted>)");
        assert_eq!(s.bytes("--key").unwrap()[..2], [0x40, 0x41]);
        let bad = SecretHex::parse("40414243444546474849XX").unwrap();
        let err = bad.bytes("--key").unwrap_err().to_string();
        assert!(err.contains("--key") && !err.contains("4041"), "{err}");
    }
}
