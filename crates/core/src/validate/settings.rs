//! Project-wide settings: production, dev and the rendered files' names.

use crate::diagnostic::Diagnostic;
use crate::model::{OutputFiles, ProductionSettings};
use crate::valid::{Files, Production};
use crate::value::ImageRef;

/// `[production]`.
pub(super) fn production(settings: &ProductionSettings, out: &mut Vec<Diagnostic>) -> Production {
    if settings.host_ip.parse::<std::net::IpAddr>().is_err() {
        out.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` is not an IP address", settings.host_ip),
            )
            .at(
                settings.host_ip.span(),
                "published ports bind to this address",
            )
            .help("e.g. \"0.0.0.0\" for every interface, or the host's public address"),
        );
    }
    if !super::values::is_env_name(&settings.tag_variable) {
        out.push(
            Diagnostic::error(
                "invalid-env-name",
                format!("`{}` is not a valid variable name", settings.tag_variable),
            )
            .at(settings.tag_variable.span(), "the image tag's variable"),
        );
    }
    if let Some(registry) = &settings.registry {
        if !is_registry_prefix(registry) {
            out.push(
                Diagnostic::error(
                    "invalid-value",
                    format!("`{registry}` is not a registry prefix"),
                )
                .at(registry.span(), "no scheme, no trailing slash")
                .help("e.g. \"ghcr.io/acme\""),
            );
        }
    }
    let size = settings.log_max_size.as_str();
    let digits = size.trim_end_matches(['k', 'm', 'g']);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        out.push(
            Diagnostic::error("invalid-value", format!("`{size}` is not a log size"))
                .at(settings.log_max_size.span(), "e.g. \"10m\""),
        );
    }
    let keep = &settings.keep_images;
    if **keep == 0 {
        out.push(
            Diagnostic::error(
                "invalid-value",
                "`keep_images` must keep at least the running version",
            )
            .at(
                keep.span(),
                "1 keeps no version to roll back to; 3 is the default",
            ),
        );
    }
    Production {
        registry: settings.registry.as_ref().map(|r| r.to_string()),
        engine: *settings.engine,
        host_ip: settings.host_ip.to_string(),
        tag_variable: settings.tag_variable.to_string(),
        log_max_size: size.to_owned(),
        log_max_files: *settings.log_max_files,
        keep_images: (**keep).max(1),
    }
}

/// A registry and namespace an image name can follow: `ghcr.io/acme`, `localhost:5000`,
/// `acme` — no scheme, no trailing slash, no tag, digest or variable.
fn is_registry_prefix(prefix: &str) -> bool {
    if prefix.is_empty() || prefix.contains("://") || prefix.ends_with('/') {
        return false;
    }
    ImageRef::parse(&format!("{prefix}/x")).is_ok_and(|image| {
        image.tag.is_none()
            && image.digest.is_none()
            && image.prefix().as_deref() == Some(prefix)
            && image.literal_problem().is_none()
    })
}

/// `[files]`: plain file names, one per mode.
pub(super) fn files(files: &OutputFiles, out: &mut Vec<Diagnostic>) -> Files {
    let names = [&files.dev, &files.prod_sim, &files.production];
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() || name.contains('/') || name.contains('\\') {
            out.push(
                Diagnostic::error("invalid-value", format!("`{name}` is not a file name")).at(
                    name.span(),
                    "a plain file name, written into the output directory",
                ),
            );
        } else if names[..i]
            .iter()
            .any(|other| other.as_str() == name.as_str())
        {
            out.push(
                Diagnostic::error("duplicate-name", format!("two modes render to `{name}`"))
                    .at(name.span(), "give each mode its own file"),
            );
        }
    }
    Files {
        dev: files.dev.to_string(),
        prod_sim: files.prod_sim.to_string(),
        production: files.production.to_string(),
    }
}
