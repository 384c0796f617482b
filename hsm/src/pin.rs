//! The token PIN: read from the environment or a file, held zeroized,
//! never printed.

use std::fmt;

use zeroize::Zeroizing;

use crate::HsmError;

/// A token user PIN. `Debug` shows only that there is one.
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// A PIN from its text.
    pub fn new(pin: impl Into<String>) -> Pin {
        Pin(Zeroizing::new(pin.into()))
    }

    /// The PIN in environment variable `var`, so it never appears on a
    /// command line (where `ps` shows it) or in a shell history.
    pub fn from_env(var: &str) -> Result<Pin, HsmError> {
        match std::env::var(var) {
            Ok(pin) if !pin.is_empty() => Ok(Pin::new(pin)),
            Ok(_) => Err(HsmError::Invalid(format!(
                "environment variable {var} (the token PIN) is empty"
            ))),
            Err(_) => Err(HsmError::Invalid(format!(
                "environment variable {var} (the token PIN) is not set"
            ))),
        }
    }

    pub(crate) fn auth(&self) -> cryptoki::types::AuthPin {
        cryptoki::types::AuthPin::new(self.0.as_str().to_owned())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        assert_eq!(format!("{:?}", Pin::new("123456")), "Pin(<redacted>)");
    }

    #[test]
    fn env_errors_name_the_variable() {
        let e = Pin::from_env("JCT_HSM_TEST_PIN_THAT_IS_NOT_SET").unwrap_err();
        assert!(
            e.to_string().contains("JCT_HSM_TEST_PIN_THAT_IS_NOT_SET"),
            "{e}"
        );
    }
}
