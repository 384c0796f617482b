//! `jct station`: a card station — one control socket, one personalization
//! socket per reader — until Ctrl-C. The work is perso::station's; this
//! turns options into its configuration and renders its events.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use perso::station::{Event, ReaderSpec, Station, StationConfig};
use perso::tls::Identity;

#[derive(Args, Debug)]
pub struct StationArgs {
    /// The control socket's address; the personalization sockets listen on
    /// the same host.
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: String,
    /// A reader, repeated: HOST:PORT (or emu:/jcardsim:HOST:PORT) for a
    /// card over TCP (`jct emu --listen`, the jCardSim harness),
    /// pcsc:TEXT or any other TEXT for the PC/SC reader whose name
    /// contains it.
    #[arg(short = 'r', long = "reader", value_name = "TEXT", required = true)]
    pub readers: Vec<String>,
    /// This station's name (its certificate is DIR/station-NAME.pem).
    #[arg(long, default_value = "station")]
    pub name: String,
    /// Directory of `jct keyserver init`: ca.pem, station-NAME.pem and .key.
    #[arg(long, value_name = "DIR")]
    pub tls_dir: PathBuf,
    /// The job the requests ask for.
    #[arg(long, default_value = "default")]
    pub job: String,
    /// Port of reader 0's personalization socket (reader N: PORT+N);
    /// default: free ports, shown at start.
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub perso_port: u16,
    /// How often empty readers are probed, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub poll_ms: u64,
    /// Write events as JSON lines on standard output.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: StationArgs) -> Result<()> {
    let readers = args
        .readers
        .iter()
        .map(|r| ReaderSpec::parse(r).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    let config = StationConfig {
        name: args.name.clone(),
        listen: args.listen.clone(),
        first_perso_port: args.perso_port,
        readers,
        tls: Identity::in_dir(&args.tls_dir, &format!("station-{}", args.name)),
        job: args.job,
        poll: Duration::from_millis(args.poll_ms.max(10)),
    };
    let json = args.json;
    let sink: perso::station::EventSink = Arc::new(move |e: &Event| {
        if json {
            if let Ok(line) = serde_json::to_string(e) {
                let _ = crate::out::line(format_args!("{line}"));
            }
        } else {
            note!("{}", render(e));
        }
    });
    let stop = emulator::server::stop_on_signals().context("installing the Ctrl-C handler")?;
    let station = Station::start(config, sink).context("starting the station")?;
    station.run_until(&stop);
    Ok(())
}

fn render(e: &Event) -> String {
    match e {
        Event::Listening {
            station,
            control,
            readers,
        } => {
            let list: Vec<String> = readers
                .iter()
                .map(|r| format!("  reader {} {} on port {}", r.reader, r.name, r.port))
                .collect();
            format!(
                "jct station {station}: control socket on {control} (TLS)\n{}",
                list.join("\n")
            )
        }
        Event::Reader {
            reader,
            name,
            state,
            detail,
        } => format!(
            "reader {reader} {name}: {}{}",
            serde_json::to_value(state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            detail
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        Event::Request {
            id,
            reader,
            card,
            attempt,
        } => format!(
            "reader {reader}: request {id} for {} (attempt {attempt})",
            card.label()
        ),
        Event::Result { reader, result } => format!(
            "reader {reader}: {} {}{}",
            if result.ok { "done:" } else { "FAILED:" },
            result.message,
            if result.ok {
                String::new()
            } else {
                format!(
                    " [step {}, SW {}]",
                    result.step.as_deref().unwrap_or("-"),
                    result.sw.as_deref().unwrap_or("-")
                )
            }
        ),
        Event::KeyServer {
            peer,
            connected,
            detail,
        } => format!(
            "key server {peer} {}{}",
            if *connected { "connected" } else { "gone" },
            detail
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
    }
}
