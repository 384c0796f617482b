//! The Java Card API in Rust: every API method the emulated card carries,
//! as a [`Native`] the linker binds to an API method token (found through
//! cap-tools' API tables by class and method name and descriptor) and the
//! interpreter calls without looking anything up.
//!
//! One module per API area: [`framework`] (java.lang, Applet, the
//! exceptions, Util, JCSystem, AID, OwnerPIN), [`apdu`] (the APDU class
//! and its state machine), [`crypto`] (javacard.security and
//! javacardx.crypto) and [`globalplatform`] (org.globalplatform: GPSystem,
//! CVM, SecureChannel). A new module adds its variants to [`Native`] and its
//! names to [`lookup`], nothing else changes.

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits (u16 CAP
// offsets, arrays of at most 32767 elements, heaps far below 4 GiB): the
// narrowing casts are the semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

pub mod apdu;
pub mod crypto;
pub mod framework;
pub mod globalplatform;

/// Which framework exception a `throwIt` or the VM raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sys {
    NullPointer,
    ArrayIndex,
    NegativeArraySize,
    ClassCast,
    Arithmetic,
    Security,
    ArrayStore,
    Iso,
    CardRuntime,
    Card,
    System,
    Transaction,
    Apdu,
    User,
    Pin,
    /// javacard.security.CryptoException: an exception class like the
    /// others (the crypto natives themselves are a later issue).
    Crypto,
}

impl Sys {
    pub const ALL: [Sys; 16] = [
        Sys::NullPointer,
        Sys::ArrayIndex,
        Sys::NegativeArraySize,
        Sys::ClassCast,
        Sys::Arithmetic,
        Sys::Security,
        Sys::ArrayStore,
        Sys::Iso,
        Sys::CardRuntime,
        Sys::Card,
        Sys::System,
        Sys::Transaction,
        Sys::Apdu,
        Sys::User,
        Sys::Pin,
        Sys::Crypto,
    ];

    /// The API class (package name, class name) of the exception.
    pub fn class_name(self) -> &'static str {
        match self {
            Sys::NullPointer => "java/lang/NullPointerException",
            Sys::ArrayIndex => "java/lang/ArrayIndexOutOfBoundsException",
            Sys::NegativeArraySize => "java/lang/NegativeArraySizeException",
            Sys::ClassCast => "java/lang/ClassCastException",
            Sys::Arithmetic => "java/lang/ArithmeticException",
            Sys::Security => "java/lang/SecurityException",
            Sys::ArrayStore => "java/lang/ArrayStoreException",
            Sys::Iso => "javacard/framework/ISOException",
            Sys::CardRuntime => "javacard/framework/CardRuntimeException",
            Sys::Card => "javacard/framework/CardException",
            Sys::System => "javacard/framework/SystemException",
            Sys::Transaction => "javacard/framework/TransactionException",
            Sys::Apdu => "javacard/framework/APDUException",
            Sys::User => "javacard/framework/UserException",
            Sys::Pin => "javacard/framework/PINException",
            Sys::Crypto => "javacard/security/CryptoException",
        }
    }

    pub fn index(self) -> usize {
        Sys::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// SystemException reasons.
pub mod system_reason {
    pub const ILLEGAL_VALUE: i16 = 1;
    pub const NO_TRANSIENT_SPACE: i16 = 2;
    pub const ILLEGAL_TRANSIENT: i16 = 3;
    pub const ILLEGAL_AID: i16 = 4;
    pub const NO_RESOURCE: i16 = 5;
    pub const ILLEGAL_USE: i16 = 6;
}

/// An API method implemented in Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    /// Constructors with nothing to do (Object, Throwable, Applet...).
    Nop,
    ObjectEquals,
    ReasonInit,
    GetReason,
    SetReason,
    ThrowIt(Sys),
    // Applet
    Register,
    RegisterAid,
    SelectingApplet,
    ReSelectingApplet,
    AppletSelect,
    AppletInstall,
    GetShareable,
    // APDU
    Apdu(apdu::ApduCall),
    // Util
    ArrayCopy {
        atomic: bool,
    },
    ArrayFill {
        atomic: bool,
    },
    ArrayCompare,
    MakeShort,
    GetShort,
    SetShort,
    // JCSystem
    IsTransient,
    MakeTransient(u8),
    GetVersion,
    GetAid,
    LookupAid,
    BeginTransaction,
    AbortTransaction,
    CommitTransaction,
    TransactionDepth,
    UnusedCommitCapacity,
    MaxCommitCapacity,
    PreviousContextAid,
    AvailableMemory,
    AvailableMemoryArray,
    AppletShareable,
    ObjectDeletionSupported,
    RequestObjectDeletion,
    AssignedChannel,
    IsAppletActive,
    // AID
    AidInit,
    AidEquals,
    RidEquals,
    AidEqualsBytes,
    AidGetBytes,
    AidPartialEquals,
    AidGetPartialBytes,
    // OwnerPIN
    PinInit,
    PinCheck,
    PinTriesRemaining,
    PinValidated,
    PinReset,
    PinResetAndUnblock,
    PinSetValidated,
    PinUpdate,
    // javacard.security, javacardx.crypto
    Crypto(crypto::Call),
    // org.globalplatform
    Gp(globalplatform::Call),
}

