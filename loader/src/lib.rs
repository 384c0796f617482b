//! loader: the host side of jct — talking to cards.
//!
//! It moves APDUs through transports (PC/SC readers, an emulated card over
//! TCP, record and replay of traces), opens secure channels on security
//! domains with the `scp` crate's host side, and runs card content management
//! (list, load, install, delete, put key, set status) with the `gp` crate's
//! commands, and builds and plays secured scripts ([`script`]: the key
//! holder's signed, pre-MACed command sequences for a thin client). It reads CAP files through cap-tools' model only; it never
//! converts class files, never holds the card's side of a protocol, and
//! prints nothing: rendering is the front end's job.

// Input from cards, hosts and files is never truncated silently.
#![cfg_attr(not(test), warn(clippy::cast_possible_truncation))]

pub mod card_info;
pub mod client;
pub mod compat;
pub mod plan;
pub mod script;
pub mod transport;

/// Ways to open a session that give up the protection of a fresh random host
/// challenge: replaying a recorded trace needs the recorded challenge, so
/// that every command (MACs included) repeats byte for byte. Nothing else
/// should call these.
pub mod danger {
    use crate::client::{ChannelOptions, GpClient, GpError};
    use scp::SessionInfo;

    /// Opens the secure channel with this host challenge.
    pub fn open_secure_channel_with_challenge(
        client: &mut GpClient,
        options: &ChannelOptions,
        host_challenge: [u8; 8],
    ) -> Result<SessionInfo, GpError> {
        client.open_secure_channel_with_challenge(options, host_challenge)
    }
}

#[cfg(test)]
mod tests {
    /// Sessions move between threads: a key server runs many on a pool.
    #[test]
    fn transports_channels_and_clients_are_send() {
        fn send<T: Send>() {}
        send::<crate::client::GpClient>();
        send::<crate::transport::CardChannel>();
        send::<crate::transport::vpcd::VpcdClient>();
        send::<crate::transport::replay::Replay>();
        send::<Box<dyn crate::transport::Transport>>();
        send::<scp::SecureChannel>();
        send::<scp::CardChannel>();
        send::<crate::client::ChannelOptions>();
    }
}
