//! The card station: one control socket, one personalization socket per
//! reader, one thread per reader that owns its card.
//!
//! A reader's thread notices a card, resets it, reads its identification
//! and sends a personalization request on the control socket. The key
//! server then connects to the reader's personalization socket; every
//! command it sends reaches the reader's thread and the card unchanged
//! (with the command's timeout applied here), resets are carried out and
//! the new ATR returned. The result on the control socket releases the
//! card (the thread then waits for its removal) or asks for a retry (reset,
//! new request). A key server that connects gets every pending request
//! again, so a dropped connection loses no card.

pub mod reader;

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::control::{CardIdentity, Disposition, JobResult, Message, ReaderOffer, VERSION};
use crate::frame::{self, FrameError, MAX_CONTROL, MAX_PERSO};
use crate::net::{self, Duplex};
use crate::tls::Identity;
use crate::wire::{Down, Up};
pub use reader::{CardLink, ReaderSpec};

/// A card is retried at most this often for one insertion, whatever the
/// key server asks: a card that fails every time must not loop forever.
pub const MAX_ATTEMPTS: u32 = 3;

/// Longest per-command timeout honoured; longer ones are cut to it.
pub const MAX_COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// How a station is set up.
#[derive(Debug, Clone)]
pub struct StationConfig {
    /// Its name, in requests and events.
    pub name: String,
    /// The control socket's address; the personalization sockets listen
    /// on the same host, on ports of their own (`first_perso_port` and up,
    /// or free ports when 0).
    pub listen: String,
    pub first_perso_port: u16,
    pub readers: Vec<ReaderSpec>,
    pub tls: Identity,
    /// The job the requests name.
    pub job: String,
    /// How often empty readers are probed and idle cards checked.
    pub poll: Duration,
}

/// A reader's state, as shown and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReaderState {
    Empty,
    Present,
    Waiting,
    Personalizing,
    Done,
    Failed,
}

