//! The JSON Schema of `topology.toml`, generated from the model types.
//!
//! Draft-07, because that is what TOML editors (Taplo, Even Better TOML) read most reliably.

use schemars::generate::SchemaSettings;

use crate::model::Topology;

/// The schema as a JSON value.
pub fn topology_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<Topology>();
    schema.to_value()
}

/// The schema as pretty-printed JSON with a trailing newline: the committed file's bytes.
pub fn topology_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&topology_schema())
        .expect("a serde_json::Value always serialises");
    text.push('\n');
    text
}
