//! The registry as the place that knows what is deployed (`--markers registry`).
//!
//! After a service deploys, its image's repository gets a tag per environment
//! (`shop-web:production`) pointing at the manifest that was deployed; a plan reads the tag
//! back, with the image's labels (`org.opencontainers.image.revision`, `topo.fingerprint`),
//! so CI needs no artifact and no marker ref, and survives depth-1 clones and rewritten
//! history (the fingerprint decides).
//!
//! The client is [ureq](https://docs.rs/ureq): a blocking HTTP client on the rustls and ring
//! already in the build (through bollard), adding four small crates. It was chosen over an
//! OCI distribution crate (`oci-client` brings reqwest and a second HTTP stack) and over
//! the hyper already in the build (async, while markers are written from a synchronous
//! callback and read by a synchronous planner). Only what markers need is spoken: manifests
//! by tag or digest, a manifest put under a tag, a config blob; basic and token (bearer)
//! authentication.

mod auth;
mod client;
mod image;
mod markers;
mod trust;

pub use client::{Client, Manifest, RegistryError, Repository};
pub use image::Labelled;
pub use markers::{registry_of, RegistryStore, Target, FINGERPRINT_LABEL, REVISION_LABEL};
pub use topo_core::credentials::{self, Credentials, CredentialsError};
