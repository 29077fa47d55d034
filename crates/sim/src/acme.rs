//! The proxy's certificate from an ACME server (RFC 8555, the protocol Let's Encrypt
//! speaks): issued over the HTTP-01 challenge the running proxy answers on port 80, kept in
//! the proxy's `acme` volume with the account, renewed when it comes within `renew_before`
//! of expiry. A failed issuance leaves the served certificate in place and says why.

use std::path::Path;
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use serde::{Deserialize, Serialize};
use topo_core::spec::TlsSpec;
use topo_core::valid::Acme;

use crate::engine::Engine;
use crate::error::SimError;
use crate::lifecycle::{exec, read_file, write_files, Upload};

/// The issuer of the placeholder certificate nginx starts with before the first issuance.
const PLACEHOLDER_ISSUER: &str = "topo placeholder (no certificate issued yet)";
/// How long an order may take from the first challenge to the certificate.
const ORDER_DEADLINE: Duration = Duration::from_secs(120);

/// What a certificate check did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertificateAction {
    /// The first certificate was issued (the placeholder is gone).
    Issued,
    /// A new certificate replaced one near expiry (or for other names, or when asked).
    Renewed,
    /// The served certificate is good for longer than the renewal margin.
    Kept,
    /// Issuance failed; the previous certificate (or the placeholder) is still served.
    Failed,
    /// A dry run: a deploy would have it issued or renewed now.
    Due,
}

/// The proxy's certificate after a check: what was done, and what is served.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateReport {
    /// What was done.
    pub action: CertificateAction,
    /// The names the served certificate covers.
    pub names: Vec<String>,
    /// When the served certificate expires (RFC 3339), unless it is the placeholder.
    pub expires: Option<String>,
    /// Why (the renewal's reason, or the failure).
    pub detail: String,
}

/// A self-signed certificate for `names` and its key (PEM): what nginx serves until the
/// first issuance.
pub(crate) fn placeholder(names: &[String]) -> Result<(String, String), SimError> {
    let failed = |e: rcgen::Error| SimError::Engine {
        context: "making the proxy's placeholder certificate".to_owned(),
        detail: e.to_string(),
    };
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(failed)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, PLACEHOLDER_ISSUER);
    let key = rcgen::KeyPair::generate().map_err(failed)?;
    let certificate = params.self_signed(&key).map_err(failed)?;
    Ok((certificate.pem(), key.serialize_pem()))
}

/// The certificate nginx serves: its names, its expiry, whether it is the placeholder.
struct Served {
    names: Vec<String>,
    not_after: time::OffsetDateTime,
    placeholder: bool,
}

fn served(pem: &[u8]) -> Option<Served> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let certificate = pem.parse_x509().ok()?;
    let mut names: Vec<String> = certificate
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    x509_parser::extensions::GeneralName::DNSName(dns) => Some(dns.to_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let placeholder = certificate
        .issuer()
        .iter_common_name()
        .any(|cn| cn.as_str() == Ok(PLACEHOLDER_ISSUER));
    Some(Served {
        names,
        not_after: certificate.validity().not_after.to_datetime(),
        placeholder,
    })
}

/// Checks the certificate the running proxy `proxy` serves and has a new one issued when
/// there is none yet, it covers other names, it expires within `acme.renew_before`, or
/// `force`. `root` is the repository (for `ca_certificate`). Never an error: a failure is a
/// report, and the proxy keeps serving what it served.
pub async fn certify(
    engine: &Engine,
    proxy: &str,
    tls: &TlsSpec,
    acme: &Acme,
    root: &Path,
    force: bool,
) -> CertificateReport {
    let (reason, current) = match due(engine, proxy, tls, acme, force).await {
        Ok(due) => due,
        Err(report) => return report,
    };
    let mut wanted = acme.domains.clone();
    wanted.sort();
    let first = current.as_ref().is_none_or(|c| c.placeholder);
    match issue(engine, proxy, tls, acme, root).await {
        Ok(not_after) => CertificateReport {
            action: if first {
                CertificateAction::Issued
            } else {
                CertificateAction::Renewed
            },
            names: wanted,
            expires: Some(rfc3339(not_after)),
            detail: reason,
        },
        Err(error) => failed(
            acme,
            current.as_ref(),
            format!("{reason}, and issuance failed: {error}"),
        ),
    }
}

/// What a deploy would do about the certificate, changing nothing (`--dry-run`): `kept`, or
/// `due` with the reason.
pub async fn preview(
    engine: &Engine,
    proxy: &str,
    tls: &TlsSpec,
    acme: &Acme,
    force: bool,
) -> CertificateReport {
    match due(engine, proxy, tls, acme, force).await {
        Ok((reason, current)) => CertificateReport {
            action: CertificateAction::Due,
            names: acme.domains.clone(),
            expires: current
                .filter(|c| !c.placeholder)
                .map(|c| rfc3339(c.not_after)),
            detail: format!("{reason}: a deploy would order one"),
        },
        Err(report) => report,
    }
}

