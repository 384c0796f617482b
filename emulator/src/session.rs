//! The ISD's secure channel session, as a state machine whose states are
//! the `scp` crate's card-side types: nothing but an authenticated
//! [`CardChannel`] can unwrap commands or protect responses.
//!
//! ```text
//! None ──INITIALIZE UPDATE──▶ Authenticating ──EXTERNAL AUTHENTICATE ok──▶ Open
//!   ▲                               │ any other command, failure          │ MAC failure,
//!   └───────────────────────────────┴─────────────── SELECT, reset ───────┘ SELECT, reset
//! ```

use scp::{CardAuthenticating, CardChannel, SecurityLevel};

/// Where the session stands.
#[derive(Debug, Default)]
pub enum Session {
    /// No session: plain commands only; card content management refused.
    #[default]
    None,
    /// INITIALIZE UPDATE answered with the key set `kvn`.
    Authenticating {
        pending: Box<CardAuthenticating>,
        kvn: u8,
    },
    /// SCP11: PERFORM SECURITY OPERATION has verified OCE certificates;
    /// MUTUAL AUTHENTICATE comes next.
    Scp11Certificates { chain: scp::scp11::card::OceChain },
    /// Authenticated with the key set `kvn`.
    Open { channel: CardChannel, kvn: u8 },
}

impl Session {
    /// The open channel, if authenticated.
    pub fn channel(&self) -> Option<&CardChannel> {
        match self {
            Session::Open { channel, .. } => Some(channel),
            _ => None,
        }
    }

    /// Whether the host has authenticated.
    pub fn is_authenticated(&self) -> bool {
        matches!(self, Session::Open { .. })
    }

    /// The security level of the open session.
    pub fn level(&self) -> Option<SecurityLevel> {
        self.channel().map(|c| c.info().security_level)
    }
}
