//! Health checks read back: the HTTP probes topo writes (wget, curl, node) become
//! `{ http, port, probe }`, looser HTTP probes are recognised with a note, anything else
//! stays a command; timings are kept only when they are not topo's defaults.

use std::time::Duration;

use crate::compose::Node;
use crate::model::Probe;

use super::document::Toml;
use super::{Note, Seen};
use crate::value::parse_duration as duration;

/// A health check as the topology can say it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Check {
    /// What is run.
    pub test: Test,
    /// Non-default timings, as written: interval, timeout, start period.
    pub interval: Option<String>,
    /// See `interval`.
    pub timeout: Option<String>,
    /// Non-default retries.
    pub retries: Option<u32>,
    /// See `interval`.
    pub start_period: Option<String>,
}

/// What a health check runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Test {
    /// An HTTP probe of `path` on the container port `port`.
    Http {
        /// The path (`/health`).
        path: String,
        /// The container port.
        port: u16,
        /// The program making the request.
        probe: Probe,
    },
    /// A command, exec form.
    Command(Vec<String>),
}

const DEFAULTS: [(&str, Duration); 3] = [
    ("interval", Duration::from_secs(10)),
    ("timeout", Duration::from_secs(5)),
    ("start_period", Duration::from_secs(30)),
];
const DEFAULT_RETRIES: i64 = 5;

/// The health check `seen` writes, or `None` when it has none (or disables it), with
/// what the user must check.
pub(super) fn read(seen: &Seen<'_>) -> Option<(Check, Vec<Note>)> {
    let node = seen.view.get("healthcheck")?;
    if !seen.view.has_healthcheck() {
        return None;
    }
    let mut notes = Vec::new();
    let words: Vec<String> = test_words(node.get("test")?)?
        .into_iter()
        .map(|word| {
            super::values::literal(&word).unwrap_or_else(|raw| {
                notes.push(seen.note(node.pos, format!("the health check's `{raw}` reads a variable; topo writes it literally (`$` escaped)")));
                raw
            })
        })
        .collect();
    let (test, guess) = recognise(&words);
    if let Some(guess) = guess {
        notes.push(seen.note(node.get("test").map_or(node.pos, |t| t.pos), guess));
    }
    let mut timings: [Option<String>; 3] = [None, None, None];
    for (slot, (key, default)) in DEFAULTS.iter().enumerate() {
        let Some(value) = node.get(key) else { continue };
        let text = value.scalar().unwrap_or_default();
        match duration(&text) {
            Some(d) if d == *default => {}
            Some(_) => timings[slot] = Some(text),
            None => notes.push(seen.note(value.pos, format!("the health check's {key} `{text}` is not a duration topo reads: topo's default applies"))),
        }
    }
    let retries = match node
        .get("retries")
        .map(|r| (r, r.scalar().and_then(|t| t.parse::<i64>().ok())))
    {
        None | Some((_, Some(DEFAULT_RETRIES))) => None,
        Some((_, Some(n))) if n >= 1 => u32::try_from(n).ok(),
        Some((r, _)) => {
            notes.push(seen.note(
                r.pos,
                "the health check's retries are not a positive number: topo's default (5) applies",
            ));
            None
        }
    };
    for (key, value) in node.entries() {
        if ![
            "test",
            "interval",
            "timeout",
            "retries",
            "start_period",
            "disable",
        ]
        .contains(&key.text.as_str())
        {
            notes.push(seen.note(
                key.pos,
                format!(
                    "the health check's `{}: {}` cannot be written in the topology: dropped",
                    key.text,
                    value.scalar().unwrap_or_else(|| "…".to_owned())
                ),
            ));
        }
    }
    let [interval, timeout, start_period] = timings;
    Some((
        Check {
            test,
            interval,
            timeout,
            retries,
            start_period,
        },
        notes,
    ))
}

/// The test as exec-form words: `CMD-SHELL x` and a plain string run `sh -c x`.
fn test_words(test: &Node) -> Option<Vec<String>> {
    if let Some(text) = test.as_str() {
        return Some(shell(text));
    }
    let items: Vec<String> = test.items().iter().filter_map(Node::scalar).collect();
    match items.split_first() {
        Some((kind, rest)) if kind == "CMD" => Some(rest.to_vec()),
        Some((kind, rest)) if kind == "CMD-SHELL" => Some(shell(&rest.join(" "))),
        _ => None,
    }
}

fn shell(text: &str) -> Vec<String> {
    vec!["sh".to_owned(), "-c".to_owned(), text.to_owned()]
}

