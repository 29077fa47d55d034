//! What can go wrong, each with what to do about it.
//!
//! Engine errors arrive as status codes and free text; [`explain`] turns the ones users
//! meet (unreachable engine, full disk, missing image, taken port) into errors that say
//! what happened and what to do.

use std::path::PathBuf;

/// Why a command of the driver failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// No engine answers at the address in use.
    #[error("no Docker engine answers at {host}: {detail}")]
    EngineUnreachable {
        /// `DOCKER_HOST`, or the default socket.
        host: String,
        /// What the connection attempt said.
        detail: String,
    },
    /// The engine's disk is full.
    #[error("the Docker engine is out of disk space ({context}): {detail}")]
    OutOfDisk {
        /// What was being done.
        context: String,
        /// The engine's message.
        detail: String,
    },
    /// An image the spec runs is not in the engine and could not be pulled.
    #[error("image {image} is not in the engine and could not be pulled: {detail}")]
    ImageMissing {
        /// The image reference.
        image: String,
        /// Why the pull failed.
        detail: String,
    },
    /// A build failed.
    #[error("building {image} failed at {step}:\n{output}")]
    BuildFailed {
        /// The image being built.
        image: String,
        /// The failing step (`Step 3/5 : RUN npm ci`).
        step: String,
        /// The step's last lines of output, then the engine's error.
        output: String,
    },
    /// An object with a name topo needs exists and is not topo's.
    #[error(
        "{kind} {name} exists and does not belong to project {project} ({why}); topo never touches objects it did not create"
    )]
    Foreign {
        /// What it is.
        kind: crate::engine::ObjectKind,
        /// Its name.
        name: String,
        /// The project asked for.
        project: String,
        /// What its labels say.
        why: String,
        /// What to do.
        help: String,
    },
    /// A variable the spec reads is unset and has no default.
    #[error("{container} reads ${{{variable}}}, which is unset and has no default")]
    MissingVariable {
        /// The container.
        container: String,
        /// The variable.
        variable: String,
    },
    /// A build context directory does not exist.
    #[error("the build context {} does not exist", .0.display())]
    ContextMissing(PathBuf),
    /// A `.dockerignore` could not be parsed.
    #[error("{}: {message}", path.display())]
    DockerIgnore {
        /// The file.
        path: PathBuf,
        /// The line and the problem.
        message: String,
    },
    /// A local file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No container of this project answers to the name.
    #[error("no service `{0}` in this topology (use a role such as `server` or a container name)")]
    UnknownService(String),
    /// The driver runs prod-sim and production; dev is Compose's.
    #[error("the engine driver runs prod-sim and production; run dev with `docker compose up`")]
    DevMode,
    /// A check made before a deploy failed: nothing was changed.
    #[error("refusing to deploy: {problem}")]
    Refused {
        /// What is wrong on the target.
        problem: String,
        /// How to fix it.
        help: String,
    },
    /// Another deploy holds the target's deploy lock.
    #[error("another deploy holds the lock {lock}: {holder}")]
    Locked {
        /// The lock's name.
        lock: String,
        /// Who holds it, since when.
        holder: String,
        /// What to do.
        help: String,
    },
    /// The registry refused, or could not be reached, while an image was checked or pushed.
    #[error("{doing} {image} in the registry {registry} failed: {detail}")]
    Registry {
        /// `checking` or `pushing`.
        doing: &'static str,
        /// The image reference.
        image: String,
        /// The registry's host (`docker.io` for Docker Hub).
        registry: String,
        /// What the engine or the registry said.
        detail: String,
        /// What to do.
        help: String,
    },
    /// Any other engine error, with what was being done.
    #[error("{context}: {detail}")]
    Engine {
        /// What was being done.
        context: String,
        /// The engine's message.
        detail: String,
    },
}

impl miette::Diagnostic for SimError {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let help = match self {
            SimError::EngineUnreachable { host, detail } => unreachable_help(host, detail),
            SimError::OutOfDisk { .. } => "see `docker system df`; free space with `docker builder prune` and `docker image prune`".to_owned(),
            SimError::ImageMissing { .. } => "load it (`docker load`), build it, or name another image in the topology".to_owned(),
            SimError::BuildFailed { .. } => "fix the Dockerfile or the sources, then run `topo-sim up` again".to_owned(),
            SimError::MissingVariable { variable, .. } => format!("export {variable} before running"),
            SimError::Foreign { help, .. }
            | SimError::Refused { help, .. }
            | SimError::Locked { help, .. }
            | SimError::Registry { help, .. } => help.clone(),
            _ => return None,
        };
        Some(Box::new(help))
    }
}

/// The engine's own message inside a bollard error.
pub fn engine_message(error: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match error {
        E::DockerResponseServerError { message, .. } => message.clone(),
        E::DockerStreamError { error } => error.clone(),
        other => {
            // Connection errors keep their cause (a TLS or SSH failure) in the source chain.
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.contains(&cause_text) {
                    text = format!("{text}: {cause_text}");
                }
                source = cause.source();
            }
            text
        }
    }
}

