//! RFC 6455 framing for the server side of `/announce`: a decoder for client frames and encoders
//! for the few frames the tracker sends. Pure: bytes in, messages out, no I/O.
//!
//! Why not tungstenite here: its socket keeps a read buffer (and its own state) allocated for the
//! whole life of a connection, which was the largest part of what an idle peer cost. This decoder
//! works in place on a buffer the caller lends it (one per worker thread) and keeps bytes only
//! while a frame is incomplete, so an idle connection holds nothing here.
//!
//! A crate of its own (re-exported as `meshcdn_edge::ws::frame`) so that the fuzz target
//! (`fuzz/`) builds it without the edge's async stack.

/// A complete message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Message<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
    Ping(&'a [u8]),
    Pong,
    /// The client closes; its status code if it sent one.
    Close(Option<u16>),
}

/// Whether the decoder should go on after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop decoding (the connection is closing); the rest of the input is dropped.
    Stop,
}

/// Why the connection must be closed, with the close code RFC 6455 assigns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("message of {size} bytes is over the {max} byte limit")]
    TooLarge { size: u64, max: usize },
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    #[error("text message is not valid UTF-8")]
    InvalidUtf8,
}

impl FrameError {
    pub fn close_code(&self) -> u16 {
        match self {
            FrameError::TooLarge { .. } => 1009,
            FrameError::Protocol(_) => 1002,
            FrameError::InvalidUtf8 => 1007,
        }
    }

    /// A short reason for the close frame (at most 123 bytes).
    pub fn close_reason(&self) -> &'static str {
        match self {
            FrameError::TooLarge { .. } => "message too large",
            FrameError::Protocol(why) => why,
            FrameError::InvalidUtf8 => "invalid UTF-8 in text message",
        }
    }
}

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// The largest header of a client frame: 2 bytes, 8 of extended length, 4 of mask.
pub const MAX_HEADER: usize = 14;

/// Decodes the frames of one client connection.
#[derive(Debug)]
pub struct Decoder {
    max_message: u32,
    /// The start of a frame that has not fully arrived (empty, and unallocated, between frames).
    partial: Vec<u8>,
    /// The bytes so far of a fragmented data message being reassembled.
    fragments: Vec<u8>,
    /// Whether a fragmented message is in progress, and if so whether it is text.
    fragmented_text: Option<bool>,
}

/// One parsed frame header.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    header_len: usize,
    payload_len: u64,
}

impl Decoder {
    /// A decoder refusing messages over `max_message` bytes (at most 4 GiB).
    pub fn new(max_message: usize) -> Self {
        Self {
            max_message: u32::try_from(max_message).unwrap_or(u32::MAX),
            partial: Vec::new(),
            fragments: Vec::new(),
            fragmented_text: None,
        }
    }

    /// Holds `bytes` to be decoded in front of the next input (bytes read before the decoder
    /// existed).
    pub fn hold(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
    }

    /// Bytes held back for an incomplete frame or message (what this connection costs now).
    pub fn buffered(&self) -> usize {
        self.partial.capacity() + self.fragments.capacity()
    }

