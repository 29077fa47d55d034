//! The reverse proxy's part of a spec: its routes, HTTPS, and the nginx file they make.

use serde::Serialize;

/// The reverse proxy: its container and the routes it serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProxySpec {
    /// The proxy's container (`<project>-proxy`).
    pub container: String,
    /// Where its routes file lives inside the container.
    pub config_path: String,
    /// One entry per routed container, in topology order.
    pub routes: Vec<RouteSpec>,
    /// HTTPS, when the topology gives a certificate (prod-sim and production).
    pub tls: Option<TlsSpec>,
    /// Resolve each route's name per request through the engine's DNS (Swarm: a service's
    /// tasks change address on every update, and names resolve round robin), instead of
    /// once when nginx loads the file (one host: topo reloads nginx at each switch).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resolve_per_request: bool,
}

/// The engine's embedded DNS server, inside every container on a user-defined network.
const ENGINE_DNS: &str = "127.0.0.11";

/// HTTPS at the proxy: where the certificate and key are inside its container, and the
/// host port of HTTPS (the redirect names it unless it is 443).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsSpec {
    /// The certificate chain (PEM) inside the container.
    pub certificate: String,
    /// The private key (PEM) inside the container.
    pub key: String,
    /// The host port HTTPS is published on.
    pub https_port: u16,
    /// The ACME account and names, when an ACME server issues the certificate (the engine
    /// driver obtains and renews it; both files are then in the proxy's `acme` volume).
    pub acme: Option<crate::valid::Acme>,
}

impl TlsSpec {
    /// A path in the proxy's ACME volume.
    pub fn acme_path(file: &str) -> String {
        format!("{}/{file}", crate::model::Proxy::ACME_DIR)
    }

    /// The directory whose `.well-known/acme-challenge/` nginx serves over HTTP.
    pub fn challenge_root() -> String {
        Self::acme_path("challenges")
    }
}

/// The path prefixes the proxy sends to one container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteSpec {
    /// The container (`<project>-<role>`).
    pub container: String,
    /// The container port called.
    pub port: u16,
    /// The path prefixes.
    pub paths: Vec<String>,
}

impl ProxySpec {
    /// The nginx routes file, each route calling the host `upstream(container)`: the
    /// container's own name in every rendered file; during a blue-green switch, the name of
    /// the container taking over.
    pub fn config(&self, upstream: impl Fn(&str) -> String) -> String {
        let mut out = String::from(
            "# Written by topo: the routes of the topology's proxy. Do not edit: re-render.\n",
        );
        for route in self.routes.iter().filter(|_| !self.resolve_per_request) {
            out.push_str(&format!(
                "upstream {} {{\n    server {}:{};\n    keepalive 16;\n}}\n",
                route.container,
                upstream(&route.container),
                route.port
            ));
        }
        match &self.tls {
            None => out.push_str("server {\n    listen 80 default_server;\n    server_name _;\n"),
            Some(tls) => {
                // HTTP only redirects; HTTPS (HTTP/2 offered) serves, with HSTS.
                let port = match tls.https_port {
                    443 => String::new(),
                    port => format!(":{port}"),
                };
                // ACME's HTTP-01 challenges are answered over plain HTTP, never redirected.
                let challenges = match tls.acme {
                    Some(_) => format!(
                        "    location ^~ /.well-known/acme-challenge/ {{\n        root {};\n        default_type text/plain;\n    }}\n",
                        TlsSpec::challenge_root()
                    ),
                    None => String::new(),
                };
                out.push_str(&format!(
                    "server {{\n    listen 80 default_server;\n    server_name _;\n{challenges}    location / {{\n        return 301 https://$host{port}$request_uri;\n    }}\n}}\n"
                ));
                out.push_str(&format!(
                    "server {{\n    listen 443 ssl default_server;\n    http2 on;\n    server_name _;\n    ssl_certificate {};\n    ssl_certificate_key {};\n    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_session_cache shared:topo:10m;\n    add_header Strict-Transport-Security \"max-age=31536000\" always;\n",
                    tls.certificate, tls.key
                ));
            }
        }
        if self.resolve_per_request {
            out.push_str(&format!("    resolver {ENGINE_DNS} valid=1s ipv6=off;\n"));
        }
        let port_of = |container: &str| {
            self.routes
                .iter()
                .find(|r| r.container == container)
                .map_or(80, |r| r.port)
        };
        let mut locations: Vec<(&str, &str)> = self
            .routes
            .iter()
            .flat_map(|r| {
                r.paths
                    .iter()
                    .map(move |p| (p.as_str(), r.container.as_str()))
            })
            .collect();
        // Longest prefix first reads like nginx matches (it picks the longest anyway).
        locations.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        for (path, container) in locations {
            // A variable makes nginx ask the resolver (cached `valid=1s`) per request.
            let pass = if self.resolve_per_request {
                let variable = format!("$topo_{}", container.replace('-', "_"));
                format!(
                    "set {variable} http://{}:{};\n        proxy_pass {variable};",
                    upstream(container),
                    port_of(container)
                )
            } else {
                format!("proxy_pass http://{container};")
            };
            out.push_str(&format!(
                "    location {path} {{\n        {pass}\n        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n        proxy_set_header Host $host;\n        proxy_set_header X-Real-IP $remote_addr;\n        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n        proxy_set_header X-Forwarded-Proto $scheme;\n    }}\n"
            ));
        }
        if !self.routes.iter().any(|r| r.paths.iter().any(|p| p == "/")) {
            out.push_str("    location / {\n        return 404;\n    }\n");
        }
        out.push_str("}\n");
        out
    }
}