/// What to do when no engine answers at `host`, from what the attempt said.
fn unreachable_help(host: &str, detail: &str) -> String {
    let lower = detail.to_lowercase();
    if lower.contains("http request to an https server") {
        format!("the engine at {host} wants TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem")
    } else if lower.contains("certificate with path") {
        "DOCKER_CERT_PATH must hold ca.pem (the engine's CA), cert.pem and key.pem (this client's)"
            .to_owned()
    } else if lower.contains("expired") || lower.contains("notvalidyet") {
        format!("a certificate is outside its validity period (the engine's, or this client's in DOCKER_CERT_PATH): renew it; {host} was not changed")
    } else if lower.contains("badcertificate")
        || lower.contains("certificate required")
        || lower.contains("unknownca")
    {
        format!("{host} refused this client's certificate (DOCKER_CERT_PATH/cert.pem): expired, or not signed by a CA the engine trusts; nothing was changed")
    } else if host.starts_with("tcp://")
        && (lower.contains("connection was not ready")
            || lower.contains("canceled")
            || lower.contains("connection closed")
            || lower.contains("reset by peer"))
    {
        // TLS 1.3 checks the client's certificate after the handshake: the engine's alert
        // may be lost, leaving only a closed connection.
        format!("{host} closed the connection: with TLS it likely refused this client's certificate (DOCKER_CERT_PATH/cert.pem: expired, or not signed by a CA the engine trusts); otherwise check the address, the port and the network; nothing was changed")
    } else if lower.contains("unknownissuer")
        || lower.contains("certificate")
        || lower.contains("tls")
    {
        format!("the TLS handshake with {host} failed: the engine's certificate must be signed by DOCKER_CERT_PATH/ca.pem and name the address you use, and the engine must trust cert.pem's CA; nothing was changed")
    } else if lower.contains("host key verification failed") || lower.contains("host key") {
        format!("the SSH host key of {host} is not trusted: check its fingerprint, then add it to ~/.ssh/known_hosts (`ssh-keyscan`); nothing was changed")
    } else if lower.contains("permission denied") {
        format!("{host} refused the SSH login: load the deploy key into an agent or ~/.ssh, and authorise it for that user")
    } else if host.starts_with("ssh://") {
        format!(
            "check `ssh {}` works and that `docker` runs there for that user",
            host.trim_start_matches("ssh://")
        )
    } else if host.starts_with("tcp://") || host.starts_with("https://") {
        format!("check the address and port of {host}, that the engine listens there, and the network between")
    } else {
        "start one (`sudo systemctl start docker`, or `dockerd &`), or point DOCKER_HOST at a running engine".to_owned()
    }
}

/// Whether the engine answered 404 (no such object).
pub fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Turns an engine error met while doing `context` into an explained [`SimError`].
pub fn explain(context: impl Into<String>, error: &bollard::errors::Error) -> SimError {
    use bollard::errors::Error as E;
    let context = context.into();
    let detail = engine_message(error);
    if detail.contains("no space left on device") {
        return SimError::OutOfDisk { context, detail };
    }
    match error {
        E::SocketNotFoundError(_)
        | E::HyperResponseError { .. }
        | E::HyperLegacyError { .. }
        | E::IOError { .. }
        | E::RequestTimeoutError => SimError::EngineUnreachable {
            host: engine_host(),
            detail,
        },
        _ => SimError::Engine { context, detail },
    }
}

/// Where the driver looks for the engine: `DOCKER_HOST` or the default socket.
pub fn engine_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
}

#[cfg(test)]
mod tests {
    use super::unreachable_help;

    /// What a failed connection says, and the start of the advice it gets.
    fn check(host: &str, detail: &str, expect: &str) {
        let help = unreachable_help(host, detail);
        assert!(help.starts_with(expect), "{detail}: {help}");
    }

    #[test]
    fn each_failed_connection_gets_its_own_advice() {
        let tcp = "tcp://10.0.0.2:2376";
        check(
            tcp,
            "Client sent an HTTP request to an HTTPS server.",
            "the engine at tcp://10.0.0.2:2376 wants TLS",
        );
        check(
            tcp,
            "Cannot open/read certificate with path: /x/ca.pem",
            "DOCKER_CERT_PATH must hold",
        );
        check(
            tcp,
            "client error (Connect): invalid peer certificate: Expired",
            "a certificate is outside its validity",
        );
        check(
            tcp,
            "client error (Connect): invalid peer certificate: UnknownIssuer",
            "the TLS handshake with",
        );
        check(
            tcp,
            "connection error: received fatal alert: BadCertificate",
            "tcp://10.0.0.2:2376 refused this client's certificate",
        );
        check(
            tcp,
            "client error (Canceled): operation was canceled: connection was not ready",
            "tcp://10.0.0.2:2376 closed the connection: with TLS it likely refused this client's certificate",
        );
        check(
            tcp,
            "client error (Connect): Connection refused (os error 111)",
            "check the address and port",
        );
        let ssh = "ssh://deploy@shop.example";
        check(ssh, "Host key verification failed.", "the SSH host key of");
        check(
            ssh,
            "deploy@shop.example: Permission denied (publickey).",
            "ssh://deploy@shop.example refused the SSH login",
        );
        check(
            ssh,
            "ssh exited with 255",
            "check `ssh deploy@shop.example` works",
        );
        check(
            "unix:///var/run/docker.sock",
            "No such file or directory",
            "start one",
        );
    }
}