/// What a station reports, as `--json` writes it (one object a line).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Listening {
        station: String,
        control: String,
        readers: Vec<ReaderOffer>,
    },
    Reader {
        reader: usize,
        name: String,
        state: ReaderState,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    Request {
        id: String,
        reader: usize,
        card: CardIdentity,
        attempt: u32,
    },
    Result {
        reader: usize,
        #[serde(flatten)]
        result: JobResult,
    },
    KeyServer {
        peer: String,
        connected: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

/// Where events go.
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// Why a station could not start.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("a station needs at least one reader (-r)")]
    NoReaders,
}

/// A running station.
pub struct Station {
    pub control_addr: String,
    pub readers: Vec<ReaderOffer>,
    workers: crate::net::Workers,
}

enum ToReader {
    Open {
        id: String,
        reply: Sender<Down>,
        token: Sender<u64>,
    },
    Command {
        token: u64,
        apdu: Vec<u8>,
        reply: Sender<Down>,
    },
    Reset {
        token: u64,
        reply: Sender<Down>,
    },
    SessionEnded {
        token: u64,
    },
    Result(JobResult),
    Resend,
}

/// The control connection in use, if a key server is connected.
#[derive(Default)]
struct Outbox {
    generation: u64,
    link: Option<Duplex>,
}

struct Shared {
    name: String,
    sink: EventSink,
    stop: Arc<AtomicBool>,
    outbox: Mutex<Outbox>,
    /// Pending request id → reader.
    pending: Mutex<HashMap<String, usize>>,
    readers: Vec<Sender<ToReader>>,
    /// Distinguishes this run's request ids from an earlier run's.
    run: String,
}

impl Shared {
    fn send(&self, message: &Message) -> bool {
        let Ok(outbox) = self.outbox.lock() else {
            return false;
        };
        match &outbox.link {
            Some(link) => link.send(&message.to_bytes()).is_ok(),
            None => false,
        }
    }
}

fn listen(addr: &str) -> Result<TcpListener, StationError> {
    let l = TcpListener::bind(addr).map_err(|source| StationError::Listen {
        addr: addr.to_string(),
        source,
    })?;
    l.set_nonblocking(true)
        .map_err(|source| StationError::Listen {
            addr: addr.to_string(),
            source,
        })?;
    Ok(l)
}

/// Accepts connections until `stop`, polling (std has no accept timeout).
fn accept_loop(listener: TcpListener, stop: Arc<AtomicBool>, mut on: impl FnMut(TcpStream)) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                if stream.set_nonblocking(false).is_ok() {
                    let _ = stream.set_nodelay(true);
                    on(stream);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

impl Station {
    /// Binds every socket and starts the threads.
    pub fn start(config: StationConfig, sink: EventSink) -> Result<Station, StationError> {
        if config.readers.is_empty() {
            return Err(StationError::NoReaders);
        }
        let tls = crate::tls::station_config(&config.tls)?;
        let control = listen(&config.listen)?;
        let control_addr = control
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| config.listen.clone());
        let host = control
            .local_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|_| "127.0.0.1".into());
        let mut perso = Vec::new();
        let mut offers = Vec::new();
        for (i, spec) in config.readers.iter().enumerate() {
            let port = if config.first_perso_port == 0 {
                0
            } else {
                config.first_perso_port.saturating_add(i as u16)
            };
            let addr = if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
            let l = listen(&addr)?;
            let port = l.local_addr().map(|a| a.port()).unwrap_or(port);
            offers.push(ReaderOffer {
                reader: i,
                name: spec.describe(),
                port,
            });
            perso.push(l);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for _ in &config.readers {
            let (tx, rx) = mpsc::channel();
            senders.push(tx);
            receivers.push(rx);
        }
        let run = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| format!("{:x}", d.as_millis()))
            .unwrap_or_default();
        let shared = Arc::new(Shared {
            name: config.name.clone(),
            sink: Arc::clone(&sink),
            stop: Arc::clone(&stop),
            outbox: Mutex::new(Outbox::default()),
            pending: Mutex::new(HashMap::new()),
            readers: senders,
            run,
        });
        sink(&Event::Listening {
            station: config.name.clone(),
            control: control_addr.clone(),
            readers: offers.clone(),
        });
        let mut threads = Vec::new();
        for (i, rx) in receivers.into_iter().enumerate() {
            let ctx = ReaderCtx {
                index: i,
                spec: config.readers[i].clone(),
                port: offers[i].port,
                job: config.job.clone(),
                poll: config.poll,
                shared: Arc::clone(&shared),
            };
            threads.push(std::thread::spawn(move || reader_thread(ctx, rx)));
        }
        for (i, l) in perso.into_iter().enumerate() {
            let shared = Arc::clone(&shared);
            let tls = Arc::clone(&tls);
            threads.push(std::thread::spawn(move || {
                let stop = Arc::clone(&shared.stop);
                accept_loop(l, stop, |stream| {
                    let shared = Arc::clone(&shared);
                    let tls = Arc::clone(&tls);
                    std::thread::spawn(move || perso_connection(stream, tls, i, &shared));
                });
            }));
        }
        {
            let shared = Arc::clone(&shared);
            let offers = offers.clone();
            threads.push(std::thread::spawn(move || {
                let stop = Arc::clone(&shared.stop);
                let generation = AtomicU64::new(0);
                accept_loop(control, stop, |stream| {
                    let g = generation.fetch_add(1, Ordering::Relaxed) + 1;
                    let shared = Arc::clone(&shared);
                    let tls = Arc::clone(&tls);
                    let offers = offers.clone();
                    std::thread::spawn(move || control_connection(stream, tls, g, offers, &shared));
                });
            }));
        }
        Ok(Station {
            control_addr,
            readers: offers,
            workers: crate::net::Workers { stop, threads },
        })
    }

    /// Stops every thread (cards are powered off as their links drop).
    pub fn stop(self) {
        self.workers.stop();
    }

    /// Waits until `flag` is raised (Ctrl-C), then stops.
    pub fn run_until(self, flag: &AtomicBool) {
        self.workers.run_until(flag);
    }
}

