//! The station sockets' framing (perso::frame): any bytes, arriving in any
//! chunks, give the frames a plain reading of the stream gives, or the
//! error it gives at the same header. The decoder never holds more than
//! one frame and its header, also when its caller goes on pushing after
//! an error (a peer announcing a huge frame gets nothing buffered), and
//! the blocking reader over the same bytes agrees with it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perso::frame::{self, Decoder, FrameError, HEADER, MAX_CONTROL, MAX_PERSO};

/// What the stream says, read whole: its frames, then how it ends.
#[derive(Debug, PartialEq)]
enum End {
    /// It ended between frames or inside one.
    Clean,
    Partial,
    /// A header announced an empty or too long frame.
    Empty,
    TooLong(usize),
}

fn reference(mut stream: &[u8], max: usize) -> (Vec<Vec<u8>>, End) {
    let mut frames = Vec::new();
    loop {
        if stream.is_empty() {
            return (frames, End::Clean);
        }
        if stream.len() < HEADER {
            return (frames, End::Partial);
        }
        let len = u32::from_be_bytes([stream[0], stream[1], stream[2], stream[3]]) as usize;
        if len == 0 {
            return (frames, End::Empty);
        }
        if len > max {
            return (frames, End::TooLong(len));
        }
        if stream.len() < HEADER + len {
            return (frames, End::Partial);
        }
        frames.push(stream[HEADER..HEADER + len].to_vec());
        stream = &stream[HEADER + len..];
    }
}

/// A reader that hands out the stream in the given chunk sizes.
struct Chunks<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    at: usize,
}

impl std::io::Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes.get(self.at % self.sizes.len().max(1)).copied();
        self.at += 1;
        let n = usize::from(size.unwrap_or(255)).max(1).min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    // Byte 0: the socket's maximum; byte 1: how many chunk sizes follow.
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let max = match which % 4 {
        0 => MAX_PERSO,
        1 => MAX_CONTROL,
        _ => usize::from(which / 4) + 1,
    };
    let Some((&n, rest)) = rest.split_first() else {
        return;
    };
    let (sizes, stream) = rest.split_at(usize::from(n % 16).min(rest.len()));
    let (want, end) = reference(stream, max);

    // Push in chunks; keep pushing after an error, as a careless caller would.
    let mut d = Decoder::new(max);
    let mut got = Vec::new();
    let mut error = None;
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes.get(i % sizes.len().max(1)).copied().unwrap_or(255);
        i += 1;
        let chunk = &rest[..usize::from(size).max(1).min(rest.len())];
        let mut part = chunk;
        loop {
            match d.push(part) {
                Ok(taken) => {
                    assert!(taken <= part.len());
                    part = &part[taken..];
                    if let Some(f) = d.take() {
                        assert!(!f.is_empty() && f.len() <= max);
                        got.push(f);
                    } else if taken == 0 || part.is_empty() {
                        break;
                    }
                }
                Err(e) => {
                    error.get_or_insert(e.to_string());
                    break;
                }
            }
        }
        assert!(d.buffered() <= HEADER + max, "{} buffered", d.buffered());
        rest = &rest[chunk.len()..];
    }
    assert_eq!(got, want, "frames differ from a plain reading");
    match &end {
        End::Empty => assert_eq!(error.as_deref(), Some("empty frame")),
        End::TooLong(len) => assert!(error.as_deref().is_some_and(|e| e.contains(&len.to_string()))),
        End::Clean => assert!(error.is_none() && !d.in_frame()),
        End::Partial => assert!(error.is_none() && d.in_frame()),
    }

    // The blocking reader over the same bytes.
    let mut r = Chunks { data: stream, sizes, at: 0 };
    let mut d = Decoder::new(max);
    let mut frames = Vec::new();
    let last = loop {
        match d.read_from(&mut r) {
            Ok(f) => frames.push(f),
            Err(e) => break e,
        }
        assert!(d.buffered() <= HEADER + max);
    };
    assert_eq!(frames, want);
    match (&end, &last) {
        (End::Clean, FrameError::Closed)
        | (End::Partial, FrameError::Truncated { .. })
        | (End::Empty, FrameError::Empty)
        | (End::TooLong(_), FrameError::TooLong { .. }) => {}
        (end, e) => panic!("stream ends {end:?}, reader says {e}"),
    }

    // Encoding: what fits comes back as it went in.
    if let Some(first) = want.first() {
        let bytes = frame::encode(first, max).expect("a decoded frame encodes");
        assert_eq!(&bytes[HEADER..], &first[..]);
    }
    assert!(frame::encode(stream, max).is_ok() == (!stream.is_empty() && stream.len() <= max));
});
