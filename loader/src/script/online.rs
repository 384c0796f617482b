//! Online mode's exchange between the thin client and the key holder, as
//! messages over any byte stream (the CLI puts TLS under it): a 4-byte
//! big-endian length, then that many bytes of JSON. One request, one
//! reply per card:
//!
//! - `{"type":"build","card":{record},"initialize_update":HEX,"response":HEX}`:
//!   the card's identity and its answer to the client's INITIALIZE UPDATE;
//!   the reply carries the signed script, opened on that very session.
//! - `{"type":"rollback","packet":{packet},"initialize_update":HEX,"response":HEX}`:
//!   only when a script broke after it changed the card: the key holder
//!   checks that the packet is its own, then wraps the script's signed
//!   rollback commands for the fresh session.
//!
//! Replies: `{"ok":true,"packet":{...}}` or `{"ok":false,"error":"..."}`.

use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::build::{Builder, CardRecord};
use super::identify::identify_with_hello;
use super::packet::{Body, Hex, Mode, Packet};
use super::play::{self, PlayReport};
use super::sign::{ScriptSigner, ScriptVerifier};
use super::ScriptError;
use crate::transport::CardChannel;

/// Largest message either side accepts.
pub const MAX_MESSAGE: usize = super::packet::MAX_PACKET_BYTES;

/// What the client asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    Build {
        card: CardRecord,
        initialize_update: Hex,
        response: Hex,
    },
    Rollback {
        packet: Box<Packet>,
        initialize_update: Hex,
        response: Hex,
    },
}

/// What the key holder answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet: Option<Box<Packet>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Writes one message.
pub fn write_message(w: &mut dyn Write, value: &impl Serialize) -> Result<(), String> {
    let body = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    let len = u32::try_from(body.len()).map_err(|_| "message too long".to_string())?;
    w.write_all(&len.to_be_bytes())
        .and_then(|()| w.write_all(&body))
        .and_then(|()| w.flush())
        .map_err(|e| format!("sending: {e}"))
}

/// Reads one message of at most [`MAX_MESSAGE`] bytes.
pub fn read_message<T: DeserializeOwned>(r: &mut dyn Read) -> Result<T, String> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)
        .map_err(|e| format!("receiving: {e}"))?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_MESSAGE {
        return Err(format!("a {len}-byte message: at most {MAX_MESSAGE}"));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)
        .map_err(|e| format!("receiving: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("malformed message: {e}"))
}

/// The key holder as a service: builds and signs online scripts.
pub struct Service {
    pub builder: Builder,
    pub signer: ScriptSigner,
}

impl Service {
    /// Answers one request at `now`.
    pub fn handle(&self, request: Request, now: u64) -> Reply {
        match self.try_handle(request, now) {
            Ok(packet) => Reply {
                ok: true,
                packet: Some(Box::new(packet)),
                error: None,
            },
            Err(e) => Reply {
                ok: false,
                packet: None,
                error: Some(e.to_string()),
            },
        }
    }

    fn try_handle(&self, request: Request, now: u64) -> Result<Packet, ScriptError> {
        let body = match request {
            Request::Build {
                card,
                initialize_update,
                response,
            } => self
                .builder
                .build_online(&card, &initialize_update.0, &response.0, now)?,
            Request::Rollback {
                packet,
                initialize_update,
                response,
            } => {
                // Only a script this key holder signed gets its rollback.
                self.signer.verifier().verify(&packet)?;
                self.builder.build_online_rollback(
                    &packet.body,
                    &initialize_update.0,
                    &response.0,
                    now,
                )?
            }
        };
        self.signer.sign(body)
    }
}

/// How the client reaches the key holder: one request, one reply.
pub type Exchange<'a> = &'a mut dyn FnMut(&Request) -> Result<Reply, String>;

fn receive(
    reply: Reply,
    verifier: &ScriptVerifier,
    now: u64,
    hello: &super::identify::Hello,
) -> Result<Packet, String> {
    if !reply.ok {
        return Err(format!(
            "the key holder refused: {}",
            reply.error.unwrap_or_default()
        ));
    }
    let packet = reply.packet.ok_or("the key holder sent no script")?;
    // The same checks as for a file: signature and expiry.
    let bytes = packet.to_bytes().map_err(|e| e.to_string())?;
    let packet = play::open(&bytes, verifier, now).map_err(|e| e.to_string())?;
    if packet.body.header.mode != Mode::Online
        || packet.body.session.initialize_update.0 != hello.command
        || packet.body.session.expected_response.0 != hello.response
    {
        return Err("the key holder's script is not for this session".into());
    }
    Ok(packet)
}

/// The online client: reads the card's identity, sends INITIALIZE UPDATE,
/// asks the key holder for the script of that session, checks it and
/// plays it from EXTERNAL AUTHENTICATE on. Returns the script with the
/// report, for the play log.
pub fn play_via_server(
    channel: &mut CardChannel,
    sd: Option<&[u8]>,
    verifier: &ScriptVerifier,
    now: u64,
    exchange: Exchange<'_>,
) -> Result<(Packet, PlayReport), String> {
    let (card, hello) = identify_with_hello(channel, sd, false)?;
    let reply = exchange(&Request::Build {
        card,
        initialize_update: Hex(hello.command.clone()),
        response: Hex(hello.response.clone()),
    })?;
    let packet = receive(reply, verifier, now, &hello)?;
    let mut rollback = |iu: &[u8], response: &[u8]| -> Result<Body, String> {
        let hello = super::identify::Hello {
            command: iu.to_vec(),
            response: response.to_vec(),
        };
        let reply = exchange(&Request::Rollback {
            packet: Box::new(packet.clone()),
            initialize_update: Hex(hello.command.clone()),
            response: Hex(hello.response.clone()),
        })?;
        Ok(receive(reply, verifier, now, &hello)?.body)
    };
    let report = play::play_online(channel, &packet.body, &mut rollback);
    Ok((packet, report))
}