fn control_connection(
    mut stream: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    generation: u64,
    offers: Vec<ReaderOffer>,
    shared: &Shared,
) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    let gone = |detail: String| {
        (shared.sink)(&Event::KeyServer {
            peer: peer.clone(),
            connected: false,
            detail: Some(detail),
        })
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut conn = match rustls::ServerConnection::new(tls) {
        Ok(c) => rustls::Connection::Server(c),
        Err(e) => return gone(format!("TLS: {e}")),
    };
    if let Err(e) = net::handshake(&mut conn, &mut stream) {
        return gone(format!("TLS handshake refused: {e}"));
    }
    let _ = stream.set_read_timeout(None);
    let (link, mut reader) = Duplex::split(conn, stream, MAX_CONTROL);
    let hello = Message::Hello {
        station: shared.name.clone(),
        version: VERSION,
        readers: offers,
    };
    if let Err(e) = link.send(&hello.to_bytes()) {
        return gone(format!("sending hello: {e}"));
    }
    if let Ok(mut outbox) = shared.outbox.lock() {
        if let Some(old) = outbox.link.take() {
            old.close();
        }
        outbox.generation = generation;
        outbox.link = Some(link.clone());
    }
    (shared.sink)(&Event::KeyServer {
        peer: peer.clone(),
        connected: true,
        detail: None,
    });
    for r in &shared.readers {
        let _ = r.send(ToReader::Resend);
    }
    let end = loop {
        if shared.stop.load(Ordering::Relaxed) {
            break "station stopping".to_string();
        }
        let body = match reader.next_frame() {
            Ok(b) => b,
            Err(FrameError::Closed) => break "connection closed".to_string(),
            Err(e) => break e.to_string(),
        };
        match Message::from_bytes(&body) {
            Ok(Message::Result(result)) => {
                let reader = shared
                    .pending
                    .lock()
                    .ok()
                    .and_then(|p| p.get(&result.id).copied());
                if let Some(r) = reader.and_then(|r| shared.readers.get(r)) {
                    let _ = r.send(ToReader::Result(result));
                }
            }
            Ok(_) => {}
            Err(e) => break format!("bad control message: {e}"),
        }
    };
    link.close();
    if let Ok(mut outbox) = shared.outbox.lock() {
        if outbox.generation == generation {
            outbox.link = None;
        }
    }
    gone(end);
}

fn perso_connection(
    mut stream: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    reader_index: usize,
    shared: &Shared,
) {
    let Some(to_reader) = shared.readers.get(reader_index).cloned() else {
        return;
    };
    // A key server that says nothing for this long has gone.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let Ok(conn) = rustls::ServerConnection::new(tls) else {
        return;
    };
    let mut conn = rustls::Connection::Server(conn);
    if net::handshake(&mut conn, &mut stream).is_err() {
        return;
    }
    let rustls::Connection::Server(conn) = conn else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let mut decoder = frame::Decoder::new(MAX_PERSO);
    let mut token: Option<u64> = None;
    while let Ok(body) = decoder.read_from(&mut tls) {
        let answer = match Up::parse(&body) {
            Err(e) => Down::Error(e.to_string()),
            Ok(Up::Open { id }) => {
                let (reply, rx) = mpsc::channel();
                let (ttx, trx) = mpsc::channel();
                let _ = to_reader.send(ToReader::Open {
                    id,
                    reply,
                    token: ttx,
                });
                let answer = rx
                    .recv_timeout(Duration::from_secs(30))
                    .unwrap_or_else(|_| Down::Error("the reader did not answer".into()));
                if let Ok(t) = trx.try_recv() {
                    token = Some(t);
                }
                answer
            }
            Ok(Up::Command { timeout_ms, apdu }) => match token {
                None => Down::Error("no session: OPEN first".into()),
                Some(token) => {
                    let (reply, rx) = mpsc::channel();
                    let _ = to_reader.send(ToReader::Command { token, apdu, reply });
                    let limit = Duration::from_millis(u64::from(timeout_ms.max(1)))
                        .min(MAX_COMMAND_TIMEOUT);
                    match rx.recv_timeout(limit) {
                        Ok(d) => d,
                        Err(RecvTimeoutError::Timeout) => Down::Error(format!(
                            "timeout: the card did not answer within {timeout_ms} ms"
                        )),
                        Err(RecvTimeoutError::Disconnected) => {
                            Down::Error("the reader stopped".into())
                        }
                    }
                }
            },
            Ok(Up::Reset) => match token {
                None => Down::Error("no session: OPEN first".into()),
                Some(token) => {
                    let (reply, rx) = mpsc::channel();
                    let _ = to_reader.send(ToReader::Reset { token, reply });
                    rx.recv_timeout(MAX_COMMAND_TIMEOUT)
                        .unwrap_or_else(|_| Down::Error("the reset did not finish".into()))
                }
            },
        };
        if frame::write(&mut tls, &answer.to_bytes(), MAX_PERSO).is_err() {
            break;
        }
    }
    if let Some(token) = token {
        let _ = to_reader.send(ToReader::SessionEnded { token });
    }
}

