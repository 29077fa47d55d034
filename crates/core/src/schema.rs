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

#[cfg(test)]
mod tests {
    /// Every table with named keys refuses others: `load` trusts a topology that
    /// deserializes to have no unknown key, and walks the schema only after a failure.
    #[test]
    fn every_table_denies_unknown_keys() {
        fn visit(value: &serde_json::Value, path: &str, open: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(object) => {
                    if object.contains_key("properties")
                        && object.get("additionalProperties")
                            != Some(&serde_json::Value::Bool(false))
                    {
                        open.push(path.to_owned());
                    }
                    for (key, child) in object {
                        visit(child, &format!("{path}/{key}"), open);
                    }
                }
                serde_json::Value::Array(items) => {
                    for (index, child) in items.iter().enumerate() {
                        visit(child, &format!("{path}/{index}"), open);
                    }
                }
                _ => {}
            }
        }
        let mut open = Vec::new();
        visit(&super::topology_schema(), "", &mut open);
        assert_eq!(
            open,
            Vec::<String>::new(),
            "tables that accept unknown keys"
        );
    }
}
