//! Life cycle states (GP 2.3.1 section 5): of the card, of applications and
//! security domains, and of executable load files.

use std::fmt;

/// Card life cycle (GP 2.3.1 table 11-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardLifeCycle {
    OpReady,
    Initialized,
    Secured,
    CardLocked,
    Terminated,
}

impl CardLifeCycle {
    /// The coding byte.
    pub fn byte(&self) -> u8 {
        match self {
            CardLifeCycle::OpReady => 0x01,
            CardLifeCycle::Initialized => 0x07,
            CardLifeCycle::Secured => 0x0F,
            CardLifeCycle::CardLocked => 0x7F,
            CardLifeCycle::Terminated => 0xFF,
        }
    }

    /// The state for a coding byte.
    pub fn from_byte(b: u8) -> Option<CardLifeCycle> {
        Some(match b {
            0x01 => CardLifeCycle::OpReady,
            0x07 => CardLifeCycle::Initialized,
            0x0F => CardLifeCycle::Secured,
            0x7F => CardLifeCycle::CardLocked,
            0xFF => CardLifeCycle::Terminated,
            _ => return None,
        })
    }

    /// The specification's name.
    pub fn name(&self) -> &'static str {
        match self {
            CardLifeCycle::OpReady => "OP_READY",
            CardLifeCycle::Initialized => "INITIALIZED",
            CardLifeCycle::Secured => "SECURED",
            CardLifeCycle::CardLocked => "CARD_LOCKED",
            CardLifeCycle::Terminated => "TERMINATED",
        }
    }
}

impl fmt::Display for CardLifeCycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Application / Security Domain life cycle byte (GP 2.3.1 tables 11-3, 11-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApplicationLifeCycle(pub u8);

impl ApplicationLifeCycle {
    pub const INSTALLED: u8 = 0x03;
    pub const SELECTABLE: u8 = 0x07;
    pub const PERSONALIZED: u8 = 0x0F;
    /// The bit that marks a locked application or security domain.
    pub const LOCKED_BIT: u8 = 0x80;
    /// Executable Load File state.
    pub const LOADED: u8 = 0x01;

    /// True when locked.
    pub fn is_locked(&self) -> bool {
        self.0 & Self::LOCKED_BIT != 0 && self.0 != 0xFF
    }

    /// The state's name in words, as `jct list` prints it. `is_sd` picks the
    /// Security Domain vocabulary (PERSONALIZED), `is_load_file` the ELF one.
    pub fn describe(&self, is_sd: bool, is_load_file: bool) -> String {
        if is_load_file {
            return match self.0 {
                Self::LOADED => "LOADED".into(),
                b => format!("{b:02X}"),
            };
        }
        let base = self.0 & !Self::LOCKED_BIT;
        let name = match base {
            Self::INSTALLED => "INSTALLED".to_string(),
            Self::SELECTABLE => "SELECTABLE".to_string(),
            Self::PERSONALIZED if is_sd => "PERSONALIZED".to_string(),
            b if b & 0x07 == 0x07 => format!("SELECTABLE (application state {b:02X})"),
            b => format!("{b:02X}"),
        };
        if self.is_locked() {
            format!("LOCKED ({name})")
        } else {
            name
        }
    }
}

/// A life cycle change SET STATUS can ask for (GP 2.3.1 section 11.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Lock an application: it can no longer be selected.
    LockApplication,
    /// Unlock an application.
    UnlockApplication,
    /// Lock the card (CARD_LOCKED): only the ISD answers.
    LockCard,
    /// Unlock the card (back to SECURED).
    UnlockCard,
    /// Terminate the card: irreversible.
    TerminateCard,
}

impl StatusChange {
    /// Whether the change is about the card (the ISD) rather than an
    /// application.
    pub fn is_card(self) -> bool {
        !matches!(
            self,
            StatusChange::LockApplication | StatusChange::UnlockApplication
        )
    }

    /// P1 (status type: 80 ISD, 40 application) and P2 (the new state).
    pub fn p1_p2(self) -> (u8, u8) {
        match self {
            StatusChange::LockApplication => (0x40, ApplicationLifeCycle::LOCKED_BIT),
            StatusChange::UnlockApplication => (0x40, 0x00),
            StatusChange::LockCard => (0x80, CardLifeCycle::CardLocked.byte()),
            StatusChange::UnlockCard => (0x80, CardLifeCycle::Secured.byte()),
            StatusChange::TerminateCard => (0x80, CardLifeCycle::Terminated.byte()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_states_round_trip() {
        for s in [
            CardLifeCycle::OpReady,
            CardLifeCycle::Initialized,
            CardLifeCycle::Secured,
            CardLifeCycle::CardLocked,
            CardLifeCycle::Terminated,
        ] {
            assert_eq!(CardLifeCycle::from_byte(s.byte()), Some(s));
        }
        assert_eq!(CardLifeCycle::from_byte(0x02), None);
    }

    #[test]
    fn application_states_in_words() {
        assert_eq!(
            ApplicationLifeCycle(0x07).describe(false, false),
            "SELECTABLE"
        );
        assert_eq!(
            ApplicationLifeCycle(0x0F).describe(true, false),
            "PERSONALIZED"
        );
        assert_eq!(
            ApplicationLifeCycle(0x87).describe(false, false),
            "LOCKED (SELECTABLE)"
        );
        assert_eq!(ApplicationLifeCycle(0x01).describe(false, true), "LOADED");
        assert!(!ApplicationLifeCycle(0x07).is_locked());
    }
}
