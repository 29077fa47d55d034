//! How services reach production: the reverse proxy, routes and deploy strategies.
//!
//! Only the data and its syntax live here; the switch itself is `topo-sim`'s.

use schemars::JsonSchema;
use serde::Deserialize;

use super::Resources;
use crate::Spanned;

/// The reverse proxy `<project>-proxy` (`[proxy]`): an nginx that routes path prefixes to
/// services. A blue-green deploy starts the new container beside the old one and switches
/// the proxy to it with a configuration change and a graceful reload.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Proxy {
    /// The nginx image; defaults to `nginx:1.27`. topo writes its routes to
    /// `/etc/nginx/conf.d/default.conf`, the file the official image's configuration includes.
    #[serde(default)]
    pub image: Option<Spanned<String>>,
    /// The host port the proxy publishes (its container port is 80). Defaults to 80.
    #[serde(default = "default_proxy_port")]
    pub port: Spanned<u16>,
    /// HTTPS in prod-sim and production: `{ certificate = "deploy/tls/fullchain.pem", key =
    /// { secret = "TLS_KEY" } }`. HTTP then only redirects to HTTPS; HSTS and HTTP/2 are on.
    #[serde(default)]
    pub tls: Option<Spanned<Tls>>,
    /// The host port HTTPS is published on (its container port is 443). Defaults to 443.
    #[serde(default)]
    pub https_port: Option<Spanned<u16>>,
    /// Resource limits in prod-sim and production: `{ memory = "1g", cpus = 1, pids = 512 }`.
    #[serde(default)]
    pub resources: Option<Spanned<Resources>>,
    /// Capabilities added back after all are dropped, in prod-sim and production
    /// (`["NET_BIND_SERVICE"]`); the default is nginx's (`CHOWN`, `SETGID`, `SETUID`, `NET_BIND_SERVICE`).
    #[serde(default)]
    pub capabilities: Option<Spanned<Vec<Spanned<String>>>>,
    /// `false` keeps the engine's default capabilities instead of dropping them all.
    #[serde(default)]
    pub drop_capabilities: Option<Spanned<bool>>,
    /// `false` gives a writable root filesystem in prod-sim and production (read-only by
    /// default, with a tmpfs on `/tmp` and `/run`).
    #[serde(default)]
    pub read_only: Option<Spanned<bool>>,
    /// Absolute paths the container writes on a read-only root filesystem: each gets a
    /// tmpfs (emptied at every start; state that must last belongs in `volumes`).
    #[serde(default)]
    pub writable: Option<Spanned<Vec<Spanned<String>>>>,
}

super::hardening::hardening_keys!(Proxy);

/// The proxy's certificate and key (`[proxy] tls`): from files, or from an ACME server.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// The certificate chain (PEM), a file of the repository relative to the topology's
    /// directory (a certificate is public).
    #[serde(default)]
    pub certificate: Option<Spanned<String>>,
    /// The private key (PEM): a secret, `{ secret = "TLS_KEY" }`, read from the deploying
    /// environment and delivered as a Compose secret, never written into a rendered file.
    #[serde(default)]
    pub key: Option<Spanned<super::EnvValue>>,
    /// Certificates from an ACME server (Let's Encrypt's protocol) instead of files:
    /// `{ email = "ops@shop.example", domains = ["shop.example"] }`.
    #[serde(default)]
    pub acme: Option<Spanned<Acme>>,
}

/// Certificates issued and renewed by an ACME server (`[proxy] tls.acme`), over the HTTP-01
/// challenge the proxy answers on port 80.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Acme {
    /// The account's contact address (the CA writes about expiry and incidents).
    pub email: Spanned<String>,
    /// The names the certificate covers; each must reach this host's proxy on port 80.
    pub domains: Spanned<Vec<Spanned<String>>>,
    /// The ACME server's directory URL; Let's Encrypt's production one by default.
    #[serde(default)]
    pub directory: Option<Spanned<String>>,
    /// A file of the repository holding the root certificate (PEM) the ACME server's own
    /// HTTPS is checked against, for a private CA; the system's roots otherwise.
    #[serde(default)]
    pub ca_certificate: Option<Spanned<String>>,
    /// Renew when the certificate expires within this (`"30d"`, the default).
    #[serde(default)]
    pub renew_before: Option<Spanned<String>>,
}

