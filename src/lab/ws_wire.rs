//! What the WebSocket verbs put on the wire and took off it: a stream adapter that notes every
//! `recv`/`send` the protocol code makes (so the trace shows the real bytes), and a decoder that
//! reads frames back out of those bytes (so the trace shows what they mean), independently of
//! what the protocol library believes it sent.

use std::io::{self, Cursor, Read, Write};

use mio::net::TcpStream;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use crate::escape::strace_bytes;

/// How many payload bytes a decoded frame shows (escaped).
pub const PAYLOAD_PREVIEW: usize = 64;

/// One thing that happened during a turn, in order: a syscall, or what the bytes meant.
#[derive(Debug)]
pub enum Happened {
    /// A `recv` (`sent == false`) or `send` on the connection: the bytes moved (a copy) and
    /// the kernel's answer.
    Syscall {
        sent: bool,
        data: Vec<u8>,
        /// The buffer size asked for (`recv`) or offered (`send`).
        asked: usize,
        result: io::Result<usize>,
    },
    /// A decoded HTTP head, frame or protocol event, already escaped; `failed` for a protocol
    /// error (shown in the error style).
    Meaning { text: String, failed: bool },
}

/// A borrowed TCP stream that notes every call. `recv` calls that found nothing (`EAGAIN`, the
/// normal end of a drain) are not noted: the lab reads until then on every event, and the trace
/// would fill with them.
pub struct Traced<'s> {
    stream: &'s TcpStream,
    pub happened: Vec<Happened>,
    /// Bytes received this turn, for the caller's budget.
    pub received: u64,
}

impl<'s> Traced<'s> {
    #[must_use]
    pub fn new(stream: &'s TcpStream) -> Self {
        Self {
            stream,
            happened: Vec::new(),
            received: 0,
        }
    }

    pub fn note(&mut self, text: String, failed: bool) {
        self.happened.push(Happened::Meaning { text, failed });
    }
}

fn copy_of(result: &io::Result<usize>) -> io::Result<usize> {
    match result {
        Ok(n) => Ok(*n),
        Err(error) => Err(error.raw_os_error().map_or_else(
            || io::Error::from(error.kind()),
            io::Error::from_raw_os_error,
        )),
    }
}

fn retrying(mut call: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match call() {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

impl Read for Traced<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = retrying(|| (&*self.stream).read(buf));
        if !matches!(&result, Err(error) if error.kind() == io::ErrorKind::WouldBlock) {
            let data = result.as_ref().map_or(&[][..], |&n| &buf[..n]).to_vec();
            self.received += data.len() as u64;
            self.happened.push(Happened::Syscall {
                sent: false,
                data,
                asked: buf.len(),
                result: copy_of(&result),
            });
        }
        result
    }
}

impl Write for Traced<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = retrying(|| (&*self.stream).write(buf));
        let data = match &result {
            Ok(n) => buf[..*n].to_vec(),
            Err(_) => buf.to_vec(),
        };
        self.happened.push(Happened::Syscall {
            sent: true,
            data,
            asked: buf.len(),
            result: copy_of(&result),
        });
        result
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads frames out of one direction's bytes as they come, in any chunks: the header through
/// tungstenite's own parser, the payload unmasked here (only its first [`PAYLOAD_PREVIEW`]
/// bytes are kept, so a large frame costs no memory).
#[derive(Debug, Default)]
pub struct FrameReader {
    /// Bytes of a header not yet complete (at most 14).
    pending: Vec<u8>,
    current: Option<Partial>,
    /// The bytes stopped making sense as frames: nothing more is decoded.
    broken: bool,
}

#[derive(Debug)]
struct Partial {
    header: FrameHeader,
    header_len: usize,
    length: u64,
    seen: u64,
    preview: Vec<u8>,
}

/// A whole frame, as it crossed the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSeen {
    pub opcode: &'static str,
    pub fin: bool,
    pub mask: Option<[u8; 4]>,
    pub length: u64,
    /// Header plus payload: the frame's size on the wire.
    pub wire_len: u64,
    /// The first payload bytes, unmasked.
    pub preview: Vec<u8>,
}

