//! The audit log in PostgreSQL, shared by several key servers: the same
//! table as SQLite's, the one-running-job-per-card rule enforced by a
//! partial unique index, so two servers racing for one card cannot both
//! insert a running row.

use std::sync::Mutex;

use postgres::{Client, NoTls};

use super::{now_ms, AuditError, AuditLog, JobEnd, JobRecord, JobStart, STALE_MS};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id BIGSERIAL PRIMARY KEY,
    instance TEXT NOT NULL,
    station TEXT NOT NULL,
    reader TEXT NOT NULL,
    request_id TEXT NOT NULL,
    card TEXT NOT NULL,
    cin TEXT,
    iin TEXT,
    cplc TEXT,
    card_type TEXT NOT NULL,
    job TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    state TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    ended_ms BIGINT,
    step TEXT,
    sw TEXT,
    message TEXT,
    apdus BIGINT,
    rolled_back BOOLEAN,
    keys_changed BOOLEAN
);
CREATE UNIQUE INDEX IF NOT EXISTS one_running_job_per_card ON jobs(card) WHERE state = 'running';
";

pub struct PostgresLog {
    db: Mutex<Client>,
}

impl PostgresLog {
    /// Connects with a libpq-style connection string
    /// (`host=/tmp/pg port=5432 user=jct dbname=jct`) and creates the table.
    pub fn connect(params: &str) -> Result<PostgresLog, AuditError> {
        let mut db = Client::connect(params, NoTls)
            .map_err(|e| AuditError::Db(format!("connecting to PostgreSQL: {e}")))?;
        // Two key servers starting at once may both create: serialise.
        let mut tx = db.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock(7415)", &[])?;
        tx.batch_execute(SCHEMA)?;
        tx.commit()?;
        Ok(PostgresLog { db: Mutex::new(db) })
    }

    fn db(&self) -> Result<std::sync::MutexGuard<'_, Client>, AuditError> {
        self.db
            .lock()
            .map_err(|_| AuditError::Db("database handle poisoned".into()))
    }
}

impl AuditLog for PostgresLog {
    fn start(&self, j: &JobStart) -> Result<i64, AuditError> {
        let mut db = self.db()?;
        let now = now_ms();
        let mut tx = db.transaction()?;
        tx.execute(
            "UPDATE jobs SET state = 'abandoned', ended_ms = $1, message = 'no end was recorded'
             WHERE card = $2 AND state = 'running' AND started_ms < $3",
            &[&now, &j.card, &(now - STALE_MS)],
        )?;
        let inserted = tx.query_opt(
            "INSERT INTO jobs (instance, station, reader, request_id, card, cin, iin, cplc, card_type, job, attempt, state, started_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'running', $12)
             ON CONFLICT (card) WHERE state = 'running' DO NOTHING RETURNING id",
            &[
                &j.instance, &j.station, &j.reader, &j.request_id, &j.card, &j.cin, &j.iin, &j.cplc,
                &j.card_type, &j.job, &i64::from(j.attempt), &now,
            ],
        )?;
        let Some(row) = inserted else {
            return Err(AuditError::Busy {
                card: j.card.clone(),
            });
        };
        let id: i64 = row.get(0);
        tx.commit()?;
        Ok(id)
    }

    fn finish(&self, id: i64, e: &JobEnd) -> Result<(), AuditError> {
        let mut db = self.db()?;
        db.execute(
            "UPDATE jobs SET state = $1, ended_ms = $2, step = $3, sw = $4, message = $5, apdus = $6,
             rolled_back = $7, keys_changed = $8 WHERE id = $9",
            &[
                &(if e.ok { "ok" } else { "failed" }),
                &now_ms(),
                &e.step,
                &e.sw,
                &e.message,
                &i64::try_from(e.apdus).unwrap_or(i64::MAX),
                &e.rolled_back,
                &e.keys_changed,
                &id,
            ],
        )?;
        Ok(())
    }

    fn all(&self) -> Result<Vec<JobRecord>, AuditError> {
        let mut db = self.db()?;
        let rows = db.query(
            "SELECT id, instance, station, reader, request_id, card, cin, card_type, job, attempt, state,
                    started_ms, ended_ms, step, sw, message, apdus, rolled_back, keys_changed
             FROM jobs ORDER BY id",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| JobRecord {
                id: r.get(0),
                instance: r.get(1),
                station: r.get(2),
                reader: r.get(3),
                request_id: r.get(4),
                card: r.get(5),
                cin: r.get(6),
                card_type: r.get(7),
                job: r.get(8),
                attempt: r.get(9),
                state: r.get(10),
                started_ms: r.get(11),
                ended_ms: r.get(12),
                step: r.get(13),
                sw: r.get(14),
                message: r.get(15),
                apdus: r.get(16),
                rolled_back: r.get(17),
                keys_changed: r.get(18),
            })
            .collect())
    }
}
