//! The hardening keys (`resources`, `capabilities`, `drop_capabilities`, `read_only`,
//! `writable`) read over the defaults of the container's kind.

use crate::diagnostic::Diagnostic;
use crate::model::HardeningKeys;
use crate::valid::{Hardening, HardeningDefaults, Memory};

/// Linux's capabilities, as the engine names them (without `CAP_`).
const CAPABILITIES: [&str; 41] = [
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
];

/// The engine refuses a memory limit under 6 MiB.
const MIN_MEMORY: u64 = 6 * 1024 * 1024;

/// Reads the keys over `defaults`.
pub(super) fn hardening(
    keys: HardeningKeys<'_>,
    defaults: HardeningDefaults,
    out: &mut Vec<Diagnostic>,
) -> Hardening {
    let resources = keys.resources.as_ref().map(|r| r.get().clone());
    let resources = resources.unwrap_or_default();
    let memory = match &resources.memory {
        None => Some(memory_of(defaults.memory).expect("the defaults are valid")),
        Some(written) if written.as_str() == "unlimited" => None,
        Some(written) => match memory_of(written) {
            Some(memory) if memory.bytes >= MIN_MEMORY => Some(memory),
            Some(_) => {
                out.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!(
                            "`{}` is below the engine's minimum memory limit (6m)",
                            written.as_str()
                        ),
                    )
                    .at(written.span(), "too small")
                    .help("give at least \"6m\", or \"unlimited\""),
                );
                None
            }
            None => {
                out.push(
                    Diagnostic::error("invalid-value", format!("`{}` is not a memory size", written.as_str()))
                        .at(written.span(), "unreadable")
                        .help("a number and a unit of 1024, as the engine reads it: \"512m\", \"2g\"; or \"unlimited\""),
                );
                None
            }
        },
    };
    let millicpus = match &resources.cpus {
        None => Some(defaults.millicpus),
        Some(cpus) if **cpus == 0.0 => None,
        Some(cpus) if cpus.is_finite() && **cpus > 0.0 && **cpus <= 1024.0 => {
            Some((**cpus * 1000.0).round().max(1.0) as u32)
        }
        Some(cpus) => {
            out.push(
                Diagnostic::error("invalid-value", format!("{} is not a CPU limit", **cpus))
                    .at(cpus.span(), "out of range")
                    .help("a positive number of CPUs (0.5, 2), or 0 for no limit"),
            );
            None
        }
    };
    let pids = match &resources.pids {
        None => Some(defaults.pids),
        Some(pids) if **pids == 0 => None,
        Some(pids) => Some(**pids),
    };
    Hardening {
        memory,
        millicpus,
        pids,
        drop_capabilities: keys.drop_capabilities.as_ref().is_none_or(|d| **d),
        capabilities: capabilities(keys, defaults, out),
        read_only: keys.read_only.as_ref().map_or(defaults.read_only, |r| **r),
        writable: writable(keys, defaults, out),
    }
}

/// The capabilities added back: as written (upper-cased, `CAP_` dropped), else the kind's.
fn capabilities(
    keys: HardeningKeys<'_>,
    defaults: HardeningDefaults,
    out: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let Some(written) = keys.capabilities else {
        return defaults
            .capabilities
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
    };
    let mut names: Vec<String> = Vec::new();
    for capability in written.iter() {
        let upper = capability.to_ascii_uppercase();
        let name = upper.strip_prefix("CAP_").unwrap_or(&upper).to_owned();
        if CAPABILITIES.contains(&name.as_str()) {
            names.push(name);
            continue;
        }
        let mut error = Diagnostic::error(
            "unknown-capability",
            format!("`{}` is not a Linux capability", capability.as_str()),
        )
        .at(capability.span(), "unknown");
        if let Some(near) = CAPABILITIES
            .iter()
            .min_by_key(|c| strsim::levenshtein(c, &name))
            .filter(|c| strsim::levenshtein(c, &name) <= 3)
        {
            error = error.help(format!("did you mean `{near}`?"));
        } else {
            error =
                error.help("see `man 7 capabilities` (written without `CAP_`: `NET_BIND_SERVICE`)");
        }
        out.push(error);
    }
    names.sort();
    names.dedup();
    names
}

/// The tmpfs paths: `/run`, `/tmp`, the kind's own and the written ones, each absolute.
fn writable(
    keys: HardeningKeys<'_>,
    defaults: HardeningDefaults,
    out: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let mut paths: Vec<String> = HardeningDefaults::ALWAYS_WRITABLE
        .iter()
        .chain(defaults.writable)
        .map(|p| (*p).to_owned())
        .collect();
    for path in keys.writable.iter().flat_map(|w| w.iter()) {
        let text = path.as_str();
        if !text.starts_with('/') || text.split('/').any(|part| part == "..") || text == "/" {
            out.push(
                Diagnostic::error("invalid-path", format!("`{text}` is not a writable path"))
                    .at(path.span(), "must be absolute, below `/`, without `..`")
                    .help("an absolute path inside the container: \"/usr/src/app/.cache\""),
            );
            continue;
        }
        paths.push(text.trim_end_matches('/').to_owned());
    }
    paths.sort();
    paths.dedup();
    paths
}

/// A memory size as the engine reads it (`RAMInBytes`: a number, then `b`, `k`, `m`, `g`,
/// `t` or `p`, optionally followed by `b` or `ib`; every unit is a power of 1024).
pub(crate) fn memory_of(text: &str) -> Option<Memory> {
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let number: f64 = number.parse().ok()?;
    let unit = unit.trim();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b').filter(|u| !u.is_empty()))
        .unwrap_or(unit);
    let power = match unit {
        "" | "b" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return None,
    };
    let bytes = number * 1024f64.powi(power);
    (bytes.is_finite() && bytes >= 1.0).then(|| Memory {
        text: text.trim().to_owned(),
        bytes: bytes as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::memory_of;

    fn check(input: &str, expect: Option<u64>) {
        assert_eq!(memory_of(input).map(|m| m.bytes), expect, "{input}");
    }

    #[test]
    fn memory_sizes_read_as_the_engine_reads_them() {
        check("512m", Some(512 << 20));
        check("2g", Some(2 << 30));
        check("2GB", Some(2 << 30));
        check("1.5g", Some(3 << 29));
        check("64MiB", Some(64 << 20));
        check("1048576", Some(1 << 20));
        check("100kb", Some(100 << 10));
        check("lots", None);
        check("12q", None);
        check("", None);
    }
}
