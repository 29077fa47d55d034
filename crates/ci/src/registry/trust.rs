//! Whom the client trusts, as the engine does: the system's roots, a registry's own CA and
//! client certificate in the engine's `certs.d`, and plain HTTP on loopback addresses.

use std::path::PathBuf;

/// The system's roots, the registry's CAs from the engine's `certs.d`, and its client
/// certificate there if any.
pub(super) fn tls_for(host: &str) -> ureq::tls::TlsConfig {
    let mut roots: Vec<ureq::tls::Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    let mut client = None;
    for directory in certs_directories(host) {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for file in &files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.ends_with(".crt") {
                if let Ok(pem) = std::fs::read(file) {
                    roots.extend(
                        ureq::tls::parse_pem(&pem)
                            .filter_map(Result::ok)
                            .filter_map(|item| match item {
                                ureq::tls::PemItem::Certificate(c) => Some(c),
                                _ => None,
                            }),
                    );
                }
            } else if name.ends_with(".cert") {
                let key = file.with_extension("key");
                if let (Ok(cert), Ok(key)) = (std::fs::read(file), std::fs::read(&key)) {
                    let chain: Vec<_> = ureq::tls::parse_pem(&cert)
                        .filter_map(Result::ok)
                        .filter_map(|item| match item {
                            ureq::tls::PemItem::Certificate(c) => Some(c),
                            _ => None,
                        })
                        .collect();
                    if let Ok(key) = ureq::tls::PrivateKey::from_pem(&key) {
                        client = Some(ureq::tls::ClientCert::new_with_certs(&chain, key));
                    }
                }
            }
        }
    }
    let roots = if roots.is_empty() {
        ureq::tls::RootCerts::WebPki
    } else {
        roots.into()
    };
    ureq::tls::TlsConfig::builder()
        .root_certs(roots)
        .client_cert(client)
        .build()
}

/// Where the engine looks for a registry's certificates.
fn certs_directories(host: &str) -> Vec<PathBuf> {
    let mut directories = vec![PathBuf::from("/etc/docker/certs.d").join(host)];
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(config) = config {
        directories.push(config.join("docker/certs.d").join(host));
    }
    directories
}

pub(super) fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_recognised() {
        for host in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "localhost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["ghcr.io", "10.0.0.1:5000", "registry.local:443"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
