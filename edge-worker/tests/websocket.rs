//! The WebSocket layer of `/announce` on the wire, byte by byte: the upgrade, control frames,
//! fragmented and early frames, and protocol errors with their close codes. A raw TCP client
//! writes the frames so that nothing smooths over what the host does.

mod common;

use common::*;
use meshcdn_edge::EngineKind::Native;
use meshcdn_edge::metrics::Reject;
use meshcdn_edge::ws::frame::encode_client_frame;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// RFC 6455 §1.3's example: the accept value of `KEY`.
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn upgrade_request(addr: std::net::SocketAddr) -> String {
    format!(
        "GET /announce HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n\r\n"
    )
}

fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_client_frame(&mut out, fin, opcode, payload, MASK);
    out
}

fn text(payload: &str) -> Vec<u8> {
    client_frame(true, 0x1, payload.as_bytes())
}

/// A raw client that has finished the upgrade.
struct Raw {
    tcp: TcpStream,
}

impl Raw {
    /// Connects and upgrades, sending `extra` in the same write as the request.
    async fn connect_with(addr: std::net::SocketAddr, extra: &[u8]) -> Raw {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let mut request = upgrade_request(addr).into_bytes();
        request.extend_from_slice(extra);
        tcp.write_all(&request).await.unwrap();
        // Read the response head byte by byte so no frame after it is consumed.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8];
            tokio::time::timeout(WAIT, tcp.read_exact(&mut byte))
                .await
                .expect("response in time")
                .expect("response");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 101"), "{head}");
        assert!(
            head.contains(&format!(
                "sec-websocket-accept: {}",
                ACCEPT.to_ascii_lowercase()
            )),
            "{head}"
        );
        Raw { tcp }
    }

    async fn connect(addr: std::net::SocketAddr) -> Raw {
        Self::connect_with(addr, &[]).await
    }

    /// The next server frame: (fin, opcode, payload). Server frames are never masked.
    async fn frame(&mut self) -> (bool, u8, Vec<u8>) {
        tokio::time::timeout(WAIT, async {
            let mut h = [0u8; 2];
            self.tcp.read_exact(&mut h).await.expect("a frame");
            assert_eq!(h[1] & 0x80, 0, "server frames are unmasked");
            let len = match h[1] & 0x7f {
                126 => u64::from(self.tcp.read_u16().await.unwrap()),
                127 => self.tcp.read_u64().await.unwrap(),
                n => u64::from(n),
            };
            let mut payload = vec![0; len as usize];
            self.tcp.read_exact(&mut payload).await.unwrap();
            (h[0] & 0x80 != 0, h[0] & 0x0f, payload)
        })
        .await
        .expect("a frame in time")
    }

    async fn json(&mut self) -> Value {
        let (fin, opcode, payload) = self.frame().await;
        assert!(fin);
        assert_eq!(opcode, 0x1, "a text frame");
        serde_json::from_slice(&payload).unwrap()
    }

    /// Pings with `payload` and expects the pong that echoes it.
    async fn ping_pong(&mut self, payload: &[u8]) {
        self.tcp
            .write_all(&client_frame(true, 0x9, payload))
            .await
            .unwrap();
        assert_eq!(self.frame().await, (true, 0xA, payload.to_vec()));
    }

    /// Expects a close frame with `code`, then the end of the stream.
    async fn expect_close(&mut self, code: u16) {
        let (_, opcode, payload) = self.frame().await;
        assert_eq!(opcode, 0x8, "a close frame, got payload {payload:?}");
        assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
        let mut rest = Vec::new();
        tokio::time::timeout(WAIT, self.tcp.read_to_end(&mut rest))
            .await
            .expect("closed in time")
            .ok();
        assert!(rest.is_empty(), "nothing after the close frame");
    }
}

async fn http_status(addr: std::net::SocketAddr, request: String) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut response))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&response[..n]).into_owned()
}