impl FrameReader {
    /// Feeds bytes; returns the frames they completed, and a description of the bytes if they
    /// are no frame at all (once).
    pub fn feed(&mut self, mut data: &[u8]) -> (Vec<FrameSeen>, Option<String>) {
        let mut frames = Vec::new();
        while !self.broken && !data.is_empty() {
            if self.current.is_none() {
                let take = data.len().min(14 - self.pending.len());
                self.pending.extend_from_slice(&data[..take]);
                let mut cursor = Cursor::new(&self.pending[..]);
                match FrameHeader::parse(&mut cursor) {
                    Ok(Some((header, length))) => {
                        let header_len = cursor.position() as usize;
                        // What was taken beyond the header is payload: give it back.
                        let extra = self.pending.len() - header_len;
                        data = &data[take - extra..];
                        self.pending.clear();
                        self.current = Some(Partial {
                            header,
                            header_len,
                            length,
                            seen: 0,
                            preview: Vec::new(),
                        });
                    }
                    Ok(None) => {
                        data = &data[take..];
                        continue;
                    }
                    Err(error) => {
                        self.broken = true;
                        return (frames, Some(error.to_string()));
                    }
                }
            }
            let Some(partial) = self.current.as_mut() else {
                continue;
            };
            let left = partial.length - partial.seen;
            let take = (left.min(data.len() as u64)) as usize;
            for (index, &byte) in data[..take].iter().enumerate() {
                // The mask repeats every 4 bytes from the payload's first byte.
                let at = partial.seen + index as u64;
                if at >= PAYLOAD_PREVIEW as u64 {
                    break;
                }
                let key = partial.header.mask.map_or(0, |mask| mask[at as usize % 4]);
                partial.preview.push(byte ^ key);
            }
            partial.seen += take as u64;
            data = &data[take..];
            if partial.seen == partial.length
                && let Some(done) = self.current.take()
            {
                frames.push(FrameSeen {
                    opcode: opcode_name(done.header.opcode),
                    fin: done.header.is_final,
                    mask: done.header.mask,
                    length: done.length,
                    wire_len: done.header_len as u64 + done.length,
                    preview: done.preview,
                });
            }
        }
        (frames, None)
    }
}

fn opcode_name(opcode: OpCode) -> &'static str {
    match opcode {
        OpCode::Data(Data::Continue) => "CONTINUATION",
        OpCode::Data(Data::Text) => "TEXT",
        OpCode::Data(Data::Binary) => "BINARY",
        OpCode::Data(Data::Reserved(_)) => "RESERVED-DATA",
        OpCode::Control(Control::Close) => "CLOSE",
        OpCode::Control(Control::Ping) => "PING",
        OpCode::Control(Control::Pong) => "PONG",
        OpCode::Control(Control::Reserved(_)) => "RESERVED-CONTROL",
    }
}

impl FrameSeen {
    /// `ws frame sent: TEXT FIN len=5 masked key=37fa213d "hello"`, every peer byte escaped.
    #[must_use]
    pub fn describe(&self, sent: bool) -> String {
        let way = if sent { "sent" } else { "received" };
        let fin = if self.fin { " FIN" } else { "" };
        let mask = self.mask.map_or_else(
            || "unmasked".to_owned(),
            |key| {
                format!(
                    "masked key={:02x}{:02x}{:02x}{:02x}",
                    key[0], key[1], key[2], key[3]
                )
            },
        );
        let payload = if self.opcode == "CLOSE" && self.preview.len() >= 2 {
            let code = u16::from_be_bytes([self.preview[0], self.preview[1]]);
            format!(
                "code={code} {}",
                strace_bytes(&self.preview[2..], PAYLOAD_PREVIEW)
            )
        } else {
            let mut shown = strace_bytes(&self.preview, PAYLOAD_PREVIEW);
            if self.length > self.preview.len() as u64 && !shown.ends_with("...") {
                shown.push_str("...");
            }
            shown
        };
        format!(
            "ws frame {way}: {}{fin} len={} {mask} {payload}",
            self.opcode, self.length
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_frame_split_anywhere_decodes_the_same() {
        // "Hello" masked with 37 fa 21 3d: the example of RFC 6455, section 5.7.
        let wire = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        for split in 0..wire.len() {
            let mut reader = FrameReader::default();
            let (mut frames, broken) = reader.feed(&wire[..split]);
            assert!(broken.is_none());
            frames.extend(reader.feed(&wire[split..]).0);
            assert_eq!(frames.len(), 1, "split at {split}");
            let frame = &frames[0];
            assert_eq!(frame.preview, b"Hello");
            assert_eq!(frame.wire_len, 11);
            assert_eq!(
                frame.describe(false),
                "ws frame received: TEXT FIN len=5 masked key=37fa213d \"Hello\""
            );
        }
    }

    #[test]
    fn two_frames_in_one_chunk_and_control_bytes_escaped() {
        let mut wire = vec![0x81, 0x04, 0x1b, b'[', b'2', b'J'];
        wire.extend([0x88, 0x02, 0x03, 0xe8]);
        let (frames, _) = FrameReader::default().feed(&wire);
        assert_eq!(frames.len(), 2);
        let text = frames[0].describe(true);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.ends_with("unmasked \"\\33[2J\""), "{text}");
        assert_eq!(
            frames[1].describe(true),
            "ws frame sent: CLOSE FIN len=2 unmasked code=1000 \"\""
        );
    }
}
