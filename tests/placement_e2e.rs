//! Multi-PoP swarm placement end to end, on loopback: three `meshcdn edge` processes in two PoPs
//! (`fra` = edge-a + edge-b, `iad` = edge-c), and an origin plugin whose tracker selection is
//! `meshcdn_placement`. Viewers fetch master playlists with a region header, read the bootstrap
//! and announce on the trackers it names, the way the browser client does: they meet on their
//! PoP's node, fail over together to the same next node when it dies, and removing the dead node
//! from the placement moves only its contents. (Balance over 10,000 swarms and minimal movement
//! in general are covered on the pure function in placement/tests/placement.rs.)

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use meshcdn_origin::MeshEngine;
use meshcdn_origin::config::OriginConfig;
use meshcdn_placement::{NodeConfig, Placement, PlacementConfig, PopConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::timeout;

/// Bound on every single wait in this test (process start, HTTP, WebSocket).
const STEP: Duration = Duration::from_secs(30);
const REGION_HEADER: &str = "x-meshcdn-region";

/// One `meshcdn edge` process, killed on drop.
struct EdgeProcess {
    child: Child,
    url: String,
}

async fn spawn_edge() -> EdgeProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshcdn"))
        .args([
            "edge",
            "--open",
            "--engine",
            "native",
            "--shards",
            "1",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn meshcdn edge");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // The CLI prints the bound address once it is listening (port 0: no port races).
    let url = timeout(STEP, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.split("tracker at ").nth(1) {
                return url.trim().to_owned();
            }
        }
        panic!("meshcdn edge exited before listening");
    })
    .await
    .expect("meshcdn edge did not start in time");
    // Keep draining stderr so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    EdgeProcess { child, url }
}

/// A directory of HLS content, removed on drop.
struct MediaDir(PathBuf);

impl MediaDir {
    fn new(contents: &[String]) -> Self {
        let root =
            std::env::temp_dir().join(format!("meshcdn-placement-e2e-{}", std::process::id()));
        for content in contents {
            let dir = root.join(content);
            for rendition in ["360p", "720p"] {
                std::fs::create_dir_all(dir.join(rendition)).unwrap();
                std::fs::write(
                    dir.join(rendition).join("index.m3u8"),
                    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg0.ts\n#EXT-X-ENDLIST\n",
                )
                .unwrap();
                std::fs::write(dir.join(rendition).join("seg0.ts"), [0x47u8; 188 * 4]).unwrap();
            }
            std::fs::write(
                dir.join("master.m3u8"),
                "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2400000\n720p/index.m3u8\n",
            )
            .unwrap();
        }
        Self(root)
    }
}

impl Drop for MediaDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn placement_config(a: &str, b: &str, c: &str) -> PlacementConfig {
    let node = |name: &str, url: &str| NodeConfig {
        name: name.into(),
        tracker_url: url.into(),
    };
    PlacementConfig {
        region_header: REGION_HEADER.into(),
        default_pop: "fra".into(),
        pop_fallbacks: 1,
        pops: vec![
            PopConfig {
                name: "fra".into(),
                regions: vec!["DE".into(), "FR".into()],
                fallback_pop: Some("iad".into()),
                nodes: vec![node("edge-a", a), node("edge-b", b)],
            },
            PopConfig {
                name: "iad".into(),
                regions: vec!["US".into()],
                fallback_pop: None,
                nodes: vec![node("edge-c", c)],
            },
        ],
    }
}

