//! The WebSocket frame decoder of the edge (`/announce`), on arbitrary client bytes.
//!
//! The first three input bytes pick the read size (how the bytes arrive) and the message limit;
//! the rest is the wire. Checked:
//! - never a panic; an error is one of the three close codes (1002, 1007, 1009);
//! - the decoder never yields more payload bytes than it was given, no data message over the
//!   limit, no control payload over 125 bytes, only close codes a peer may send;
//! - it holds no more than a small multiple of what it was given (and nothing once every frame
//!   is complete);
//! - decoding does not depend on how the bytes arrive: in one piece or in reads of any size,
//!   the same messages and the same outcome;
//! - every text message re-encoded as a client frame decodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshcdn_ws_frame::{
    Decoder, Flow, FrameError, Message, close_code_allowed, encode_client_frame,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong,
    Close(Option<u16>),
}

impl Owned {
    fn payload_len(&self) -> usize {
        match self {
            Owned::Text(t) => t.len(),
            Owned::Binary(b) | Owned::Ping(b) => b.len(),
            Owned::Pong => 0,
            Owned::Close(c) => c.map_or(0, |_| 2),
        }
    }
}

/// Decodes `wire` in reads of `chunk` bytes; the messages and how it ended.
fn decode(wire: &[u8], chunk: usize, max: usize) -> (Vec<Owned>, Result<Flow, FrameError>, usize) {
    let mut decoder = Decoder::new(max);
    let mut out = Vec::new();
    let mut result = Ok(Flow::Continue);
    let mut fed = 0usize;
    for piece in wire.chunks(chunk.max(1)) {
        let mut piece = piece.to_vec();
        fed += piece.len();
        result = decoder.decode(&mut piece, &mut |m| {
            out.push(match m {
                Message::Text(t) => Owned::Text(t.to_owned()),
                Message::Binary(b) => Owned::Binary(b.to_vec()),
                Message::Ping(p) => {
                    assert!(p.len() <= 125, "ping of {} bytes", p.len());
                    Owned::Ping(p.to_vec())
                }
                Message::Pong => Owned::Pong,
                Message::Close(code) => {
                    assert!(code.is_none_or(close_code_allowed), "close code {code:?}");
                    Owned::Close(code)
                }
            });
            Flow::Continue
        });
        assert!(
            decoder.buffered() <= 4 * fed + 64,
            "holds {} bytes after {fed} were fed",
            decoder.buffered()
        );
        if result != Ok(Flow::Continue) {
            break;
        }
    }
    (out, result, decoder.buffered())
}

fuzz_target!(|data: &[u8]| {
    let [a, b, c, wire @ ..] = data else { return };
    let chunk = 1 + usize::from(u16::from_le_bytes([*a, *b])) % 512;
    let max = 1 + usize::from(*c) * 64;

    let (whole, whole_result, _) = decode(wire, wire.len(), max);
    let (pieces, pieces_result, _) = decode(wire, chunk, max);
    assert_eq!(whole, pieces, "messages depend on the read size {chunk}");
    assert_eq!(
        whole_result, pieces_result,
        "outcome depends on the read size {chunk}"
    );

    let total: usize = whole.iter().map(Owned::payload_len).sum();
    assert!(
        total <= wire.len(),
        "{total} payload bytes out of {} input bytes",
        wire.len()
    );
    for m in &whole {
        if let Owned::Text(t) = m {
            assert!(t.len() <= max);
        }
        if let Owned::Binary(b) = m {
            assert!(b.len() <= max);
        }
    }
    if let Err(e) = &whole_result {
        assert!(matches!(e.close_code(), 1002 | 1007 | 1009), "{e}");
        assert!(e.close_reason().len() <= 123);
    }
    // A close is the last message: nothing after it is decoded.
    if let Some(i) = whole.iter().position(|m| matches!(m, Owned::Close(_))) {
        assert_eq!(i, whole.len() - 1);
        assert_eq!(whole_result, Ok(Flow::Stop), "a close stops the decoder");
    }

    // Round trip: what decoded as text re-encodes to a frame that decodes to the same text.
    for m in &whole {
        if let Owned::Text(t) = m {
            let mut frame = Vec::new();
            encode_client_frame(&mut frame, true, 0x1, t.as_bytes(), [*a, *b, *c, 0x5a]);
            let (again, result, held) = decode(&frame, chunk, max);
            assert_eq!(result, Ok(Flow::Continue));
            assert_eq!(again, vec![m.clone()]);
            assert_eq!(held, 0, "a complete frame leaves nothing held");
        }
    }
});
