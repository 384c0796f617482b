//! The control socket's messages: one JSON object per frame, told apart by
//! its `type`. The station says hello and asks for personalizations; the
//! key server answers each request with a result that releases the card or
//! asks the station to retry it. Pure data: encoding and decoding only.

use serde::{Deserialize, Serialize};

use crate::frame::{self, FrameError, MAX_CONTROL};

/// What a card says about itself before any authentication (GET DATA on
/// the ISD), hex. The key server picks key set and job by it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardIdentity {
    /// The security domain that answered SELECT.
    pub security_domain: String,
    /// Card Production Life Cycle data (9F7F), the value without its tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cplc: Option<String>,
    /// Issuer Identification Number (42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<String>,
    /// Card Image Number (45).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cin: Option<String>,
}

impl CardIdentity {
    /// A short name for logs and the audit log: the CIN, else the CPLC's
    /// IC serial number, else the ATR's owner has to do without.
    pub fn label(&self) -> String {
        if let Some(cin) = &self.cin {
            return format!("CIN {cin}");
        }
        if let Some(cplc) = &self.cplc {
            // IC serial number: bytes 12..16 of the CPLC.
            if let Some(serial) = cplc.get(24..32) {
                return format!("IC serial {serial}");
            }
        }
        "unidentified card".to_string()
    }
}

/// One reader a station offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderOffer {
    pub reader: usize,
    pub name: String,
    /// TCP port of its personalization socket (on the station's host).
    pub port: u16,
}

/// What to do with the card after a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// The job is over (done or failed for good): release the card.
    Release,
    /// Reset the card and send a new request for it.
    Retry,
}

/// A control message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// Station → key server, first on every connection.
    Hello {
        station: String,
        version: u32,
        readers: Vec<ReaderOffer>,
    },
    /// Station → key server: a card is ready in `reader`; connect to
    /// `port` and run `job`.
    Request {
        /// Unique among this station's requests.
        id: String,
        reader: usize,
        reader_name: String,
        port: u16,
        /// The card's transmission protocol ("T=0", "T=1").
        protocol: String,
        atr: String,
        card: CardIdentity,
        job: String,
        /// 1 for the first try, 2 for the first retry...
        attempt: u32,
    },
    /// Key server → station: how the request ended.
    Result(JobResult),
    /// Station → key server: the result was carried out.
    Done {
        id: String,
        disposition: Disposition,
    },
}

/// The end of one job, as the key server reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    pub id: String,
    pub ok: bool,
    pub disposition: Disposition,
    /// The step that failed (e.g. "LOAD block 3/12"), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Its status word, when the card answered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sw: Option<String>,
    pub message: String,
    /// Command APDUs sent to the card.
    pub apdus: u64,
}

/// Protocol version in [`Message::Hello`].
pub const VERSION: u32 = 1;

/// Why a control message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("control message is not valid: {0}")]
    Json(#[from] serde_json::Error),
}

impl Message {
    /// The frame body.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a frame body.
    pub fn from_bytes(bytes: &[u8]) -> Result<Message, ControlError> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// The whole frame.
    pub fn to_frame(&self) -> Result<Vec<u8>, FrameError> {
        frame::encode(&self.to_bytes(), MAX_CONTROL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_say_their_type() {
        let m = Message::Result(JobResult {
            id: "s-1".into(),
            ok: false,
            disposition: Disposition::Release,
            step: Some("LOAD block 2/9".into()),
            sw: Some("6A84".into()),
            message: "not enough memory".into(),
            apdus: 12,
        });
        let bytes = m.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"type\":\"result\""), "{text}");
        assert!(text.contains("\"disposition\":\"release\""), "{text}");
        assert_eq!(Message::from_bytes(&bytes).unwrap(), m);
    }

    #[test]
    fn unknown_or_broken_messages_are_errors() {
        assert!(Message::from_bytes(br#"{"type":"launch"}"#).is_err());
        assert!(Message::from_bytes(b"\xFF").is_err());
        assert!(Message::from_bytes(br#"{"type":"done","id":"x"}"#).is_err());
    }

    #[test]
    fn labels_prefer_the_cin() {
        let mut c = CardIdentity {
            cplc: Some("4A430001".to_string() + &"00".repeat(8) + "DEADBEEF0001"),
            ..CardIdentity::default()
        };
        assert_eq!(c.label(), "IC serial DEADBEEF");
        c.cin = Some("0102".into());
        assert_eq!(c.label(), "CIN 0102");
    }
}