fn default_proxy_port() -> Spanned<u16> {
    Spanned::new(80)
}

impl Proxy {
    /// The role of the proxy's container: `<project>-proxy`.
    pub const ROLE: &'static str = "proxy";
    /// The image used when none is given.
    pub const DEFAULT_IMAGE: &'static str = "nginx:1.27";
    /// What the proxy's container gets when the topology says nothing: nginx's master
    /// process binds port 80 and switches its workers to an unprivileged user; it writes
    /// its temporary files under `/var/cache/nginx` (official image) or `/var/lib/nginx`
    /// (Debian's). Its root filesystem stays writable: its routes file is copied in (by
    /// topo's driver and by Compose's `configs`, 2.26 copies at `/`), and the engine
    /// refuses any copy onto a read-only root filesystem.
    pub const HARDENING: crate::valid::HardeningDefaults = crate::valid::HardeningDefaults {
        memory: "256m",
        millicpus: 1000,
        pids: 256,
        capabilities: &["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"],
        writable: &["/var/cache/nginx", "/var/lib/nginx"],
        read_only: false,
    };
    /// Where the certificate chain is written inside the proxy's container (a directory
    /// both the official and Debian's image have).
    pub const TLS_CERTIFICATE_PATH: &'static str = "/etc/nginx/topo-tls-certificate.pem";
    /// Where the private key is written inside the proxy's container.
    pub const TLS_KEY_PATH: &'static str = "/etc/nginx/topo-tls-key.pem";
    /// Where ACME certificates live inside the proxy's container: a named volume, so they
    /// outlast the container (`certificate.pem`, `key.pem`, the account, the challenges).
    pub const ACME_DIR: &'static str = "/etc/nginx/topo-acme";
    /// Let's Encrypt's production directory, the default ACME server.
    pub const LETS_ENCRYPT: &'static str = "https://acme-v02.api.letsencrypt.org/directory";
    /// Where the routes are written inside the proxy's container.
    pub const CONFIG_PATH: &'static str = "/etc/nginx/conf.d/default.conf";

    /// A proxy of the default image publishing `port`.
    pub fn on_port(port: u16) -> Self {
        Proxy {
            image: None,
            port: Spanned::new(port),
            tls: None,
            https_port: None,
            resources: None,
            capabilities: None,
            drop_capabilities: None,
            read_only: None,
            writable: None,
        }
    }
}

/// How the proxy reaches a service: `route = { paths = ["/shop-api"], port = 3000 }`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The path prefixes sent to this service (`/`, `/shop-api`). Each belongs to one service.
    pub paths: Vec<Spanned<String>>,
    /// The container port the proxy calls.
    pub port: Spanned<u16>,
}

/// How a service is replaced by a deploy (`[services.deploy]`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// `blue-green` (the default for a service with a `route`) or `recreate` (the default
    /// otherwise; a brief outage).
    #[serde(default)]
    pub strategy: Option<Spanned<Strategy>>,
    /// Blue-green: how long the old container keeps running after the switch, so requests
    /// it is serving finish. Defaults to `5s`.
    #[serde(default)]
    pub drain: Option<Spanned<String>>,
}

/// A way to replace a running container with a new version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Stop the old container, start the new one: a brief outage. For workers and anything
    /// not behind the proxy.
    Recreate,
    /// Start the new container beside the old one, wait until it is healthy, switch the
    /// proxy to it, drain, remove the old one: no outage.
    BlueGreen,
}

impl Strategy {
    /// `recreate` or `blue-green`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Recreate => "recreate",
            Strategy::BlueGreen => "blue-green",
        }
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(text: &str) -> Result<Strategy, String> {
        match text {
            "recreate" => Ok(Strategy::Recreate),
            "blue-green" => Ok(Strategy::BlueGreen),
            _ => Err(format!(
                "unknown strategy `{text}`: use recreate or blue-green"
            )),
        }
    }
}
