//! The proxy's HTTPS: a certificate file and a key secret, or an ACME account; an HTTPS port
//! of its own.

use std::time::Duration;

use crate::diagnostic::Diagnostic;
use crate::model::{self, EnvValue};
use crate::valid::{Acme, Tls, TlsSource};

/// How long before expiry an ACME certificate is renewed when the topology does not say
/// (Let's Encrypt's certificates last 90 days; its clients renew with 30 left).
pub const DEFAULT_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// `[proxy] tls` and `https_port`, checked.
pub(super) fn tls(proxy: &model::Proxy, out: &mut Vec<Diagnostic>) -> Option<Tls> {
    let https_port = proxy.https_port.as_ref().map_or(443, |p| **p);
    if let Some(port) = &proxy.https_port {
        if **port == 0 || **port == *proxy.port {
            out.push(
                Diagnostic::error(
                    "invalid-port",
                    format!("{} cannot be the HTTPS port", **port),
                )
                .at(port.span(), "0, or the HTTP port")
                .help("give HTTPS a host port of its own (443 by default)"),
            );
        }
        if proxy.tls.is_none() {
            out.push(
                Diagnostic::error("invalid-value", "`https_port` without `tls`")
                    .at(port.span(), "nothing serves HTTPS")
                    .help("add `tls = { certificate = \"…\", key = { secret = \"TLS_KEY\" } }` or `tls = { acme = { … } }`, or remove the key"),
            );
        }
    }
    let tls = proxy.tls.as_ref()?;
    let source = match (&tls.certificate, &tls.key, &tls.acme) {
        (Some(certificate), Some(key), None) => files(certificate, key, out),
        (None, None, Some(acme)) => TlsSource::Acme(self::acme(acme, out)),
        _ => {
            out.push(
                Diagnostic::error("invalid-value", "`tls` takes either `certificate` and `key`, or `acme`")
                    .at(tls.span(), "one source of certificates")
                    .help("write `tls = { certificate = \"deploy/tls/fullchain.pem\", key = { secret = \"TLS_KEY\" } }` or `tls = { acme = { email = \"ops@example.com\", domains = [\"example.com\"] } }`"),
            );
            return None;
        }
    };
    Some(Tls { source, https_port })
}

/// A certificate inside the repository, a key that is a secret without a default.
fn files(
    certificate: &crate::Spanned<String>,
    key: &crate::Spanned<EnvValue>,
    out: &mut Vec<Diagnostic>,
) -> TlsSource {
    let path = certificate.as_str();
    if path.is_empty() || super::path_escapes(path) {
        out.push(
            Diagnostic::error("invalid-path", format!("`{path}` is not a path inside the repository"))
                .at(certificate.span(), "relative to the topology's directory, without `..`")
                .help("commit the certificate chain (it is public) beside the topology: \"deploy/tls/fullchain.pem\""),
        );
    }
    let key_variable = match key.get() {
        EnvValue::Secret {
            var,
            dev: None,
            file: None | Some(true),
        } => var.clone(),
        _ => {
            out.push(
                Diagnostic::error("literal-secret", "the proxy's private key must be a secret without a default")
                    .at(key.span(), "not a secret")
                    .help("write `key = { secret = \"TLS_KEY\" }`: the deploying environment's variable holds the PEM key"),
            );
            String::new()
        }
    };
    TlsSource::Files {
        certificate: path.to_owned(),
        key_variable,
    }
}

/// An ACME account: a contact address, DNS names, an HTTPS directory, a renewal margin.
fn acme(acme: &crate::Spanned<model::Acme>, out: &mut Vec<Diagnostic>) -> Acme {
    let email = acme.email.as_str();
    let plausible = email.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && host.contains('.') && !email.contains(char::is_whitespace)
    });
    if !plausible {
        out.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{email}` is not an e-mail address"),
            )
            .at(acme.email.span(), "the account's contact")
            .help("the CA writes here about expiry: \"ops@shop.example\""),
        );
    }
    if acme.domains.is_empty() {
        out.push(
            Diagnostic::error(
                "invalid-value",
                "an ACME certificate needs at least one domain",
            )
            .at(acme.domains.span(), "empty")
            .help("list the names clients use: [\"shop.example\", \"www.shop.example\"]"),
        );
    }
    for domain in acme.domains.iter() {
        if !is_dns_name(domain) {
            out.push(
                Diagnostic::error("invalid-value", format!("`{}` is not a DNS name", domain.as_str()))
                    .at(domain.span(), "HTTP-01 validates names, not addresses or wildcards")
                    .help("a name such as \"shop.example\" (wildcards need DNS-01, which topo does not do)"),
            );
        }
    }
    let directory = acme
        .directory
        .as_ref()
        .map_or(model::Proxy::LETS_ENCRYPT, |d| d.as_str());
    if let Some(written) = acme
        .directory
        .as_ref()
        .filter(|d| !d.starts_with("https://"))
    {
        out.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` is not an https:// URL", written.as_str()),
            )
            .at(written.span(), "ACME speaks HTTPS only")
            .help(format!("e.g. \"{}\"", model::Proxy::LETS_ENCRYPT)),
        );
    }
    if let Some(root) = acme
        .ca_certificate
        .as_ref()
        .filter(|r| r.is_empty() || super::path_escapes(r))
    {
        out.push(
            Diagnostic::error(
                "invalid-path",
                format!("`{}` is not a path inside the repository", root.as_str()),
            )
            .at(
                root.span(),
                "relative to the topology's directory, without `..`",
            )
            .help("commit the private CA's root certificate beside the topology"),
        );
    }
    let renew_before = match &acme.renew_before {
        None => DEFAULT_RENEW_BEFORE,
        Some(text) => humantime::parse_duration(text).unwrap_or_else(|_| {
            out.push(
                Diagnostic::error(
                    "invalid-duration",
                    format!("`{}` is not a duration", text.as_str()),
                )
                .at(text.span(), "e.g. \"30d\"")
                .help("how long before expiry to renew"),
            );
            DEFAULT_RENEW_BEFORE
        }),
    };
    Acme {
        email: email.to_owned(),
        domains: acme.domains.iter().map(|d| d.to_lowercase()).collect(),
        directory: directory.to_owned(),
        ca_certificate: acme.ca_certificate.as_ref().map(|c| c.to_string()),
        renew_before,
    }
}

/// A DNS name HTTP-01 can validate: labels of letters, digits and inner hyphens.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && !name
            .split('.')
            .all(|l| l.chars().all(|c| c.is_ascii_digit()))
}