#[tokio::test]
async fn requests_that_are_not_upgrades_get_clear_http_errors() {
    let edge = start(config(Native)).await;
    let addr = edge.local_addr();
    let plain = format!("GET /announce HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let r = http_status(addr, plain).await;
    assert!(r.starts_with("HTTP/1.1 426"), "{r}");
    assert!(
        r.to_ascii_lowercase().contains("sec-websocket-version: 13"),
        "{r}"
    );
    let old_version = upgrade_request(addr).replace("Version: 13", "Version: 8");
    let r = http_status(addr, old_version).await;
    assert!(
        r.starts_with("HTTP/1.1 426") && r.contains("Sec-WebSocket-Version"),
        "{r}"
    );
    let no_key = upgrade_request(addr).replace(&format!("Sec-WebSocket-Key: {KEY}\r\n"), "");
    let r = http_status(addr, no_key).await;
    assert!(
        r.starts_with("HTTP/1.1 400") && r.contains("Sec-WebSocket-Key"),
        "{r}"
    );
    let post = upgrade_request(addr).replace("GET", "POST");
    assert!(http_status(addr, post).await.starts_with("HTTP/1.1 405"));
    edge.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_headers_is_dropped() {
    let mut config = config(Native);
    config.limits.header_timeout_ms = 300;
    let edge = start(config).await;
    let mut slow = TcpStream::connect(edge.local_addr()).await.unwrap();
    slow.write_all(b"GET /announce HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The host closes the connection (perhaps after a 408); the read ends instead of hanging.
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, slow.read_to_end(&mut rest))
        .await
        .expect("dropped within the bound")
        .ok();
    let text = String::from_utf8_lossy(&rest);
    assert!(
        rest.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    // A complete upgrade still works.
    Raw::connect(edge.local_addr()).await.ping_pong(b"x").await;
    edge.shutdown().await;
}

#[tokio::test]
async fn pings_get_pongs_and_a_client_close_is_answered() {
    let edge = start(config(Native)).await;
    let mut c = Raw::connect(edge.local_addr()).await;
    c.ping_pong(b"are you there").await;
    // Join a swarm, then close: the host answers the close and the peer leaves the swarm.
    c.tcp
        .write_all(&text(&announce(&id_n(31, 1), &id_n(31, 2), &[])))
        .await
        .unwrap();
    assert!(c.json().await.get("interval").is_some());
    eventually(|| async { (edge.stats().await.unwrap().peers == 1).then_some(()) }).await;
    c.tcp
        .write_all(&client_frame(true, 0x8, &1000u16.to_be_bytes()))
        .await
        .unwrap();
    c.expect_close(1000).await;
    eventually(|| async { (edge.stats().await.unwrap().peers == 0).then_some(()) }).await;
    edge.shutdown().await;
}

#[tokio::test]
async fn frames_sent_with_the_upgrade_request_are_served() {
    let edge = start(config(Native)).await;
    let early = text(&announce(&id_n(32, 1), &id_n(32, 2), &[]));
    let mut c = Raw::connect_with(edge.local_addr(), &early).await;
    assert!(c.json().await.get("interval").is_some());
    // Served on the bare socket (hyper handed back what it had read past the request).
    assert_eq!(
        edge.metrics()
            .upgrades_wrapped
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    edge.shutdown().await;
}

#[tokio::test]
async fn fragmented_messages_arriving_byte_by_byte_are_reassembled() {
    let edge = start(config(Native)).await;
    let mut c = Raw::connect(edge.local_addr()).await;
    let message = announce(&id_n(33, 1), &id_n(33, 2), &[]);
    let (a, b) = message.as_bytes().split_at(message.len() / 2);
    let mut wire = client_frame(false, 0x1, a);
    wire.extend(client_frame(true, 0x9, b"between"));
    wire.extend(client_frame(true, 0x0, b));
    for byte in wire {
        c.tcp.write_all(&[byte]).await.unwrap();
        c.tcp.flush().await.unwrap();
    }
    assert_eq!(c.frame().await, (true, 0xA, b"between".to_vec()));
    assert!(c.json().await.get("interval").is_some());
    edge.shutdown().await;
}

#[tokio::test]
async fn protocol_errors_close_with_their_codes_and_other_peers_stay() {
    let edge = start(config(Native)).await;
    let addr = edge.local_addr();
    let mut bystander = Raw::connect(addr).await;
    let cases: [(Vec<u8>, u16); 6] = [
        // Client frames must be masked.
        (vec![0x81, 0x02, b'{', b'}'], 1002),
        // Close codes a peer may not send (RFC 6455 §7.4): 1005 is "no code", 2000 unassigned.
        (client_frame(true, 0x8, &1005u16.to_be_bytes()), 1002),
        (client_frame(true, 0x8, &2000u16.to_be_bytes()), 1002),
        // Not UTF-8.
        (client_frame(true, 0x1, &[0xff, 0xfe]), 1007),
        // A compressed frame although no extension was negotiated.
        (
            {
                let mut f = text("{}");
                f[0] |= 0x40;
                f
            },
            1002,
        ),
        // A 1 MiB frame: refused from its header, before its payload arrives.
        (
            {
                let mut f = vec![0x81, 0xff];
                f.extend((1u64 << 20).to_be_bytes());
                f.extend(MASK);
                f
            },
            1009,
        ),
    ];
    for (wire, code) in cases {
        let mut c = Raw::connect(addr).await;
        c.tcp.write_all(&wire).await.unwrap();
        c.expect_close(code).await;
    }
    assert_eq!(edge.metrics().rejects(Reject::Malformed), 5);
    assert_eq!(edge.metrics().rejects(Reject::TooLarge), 1);
    // The others are untouched.
    bystander
        .tcp
        .write_all(&text(&announce(&id_n(34, 1), &id_n(34, 2), &[])))
        .await
        .unwrap();
    assert!(bystander.json().await.get("interval").is_some());
    edge.shutdown().await;
}

/// A peer that sends a lot and reads nothing; every message is answered (with a failure reason).
/// Returns once the host has dropped it, checking that another peer is served meanwhile.
async fn drop_a_peer_that_stops_reading(max_queued_messages: usize) -> meshcdn_edge::EdgeHandle {
    let mut config = config(Native);
    config.limits.max_queued_messages = max_queued_messages;
    // Bounded by messages here (the byte bound has tests of its own in tests/bounds.rs).
    config.limits.max_queued_bytes = usize::MAX / 4;
    config.limits.max_total_queued_bytes = usize::MAX / 4;
    config.limits.send_timeout_ms = 300;
    config.limits.messages_per_sec = 1_000_000;
    config.limits.message_burst = 1_000_000;
    let edge = start(config).await;
    let addr = edge.local_addr();
    let mut ok = Raw::connect(addr).await;
    let hog = Raw::connect(addr).await;
    let (_hog_read, mut hog_write) = hog.tcp.into_split();
    let frame = text("{}");
    let burst: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * 2000)
        .collect();
    let writer = tokio::spawn(async move {
        // Bounded: at most 1,000 bursts (2M messages); ends when the host drops the connection.
        for _ in 0..1000 {
            if hog_write.write_all(&burst).await.is_err() {
                break;
            }
        }
    });
    let open = || {
        edge.metrics()
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    eventually(|| async { (open() == 1).then_some(()) }).await;
    writer.abort();
    ok.tcp
        .write_all(&text(&announce(&id_n(35, 1), &id_n(35, 2), &[])))
        .await
        .unwrap();
    assert!(ok.json().await.get("interval").is_some());
    edge
}

#[tokio::test]
async fn a_peer_whose_queue_overflows_is_dropped_and_others_are_served() {
    let edge = drop_a_peer_that_stops_reading(64).await;
    assert!(edge.metrics().rejects(Reject::SlowReader) > 0);
    edge.shutdown().await;
}

#[tokio::test]
async fn a_write_the_peer_does_not_take_times_out() {
    // A queue too large to overflow first: the stalled write itself must end the connection.
    let edge = drop_a_peer_that_stops_reading(10_000_000).await;
    assert_eq!(edge.metrics().rejects(Reject::SlowReader), 0);
    edge.shutdown().await;
}
