//! Storage of the time-bucketed aggregates: SQLite (embedded, the default) or PostgreSQL, chosen
//! by the URL, with one schema and the same SQL (sqlx's `any` driver). Only sums per bucket are
//! stored, never raw beacons; [`Store::purge`] drops buckets past the retention.
//!
//! Writes are additive upserts (`ON CONFLICT … DO UPDATE SET x = x + excluded.x`), so several
//! origin instances can share one PostgreSQL database.

use sqlx::AnyPool;
use sqlx::Row as _;
use sqlx::any::AnyPoolOptions;

use crate::aggregate::{
    ConnectionKey, ConnectionSums, NetworkKey, NetworkSums, Pending, Rows, StreamKey, StreamSums,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "analytics database URL {0:?} is not supported: use sqlite://PATH (or sqlite::memory:) or postgres://…"
    )]
    Scheme(String),
    #[error("cannot open the analytics database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("analytics database error: {0}")]
    Query(#[from] sqlx::Error),
}

const SCHEMA: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS mcdn_stream_buckets (
        bucket BIGINT NOT NULL, content TEXT NOT NULL, rendition TEXT NOT NULL,
        beacons BIGINT NOT NULL, viewer_ms BIGINT NOT NULL,
        http_bytes BIGINT NOT NULL, p2p_bytes BIGINT NOT NULL, up_bytes BIGINT NOT NULL,
        peer_ms BIGINT NOT NULL, stalls BIGINT NOT NULL, stall_ms BIGINT NOT NULL,
        startups BIGINT NOT NULL, startup_ms BIGINT NOT NULL,
        http_only_viewer_ms BIGINT NOT NULL, http_only_stalls BIGINT NOT NULL,
        http_only_stall_ms BIGINT NOT NULL,
        PRIMARY KEY (bucket, content, rendition))",
    "CREATE TABLE IF NOT EXISTS mcdn_network_buckets (
        bucket BIGINT NOT NULL, content TEXT NOT NULL, asn BIGINT NOT NULL,
        country TEXT NOT NULL, region TEXT NOT NULL,
        viewer_ms BIGINT NOT NULL, http_bytes BIGINT NOT NULL, p2p_bytes BIGINT NOT NULL,
        PRIMARY KEY (bucket, content, asn, country, region))",
    "CREATE TABLE IF NOT EXISTS mcdn_connection_buckets (
        bucket BIGINT NOT NULL, content TEXT NOT NULL, candidate TEXT NOT NULL,
        ok BIGINT NOT NULL, failed BIGINT NOT NULL,
        PRIMARY KEY (bucket, content, candidate))",
];

const TABLES: [&str; 3] = [
    "mcdn_stream_buckets",
    "mcdn_network_buckets",
    "mcdn_connection_buckets",
];

const STREAM_COLUMNS: [&str; 13] = [
    "beacons",
    "viewer_ms",
    "http_bytes",
    "p2p_bytes",
    "up_bytes",
    "peer_ms",
    "stalls",
    "stall_ms",
    "startups",
    "startup_ms",
    "http_only_viewer_ms",
    "http_only_stalls",
    "http_only_stall_ms",
];

/// `INSERT … ON CONFLICT (keys) DO UPDATE SET v = table.v + excluded.v` for `$1…$n` parameters.
fn upsert_sql(table: &str, keys: &[&str], values: &[&str]) -> String {
    let columns: Vec<&str> = keys.iter().chain(values).copied().collect();
    let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let sets: Vec<String> = values
        .iter()
        .map(|v| format!("{v} = {table}.{v} + excluded.{v}"))
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        columns.join(", "),
        params.join(", "),
        keys.join(", "),
        sets.join(", ")
    )
}

/// The analytics database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    stream_upsert: String,
    network_upsert: String,
    connection_upsert: String,
}

