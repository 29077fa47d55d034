//! The deploy lock's lease. Whether a holder on *this* host is alive can be asked of the
//! process table; a holder on another machine (another CI runner) cannot be asked anything.
//! So a holder renews a lease while it works: every third of the lease it writes the time
//! into the lock container (`/topo-lease`, through the archive API: the lock container is
//! never started). A lock whose lease ran out was left by a deploy that died, and the next
//! deploy takes it over.
//!
//! Times are the *engine's* clock (its `/info` system time, offset from the local clock once
//! per process), so holder and waiter on machines whose clocks disagree still compare two
//! readings of one clock.

use std::time::{Duration, SystemTime};

use crate::engine::Engine;
use crate::error::SimError;
use crate::lifecycle::{read_file, write_files, Upload};

/// Where the lease's last renewal is written inside the lock container.
const FILE: &str = "/topo-lease";

/// The lease a deploy takes unless told otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// The engine's clock: the local clock plus the engine's offset from it.
#[derive(Clone, Copy, Debug)]
pub(super) struct EngineClock {
    /// Engine time minus local time, in milliseconds (signed).
    offset_ms: i128,
}

impl EngineClock {
    /// Reads the engine's time once. An engine whose time cannot be read is taken to agree
    /// with the local clock.
    pub(super) async fn read(engine: &Engine) -> EngineClock {
        let local = unix_ms(SystemTime::now());
        let engine_ms = match engine.docker().info().await {
            Ok(info) => info.system_time.as_deref().and_then(parse_rfc3339_ms),
            Err(_) => None,
        };
        EngineClock {
            offset_ms: engine_ms.map_or(0, |engine_ms| engine_ms - local),
        }
    }

    /// Now, on the engine's clock, in Unix milliseconds.
    pub(super) fn now_ms(self) -> i128 {
        unix_ms(SystemTime::now()) + self.offset_ms
    }
}

/// Writes a renewal (now, on the engine's clock) into the lock container `lock`.
pub(super) async fn renew(engine: &Engine, lock: &str, clock: EngineClock) -> Result<(), SimError> {
    let file = Upload::text(FILE, format!("{}\n", clock.now_ms() / 1000));
    write_files(engine, lock, std::slice::from_ref(&file)).await
}

/// How long ago (engine clock) the lease in `lock` was last renewed; `None` when it holds
/// no renewal yet (a lock being taken this instant, or one from a topo without leases).
pub(super) async fn since_renewal(
    engine: &Engine,
    lock: &str,
    clock: EngineClock,
) -> Result<Option<Duration>, SimError> {
    let Some(bytes) = read_file(engine, lock, FILE).await? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    let Ok(renewed_s) = text.trim().parse::<i128>() else {
        return Ok(None);
    };
    let ago_ms = (clock.now_ms() - renewed_s * 1000).max(0);
    Ok(Some(Duration::from_millis(
        u64::try_from(ago_ms).unwrap_or(u64::MAX),
    )))
}

/// Renews the lease in the background until dropped (when the deploy ends, however it ends;
/// a killed process renews nothing, which is the point).
#[derive(Debug)]
pub(super) struct Renewal {
    task: tokio::task::JoinHandle<()>,
}

impl Renewal {
    /// Starts renewing `lock` every third of `lease`.
    pub(super) fn start(
        engine: Engine,
        lock: String,
        lease: Duration,
        clock: EngineClock,
    ) -> Renewal {
        let every = (lease / 3).max(Duration::from_millis(200));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                // A failed renewal (the lock broken by hand, the engine briefly away) is
                // retried at the next tick; the lease is three ticks long.
                let _ = renew(&engine, &lock, clock).await;
            }
        });
        Renewal { task }
    }
}

impl Drop for Renewal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn unix_ms(time: SystemTime) -> i128 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => since.as_millis() as i128,
        Err(before) => -(before.duration().as_millis() as i128),
    }
}

/// An RFC 3339 time (the engine writes its local offset, `+01:00` or `Z`) in Unix ms.
fn parse_rfc3339_ms(text: &str) -> Option<i128> {
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(parsed.unix_timestamp_nanos() / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339_ms;

    #[test]
    fn engine_times_with_any_offset_read_as_one_instant() {
        let utc = parse_rfc3339_ms("2026-12-02T08:11:43.123456789Z").expect("utc");
        let paris = parse_rfc3339_ms("2026-12-02T09:11:43.123456789+01:00").expect("offset");
        assert_eq!(utc, paris);
        assert_eq!(utc % 1000, 123);
        assert!(parse_rfc3339_ms("yesterday").is_none());
    }
}