    /// Decodes `data` (what was just read; unmasked in place) after the bytes held back from
    /// earlier reads, calling `on_message` for every complete message. An incomplete frame at
    /// the end is kept for the next call. Returns [`Flow::Stop`] when `on_message` asked to stop.
    pub fn decode(
        &mut self,
        data: &mut [u8],
        on_message: &mut dyn FnMut(Message<'_>) -> Flow,
    ) -> Result<Flow, FrameError> {
        if self.partial.is_empty() {
            let (used, flow) = self.decode_frames(data, on_message)?;
            if flow == Flow::Continue {
                self.partial.extend_from_slice(&data[used..]);
            }
            return Ok(flow);
        }
        let mut buf = std::mem::take(&mut self.partial);
        buf.extend_from_slice(data);
        let (used, flow) = self.decode_frames(&mut buf, on_message)?;
        if flow == Flow::Continue && used < buf.len() {
            buf.drain(..used);
            self.partial = buf;
        }
        Ok(flow)
    }

    /// Decodes the complete frames at the start of `buf`; returns how many bytes they took.
    fn decode_frames(
        &mut self,
        buf: &mut [u8],
        on_message: &mut dyn FnMut(Message<'_>) -> Flow,
    ) -> Result<(usize, Flow), FrameError> {
        let mut pos = 0;
        while let Some(header) = self.parse_header(&buf[pos..])? {
            // Bounded by max_message (checked in parse_header), so it fits in usize.
            let len = header.payload_len as usize;
            if buf.len() - pos - header.header_len < len {
                break;
            }
            let start = pos + header.header_len;
            let payload = &mut buf[start..start + len];
            unmask(payload, header.mask);
            pos = start + len;
            if self.on_frame(&header, payload, on_message)? == Flow::Stop {
                return Ok((pos, Flow::Stop));
            }
        }
        Ok((pos, Flow::Continue))
    }

    /// The header at the start of `buf`, or `None` if it has not fully arrived. Refuses frames
    /// that could never be valid as soon as their first bytes show it, before any payload.
    fn parse_header(&self, buf: &[u8]) -> Result<Option<Header>, FrameError> {
        let [b0, b1, ..] = *buf else { return Ok(None) };
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0F;
        if b0 & 0x70 != 0 {
            return Err(FrameError::Protocol(
                "reserved bits set (no extension was negotiated)",
            ));
        }
        if b1 & 0x80 == 0 {
            return Err(FrameError::Protocol("client frames must be masked"));
        }
        let is_control = opcode & 0x8 != 0;
        if !matches!(
            opcode,
            OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG
        ) {
            return Err(FrameError::Protocol("reserved opcode"));
        }
        let (ext, len7) = match b1 & 0x7F {
            126 => (2, None),
            127 => (8, None),
            n => (0, Some(u64::from(n))),
        };
        if is_control && (!fin || len7.is_none_or(|n| n > 125)) {
            return Err(FrameError::Protocol(
                "control frames must be unfragmented and at most 125 bytes",
            ));
        }
        let header_len = 2 + ext + 4;
        if buf.len() < header_len {
            return Ok(None);
        }
        let payload_len = match len7 {
            Some(n) => n,
            None if ext == 2 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
            None => {
                let n = u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes"));
                if n >> 63 != 0 {
                    return Err(FrameError::Protocol("payload length with the high bit set"));
                }
                n
            }
        };
        let held = self.fragments.len() as u64;
        if !is_control && held + payload_len > u64::from(self.max_message) {
            return Err(FrameError::TooLarge {
                size: held + payload_len,
                max: self.max_message as usize,
            });
        }
        let mask = buf[header_len - 4..header_len].try_into().expect("4 bytes");
        Ok(Some(Header {
            fin,
            opcode,
            mask,
            header_len,
            payload_len,
        }))
    }

    fn on_frame(
        &mut self,
        header: &Header,
        payload: &[u8],
        on_message: &mut dyn FnMut(Message<'_>) -> Flow,
    ) -> Result<Flow, FrameError> {
        match header.opcode {
            OP_TEXT | OP_BINARY => {
                if self.fragmented_text.is_some() {
                    return Err(FrameError::Protocol(
                        "new message before the fragmented one ended",
                    ));
                }
                let text = header.opcode == OP_TEXT;
                if header.fin {
                    return deliver(text, payload, on_message);
                }
                self.fragmented_text = Some(text);
                self.fragments.extend_from_slice(payload);
                Ok(Flow::Continue)
            }
            OP_CONTINUATION => {
                let Some(text) = self.fragmented_text else {
                    return Err(FrameError::Protocol(
                        "continuation frame without a message to continue",
                    ));
                };
                self.fragments.extend_from_slice(payload);
                if !header.fin {
                    return Ok(Flow::Continue);
                }
                self.fragmented_text = None;
                // Taken, so that nothing stays allocated once the message is delivered.
                let whole = std::mem::take(&mut self.fragments);
                deliver(text, &whole, on_message)
            }
            OP_PING => Ok(on_message(Message::Ping(payload))),
            OP_PONG => Ok(on_message(Message::Pong)),
            _ => {
                // Close: empty, or a 2-byte code a peer may send and an optional UTF-8 reason.
                let code = match payload {
                    [] => None,
                    [_] => return Err(FrameError::Protocol("close frame with a 1-byte payload")),
                    [hi, lo, reason @ ..] => {
                        let code = u16::from_be_bytes([*hi, *lo]);
                        if !close_code_allowed(code) {
                            return Err(FrameError::Protocol("close frame with an invalid code"));
                        }
                        std::str::from_utf8(reason).map_err(|_| FrameError::InvalidUtf8)?;
                        Some(code)
                    }
                };
                on_message(Message::Close(code));
                Ok(Flow::Stop)
            }
        }
    }
}

/// Whether a peer may send close code `code` (RFC 6455 §7.4): the defined codes except those an
/// endpoint must never put in a frame (1004 reserved, 1005, 1006, 1015), the IANA-registered
/// 1012–1014, and the ranges for libraries (3000–3999) and applications (4000–4999). Everything
/// else (0–999, 1016–2999, 5000 and up) is a protocol error.
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

fn deliver(
    text: bool,
    payload: &[u8],
    on_message: &mut dyn FnMut(Message<'_>) -> Flow,
) -> Result<Flow, FrameError> {
    if !text {
        return Ok(on_message(Message::Binary(payload)));
    }
    let text = std::str::from_utf8(payload).map_err(|_| FrameError::InvalidUtf8)?;
    Ok(on_message(Message::Text(text)))
}

/// XORs `data` with `mask` (RFC 6455 §5.3), four bytes at a time.
fn unmask(data: &mut [u8], mask_bytes: [u8; 4]) {
    let mask = u32::from_ne_bytes(mask_bytes);
    let mut words = data.chunks_exact_mut(4);
    for word in &mut words {
        let w = u32::from_ne_bytes(word.try_into().expect("4 bytes")) ^ mask;
        word.copy_from_slice(&w.to_ne_bytes());
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= mask_bytes[i];
    }
}

/// Appends a server frame (unmasked, unfragmented) with `opcode` and `payload` to `out`.
fn encode(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    out.push(0x80 | opcode);
    match payload.len() {
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

pub fn encode_text(out: &mut Vec<u8>, text: &str) {
    encode(out, OP_TEXT, text.as_bytes());
}

pub fn encode_pong(out: &mut Vec<u8>, payload: &[u8]) {
    encode(out, OP_PONG, payload);
}

/// A close frame; `reason` is cut to fit the 125-byte control frame limit.
pub fn encode_close(out: &mut Vec<u8>, code: u16, reason: &str) {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = Vec::with_capacity(2 + end);
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    encode(out, OP_CLOSE, &payload);
}

/// The bytes a client sends for one frame (masked with `mask`): for tests and the load generator.
pub fn encode_client_frame(
    out: &mut Vec<u8>,
    fin: bool,
    opcode: u8,
    payload: &[u8],
    mask: [u8; 4],
) {
    let start = out.len();
    encode(out, opcode, payload);
    if !fin {
        out[start] &= 0x7F;
    }
    out[start + 1] |= 0x80;
    let header_end = out.len() - payload.len();
    out.splice(header_end..header_end, mask);
    unmask(&mut out[header_end + 4..], mask);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, PartialEq, Eq, Clone)]
    enum Owned {
        Text(String),
        Binary(Vec<u8>),
        Ping(Vec<u8>),
        Pong,
        Close(Option<u16>),
    }

    fn owned(m: Message<'_>) -> Owned {
        match m {
            Message::Text(t) => Owned::Text(t.to_owned()),
            Message::Binary(b) => Owned::Binary(b.to_vec()),
            Message::Ping(p) => Owned::Ping(p.to_vec()),
            Message::Pong => Owned::Pong,
            Message::Close(c) => Owned::Close(c),
        }
    }

    /// Feeds `bytes` to a fresh decoder in pieces of `chunk` bytes.
    fn decode_in_chunks(bytes: &[u8], chunk: usize, max: usize) -> Result<Vec<Owned>, FrameError> {
        let mut decoder = Decoder::new(max);
        let mut out = Vec::new();
        for piece in bytes.chunks(chunk.max(1)) {
            let mut piece = piece.to_vec();
            let flow = decoder.decode(&mut piece, &mut |m| {
                out.push(owned(m));
                Flow::Continue
            })?;
            if flow == Flow::Stop {
                break;
            }
        }
        Ok(out)
    }

    /// A frame as tungstenite (a client nobody here wrote) puts it on the wire.
    fn tungstenite_client_frame(msg: tokio_tungstenite::tungstenite::Message) -> Vec<u8> {
        use tokio_tungstenite::tungstenite::protocol::frame::Frame;
        use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
        let mut frame = match msg {
            tokio_tungstenite::tungstenite::Message::Text(t) => Frame::message(
                t.as_str().as_bytes().to_vec(),
                OpCode::Data(Data::Text),
                true,
            ),
            tokio_tungstenite::tungstenite::Message::Binary(b) => {
                Frame::message(b.to_vec(), OpCode::Data(Data::Binary), true)
            }
            tokio_tungstenite::tungstenite::Message::Ping(p) => Frame::ping(p.to_vec()),
            other => panic!("not used: {other:?}"),
        };
        frame.header_mut().mask = Some(rand::random());
        let mut out = Vec::new();
        frame.format(&mut out).expect("format");
        out
    }

    #[test]
    fn frames_made_by_tungstenite_decode() {
        use tokio_tungstenite::tungstenite::Message as T;
        let long = "x".repeat(70_000);
        let medium = "é".repeat(300);
        let mut wire = Vec::new();
        for m in [
            T::text("hello"),
            T::text(medium.clone()),
            T::text(long.clone()),
            T::binary(vec![0u8, 255, 7]),
            T::Ping(vec![1, 2, 3].into()),
        ] {
            wire.extend(tungstenite_client_frame(m));
        }
        for chunk in [1, 2, 3, 7, 13, 4096, usize::MAX] {
            let got = decode_in_chunks(&wire, chunk.min(wire.len()), 100_000).unwrap();
            assert_eq!(
                got,
                vec![
                    Owned::Text("hello".into()),
                    Owned::Text(medium.clone()),
                    Owned::Text(long.clone()),
                    Owned::Binary(vec![0, 255, 7]),
                    Owned::Ping(vec![1, 2, 3]),
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn server_frames_decode_with_tungstenite() {
        use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
        let mut out = Vec::new();
        for len in [0, 125, 126, 65_535, 65_536] {
            out.clear();
            let text = "a".repeat(len);
            encode_text(&mut out, &text);
            let mut cursor = std::io::Cursor::new(&out);
            let (header, payload_len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
            assert!(header.is_final && header.mask.is_none());
            assert_eq!(payload_len, len as u64);
            assert_eq!(&out[cursor.position() as usize..], text.as_bytes());
        }
        out.clear();
        encode_close(&mut out, 1009, &"é".repeat(100));
        assert!(out.len() <= 2 + 125, "{}", out.len());
        let reason = std::str::from_utf8(&out[4..]).expect("cut on a char boundary");
        assert_eq!(u16::from_be_bytes([out[2], out[3]]), 1009);
        assert_eq!(reason.chars().count(), 61);
    }

    #[test]
    fn fragments_are_reassembled_and_control_frames_may_interleave() {
        let mut wire = Vec::new();
        encode_client_frame(&mut wire, false, OP_TEXT, b"hel", [1, 2, 3, 4]);
        encode_client_frame(&mut wire, true, OP_PING, b"p", [5, 6, 7, 8]);
        encode_client_frame(&mut wire, false, OP_CONTINUATION, b"lo ", [9, 9, 9, 9]);
        encode_client_frame(
            &mut wire,
            true,
            OP_CONTINUATION,
            "wörld".as_bytes(),
            [0, 0, 0, 1],
        );
        let got = decode_in_chunks(&wire, 5, 1024).unwrap();
        assert_eq!(
            got,
            vec![
                Owned::Ping(b"p".to_vec()),
                Owned::Text("hello wörld".into())
            ]
        );
    }

    #[test]
    fn oversized_messages_are_refused_from_their_header() {
        let mut wire = Vec::new();
        encode_client_frame(&mut wire, true, OP_TEXT, &[b'a'; 2000], [1, 2, 3, 4]);
        // Only the header has arrived: refused before any payload is held.
        let err = decode_in_chunks(&wire[..8], 8, 1024).unwrap_err();
        assert_eq!(
            err,
            FrameError::TooLarge {
                size: 2000,
                max: 1024
            }
        );
        assert_eq!(err.close_code(), 1009);
        // The same limit over fragments.
        wire.clear();
        encode_client_frame(&mut wire, false, OP_TEXT, &[b'a'; 600], [1, 2, 3, 4]);
        encode_client_frame(&mut wire, true, OP_CONTINUATION, &[b'a'; 600], [1, 2, 3, 4]);
        let err = decode_in_chunks(&wire, 64, 1024).unwrap_err();
        assert_eq!(
            err,
            FrameError::TooLarge {
                size: 1200,
                max: 1024
            }
        );
    }

    #[test]
    fn protocol_violations_get_their_close_codes() {
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (vec![0x81, 0x01, b'a'], 1002),               // unmasked
            (vec![0xC1, 0x80, 0, 0, 0, 0], 1002),         // RSV1 (no deflate negotiated)
            (vec![0x83, 0x80, 0, 0, 0, 0], 1002),         // reserved opcode
            (vec![0x09, 0x80, 0, 0, 0, 0], 1002),         // fragmented ping
            (vec![0x89, 0xFE, 0, 200, 0, 0, 0, 0], 1002), // ping over 125 bytes
            (vec![0x80, 0x80, 0, 0, 0, 0], 1002),         // continuation of nothing
            (vec![0x88, 0x81, 0, 0, 0, 0, 3], 1002),      // 1-byte close
            (vec![0x81, 0x81, 0, 0, 0, 0, 0xFF], 1007),   // not UTF-8
            (
                vec![0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                1002,
            ), // high length bit
        ];
        for (wire, code) in cases {
            let err = decode_in_chunks(&wire, wire.len(), 1 << 20).unwrap_err();
            assert_eq!(err.close_code(), code, "{wire:?}: {err}");
        }
    }

    #[test]
    fn close_codes_a_peer_may_not_send_are_protocol_errors() {
        let close = |payload: &[u8]| {
            let mut wire = Vec::new();
            encode_client_frame(&mut wire, true, OP_CLOSE, payload, [3, 1, 4, 1]);
            decode_in_chunks(&wire, wire.len(), 1024)
        };
        for code in [
            0u16,
            1,
            999,
            1004,
            1005,
            1006,
            1015,
            1016,
            2000,
            2999,
            5000,
            u16::MAX,
        ] {
            let err = close(&code.to_be_bytes()).unwrap_err();
            assert_eq!(err.close_code(), 1002, "code {code}: {err}");
            assert!(!close_code_allowed(code), "{code}");
        }
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1014, 3000, 3999, 4000,
            4999,
        ] {
            let mut payload = code.to_be_bytes().to_vec();
            payload.extend_from_slice("bye".as_bytes());
            assert_eq!(
                close(&payload).unwrap(),
                vec![Owned::Close(Some(code))],
                "code {code}"
            );
        }
        // A 1-byte payload has no room for a code.
        assert_eq!(close(&[0x03]).unwrap_err().close_code(), 1002);
        // A valid code with a reason that is not UTF-8: 1007, like a text message that is not.
        assert_eq!(
            close(&[0x03, 0xE8, 0xFF, 0xFE]).unwrap_err(),
            FrameError::InvalidUtf8
        );
        // An invalid code is refused before its reason is looked at.
        assert_eq!(close(&[0x03, 0xED, 0xFF]).unwrap_err().close_code(), 1002);
    }

    #[test]
    fn close_stops_decoding_and_reports_the_code() {
        let mut wire = Vec::new();
        encode_client_frame(
            &mut wire,
            true,
            OP_CLOSE,
            &[0x03, 0xE8, b'b', b'y', b'e'],
            [7, 7, 7, 7],
        );
        encode_client_frame(&mut wire, true, OP_TEXT, b"after", [7, 7, 7, 7]);
        let got = decode_in_chunks(&wire, wire.len(), 1024).unwrap();
        assert_eq!(got, vec![Owned::Close(Some(1000))]);
    }

    #[test]
    fn nothing_is_held_between_complete_frames() {
        let mut decoder = Decoder::new(1024);
        let mut wire = Vec::new();
        encode_client_frame(&mut wire, true, OP_TEXT, b"one", [1, 2, 3, 4]);
        encode_client_frame(&mut wire, true, OP_TEXT, b"two", [1, 2, 3, 4]);
        let split = wire.len() - 2;
        let mut count = 0;
        decoder
            .decode(&mut wire[..split].to_vec(), &mut |_| {
                count += 1;
                Flow::Continue
            })
            .unwrap();
        assert_eq!(count, 1);
        assert!(decoder.buffered() > 0);
        decoder
            .decode(&mut wire[split..].to_vec(), &mut |_| {
                count += 1;
                Flow::Continue
            })
            .unwrap();
        assert_eq!(count, 2);
        assert_eq!(decoder.buffered(), 0, "an idle connection keeps no buffer");
    }

    proptest! {
        /// Any split of any sequence of valid frames decodes to the same messages.
        #[test]
        fn decoding_does_not_depend_on_how_bytes_arrive(
            texts in proptest::collection::vec(".{0,300}", 1..6),
            mask in any::<[u8; 4]>(),
            chunk in 1usize..400,
        ) {
            let mut wire = Vec::new();
            for t in &texts {
                encode_client_frame(&mut wire, true, OP_TEXT, t.as_bytes(), mask);
            }
            let got = decode_in_chunks(&wire, chunk, 1 << 16).unwrap();
            let want: Vec<Owned> = texts.iter().map(|t| Owned::Text(t.clone())).collect();
            prop_assert_eq!(got, want);
        }

        /// Arbitrary bytes: never a panic; either messages or a clear error.
        #[test]
        fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), chunk in 1usize..64) {
            let _ = decode_in_chunks(&bytes, chunk, 256);
        }

        #[test]
        fn unmasking_matches_bytewise_xor(data in proptest::collection::vec(any::<u8>(), 0..64), mask in any::<[u8; 4]>()) {
            let mut fast = data.clone();
            unmask(&mut fast, mask);
            let slow: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
            prop_assert_eq!(fast, slow);
        }
    }
}
