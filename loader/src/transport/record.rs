//! [`Record`]: any transport, with each exchange written to a trace file.
//!
//! The file is written line by line and flushed after every exchange rather
//! than atomically at the end. A recording is most wanted when a session
//! goes wrong: the card errs, the process is interrupted, the loader hits a
//! bug. Appending keeps every exchange up to that moment on disk, while an
//! atomic write would keep nothing. A partial trace is still a valid trace.
//!
//! The output is deterministic (no timestamps or durations), so recording
//! the same session twice gives identical files; see [`super::trace_file`]
//! for the format.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::trace_file::{atr_line, command_line, response_line};
use super::{Transport, TransportError};

/// Wraps a transport and writes every exchange to a trace file.
pub struct Record<T: Transport> {
    inner: T,
    out: BufWriter<File>,
    path: PathBuf,
}

impl<T: Transport> Record<T> {
    /// Creates (truncates) `path` and writes a header naming the transport
    /// and, when known, its ATR.
    pub fn create(inner: T, path: impl AsRef<Path>) -> Result<Record<T>, TransportError> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path).map_err(|e| {
            TransportError::io(format!("creating trace file {}", path.display()), e, None)
        })?;
        Record::start(inner, file, path, "# jct trace")
    }

    /// Opens `path` for appending (creating it when missing) and writes a
    /// session header line naming the transport, and the ATR when known:
    /// one file can collect several sessions, each starting with its header.
    pub fn append(inner: T, path: impl AsRef<Path>) -> Result<Record<T>, TransportError> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                TransportError::io(format!("opening trace file {}", path.display()), e, None)
            })?;
        Record::start(inner, file, path, "# jct session")
    }

    /// Writes the header (`title: transport`, then the ATR line).
    fn start(
        inner: T,
        file: File,
        path: PathBuf,
        title: &str,
    ) -> Result<Record<T>, TransportError> {
        let mut record = Record {
            inner,
            out: BufWriter::new(file),
            path,
        };
        let mut header = vec![format!("{title}: {}", record.inner.describe())];
        if let Some(atr) = record.inner.atr() {
            header.push(atr_line(atr));
        }
        record.write_lines(&header)?;
        Ok(record)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// Writes a free comment line (for example, which step begins).
    pub fn comment(&mut self, text: &str) -> Result<(), TransportError> {
        let lines: Vec<String> = text.lines().map(|l| format!("# {l}")).collect();
        self.write_lines(&lines)
    }

    /// Flushes the file and hands back the wrapped transport.
    pub fn finish(mut self) -> Result<T, TransportError> {
        self.flush()?;
        Ok(self.inner)
    }

    fn write_lines(&mut self, lines: &[String]) -> Result<(), TransportError> {
        for line in lines {
            writeln!(self.out, "{line}").map_err(|e| self.write_error(e))?;
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        self.out.flush().map_err(|e| self.write_error(e))
    }

    fn write_error(&self, e: std::io::Error) -> TransportError {
        TransportError::io(
            format!("writing trace file {}", self.path.display()),
            e,
            None,
        )
    }
}

impl<T: Transport> Transport for Record<T> {
    /// Sends through the inner transport, then records the exchange. A
    /// failed exchange is recorded as a comment, so the trace stays
    /// replayable up to the failure and still says what happened.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self.inner.transmit(apdu) {
            Ok(response) => {
                self.write_lines(&[command_line(apdu), response_line(&response)])?;
                Ok(response)
            }
            Err(error) => {
                let note = format!("# failed: {} : {}", command_line(apdu), one_line(&error));
                // The transport error matters more than a failure to note it.
                let _ = self.write_lines(&[note]);
                Err(error)
            }
        }
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        let atr = self.inner.reset()?;
        self.write_lines(&["# reset".to_string(), atr_line(&atr)])?;
        Ok(atr)
    }

    fn atr(&self) -> Option<&[u8]> {
        self.inner.atr()
    }

    fn describe(&self) -> String {
        format!(
            "{} (recording to {})",
            self.inner.describe(),
            self.path.display()
        )
    }
}

/// An error's message on one line, for a trace comment.
fn one_line(error: &TransportError) -> String {
    error.to_string().replace('\n', " ")
}
