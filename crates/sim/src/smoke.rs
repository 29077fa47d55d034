//! The HTTP smoke check: once a service reports healthy from inside, call its health
//! endpoint from the host through the published port, as a user or a proxy would. That
//! also proves the port mapping, which the in-container health check cannot.

use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use topo_core::spec::ContainerSpec;

use crate::verdict::Smoke;

/// One request may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts before the check fails (the port proxy may lag the health check).
const ATTEMPTS: usize = 3;

/// Calls the container's HTTP health endpoint through its published port; `None` when it
/// has no HTTP health check or does not publish that port.
pub async fn smoke_check(container: &ContainerSpec) -> Option<Smoke> {
    let (port, path) = container.health.as_ref()?.http.as_ref()?;
    let published = container.ports.iter().find(|p| p.container == *port)?;
    // A port bound on every address is reached on loopback from the host.
    let host = match published.host_ip.as_str() {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" => "::1",
        ip => ip,
    };
    let url = format!("http://{host}:{}{path}", published.host);
    let mut last = Smoke {
        url: url.clone(),
        status: None,
        ok: false,
        error: None,
    };
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        match tokio::time::timeout(REQUEST_TIMEOUT, get(host, published.host, path)).await {
            Ok(Ok(status)) => {
                last.status = Some(status);
                last.ok = (200..400).contains(&status);
                last.error = None;
                if last.ok {
                    break;
                }
            }
            Ok(Err(error)) => last.error = Some(error),
            Err(_) => last.error = Some(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())),
        }
    }
    Some(last)
}

/// `GET path` on `host:port`; the status code.
async fn get(host: &str, port: u16, path: &str) -> Result<u16, String> {
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string());
    driver.abort();
    Ok(response?.status().as_u16())
}
