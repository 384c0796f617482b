//! The key server: connects to every station its configuration names
//! (reconnecting when one drops), and runs each personalization request's
//! job on a thread of its own, so many cards across many stations go at
//! once and each job is independent of the others.

pub mod job;
pub mod keys;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
pub mod remote;
pub mod run;

use std::collections::{BTreeMap, HashSet};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use loader::client::GpClient;
use serde::{Deserialize, Serialize};

use crate::audit::{AuditError, AuditLog, JobEnd, JobStart};
use crate::control::{CardIdentity, Disposition, JobResult, Message};
use crate::frame::{self, FrameError, MAX_CONTROL};
use crate::net::{self, Duplex};
use crate::tls::Identity;
use job::Job;
use keys::{CardKeys, CardRule, KeyStore, KeysConfig};
use remote::RemoteCard;

/// How long a job waits for another job on the same card to end.
const BUSY_WAIT: Duration = Duration::from_secs(60);

/// The configuration file (TOML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This key server's name in the audit log.
    #[serde(default = "default_name")]
    pub name: String,
    /// Directory with ca.pem, keyserver.pem and keyserver.key.
    pub tls_dir: PathBuf,
    /// Jobs run at once, at most.
    #[serde(default = "default_parallel")]
    pub max_parallel: usize,
    pub keys: KeysConfig,
    #[serde(default)]
    pub audit: AuditConfig,
    #[serde(rename = "station", default)]
    pub stations: Vec<StationEntry>,
    /// Job name → job file.
    pub jobs: BTreeMap<String, PathBuf>,
    #[serde(rename = "card", default)]
    pub cards: Vec<CardRule>,
}

fn default_name() -> String {
    "keyserver".into()
}
fn default_parallel() -> usize {
    64
}

/// `[audit]`: SQLite file (default `audit.db` beside the configuration),
/// or a PostgreSQL connection string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    pub sqlite: Option<PathBuf>,
    pub postgres: Option<String>,
}

/// `[[station]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationEntry {
    pub name: String,
    /// The control socket, HOST:PORT.
    pub address: String,
    /// The name in the station's certificate (default: the host of address).
    pub server_name: Option<String>,
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let cfg: Config = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if cfg.stations.is_empty() {
            return Err(format!("{}: no [[station]]", path.display()));
        }
        if cfg.cards.is_empty() {
            return Err(format!("{}: no [[card]] type", path.display()));
        }
        if cfg.audit.sqlite.is_some() && cfg.audit.postgres.is_some() {
            return Err(format!(
                "{}: [audit] names both sqlite and postgres: pick one",
                path.display()
            ));
        }
        for r in &cfg.cards {
            r.check().map_err(|e| format!("{}: {e}", path.display()))?;
            if let Some(j) = &r.job {
                if !cfg.jobs.contains_key(j) {
                    return Err(format!(
                        "{}: card type {:?} names job {j:?}, which [jobs] does not define",
                        path.display(),
                        r.name
                    ));
                }
            }
        }
        Ok(cfg)
    }
}

/// What a key server reports (`--json`: one object a line). No key
/// material is ever part of one.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Station {
        station: String,
        connected: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    JobStarted {
        station: String,
        reader: String,
        request: String,
        card: String,
        job: String,
        attempt: u32,
    },
    JobEnded {
        station: String,
        reader: String,
        request: String,
        card: String,
        job: String,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        sw: Option<String>,
        message: String,
        apdus: u64,
        ms: u64,
        disposition: Disposition,
    },
}

pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// A key server, ready to run.
pub struct KeyServer {
    name: String,
    stations: Vec<StationEntry>,
    jobs: BTreeMap<String, Arc<Job>>,
    rules: Arc<Vec<CardRule>>,
    store: Arc<dyn KeyStore>,
    audit: Arc<dyn AuditLog>,
    tls: Arc<rustls::ClientConfig>,
    sink: EventSink,
    slots: Arc<(Mutex<usize>, Condvar)>,
    max_parallel: usize,
}

/// A running key server.
pub type Running = crate::net::Workers;

