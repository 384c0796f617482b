//! The audit log: one row per job — card identity, station, reader, job,
//! start, end, result, APDU count — and never key material (nothing of a
//! key, not even its check value, is a column). The same table is the job
//! table: a row stays `running` while its job runs, and at most one row per
//! card may be running, so two key servers sharing a database never drive
//! one card at once.
//!
//! SQLite (embedded, the default) and PostgreSQL (shared by several key
//! servers) implement [`AuditLog`].

mod pg;
mod sqlite;

pub use pg::PostgresLog;
pub use sqlite::SqliteLog;

use serde::Serialize;

/// Why the audit log failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Another job (maybe another key server's) is running on this card.
    #[error("a job is already running on {card}")]
    Busy { card: String },
    #[error("audit log: {0}")]
    Db(String),
}

impl From<rusqlite::Error> for AuditError {
    fn from(e: rusqlite::Error) -> Self {
        AuditError::Db(e.to_string())
    }
}

impl From<postgres::Error> for AuditError {
    fn from(e: postgres::Error) -> Self {
        AuditError::Db(e.to_string())
    }
}

/// A job as it starts.
#[derive(Debug, Clone)]
pub struct JobStart {
    /// The key server instance.
    pub instance: String,
    pub station: String,
    pub reader: String,
    pub request_id: String,
    /// The card's identity key (its CIN, else a label).
    pub card: String,
    pub cin: Option<String>,
    pub iin: Option<String>,
    pub cplc: Option<String>,
    pub card_type: String,
    pub job: String,
    pub attempt: u32,
}

/// How it ended.
#[derive(Debug, Clone)]
pub struct JobEnd {
    pub ok: bool,
    pub step: Option<String>,
    pub sw: Option<String>,
    pub message: String,
    pub apdus: u64,
    pub rolled_back: bool,
    pub keys_changed: bool,
}

/// One row, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobRecord {
    pub id: i64,
    pub instance: String,
    pub station: String,
    pub reader: String,
    pub request_id: String,
    pub card: String,
    pub cin: Option<String>,
    pub card_type: String,
    pub job: String,
    pub attempt: i64,
    /// running, ok, failed or abandoned.
    pub state: String,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    pub step: Option<String>,
    pub sw: Option<String>,
    pub message: Option<String>,
    pub apdus: Option<i64>,
    pub rolled_back: Option<bool>,
    pub keys_changed: Option<bool>,
}

/// A store of job rows.
pub trait AuditLog: Send + Sync {
    /// Records a job's start; [`AuditError::Busy`] when one runs on the
    /// card already. Rows left `running` longer than the stale limit (a key
    /// server that died) are marked `abandoned` first.
    fn start(&self, job: &JobStart) -> Result<i64, AuditError>;
    /// Records its end.
    fn finish(&self, id: i64, end: &JobEnd) -> Result<(), AuditError>;
    /// Every row, oldest first.
    fn all(&self) -> Result<Vec<JobRecord>, AuditError>;
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A running row older than this is taken for abandoned.
pub const STALE_MS: i64 = 10 * 60 * 1000;
