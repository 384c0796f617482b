//! The audit log in an embedded SQLite database (WAL mode, so a reader such
//! as a test or `sqlite3` never blocks the key server).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::{now_ms, AuditError, AuditLog, JobEnd, JobRecord, JobStart, STALE_MS};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    attempt INTEGER NOT NULL,
    state TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_ms INTEGER,
    step TEXT,
    sw TEXT,
    message TEXT,
    apdus INTEGER,
    rolled_back INTEGER,
    keys_changed INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS one_running_job_per_card ON jobs(card) WHERE state = 'running';
";

pub struct SqliteLog {
    db: Mutex<Connection>,
}

impl SqliteLog {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteLog, AuditError> {
        let db = Connection::open(path)
            .map_err(|e| AuditError::Db(format!("{}: {e}", path.display())))?;
        db.busy_timeout(Duration::from_secs(10))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.execute_batch(SCHEMA)
            .map_err(|e| AuditError::Db(format!("{}: {e}", path.display())))?;
        Ok(SqliteLog { db: Mutex::new(db) })
    }

    fn db(&self) -> Result<std::sync::MutexGuard<'_, Connection>, AuditError> {
        self.db
            .lock()
            .map_err(|_| AuditError::Db("database handle poisoned".into()))
    }
}

impl AuditLog for SqliteLog {
    fn start(&self, j: &JobStart) -> Result<i64, AuditError> {
        let mut db = self.db()?;
        let now = now_ms();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE jobs SET state = 'abandoned', ended_ms = ?1, message = 'no end was recorded'
             WHERE card = ?2 AND state = 'running' AND started_ms < ?3",
            params![now, j.card, now - STALE_MS],
        )?;
        let running: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE card = ?1 AND state = 'running'",
                params![j.card],
                |r| r.get(0),
            )
            .optional()?;
        if running.is_some() {
            return Err(AuditError::Busy {
                card: j.card.clone(),
            });
        }
        tx.execute(
            "INSERT INTO jobs (instance, station, reader, request_id, card, cin, iin, cplc, card_type, job, attempt, state, started_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'running', ?12)",
            params![
                j.instance, j.station, j.reader, j.request_id, j.card, j.cin, j.iin, j.cplc,
                j.card_type, j.job, j.attempt, now
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    fn finish(&self, id: i64, e: &JobEnd) -> Result<(), AuditError> {
        let db = self.db()?;
        db.execute(
            "UPDATE jobs SET state = ?1, ended_ms = ?2, step = ?3, sw = ?4, message = ?5, apdus = ?6,
             rolled_back = ?7, keys_changed = ?8 WHERE id = ?9",
            params![
                if e.ok { "ok" } else { "failed" },
                now_ms(),
                e.step,
                e.sw,
                e.message,
                i64::try_from(e.apdus).unwrap_or(i64::MAX),
                e.rolled_back,
                e.keys_changed,
                id
            ],
        )?;
        Ok(())
    }

    fn all(&self) -> Result<Vec<JobRecord>, AuditError> {
        let db = self.db()?;
        let mut q = db.prepare(
            "SELECT id, instance, station, reader, request_id, card, cin, card_type, job, attempt, state,
                    started_ms, ended_ms, step, sw, message, apdus, rolled_back, keys_changed
             FROM jobs ORDER BY id",
        )?;
        let rows = q.query_map([], |r| {
            Ok(JobRecord {
                id: r.get(0)?,
                instance: r.get(1)?,
                station: r.get(2)?,
                reader: r.get(3)?,
                request_id: r.get(4)?,
                card: r.get(5)?,
                cin: r.get(6)?,
                card_type: r.get(7)?,
                job: r.get(8)?,
                attempt: r.get(9)?,
                state: r.get(10)?,
                started_ms: r.get(11)?,
                ended_ms: r.get(12)?,
                step: r.get(13)?,
                sw: r.get(14)?,
                message: r.get(15)?,
                apdus: r.get(16)?,
                rolled_back: r.get(17)?,
                keys_changed: r.get(18)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(card: &str) -> JobStart {
        JobStart {
            instance: "ks".into(),
            station: "s1".into(),
            reader: "r0".into(),
            request_id: "s1-r0-1".into(),
            card: card.into(),
            cin: Some(card.into()),
            iin: None,
            cplc: None,
            card_type: "aes".into(),
            job: "default".into(),
            attempt: 1,
        }
    }

    #[test]
    fn one_running_job_per_card_and_rows_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let log = SqliteLog::open(&dir.path().join("audit.db")).unwrap();
        let a = log.start(&start("C1")).unwrap();
        assert!(matches!(
            log.start(&start("C1")),
            Err(AuditError::Busy { .. })
        ));
        let b = log.start(&start("C2")).unwrap();
        log.finish(
            a,
            &JobEnd {
                ok: false,
                step: Some("LOAD block 2/5".into()),
                sw: Some("6A84".into()),
                message: "no memory".into(),
                apdus: 9,
                rolled_back: true,
                keys_changed: false,
            },
        )
        .unwrap();
        // Ended: the card may run a job again.
        log.start(&start("C1")).unwrap();
        let rows = log.all().unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].state, "failed");
        assert_eq!(rows[0].sw.as_deref(), Some("6A84"));
        assert_eq!(rows[0].apdus, Some(9));
        assert_eq!(rows[1].id, b);
        assert_eq!(rows[1].state, "running");
    }
}
