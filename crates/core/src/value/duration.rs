//! Durations as Compose writes them (`10s`, `1m30s`, `500ms`) and as topo reads them.

use std::time::Duration;

/// A positive duration such as `10s`, `1m30s` or `500ms`; `None` for anything else,
/// zero included (Compose and the engine treat a zero interval as "the default").
pub fn parse_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
}

/// A duration as Compose writes it: `10s`, `1m30s`, `1h`, `500ms`.
pub fn compose_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if !millis.is_multiple_of(1000) {
        return format!("{millis}ms");
    }
    let seconds = duration.as_secs();
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut out = String::new();
    if hours > 0 {
        out += &format!("{hours}h");
    }
    if minutes > 0 {
        out += &format!("{minutes}m");
    }
    if seconds > 0 || out.is_empty() {
        out += &format!("{seconds}s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (secs, millis, expect) in [
            (10, 0, "10s"),
            (90, 0, "1m30s"),
            (3600, 0, "1h"),
            (0, 500, "500ms"),
            (1, 500, "1500ms"),
            (0, 0, "0s"),
        ] {
            let duration = Duration::from_secs(secs) + Duration::from_millis(millis);
            assert_eq!(compose_duration(duration), expect);
            if duration > Duration::ZERO {
                assert_eq!(parse_duration(expect), Some(duration), "{expect}");
            }
        }
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("soon"), None);
    }
}