/// Whether a certificate must be ordered, and why, with what is served now; `Err` with the
/// report when nothing is to be ordered (kept) or the served one cannot be read.
async fn due(
    engine: &Engine,
    proxy: &str,
    tls: &TlsSpec,
    acme: &Acme,
    force: bool,
) -> Result<(String, Option<Served>), CertificateReport> {
    let current = match read_file(engine, proxy, &tls.certificate).await {
        Ok(bytes) => bytes.as_deref().and_then(served),
        Err(error) => {
            return Err(CertificateReport {
                action: CertificateAction::Failed,
                names: acme.domains.clone(),
                expires: None,
                detail: format!("reading the served certificate: {error}; nothing was changed"),
            })
        }
    };
    let mut wanted = acme.domains.clone();
    wanted.sort();
    let now = time::OffsetDateTime::now_utc();
    let reason = match &current {
        None => Some("no certificate yet".to_owned()),
        Some(served) if served.placeholder => Some("no certificate yet".to_owned()),
        Some(served) if served.names != wanted => Some(format!(
            "the served certificate is for {}, the topology asks for {}",
            served.names.join(", "),
            wanted.join(", ")
        )),
        Some(served) if served.not_after - now < acme.renew_before => {
            Some(format!("it expires {}", rfc3339(served.not_after)))
        }
        Some(_) if force => Some("renewal asked for".to_owned()),
        Some(_) => None,
    };
    let Some(reason) = reason else {
        let served = current.expect("kept only when a certificate is served");
        let detail = format!(
            "valid until {}; renewed from {} before",
            rfc3339(served.not_after),
            humantime::format_duration(acme.renew_before)
        );
        return Err(CertificateReport {
            action: CertificateAction::Kept,
            names: served.names,
            expires: Some(rfc3339(served.not_after)),
            detail,
        });
    };
    Ok((reason, current))
}

fn failed(acme: &Acme, current: Option<&Served>, detail: String) -> CertificateReport {
    let still = match current {
        Some(served) if !served.placeholder => {
            format!(
                "; still serving the certificate valid until {}",
                rfc3339(served.not_after)
            )
        }
        _ => "; still serving the self-signed placeholder".to_owned(),
    };
    CertificateReport {
        action: CertificateAction::Failed,
        names: acme.domains.clone(),
        expires: current
            .filter(|c| !c.placeholder)
            .map(|c| rfc3339(c.not_after)),
        detail: detail + &still,
    }
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// The account as kept in the volume: the directory it belongs to, and its credentials.
#[derive(Serialize, Deserialize)]
struct StoredAccount {
    directory: String,
    credentials: AccountCredentials,
}

/// One order, start to finish: the account (made once, kept in the volume), a challenge
/// file per name, the new key and chain written, checked with `nginx -t` and reloaded.
/// Returns the new certificate's expiry.
async fn issue(
    engine: &Engine,
    proxy: &str,
    tls: &TlsSpec,
    acme: &Acme,
    root: &Path,
) -> Result<time::OffsetDateTime, String> {
    let account = account(engine, proxy, acme, root).await?;
    let identifiers: Vec<Identifier> = acme
        .domains
        .iter()
        .map(|d| Identifier::Dns(d.clone()))
        .collect();
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(|e| format!("new order: {e}"))?;
    let challenges = format!("{}/.well-known/acme-challenge", TlsSpec::challenge_root());
    let mkdir = ["mkdir", "-p", &challenges].map(str::to_owned);
    exec(engine, proxy, &mkdir)
        .await
        .map_err(|e| e.to_string())?;
    let mut authorizations = order.authorizations();
    while let Some(result) = authorizations.next().await {
        let mut authorization = result.map_err(|e| format!("authorization: {e}"))?;
        match authorization.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => return Err(format!("authorization is {other:?}")),
        }
        let mut challenge = authorization
            .challenge(ChallengeType::Http01)
            .ok_or("the server offers no HTTP-01 challenge")?;
        // RFC 8555 §8.3: a token is base64url; anything else must not become a path.
        let token_ok = !challenge.token.is_empty()
            && challenge
                .token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !token_ok {
            return Err(format!(
                "the server sent the challenge token `{}`, which is not base64url",
                challenge.token
            ));
        }
        let file = Upload::new(
            format!("{challenges}/{}", challenge.token),
            challenge.key_authorization().as_str().as_bytes().to_vec(),
            0o644,
        );
        write_files(engine, proxy, std::slice::from_ref(&file))
            .await
            .map_err(|e| e.to_string())?;
        challenge
            .set_ready()
            .await
            .map_err(|e| format!("challenge: {e}"))?;
    }
    let retries = RetryPolicy::new().timeout(ORDER_DEADLINE);
    let status = order
        .poll_ready(&retries)
        .await
        .map_err(|e| format!("validation: {e}"))?;
    if status != OrderStatus::Ready {
        let problem = order
            .state()
            .error
            .as_ref()
            .map(|p| format!(": {p}"))
            .unwrap_or_default();
        return Err(format!("the order is {status:?}{problem}"));
    }
    let key = order
        .finalize()
        .await
        .map_err(|e| format!("finalize: {e}"))?;
    let chain = order
        .poll_certificate(&retries)
        .await
        .map_err(|e| format!("certificate: {e}"))?;
    let not_after = served(chain.as_bytes())
        .ok_or("the server sent a certificate topo cannot read")?
        .not_after;
    install(engine, proxy, tls, key, chain).await?;
    let clean = ["sh", "-c", &format!("rm -f {challenges}/*")].map(str::to_owned);
    let _ = exec(engine, proxy, &clean).await;
    Ok(not_after)
}