/// The native for an API method: `class` as in the API tables
/// (`javacard/framework/Util`), `name` and `descriptor` as in Java.
pub fn lookup(class: &str, name: &str, descriptor: &str) -> Option<Native> {
    use Native as N;
    let simple = class.rsplit('/').next().unwrap_or(class);
    let exception = simple.ends_with("Exception");
    if name == "<init>" && descriptor == "()V" && simple != "AID" {
        return Some(N::Nop);
    }
    if name == "equals" && descriptor == "(Ljava/lang/Object;)Z" && simple != "AID" {
        return Some(N::ObjectEquals);
    }
    if exception {
        let sys = Sys::ALL.iter().find(|s| s.class_name() == class).copied();
        return match (name, descriptor) {
            ("<init>", "(S)V") => Some(N::ReasonInit),
            ("getReason", "()S") => Some(N::GetReason),
            ("setReason", "(S)V") => Some(N::SetReason),
            ("throwIt", "(S)V") => sys.map(N::ThrowIt),
            _ => None,
        };
    }
    if simple == "APDU" {
        return apdu::lookup(name, descriptor).map(N::Apdu);
    }
    if let Some(c) = globalplatform::lookup(class, name, descriptor) {
        return Some(N::Gp(c));
    }
    if let Some(c) = crypto::lookup(class, name, descriptor) {
        return Some(N::Crypto(c));
    }
    let n = match (simple, name, descriptor) {
        ("Applet", "register", "()V") => N::Register,
        ("Applet", "register", "([BSB)V") => N::RegisterAid,
        ("Applet", "selectingApplet", "()Z") => N::SelectingApplet,
        ("Applet", "reSelectingApplet", "()Z") => N::ReSelectingApplet,
        ("Applet", "select", "()Z") => N::AppletSelect,
        ("Applet", "deselect", "()V") => N::Nop,
        ("Applet", "install", "([BSB)V") => N::AppletInstall,
        ("Applet", "getShareableInterfaceObject", _) => N::GetShareable,
        ("Util", "arrayCopy", _) => N::ArrayCopy { atomic: true },
        ("Util", "arrayCopyNonAtomic", _) => N::ArrayCopy { atomic: false },
        ("Util", "arrayFill", _) => N::ArrayFill { atomic: true },
        ("Util", "arrayFillNonAtomic", _) => N::ArrayFill { atomic: false },
        ("Util", "arrayCompare", _) => N::ArrayCompare,
        ("Util", "makeShort", _) => N::MakeShort,
        ("Util", "getShort", _) => N::GetShort,
        ("Util", "setShort", _) => N::SetShort,
        ("JCSystem", "isTransient", _) => N::IsTransient,
        ("JCSystem", "makeTransientBooleanArray", _) => N::MakeTransient(10),
        ("JCSystem", "makeTransientByteArray", _) => N::MakeTransient(11),
        ("JCSystem", "makeTransientShortArray", _) => N::MakeTransient(12),
        ("JCSystem", "makeTransientObjectArray", _) => N::MakeTransient(14),
        ("JCSystem", "getVersion", _) => N::GetVersion,
        ("JCSystem", "getAID", _) => N::GetAid,
        ("JCSystem", "lookupAID", _) => N::LookupAid,
        ("JCSystem", "beginTransaction", _) => N::BeginTransaction,
        ("JCSystem", "abortTransaction", _) => N::AbortTransaction,
        ("JCSystem", "commitTransaction", _) => N::CommitTransaction,
        ("JCSystem", "getTransactionDepth", _) => N::TransactionDepth,
        ("JCSystem", "getUnusedCommitCapacity", _) => N::UnusedCommitCapacity,
        ("JCSystem", "getMaxCommitCapacity", _) => N::MaxCommitCapacity,
        ("JCSystem", "getPreviousContextAID", _) => N::PreviousContextAid,
        ("JCSystem", "getAvailableMemory", "(B)S") => N::AvailableMemory,
        ("JCSystem", "getAvailableMemory", "([SSB)V") => N::AvailableMemoryArray,
        ("JCSystem", "getAppletShareableInterfaceObject", _) => N::AppletShareable,
        ("JCSystem", "isObjectDeletionSupported", _) => N::ObjectDeletionSupported,
        ("JCSystem", "requestObjectDeletion", _) => N::RequestObjectDeletion,
        ("JCSystem", "getAssignedChannel", _) => N::AssignedChannel,
        ("JCSystem", "isAppletActive", _) => N::IsAppletActive,
        ("AID", "<init>", "([BSB)V") => N::AidInit,
        ("AID", "equals", "(Ljava/lang/Object;)Z") => N::AidEquals,
        ("AID", "RIDEquals", _) => N::RidEquals,
        ("AID", "equals", "([BSB)Z") => N::AidEqualsBytes,
        ("AID", "getBytes", _) => N::AidGetBytes,
        ("AID", "partialEquals", _) => N::AidPartialEquals,
        ("AID", "getPartialBytes", _) => N::AidGetPartialBytes,
        ("OwnerPIN", "<init>", "(BB)V") => N::PinInit,
        ("OwnerPIN", "check", _) => N::PinCheck,
        ("OwnerPIN", "getTriesRemaining", _) => N::PinTriesRemaining,
        ("OwnerPIN", "getValidatedFlag", _) | ("OwnerPIN", "isValidated", _) => N::PinValidated,
        ("OwnerPIN", "reset", _) => N::PinReset,
        ("OwnerPIN", "resetAndUnblock", _) => N::PinResetAndUnblock,
        ("OwnerPIN", "setValidatedFlag", _) => N::PinSetValidated,
        ("OwnerPIN", "update", _) => N::PinUpdate,
        _ => return None,
    };
    Some(n)
}

/// Words of the parameters a descriptor names (int: two), without `this`.
pub fn param_words(descriptor: &str) -> Option<u8> {
    let inner = descriptor.strip_prefix('(')?.split(')').next()?;
    let mut words = 0u8;
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            'B' | 'S' | 'Z' | 'C' => words += 1,
            'I' => words += 2,
            'L' => {
                for c in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                }
                words += 1;
            }
            '[' => {
                let mut c = chars.next()?;
                while c == '[' {
                    c = chars.next()?;
                }
                if c == 'L' {
                    for c in chars.by_ref() {
                        if c == ';' {
                            break;
                        }
                    }
                }
                words += 1;
            }
            _ => return None,
        }
    }
    Some(words)
}

/// Whether a descriptor returns a value, and how many words.
pub fn return_words(descriptor: &str) -> u8 {
    match descriptor.rsplit(')').next() {
        Some("V") | None => 0,
        Some("I") => 2,
        _ => 1,
    }
}
