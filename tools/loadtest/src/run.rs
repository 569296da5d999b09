//! The run: connect every peer, then drive them in a closed loop until the deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio_tungstenite::tungstenite::Message;

use crate::config::{
    CONNECT_CONCURRENCY, CONNECT_TIMEOUT, LoadConfig, LoadError, MAX_LATENCY_SAMPLES,
};
use crate::report::LoadReport;
use crate::tls::{client_ws_config, tls_connector};
use crate::wire::{Incoming, announce, answer, random_id};

#[derive(Default)]
struct Counters {
    responses: AtomicU64,
    announces: AtomicU64,
    offers: AtomicU64,
    answers: AtomicU64,
    failures: AtomicU64,
    disconnects: AtomicU64,
}

/// Runs the load and reports. Connections are opened first; the clock starts when all are up.
pub async fn run(config: LoadConfig) -> Result<LoadReport, LoadError> {
    config.check()?;
    let connector = if config.target.starts_with("wss://") {
        Some(tls_connector(config.ca_file.as_deref())?)
    } else if config.target.starts_with("ws://") {
        None
    } else {
        return Err(LoadError::Settings(
            "target must be a ws:// or wss:// URL".into(),
        ));
    };
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let swarms: Vec<String> = (0..config.swarms).map(|_| random_id(&mut rng)).collect();

    // Connect phase.
    let gate = Arc::new(tokio::sync::Semaphore::new(CONNECT_CONCURRENCY));
    let mut connecting = tokio::task::JoinSet::new();
    for _ in 0..config.connections {
        let (target, gate, connector) = (config.target.clone(), gate.clone(), connector.clone());
        connecting.spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            let (ws, _) = tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio_tungstenite::connect_async_tls_with_config(
                    target.as_str(),
                    Some(client_ws_config()),
                    false,
                    connector,
                ),
            )
            .await
            .ok()?
            .map_err(|e| tracing::debug!(error = %e, "connect failed"))
            .ok()?;
            Some(ws)
        });
    }
    let mut sockets = Vec::with_capacity(config.connections);
    while let Some(done) = connecting.join_next().await {
        if let Ok(Some(ws)) = done {
            sockets.push(ws);
        }
    }
    if sockets.is_empty() {
        // One more attempt, alone, to say why.
        let target = config.target.clone();
        return Err(
            match tokio_tungstenite::connect_async_tls_with_config(
                config.target.as_str(),
                None,
                false,
                connector,
            )
            .await
            {
                Ok(_) => LoadError::FailedUnderLoad { target },
                Err(e) => LoadError::Connect {
                    target,
                    source: Box::new(e),
                },
            },
        );
    }

    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + config.duration;
    let per_conn_samples = (MAX_LATENCY_SAMPLES / sockets.len()).max(16);
    let connected = sockets.len();
    let mut peers = tokio::task::JoinSet::new();
    for (i, ws) in sockets.into_iter().enumerate() {
        let info_hash = swarms[i % swarms.len()].clone();
        let (counters, stop) = (counters.clone(), stop.clone());
        let (offers, idle) = (config.offers, config.idle);
        let seed = config.seed.wrapping_add(i as u64 + 1);
        peers.spawn(async move {
            let mut rng = SmallRng::seed_from_u64(seed);
            let peer_id = random_id(&mut rng);
            let (mut tx, mut rx) = ws.split();
            let mut latencies: Vec<u32> = Vec::new();
            let mut sent_at = Some(Instant::now());
            let first = announce(
                &info_hash,
                &peer_id,
                if idle { 0 } else { offers },
                &mut rng,
            );
            if tx.send(Message::text(first)).await.is_err() {
                counters.disconnects.fetch_add(1, Relaxed);
                return latencies;
            }
            counters.announces.fetch_add(1, Relaxed);
            loop {
                let frame = tokio::select! {
                    f = rx.next() => f,
                    _ = tokio::time::sleep_until(deadline) => break,
                };
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        if !stop.load(Relaxed) {
                            counters.disconnects.fetch_add(1, Relaxed);
                        }
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                counters.responses.fetch_add(1, Relaxed);
                let Ok(msg) = serde_json::from_str::<Incoming>(text.as_str()) else {
                    continue;
                };
                if msg.failure.is_some() {
                    counters.failures.fetch_add(1, Relaxed);
                }
                if msg.action.as_deref() != Some("announce") && msg.failure.is_none() {
                    continue;
                }
                if msg.offer.is_some() {
                    counters.offers.fetch_add(1, Relaxed);
                    if let (Some(from), Some(offer_id), Some(ih)) =
                        (&msg.peer_id, &msg.offer_id, &msg.info_hash)
                        && !idle
                        && tx
                            .send(Message::text(answer(ih, &peer_id, from, offer_id)))
                            .await
                            .is_err()
                    {
                        break;
                    }
                } else if msg.answer.is_some() {
                    counters.answers.fetch_add(1, Relaxed);
                } else if msg.interval.is_some() || msg.failure.is_some() {
                    // The reply to our announce: measure it, and announce again.
                    if let Some(at) = sent_at.take()
                        && latencies.len() < per_conn_samples
                    {
                        latencies.push(at.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    }
                    if idle || tokio::time::Instant::now() >= deadline {
                        continue;
                    }
                    let next = announce(&info_hash, &peer_id, offers, &mut rng);
                    sent_at = Some(Instant::now());
                    if tx.send(Message::text(next)).await.is_err() {
                        break;
                    }
                    counters.announces.fetch_add(1, Relaxed);
                }
            }
            let _ = tx.close().await;
            latencies
        });
    }
    let mut latencies: Vec<u32> = Vec::new();
    let mut stopping = false;
    // Peers end at the deadline on their own; the grace bounds a peer stuck in a send.
    let hard_stop = tokio::time::sleep_until(deadline + Duration::from_secs(10));
    tokio::pin!(hard_stop);
    loop {
        tokio::select! {
            done = peers.join_next() => match done {
                Some(Ok(l)) => latencies.extend(l),
                Some(Err(_)) => {}
                None => break,
            },
            _ = &mut hard_stop, if !stopping => {
                stopping = true;
                peers.abort_all();
            }
            _ = tokio::time::sleep_until(deadline), if !stop.load(Relaxed) => stop.store(true, Relaxed),
        }
    }
    let elapsed = started
        .elapsed()
        .min(config.duration + Duration::from_secs(10))
        .as_secs_f64()
        .max(0.001);
    let measured = config.duration.as_secs_f64().min(elapsed);
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i] as f64 / 1000.0
    };
    let responses = counters.responses.load(Relaxed);
    Ok(LoadReport {
        target: config.target.clone(),
        connections: config.connections,
        connected,
        swarms: config.swarms,
        duration_secs: measured,
        responses,
        responses_per_sec: responses as f64 / measured,
        announces: counters.announces.load(Relaxed),
        offers_received: counters.offers.load(Relaxed),
        answers_received: counters.answers.load(Relaxed),
        failures: counters.failures.load(Relaxed),
        latency_p50_ms: pct(0.50),
        latency_p99_ms: pct(0.99),
        disconnects: counters.disconnects.load(Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MAX_CONNECTIONS, MAX_DURATION};

    #[tokio::test]
    async fn bad_settings_are_refused_before_connecting() {
        for config in [
            LoadConfig {
                connections: 0,
                ..Default::default()
            },
            LoadConfig {
                connections: MAX_CONNECTIONS + 1,
                ..Default::default()
            },
            LoadConfig {
                swarms: 0,
                ..Default::default()
            },
            LoadConfig {
                duration: Duration::ZERO,
                ..Default::default()
            },
            LoadConfig {
                duration: MAX_DURATION * 2,
                ..Default::default()
            },
            LoadConfig {
                target: "http://x".into(),
                ..Default::default()
            },
            LoadConfig {
                target: "wss://x/announce".into(),
                ca_file: Some("/nonexistent/ca.pem".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(run(config).await, Err(LoadError::Settings(_))));
        }
    }

    #[tokio::test]
    async fn an_unreachable_target_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let config = LoadConfig {
            target: format!("ws://{addr}/announce"),
            connections: 2,
            ..Default::default()
        };
        assert!(matches!(run(config).await, Err(LoadError::Connect { .. })));
    }
}