/// The account kept in the volume for this directory, or a new one (then kept).
async fn account(
    engine: &Engine,
    proxy: &str,
    acme: &Acme,
    root: &Path,
) -> Result<Account, String> {
    let builder = match &acme.ca_certificate {
        Some(ca) => Account::builder_with_root(root.join(ca)),
        None => Account::builder(),
    }
    .map_err(|e| format!("the HTTPS client: {e}"))?;
    let path = TlsSpec::acme_path("account.json");
    let stored = read_file(engine, proxy, &path)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|bytes| serde_json::from_slice::<StoredAccount>(&bytes).ok())
        .filter(|stored| stored.directory == acme.directory);
    if let Some(stored) = stored {
        return builder
            .from_credentials(stored.credentials)
            .await
            .map_err(|e| format!("the account: {e}"));
    }
    let contact = format!("mailto:{}", acme.email);
    let (account, credentials) = builder
        .create(
            &NewAccount {
                contact: &[&contact],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            acme.directory.clone(),
            None,
        )
        .await
        .map_err(|e| format!("creating the account at {}: {e}", acme.directory))?;
    let stored = StoredAccount {
        directory: acme.directory.clone(),
        credentials,
    };
    let bytes = serde_json::to_vec(&stored).map_err(|e| e.to_string())?;
    write_files(engine, proxy, &[Upload::new(path, bytes, 0o400)])
        .await
        .map_err(|e| e.to_string())?;
    Ok(account)
}

/// Writes the new key and chain, checks nginx's configuration with them and reloads it
/// gracefully; the previous pair is put back when the check fails.
async fn install(
    engine: &Engine,
    proxy: &str,
    tls: &TlsSpec,
    key: String,
    chain: String,
) -> Result<(), String> {
    let previous = (
        read_file(engine, proxy, &tls.key)
            .await
            .map_err(|e| e.to_string())?,
        read_file(engine, proxy, &tls.certificate)
            .await
            .map_err(|e| e.to_string())?,
    );
    let pair = |key: Vec<u8>, chain: Vec<u8>| {
        [
            Upload::new(tls.key.clone(), key, 0o400),
            Upload::new(tls.certificate.clone(), chain, 0o644),
        ]
    };
    write_files(engine, proxy, &pair(key.into_bytes(), chain.into_bytes()))
        .await
        .map_err(|e| e.to_string())?;
    let check = ["nginx", "-t"].map(str::to_owned);
    let (code, output) = exec(engine, proxy, &check)
        .await
        .map_err(|e| e.to_string())?;
    if code != 0 {
        if let (Some(key), Some(chain)) = previous {
            let _ = write_files(engine, proxy, &pair(key, chain)).await;
        }
        return Err(format!(
            "nginx refused the new certificate: {}",
            output.trim()
        ));
    }
    reload(engine, proxy).await
}

/// Reloads nginx gracefully (SIGHUP) and waits until its master runs new workers: only
/// those serve the new certificate, so "issued" in the summary means served. (The master is
/// the container's first process; without `/proc/1/task/1/children`, a second is waited.)
async fn reload(engine: &Engine, proxy: &str) -> Result<(), String> {
    let children = || async {
        let read = ["cat", "/proc/1/task/1/children"].map(str::to_owned);
        match exec(engine, proxy, &read).await {
            Ok((0, text)) => text
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        }
    };
    let before = children().await;
    let options = bollard::query_parameters::KillContainerOptionsBuilder::default()
        .signal("HUP")
        .build();
    engine
        .docker()
        .kill_container(proxy, Some(options))
        .await
        .map_err(|e| format!("reloading the proxy: {e}"))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = children().await;
        let renewed = if before.is_empty() {
            true
        } else {
            now.iter().any(|pid| !before.contains(pid))
        };
        if renewed || std::time::Instant::now() > deadline {
            if before.is_empty() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            return Ok(());
        }
    }
}
