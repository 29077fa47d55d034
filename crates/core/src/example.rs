//! The built-in example: the Vendure shop of the design notes.

/// The names of the built-in examples.
pub const NAMES: &[&str] = &["vendure"];

/// The `topology.toml` of a built-in example, by name.
pub fn topology(name: &str) -> Option<&'static str> {
    match name {
        "vendure" => Some(VENDURE),
        _ => None,
    }
}

/// The Vendure shop: PostgreSQL 17, a server, a worker on the server's image, a Next.js
/// storefront, one network.
pub const VENDURE: &str = include_str!("examples/vendure.toml");