/// topo's own probes exactly; otherwise a wget or curl call of a local URL, as a guess.
fn recognise(words: &[String]) -> (Test, Option<String>) {
    let exact = |probe: Probe, url: &str| {
        local_url(url).map(|(port, path)| Test::Http { path, port, probe })
    };
    let words_str: Vec<&str> = words.iter().map(String::as_str).collect();
    let found = match words_str.as_slice() {
        ["wget", "-q", "-O", "/dev/null", url] => exact(Probe::Wget, url),
        ["curl", "-fsS", "-o", "/dev/null", url] => exact(Probe::Curl, url),
        ["python3", "-c", script] => script
            .strip_prefix("import urllib.request; urllib.request.urlopen('")
            .and_then(|s| s.strip_suffix("', timeout=5)"))
            .and_then(|url| exact(Probe::Python, url)),
        ["node", "-e", script] => script
            .strip_prefix("fetch('")
            .and_then(|s| {
                s.strip_suffix("').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))")
            })
            .and_then(|url| exact(Probe::Node, url)),
        _ => None,
    };
    if let Some(test) = found {
        return (test, None);
    }
    let line = words.join(" ");
    let program = if line.contains("curl") {
        Some(Probe::Curl)
    } else if line.contains("wget") {
        Some(Probe::Wget)
    } else {
        None
    };
    let url = line
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .find_map(local_url);
    match (program, url) {
        (Some(probe), Some((port, path))) => (
            Test::Http { path: path.clone(), port, probe },
            Some(format!(
                "guessed an HTTP check of `{path}` on port {port} from `{line}`: topo probes with `{}` (a non-2xx answer fails it)",
                probe_command(probe, port, &path)
            )),
        ),
        _ => (Test::Command(words.to_vec()), None),
    }
}

fn probe_command(probe: Probe, port: u16, path: &str) -> String {
    let url = format!("http://127.0.0.1:{port}{path}");
    match probe {
        Probe::Wget => format!("wget -q -O /dev/null {url}"),
        Probe::Curl => format!("curl -fsS -o /dev/null {url}"),
        Probe::Node => format!("node -e \"fetch('{url}')…\""),
        Probe::Python => {
            format!("python3 -c \"import urllib.request; urllib.request.urlopen('{url}')…\"")
        }
    }
}

/// `http://127.0.0.1:3000/health` (or localhost, 0.0.0.0; port 80 when none) → (3000, `/health`).
fn local_url(url: &str) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (authority, 80),
    };
    ["127.0.0.1", "localhost", "0.0.0.0", "[::1]"]
        .contains(&host)
        .then_some((port, path))
}

/// `{ http = …, port = …, probe = …, interval = … }` or `{ command = [...], … }`.
pub(super) fn to_toml(check: &Check) -> Toml {
    let mut entries = Vec::new();
    match &check.test {
        Test::Http { path, port, probe } => {
            entries.push(("http".to_owned(), Toml::str(path)));
            entries.push(("port".to_owned(), Toml::Int(i64::from(*port))));
            match probe {
                Probe::Wget => {}
                Probe::Curl => entries.push(("probe".to_owned(), Toml::str("curl"))),
                Probe::Node => entries.push(("probe".to_owned(), Toml::str("node"))),
                Probe::Python => entries.push(("probe".to_owned(), Toml::str("python"))),
            }
        }
        Test::Command(words) => entries.push(("command".to_owned(), Toml::strings(words))),
    }
    entries.extend(timings(check));
    Toml::Inline(entries)
}

/// The non-default timings as `key = value` pairs.
pub(super) fn timings(check: &Check) -> Vec<(String, Toml)> {
    let mut entries = Vec::new();
    if let Some(interval) = &check.interval {
        entries.push(("interval".to_owned(), Toml::str(interval)));
    }
    if let Some(timeout) = &check.timeout {
        entries.push(("timeout".to_owned(), Toml::str(timeout)));
    }
    if let Some(retries) = check.retries {
        entries.push(("retries".to_owned(), Toml::Int(i64::from(retries))));
    }
    if let Some(start_period) = &check.start_period {
        entries.push(("start_period".to_owned(), Toml::str(start_period)));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(words: &[&str], expect: &str) {
        let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        let (test, guess) = recognise(&words);
        let got = match test {
            Test::Http { path, port, probe } => format!("http {path} {port} {probe:?}"),
            Test::Command(words) => format!("command {}", words.join(" ")),
        };
        let got = if guess.is_some() {
            format!("{got} (guessed)")
        } else {
            got
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn probes() {
        check(
            &[
                "wget",
                "-q",
                "-O",
                "/dev/null",
                "http://127.0.0.1:3000/health",
            ],
            "http /health 3000 Wget",
        );
        check(
            &[
                "curl",
                "-fsS",
                "-o",
                "/dev/null",
                "http://127.0.0.1:8080/healthz",
            ],
            "http /healthz 8080 Curl",
        );
        check(
            &["node", "-e", "fetch('http://127.0.0.1:3000/').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"],
            "http / 3000 Node",
        );
        check(
            &["sh", "-c", "curl -f http://localhost:3000/health || exit 1"],
            "http /health 3000 Curl (guessed)",
        );
        check(
            &["wget", "--spider", "-q", "http://localhost/"],
            "http / 80 Wget (guessed)",
        );
        check(&["pg_isready", "-U", "app"], "command pg_isready -U app");
        check(
            &["curl", "-f", "http://example.com/"],
            "command curl -f http://example.com/",
        );
    }
}
