//! What can go wrong between jct and a PKCS#11 token, in words that name
//! the token, the key and the operation. Never key bytes, never the PIN.

use cryptoki::error::{Error as CkError, RvError};
use scp::ScpError;

/// An HSM operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    /// The PKCS#11 module could not be loaded or initialised.
    #[error("PKCS#11 module {module}: {detail}")]
    Module { module: String, detail: String },
    /// No slot holds a token with this label.
    #[error("no token labelled {label:?} in {module} (tokens: {found})")]
    NoToken {
        label: String,
        module: String,
        found: String,
    },
    /// A PKCS#11 call failed.
    #[error("{operation}: {detail}")]
    Call { operation: String, detail: String },
    /// The key set is not in the token, or only partly.
    #[error("key {label:?} version {version:#04X}: {detail}")]
    KeySet {
        label: String,
        version: u8,
        detail: String,
    },
    /// What the caller asked for is not possible with this token and these
    /// settings (for instance a derivation that would bring a card key into
    /// the process while that is not allowed).
    #[error("{0}")]
    Unsupported(String),
    /// Input that does not make sense (a key of the wrong length, a label
    /// too long...).
    #[error("{0}")]
    Invalid(String),
}

impl HsmError {
    /// A failed PKCS#11 call: which operation, and the return value by name.
    pub(crate) fn call(operation: impl Into<String>, e: CkError) -> HsmError {
        let detail = match &e {
            CkError::Pkcs11(rv, function) => format!("{function} returned {}", rv_name(*rv)),
            other => other.to_string(),
        };
        HsmError::Call {
            operation: operation.into(),
            detail,
        }
    }
}

/// The CKR_ name of a return value (its Debug form is the CamelCase name;
/// the Display form is a paragraph of the standard).
fn rv_name(rv: RvError) -> String {
    format!("{rv:?}")
}

/// Whether a failed call means "this token does not do that" rather than
/// a real failure: then a caller may take another way.
pub(crate) fn not_supported(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::MechanismInvalid
                | RvError::MechanismParamInvalid
                | RvError::FunctionNotSupported
                | RvError::KeyTypeInconsistent
                | RvError::WrappingKeyTypeInconsistent
                | RvError::KeyNotWrappable,
            _
        )
    )
}

impl From<HsmError> for ScpError {
    fn from(e: HsmError) -> ScpError {
        ScpError::Provider(format!("HSM: {e}"))
    }
}