impl Store {
    /// Opens (creating the SQLite file and the tables when missing) the database at `url`:
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://user@host/db`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, connections) = if url.starts_with("sqlite:") {
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            // Create the file when missing (sqlx opens read-write only by default).
            let url = if memory || url.contains("mode=") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            // An in-memory database exists per connection: keep exactly one.
            (url, if memory { 1 } else { 4 })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (url.to_string(), 8)
        } else {
            return Err(StoreError::Scheme(url.into()));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .min_connections(if connections == 1 { 1 } else { 0 })
            // A memory database must never be closed by idling out.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect(&url)
            .await
            .map_err(|source| StoreError::Open {
                url: redact(&url),
                source,
            })?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok(Self {
            pool,
            stream_upsert: upsert_sql(
                TABLES[0],
                &["bucket", "content", "rendition"],
                &STREAM_COLUMNS,
            ),
            network_upsert: upsert_sql(
                TABLES[1],
                &["bucket", "content", "asn", "country", "region"],
                &["viewer_ms", "http_bytes", "p2p_bytes"],
            ),
            connection_upsert: upsert_sql(
                TABLES[2],
                &["bucket", "content", "candidate"],
                &["ok", "failed"],
            ),
        })
    }

    /// Adds `pending` to the stored sums, in one transaction (all or nothing).
    pub async fn write(&self, pending: &Pending) -> Result<(), StoreError> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for (k, s) in &pending.streams {
            let v = [
                s.beacons,
                s.viewer_ms,
                s.http_bytes,
                s.p2p_bytes,
                s.up_bytes,
                s.peer_ms,
                s.stalls,
                s.stall_ms,
                s.startups,
                s.startup_ms,
                s.http_only_viewer_ms,
                s.http_only_stalls,
                s.http_only_stall_ms,
            ];
            let mut q = sqlx::query(&self.stream_upsert)
                .bind(k.bucket)
                .bind(k.content.clone())
                .bind(k.rendition.clone());
            for x in v {
                q = q.bind(x);
            }
            q.execute(&mut *tx).await?;
        }
        for (k, s) in &pending.networks {
            sqlx::query(&self.network_upsert)
                .bind(k.bucket)
                .bind(k.content.clone())
                .bind(k.asn)
                .bind(k.country.clone())
                .bind(k.region.clone())
                .bind(s.viewer_ms)
                .bind(s.http_bytes)
                .bind(s.p2p_bytes)
                .execute(&mut *tx)
                .await?;
        }
        for (k, s) in &pending.connections {
            sqlx::query(&self.connection_upsert)
                .bind(k.bucket)
                .bind(k.content.clone())
                .bind(k.candidate.clone())
                .bind(s.ok)
                .bind(s.failed)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every stored bucket starting at or after `from` (Unix seconds).
    pub async fn read(&self, from: i64) -> Result<Rows, StoreError> {
        let mut rows = Rows::default();
        let sql = format!(
            "SELECT bucket, content, rendition, {} FROM {} WHERE bucket >= $1 ORDER BY bucket",
            STREAM_COLUMNS.join(", "),
            TABLES[0]
        );
        for r in sqlx::query(&sql).bind(from).fetch_all(&self.pool).await? {
            let n = |i: usize| r.try_get::<i64, _>(i);
            rows.streams.push((
                StreamKey {
                    bucket: n(0)?,
                    content: r.try_get(1)?,
                    rendition: r.try_get(2)?,
                },
                StreamSums {
                    beacons: n(3)?,
                    viewer_ms: n(4)?,
                    http_bytes: n(5)?,
                    p2p_bytes: n(6)?,
                    up_bytes: n(7)?,
                    peer_ms: n(8)?,
                    stalls: n(9)?,
                    stall_ms: n(10)?,
                    startups: n(11)?,
                    startup_ms: n(12)?,
                    http_only_viewer_ms: n(13)?,
                    http_only_stalls: n(14)?,
                    http_only_stall_ms: n(15)?,
                },
            ));
        }
        let sql = format!(
            "SELECT bucket, content, asn, country, region, viewer_ms, http_bytes, p2p_bytes FROM {} WHERE bucket >= $1",
            TABLES[1]
        );
        for r in sqlx::query(&sql).bind(from).fetch_all(&self.pool).await? {
            rows.networks.push((
                NetworkKey {
                    bucket: r.try_get(0)?,
                    content: r.try_get(1)?,
                    asn: r.try_get(2)?,
                    country: r.try_get(3)?,
                    region: r.try_get(4)?,
                },
                NetworkSums {
                    viewer_ms: r.try_get(5)?,
                    http_bytes: r.try_get(6)?,
                    p2p_bytes: r.try_get(7)?,
                },
            ));
        }
        let sql = format!(
            "SELECT bucket, content, candidate, ok, failed FROM {} WHERE bucket >= $1",
            TABLES[2]
        );
        for r in sqlx::query(&sql).bind(from).fetch_all(&self.pool).await? {
            rows.connections.push((
                ConnectionKey {
                    bucket: r.try_get(0)?,
                    content: r.try_get(1)?,
                    candidate: r.try_get(2)?,
                },
                ConnectionSums {
                    ok: r.try_get(3)?,
                    failed: r.try_get(4)?,
                },
            ));
        }
        Ok(rows)
    }

    /// Deletes buckets that start before `before` (Unix seconds). Returns the rows deleted.
    pub async fn purge(&self, before: i64) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for table in TABLES {
            deleted += sqlx::query(&format!("DELETE FROM {table} WHERE bucket < $1"))
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(deleted)
    }

    /// Closes the pool (waits for connections in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The URL without its password, for error messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.into(),
            }
        }
        _ => url.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upserts_add_to_the_stored_values() {
        assert_eq!(
            upsert_sql("t", &["k"], &["a", "b"]),
            "INSERT INTO t (k, a, b) VALUES ($1, $2, $3) ON CONFLICT (k) DO UPDATE SET a = t.a + excluded.a, b = t.b + excluded.b"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://a.db"), "sqlite://a.db");
    }
}