impl KeyServer {
    /// Builds a key server from a configuration file: reads the jobs and
    /// their CAPs, opens the key store and the audit log, loads the TLS
    /// identity.
    pub fn from_config(path: &Path, sink: EventSink) -> Result<KeyServer, String> {
        let cfg = Config::load(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut jobs = BTreeMap::new();
        for (name, file) in &cfg.jobs {
            jobs.insert(name.clone(), Arc::new(Job::load(name, &base.join(file))?));
        }
        let store = keys::open_store(&cfg.keys, base).map_err(|e| e.to_string())?;
        let audit: Arc<dyn AuditLog> = match (&cfg.audit.postgres, &cfg.audit.sqlite) {
            (Some(pg), _) => {
                Arc::new(crate::audit::PostgresLog::connect(pg).map_err(|e| e.to_string())?)
            }
            (None, sqlite) => {
                let p = base.join(sqlite.clone().unwrap_or_else(|| PathBuf::from("audit.db")));
                Arc::new(crate::audit::SqliteLog::open(&p).map_err(|e| e.to_string())?)
            }
        };
        let tls =
            crate::tls::keyserver_config(&Identity::in_dir(&base.join(&cfg.tls_dir), "keyserver"))
                .map_err(|e| e.to_string())?;
        Ok(KeyServer {
            name: cfg.name,
            stations: cfg.stations,
            jobs,
            rules: Arc::new(cfg.cards),
            store,
            audit,
            tls,
            sink,
            slots: Arc::new((Mutex::new(0), Condvar::new())),
            max_parallel: cfg.max_parallel.max(1),
        })
    }

    /// The audit log in use.
    pub fn audit(&self) -> Arc<dyn AuditLog> {
        Arc::clone(&self.audit)
    }

    /// Starts one thread per station.
    pub fn start(self) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let me = Arc::new(self);
        let threads = me
            .stations
            .clone()
            .into_iter()
            .map(|s| {
                let me = Arc::clone(&me);
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || me.station_loop(&s, &stop))
            })
            .collect();
        Running { stop, threads }
    }

    fn event(&self, e: Event) {
        (self.sink)(&e);
    }

    fn station_loop(self: &Arc<Self>, station: &StationEntry, stop: &AtomicBool) {
        let current: Arc<Mutex<Option<Duplex>>> = Arc::new(Mutex::new(None));
        let running: Arc<Mutex<HashSet<String>>> = Arc::new(Mutex::new(HashSet::new()));
        let mut backoff = Duration::from_millis(100);
        let mut last_error = String::new();
        while !stop.load(Ordering::Relaxed) {
            match self.connect(station) {
                Ok((link, reader)) => {
                    backoff = Duration::from_millis(100);
                    last_error.clear();
                    if let Ok(mut c) = current.lock() {
                        *c = Some(link.clone());
                    }
                    self.event(Event::Station {
                        station: station.name.clone(),
                        connected: true,
                        detail: None,
                    });
                    let why = self.serve(station, reader, &current, &running, stop);
                    link.close();
                    if let Ok(mut c) = current.lock() {
                        *c = None;
                    }
                    self.event(Event::Station {
                        station: station.name.clone(),
                        connected: false,
                        detail: Some(why),
                    });
                }
                Err(e) => {
                    if e != last_error {
                        self.event(Event::Station {
                            station: station.name.clone(),
                            connected: false,
                            detail: Some(e.clone()),
                        });
                        last_error = e;
                    }
                }
            }
            let until = Instant::now() + backoff;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    fn connect(&self, station: &StationEntry) -> Result<(Duplex, net::DuplexReader), String> {
        let name = crate::tls::server_name(&station.address, station.server_name.as_deref())
            .map_err(|e| e.to_string())?;
        let mut stream = TcpStream::connect(&station.address)
            .map_err(|e| format!("connecting to {}: {e}", station.address))?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let conn = rustls::ClientConnection::new(Arc::clone(&self.tls), name)
            .map_err(|e| format!("TLS: {e}"))?;
        let mut conn = rustls::Connection::Client(conn);
        net::handshake(&mut conn, &mut stream)
            .map_err(|e| format!("TLS with {}: {e}", station.address))?;
        let (link, mut reader) = Duplex::split(conn, stream, MAX_CONTROL);
        match reader.next_frame().map(|b| Message::from_bytes(&b)) {
            Ok(Ok(Message::Hello { .. })) => {}
            Ok(Ok(other)) => return Err(format!("expected hello, got {other:?}")),
            Ok(Err(e)) => return Err(e.to_string()),
            Err(e) => return Err(format!("waiting for hello: {e}")),
        }
        let _ = reader.set_timeout(Some(Duration::from_millis(250)));
        Ok((link, reader))
    }

    fn serve(
        self: &Arc<Self>,
        station: &StationEntry,
        mut reader: net::DuplexReader,
        current: &Arc<Mutex<Option<Duplex>>>,
        running: &Arc<Mutex<HashSet<String>>>,
        stop: &AtomicBool,
    ) -> String {
        loop {
            if stop.load(Ordering::Relaxed) {
                return "key server stopping".into();
            }
            let body = match reader.next_frame() {
                Ok(b) => b,
                Err(e) if frame::is_timeout(&e) => continue,
                Err(FrameError::Closed) => return "connection closed".into(),
                Err(e) => return e.to_string(),
            };
            let message = match Message::from_bytes(&body) {
                Ok(m) => m,
                Err(e) => return e.to_string(),
            };
            if let Message::Request { id, .. } = &message {
                let id = id.clone();
                let fresh = running
                    .lock()
                    .map(|mut r| r.insert(id.clone()))
                    .unwrap_or(false);
                if !fresh {
                    // Sent again on a reconnection: its job runs already.
                    continue;
                }
                let me = Arc::clone(self);
                let station = station.clone();
                let current = Arc::clone(current);
                let running = Arc::clone(running);
                std::thread::spawn(move || {
                    me.acquire();
                    let request_id = id;
                    if let Some(result) = me.job(&station, message) {
                        // Sent on the station's connection of now: the one
                        // the request came on may have been replaced.
                        if let Ok(c) = current.lock() {
                            if let Some(link) = c.as_ref() {
                                let _ = link.send(&Message::Result(result).to_bytes());
                            }
                        }
                    }
                    if let Ok(mut r) = running.lock() {
                        r.remove(&request_id);
                    }
                    me.release();
                });
            }
        }
    }

    fn acquire(&self) {
        let (lock, cv) = &*self.slots;
        if let Ok(mut n) = lock.lock() {
            while *n >= self.max_parallel {
                n = match cv.wait(n) {
                    Ok(n) => n,
                    Err(_) => return,
                };
            }
            *n += 1;
        }
    }

    fn release(&self) {
        let (lock, cv) = &*self.slots;
        if let Ok(mut n) = lock.lock() {
            *n = n.saturating_sub(1);
            cv.notify_one();
        }
    }

    /// Runs the job of one request; the result to send (none when another
    /// key server has the card).
    fn job(&self, station: &StationEntry, request: Message) -> Option<JobResult> {
        let Message::Request {
            id,
            reader,
            reader_name,
            port,
            card,
            job,
            attempt,
            ..
        } = request
        else {
            return None;
        };
        let started = Instant::now();
        let reader_label = format!("{reader} ({reader_name})");
        let fail = |message: String| JobResult {
            id: id.clone(),
            ok: false,
            disposition: Disposition::Release,
            step: Some("select keys and job".into()),
            sw: None,
            message,
            apdus: 0,
        };
        let (keys, job_override) = match CardKeys::select(&self.rules, &self.store, &card) {
            Ok(k) => k,
            Err(e) => {
                return Some(self.report(
                    station,
                    &reader_label,
                    &card,
                    &job,
                    fail(e.to_string()),
                    started,
                ))
            }
        };
        let job_name = job_override.unwrap_or(job);
        let Some(the_job) = self.jobs.get(&job_name).cloned() else {
            let r = fail(format!("no job {job_name:?} in the configuration"));
            return Some(self.report(station, &reader_label, &card, &job_name, r, started));
        };
        let card_key = card.cin.clone().unwrap_or_else(|| card.label());
        let start = JobStart {
            instance: self.name.clone(),
            station: station.name.clone(),
            reader: reader_label.clone(),
            request_id: id.clone(),
            card: card_key,
            cin: card.cin.clone(),
            iin: card.iin.clone(),
            cplc: card.cplc.clone(),
            card_type: keys.rule.clone(),
            job: job_name.clone(),
            attempt,
        };
        // A job of an earlier request for this card (a station that came
        // back asks again) may still be ending: wait for it, a while.
        let busy_until = Instant::now() + BUSY_WAIT;
        let row = loop {
            match self.audit.start(&start) {
                Ok(row) => break row,
                Err(AuditError::Busy { .. }) if Instant::now() < busy_until => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => {
                    let r = fail(format!("not started: {e}"));
                    return Some(self.report(station, &reader_label, &card, &job_name, r, started));
                }
            }
        };
        self.event(Event::JobStarted {
            station: station.name.clone(),
            reader: reader_label.clone(),
            request: id.clone(),
            card: card.label(),
            job: job_name.clone(),
            attempt,
        });
        let host = station
            .address
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_else(|| station.address.clone());
        let addr = format!("{host}:{port}");
        let outcome =
            match crate::tls::server_name(&station.address, station.server_name.as_deref()) {
                Err(e) => (
                    run::Outcome {
                        message: e.to_string(),
                        step: Some("connect".into()),
                        ..run::Outcome::default()
                    },
                    0,
                ),
                Ok(name) => match RemoteCard::open(
                    &addr,
                    name,
                    Arc::clone(&self.tls),
                    &id,
                    the_job.command_timeout_ms,
                ) {
                    Err(e) => (
                        run::Outcome {
                            message: format!("opening the card's session: {e}"),
                            step: Some("open".into()),
                            link_lost: true,
                            ..run::Outcome::default()
                        },
                        0,
                    ),
                    Ok(remote) => {
                        let counter = remote.counter();
                        let mut client = GpClient::over(Box::new(remote));
                        let outcome = run::run(&mut client, &the_job, &keys, &card);
                        let apdus = counter.load(Ordering::Relaxed);
                        drop(client);
                        (outcome, apdus)
                    }
                },
            };
        let (outcome, apdus) = outcome;
        let retry = !outcome.ok && outcome.link_lost && attempt <= the_job.retries;
        let result = JobResult {
            id: id.clone(),
            ok: outcome.ok,
            disposition: if retry {
                Disposition::Retry
            } else {
                Disposition::Release
            },
            step: outcome.step.clone(),
            sw: outcome.sw.map(|s| format!("{s:04X}")),
            message: outcome.message.clone(),
            apdus,
        };
        let end = JobEnd {
            ok: outcome.ok,
            step: result.step.clone(),
            sw: result.sw.clone(),
            message: result.message.clone(),
            apdus,
            rolled_back: outcome.rolled_back,
            keys_changed: outcome.keys_changed,
        };
        if let Err(e) = self.audit.finish(row, &end) {
            self.event(Event::Station {
                station: station.name.clone(),
                connected: true,
                detail: Some(format!("audit log: {e}")),
            });
        }
        Some(self.report(station, &reader_label, &card, &job_name, result, started))
    }

    fn report(
        &self,
        station: &StationEntry,
        reader: &str,
        card: &CardIdentity,
        job: &str,
        result: JobResult,
        started: Instant,
    ) -> JobResult {
        self.event(Event::JobEnded {
            station: station.name.clone(),
            reader: reader.to_string(),
            request: result.id.clone(),
            card: card.label(),
            job: job.to_string(),
            ok: result.ok,
            step: result.step.clone(),
            sw: result.sw.clone(),
            message: result.message.clone(),
            apdus: result.apdus,
            ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            disposition: result.disposition,
        });
        result
    }
}