struct ReaderCtx {
    index: usize,
    spec: ReaderSpec,
    port: u16,
    job: String,
    poll: Duration,
    shared: Arc<Shared>,
}

enum Phase {
    Empty,
    Announce {
        attempt: u32,
    },
    Waiting {
        request: Box<Message>,
        id: String,
        attempt: u32,
    },
    Released,
}

impl ReaderCtx {
    fn state(&self, state: ReaderState, detail: Option<String>) {
        (self.shared.sink)(&Event::Reader {
            reader: self.index,
            name: self.spec.describe(),
            state,
            detail,
        });
    }

    fn forget(&self, id: &str) {
        if let Ok(mut p) = self.shared.pending.lock() {
            p.remove(id);
        }
    }
}

fn reader_thread(ctx: ReaderCtx, rx: Receiver<ToReader>) {
    let mut link: Option<CardLink> = None;
    let mut phase = Phase::Empty;
    let mut seq = 0u64;
    let mut session: Option<u64> = None;
    let mut next_token = 0u64;
    // After a command whose answer came too late the card is out of step:
    // only a reset may follow.
    let mut needs_reset = false;
    let mut last_error: Option<String> = None;
    // The request whose session the key server opened: its job runs there
    // even when the card goes, so its result must still be taken.
    let mut opened: Option<String> = None;
    // A request whose card was removed after its session: its result is
    // still to come (a card pulled mid-job fails with the step it was at).
    let mut orphan: Option<String> = None;
    ctx.state(ReaderState::Empty, None);
    while !ctx.shared.stop.load(Ordering::Relaxed) {
        match &phase {
            Phase::Empty => match CardLink::open(&ctx.spec) {
                Ok(Some(l)) => {
                    link = Some(l);
                    last_error = None;
                    ctx.state(ReaderState::Present, None);
                    phase = Phase::Announce { attempt: 1 };
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    let text = e.to_string();
                    if last_error.as_deref() != Some(text.as_str()) {
                        ctx.state(ReaderState::Empty, Some(text.clone()));
                        last_error = Some(text);
                    }
                }
            },
            Phase::Announce { attempt } => {
                let attempt = *attempt;
                let Some(card) = link.as_mut() else {
                    phase = Phase::Empty;
                    continue;
                };
                let identified = card
                    .transport()
                    .reset()
                    .map_err(|e| e.to_string())
                    .and_then(|atr| reader::identify(card.transport()).map(|id| (atr, id)));
                match identified {
                    Ok((atr, card_id)) => {
                        seq += 1;
                        let id = format!(
                            "{}-{}-r{}-{seq}",
                            ctx.shared.name, ctx.shared.run, ctx.index
                        );
                        let request = Message::Request {
                            id: id.clone(),
                            reader: ctx.index,
                            reader_name: ctx.spec.describe(),
                            port: ctx.port,
                            protocol: card.protocol(),
                            atr: hex::encode_upper(&atr),
                            card: card_id.clone(),
                            job: ctx.job.clone(),
                            attempt,
                        };
                        if let Ok(mut p) = ctx.shared.pending.lock() {
                            p.insert(id.clone(), ctx.index);
                        }
                        needs_reset = false;
                        session = None;
                        (ctx.shared.sink)(&Event::Request {
                            id: id.clone(),
                            reader: ctx.index,
                            card: card_id,
                            attempt,
                        });
                        ctx.shared.send(&request);
                        ctx.state(ReaderState::Waiting, None);
                        phase = Phase::Waiting {
                            request: Box::new(request),
                            id,
                            attempt,
                        };
                    }
                    Err(e) => {
                        ctx.state(ReaderState::Empty, Some(format!("card not usable: {e}")));
                        link = None;
                        phase = Phase::Empty;
                        // Do not hammer a mute card.
                        std::thread::sleep(ctx.poll * 5);
                    }
                }
                continue;
            }
            _ => {}
        }
        let message = match rx.recv_timeout(ctx.poll) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                let idle = session.is_none();
                if idle && matches!(phase, Phase::Waiting { .. } | Phase::Released) {
                    if let Some(card) = link.as_mut() {
                        if card.is_gone() {
                            if let Phase::Waiting { id, .. } = &phase {
                                if opened.as_deref() == Some(id.as_str()) {
                                    if let Some(old) = orphan.replace(id.clone()) {
                                        ctx.forget(&old);
                                    }
                                } else {
                                    ctx.forget(id);
                                }
                            }
                            opened = None;
                            link = None;
                            phase = Phase::Empty;
                            ctx.state(ReaderState::Empty, Some("card removed".into()));
                        }
                    }
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match message {
            ToReader::Open { id, reply, token } => {
                let answer = match (&phase, link.as_mut()) {
                    (Phase::Waiting { id: pending, .. }, Some(card)) if *pending == id => {
                        next_token += 1;
                        session = Some(next_token);
                        opened = Some(id.clone());
                        let _ = token.send(next_token);
                        ctx.state(ReaderState::Personalizing, None);
                        Down::Ready {
                            atr: card
                                .transport()
                                .atr()
                                .map(<[u8]>::to_vec)
                                .unwrap_or_default(),
                        }
                    }
                    _ => Down::Error(format!("no request {id} is pending on this reader")),
                };
                let _ = reply.send(answer);
            }
            ToReader::Command { token, apdu, reply } => {
                let answer = match link.as_mut() {
                    _ if session != Some(token) => {
                        Down::Error("this session was replaced or has ended".into())
                    }
                    _ if needs_reset => Down::Error(
                        "an earlier command timed out: the card must be reset first".into(),
                    ),
                    None => Down::Error("card removed".into()),
                    Some(card) => match card.transport().transmit(&apdu) {
                        Ok(r) => Down::Response(r),
                        Err(e) => Down::Error(format!("card: {e}")),
                    },
                };
                if reply.send(answer).is_err() {
                    needs_reset = true;
                }
            }
            ToReader::Reset { token, reply } => {
                let answer = match link.as_mut() {
                    _ if session != Some(token) => {
                        Down::Error("this session was replaced or has ended".into())
                    }
                    None => Down::Error("card removed".into()),
                    Some(card) => match card.transport().reset() {
                        Ok(atr) => {
                            needs_reset = false;
                            Down::Atr(atr)
                        }
                        Err(e) => Down::Error(format!("reset: {e}")),
                    },
                };
                let _ = reply.send(answer);
            }
            ToReader::SessionEnded { token } => {
                if session == Some(token) {
                    session = None;
                }
            }
            ToReader::Result(result) if orphan.as_deref() == Some(result.id.as_str()) => {
                // The card is gone: report the result, release nothing.
                orphan = None;
                ctx.forget(&result.id);
                (ctx.shared.sink)(&Event::Result {
                    reader: ctx.index,
                    result: result.clone(),
                });
                ctx.shared.send(&Message::Done {
                    id: result.id.clone(),
                    disposition: Disposition::Release,
                });
            }
            ToReader::Result(result) => {
                let Phase::Waiting { id, attempt, .. } = &phase else {
                    continue;
                };
                if *id != result.id {
                    continue;
                }
                let attempt = *attempt;
                ctx.forget(id);
                session = None;
                (ctx.shared.sink)(&Event::Result {
                    reader: ctx.index,
                    result: result.clone(),
                });
                let retry = result.disposition == Disposition::Retry && attempt < MAX_ATTEMPTS;
                ctx.shared.send(&Message::Done {
                    id: result.id.clone(),
                    disposition: if retry {
                        Disposition::Retry
                    } else {
                        Disposition::Release
                    },
                });
                if retry && link.is_some() {
                    phase = Phase::Announce {
                        attempt: attempt + 1,
                    };
                } else {
                    let state = if result.ok {
                        ReaderState::Done
                    } else {
                        ReaderState::Failed
                    };
                    ctx.state(state, Some(result.message.clone()));
                    phase = Phase::Released;
                }
            }
            ToReader::Resend => {
                if let Phase::Waiting { request, .. } = &phase {
                    ctx.shared.send(request);
                }
            }
        }
    }
}