/// Serves `dir` through the origin plugin configured the way it ships: `placement_file` in the
/// origin config (written next to the media as `name`), so `MeshEngine::from_config` wires the
/// real `PlacementTrackers`.
async fn serve_origin(dir: &Path, placement: &PlacementConfig, name: &str) -> std::net::SocketAddr {
    let file = dir.join(name);
    std::fs::write(&file, placement.to_toml()).unwrap();
    let config = OriginConfig {
        placement_file: Some(file),
        ..OriginConfig::default()
    };
    let engine = MeshEngine::from_config(&config).expect("origin config with placement");
    let router = meshcdn_origin::proxy::local_dir_router(dir, engine);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// GET over HTTP/1.1 (`Connection: close`), returning the body of a 200.
async fn http_get(addr: std::net::SocketAddr, path: &str, region: Option<&str>) -> String {
    timeout(STEP, async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let region = region
            .map(|r| format!("{REGION_HEADER}: {r}\r\n"))
            .unwrap_or_default();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{region}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let response = String::from_utf8(response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
        if path.ends_with("master.m3u8") {
            // The tracker list depends on the region: shared caches must key on it.
            assert!(
                head.to_ascii_lowercase()
                    .contains(&format!("\r\nvary: {REGION_HEADER}")),
                "{path}: {head}"
            );
        }
        assert!(
            !head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "test client reads plain bodies"
        );
        body.to_owned()
    })
    .await
    .expect("origin answered in time")
}

/// The bootstrap JSON of a rewritten master playlist.
fn bootstrap(master: &str) -> serde_json::Value {
    let line = master
        .lines()
        .find(|l| l.contains("DATA-ID=\"io.meshcdn.bootstrap\""))
        .unwrap_or_else(|| panic!("no bootstrap in {master}"));
    let value = line.split("VALUE=\"").nth(1).unwrap().trim_end_matches('"');
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .unwrap();
    serde_json::from_slice(&json).unwrap()
}

fn trackers(bootstrap: &serde_json::Value) -> Vec<String> {
    bootstrap["trackers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// 40 hex digits -> the 20-char binary string of the WebTorrent protocol (one char per byte).
fn binary_string(hex: &str) -> String {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as char)
        .collect()
}

fn peer_id(n: u8) -> String {
    format!("-MC0001-e2e-peer-{n:03}")
}

/// A minimal WebSocket client (RFC 6455: handshake, masked text frames out, text frames in).
struct Ws(TcpStream);

impl Ws {
    async fn connect(url: &str) -> std::io::Result<Self> {
        let rest = url.strip_prefix("ws://").expect("ws:// URL");
        let (host, path) = rest.split_once('/').unwrap();
        let mut stream = TcpStream::connect(host).await?;
        let request = format!(
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        // Byte by byte up to the blank line, so no frame byte is swallowed with the headers.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(stream.read_u8().await?);
            assert!(head.len() < 8192, "oversized handshake response");
        }
        let head = String::from_utf8_lossy(&head);
        if !head.starts_with("HTTP/1.1 101") {
            return Err(std::io::Error::other(format!("upgrade refused: {head}")));
        }
        Ok(Self(stream))
    }

    async fn send(&mut self, text: &str) -> std::io::Result<()> {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.0.write_all(&frame).await
    }

    /// The next text message (pings and other control frames skipped).
    async fn recv(&mut self) -> std::io::Result<String> {
        loop {
            let b0 = self.0.read_u8().await?;
            let b1 = self.0.read_u8().await?;
            let len = match b1 & 0x7F {
                126 => self.0.read_u16().await? as u64,
                127 => self.0.read_u64().await?,
                n => n as u64,
            };
            assert!(len <= 1 << 20, "oversized frame");
            let mut payload = vec![0u8; len as usize];
            self.0.read_exact(&mut payload).await?;
            match b0 & 0x0F {
                0x1 => return Ok(String::from_utf8(payload).unwrap()),
                0x8 => return Err(std::io::Error::other("closed by the tracker")),
                _ => continue,
            }
        }
    }

    /// The next message that contains `needle`, within [`STEP`].
    async fn recv_containing(&mut self, needle: &str) -> String {
        timeout(STEP, async {
            loop {
                let message = self.recv().await.unwrap();
                assert!(
                    !message.contains("failure reason"),
                    "tracker refused: {message}"
                );
                if message.contains(needle) {
                    return message;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no message with {needle:?} in time"))
    }
}

fn announce(info_hash: &str, peer: &str, offers: usize) -> String {
    let offers: Vec<_> = (0..offers)
        .map(|i| {
            serde_json::json!({
                "offer_id": format!("e2e-offer-{i:010}"),
                "offer": { "type": "offer", "sdp": "v=0\r\n" },
            })
        })
        .collect();
    serde_json::json!({
        // The first announce of a viewer is `started`; later ones (carrying offers) are updates.
        "action": "announce", "info_hash": info_hash, "peer_id": peer,
        "event": if offers.is_empty() { "started" } else { "update" },
        // No `left`: a leecher (two seeders are never introduced: nothing to trade).
        "numwant": offers.len(), "uploaded": 0, "downloaded": 0, "offers": offers,
    })
    .to_string()
}

/// What the client does with the bootstrap's list: the first tracker that accepts the announce.
async fn join_first_working(trackers: &[String], info_hash: &str, peer: &str) -> (usize, Ws) {
    for (index, url) in trackers.iter().enumerate() {
        let Ok(Ok(mut ws)) = timeout(STEP, Ws::connect(url)).await else {
            continue;
        };
        if ws.send(&announce(info_hash, peer, 0)).await.is_err() {
            continue;
        }
        if let Ok(Ok(reply)) = timeout(STEP, ws.recv()).await
            && reply.contains("\"interval\"")
            && !reply.contains("failure reason")
        {
            return (index, ws);
        }
    }
    panic!("no tracker of {trackers:?} accepted the swarm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_meet_on_their_pops_node_and_fail_over_together() {
    let (a, b, c) = (spawn_edge().await, spawn_edge().await, spawn_edge().await);
    let (a_url, b_url) = (a.url.clone(), b.url.clone());
    let contents: Vec<String> = (0..12).map(|i| format!("vod/movie-{i}")).collect();
    let media = MediaDir::new(&contents);
    let placement = placement_config(&a.url, &b.url, &c.url);
    let expected = Placement::new(placement.clone()).unwrap();
    let origin = serve_origin(&media.0, &placement, "placement.toml").await;

    // Every viewer of a content in one region gets the same tracker list: primary, the other
    // node of the PoP, then the other PoP's node.
    let mut primaries = std::collections::HashSet::new();
    let mut de_lists = Vec::new();
    for content in &contents {
        let path = format!("/{content}/master.m3u8");
        let de = bootstrap(&http_get(origin, &path, Some("DE")).await);
        assert_eq!(de["content"], content.as_str());
        let de_trackers = trackers(&de);
        for region in [
            Some("DE"),
            Some("de"),
            Some("DE-BY"),
            Some("FR"),
            None,
            Some("JP"),
        ] {
            let again = trackers(&bootstrap(&http_get(origin, &path, region).await));
            assert_eq!(again, de_trackers, "{content} from {region:?}");
        }
        assert_eq!(de_trackers, expected.trackers_for(Some("DE"), content));
        assert_eq!(de_trackers.len(), 3);
        assert!(
            [&a.url, &b.url].contains(&&de_trackers[0])
                && [&a.url, &b.url].contains(&&de_trackers[1])
        );
        assert_ne!(de_trackers[0], de_trackers[1]);
        assert_eq!(de_trackers[2], c.url);
        primaries.insert(de_trackers[0].clone());
        de_lists.push(de_trackers.clone());

        let us = trackers(&bootstrap(&http_get(origin, &path, Some("US")).await));
        assert_eq!(us[0], c.url, "{content}: US viewers go to iad");
    }
    assert_eq!(
        primaries.len(),
        2,
        "contents are spread over both fra nodes"
    );

    // Two viewers of one swarm in DE: both join the primary, and the tracker there introduces
    // them (the second one's offer reaches the first).
    let content = &contents[0];
    let master = bootstrap(&http_get(origin, &format!("/{content}/master.m3u8"), Some("DE")).await);
    let list = trackers(&master);
    let info_hash = binary_string(master["swarms"]["360p/index.m3u8"].as_str().unwrap());
    let (index, mut first) = join_first_working(&list, &info_hash, &peer_id(1)).await;
    assert_eq!(index, 0, "primary is up");
    let mut second = Ws::connect(&list[0]).await.unwrap();
    second
        .send(&announce(&info_hash, &peer_id(2), 1))
        .await
        .unwrap();
    let relayed = first.recv_containing("\"offer\"").await;
    assert!(relayed.contains(&peer_id(2)), "{relayed}");
    drop((first, second));

    // The primary goes down: every viewer of the swarm moves to the same fallback and meets there.
    let (mut down, up) = if list[0] == a.url { (a, b) } else { (b, a) };
    down.child.kill().await.unwrap();
    assert!(
        Ws::connect(&down.url).await.is_err(),
        "killed node refuses connections"
    );
    let (index, mut first) = join_first_working(&list, &info_hash, &peer_id(3)).await;
    assert_eq!(
        (index, list[index].as_str()),
        (1, up.url.as_str()),
        "fails over to the PoP's next node"
    );
    let (index, mut second) = join_first_working(&list, &info_hash, &peer_id(4)).await;
    assert_eq!(index, 1);
    second
        .send(&announce(&info_hash, &peer_id(4), 1))
        .await
        .unwrap();
    let relayed = first.recv_containing("\"offer\"").await;
    assert!(relayed.contains(&peer_id(4)), "{relayed}");

    // The operator removes the dead node from the placement: only the contents it held move, each
    // to the node its viewers had already failed over to.
    let mut config = placement_config(&a_url, &b_url, &c.url);
    config.pops[0].nodes.retain(|n| n.tracker_url != down.url);
    let smaller = serve_origin(&media.0, &config, "placement-smaller.toml").await;
    for (content, before) in contents.iter().zip(&de_lists) {
        let path = format!("/{content}/master.m3u8");
        let after = trackers(&bootstrap(&http_get(smaller, &path, Some("DE")).await));
        if before[0] == down.url {
            assert_eq!(
                after,
                [before[1].clone(), c.url.clone()],
                "{content} moves to its fallback"
            );
        } else {
            assert_eq!(
                after,
                [before[0].clone(), c.url.clone()],
                "{content} stays on its node"
            );
        }
    }
}
