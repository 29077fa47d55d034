//! The cluster-wide objects a Swarm deploy makes before its services: the overlay network,
//! the secrets and configs (immutable in Swarm, so each is named after its content: a new
//! value is a new object, and a service update switches to it), the stateful node's label;
//! and the ones it removes after: objects of the project no service uses any more.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{ConfigSpec, NetworkCreateRequest, SecretSpec};
use bollard::query_parameters::{
    ListConfigsOptionsBuilder, ListNodesOptionsBuilder, ListSecretsOptionsBuilder,
};
use sha2::{Digest as _, Sha256};
use topo_core::spec::swarm::STATEFUL_LABEL;
use topo_core::spec::{labels, FileContent, RuntimeSpec};

use crate::engine::Engine;
use crate::error::{explain, SimError};
use crate::translate::Variables;

/// A Swarm secret or config: its id and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// The engine's id.
    pub id: String,
    /// `<name>-<hash of the content>`.
    pub name: String,
}

/// The secrets (by variable) and configs (by config name) of one deploy.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    /// Secrets by the variable they hold.
    pub secrets: BTreeMap<String, Object>,
    /// Configs by `<container>-file-<n>`.
    pub configs: BTreeMap<String, Object>,
}

impl Objects {
    /// Every object name in use.
    pub fn names(&self) -> BTreeSet<String> {
        self.secrets
            .values()
            .chain(self.configs.values())
            .map(|o| o.name.clone())
            .collect()
    }
}

/// `<name>-<first 10 hex digits of the content's SHA-256>`, within Swarm's 64 characters.
fn versioned(name: &str, content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let hash: String = digest[..5].iter().map(|b| format!("{b:02x}")).collect();
    topo_core::naming::versioned_object(name, &hash)
}

fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_owned(),
        vec![format!("{}={project}", labels::PROJECT)],
    )])
}

/// The values of the spec's secrets and configs, read before anything changes (a missing
/// secret stops the deploy here): (secrets by variable, configs by name).
pub type Contents = (BTreeMap<String, String>, BTreeMap<String, Vec<u8>>);

/// Reads what the objects hold: each secret from its variable, each text file as the spec
/// has it, each repository file from `root`.
pub fn contents(
    spec: &RuntimeSpec,
    root: &std::path::Path,
    variables: &dyn Variables,
) -> Result<Contents, SimError> {
    let mut secrets = BTreeMap::new();
    for secret in spec.secret_files() {
        let value = variables
            .get(secret.variable)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SimError::MissingVariable {
                container: spec.project.clone(),
                variable: secret.variable.to_owned(),
            })?;
        secrets.insert(secret.variable.to_owned(), value);
    }
    let mut configs = BTreeMap::new();
    for container in &spec.containers {
        for (i, file) in container.files.iter().enumerate() {
            let name = topo_core::naming::config_name(&container.name, i);
            let bytes = match &file.content {
                FileContent::Text(text) => text.clone().into_bytes(),
                FileContent::Repository(path) => {
                    let path = root.join(path);
                    std::fs::read(&path).map_err(|source| SimError::Io { path, source })?
                }
                FileContent::Secret { .. } | FileContent::SelfSigned { .. } => continue,
            };
            configs.insert(name, bytes);
        }
    }
    Ok((secrets, configs))
}

/// The objects a deploy would use, by name only (no id: nothing is made): what a dry run
/// compares.
pub fn named(project: &str, contents: &Contents) -> Objects {
    let object = |name: String| Object {
        id: String::new(),
        name,
    };
    Objects {
        secrets: contents
            .0
            .iter()
            .map(|(variable, value)| {
                let base = topo_core::naming::secret_object(project, variable);
                (variable.clone(), object(versioned(&base, value.as_bytes())))
            })
            .collect(),
        configs: contents
            .1
            .iter()
            .map(|(config, bytes)| (config.clone(), object(versioned(config, bytes))))
            .collect(),
    }
}

/// Makes the objects that are missing (an object of the same content is reused).
pub async fn ensure_objects(
    engine: &Engine,
    project: &str,
    contents: &Contents,
) -> Result<Objects, SimError> {
    let docker = engine.docker();
    let filters = project_filter(project);
    let existing_secrets: HashMap<String, String> = docker
        .list_secrets(Some(
            ListSecretsOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|e| explain("listing the project's secrets", &e))?
        .into_iter()
        .filter_map(|s| Some((s.spec?.name?, s.id?)))
        .collect();
    let existing_configs: HashMap<String, String> = docker
        .list_configs(Some(
            ListConfigsOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|e| explain("listing the project's configs", &e))?
        .into_iter()
        .filter_map(|c| Some((c.spec?.name?, c.id?)))
        .collect();
    let owned = HashMap::from([(labels::PROJECT.to_owned(), project.to_owned())]);
    let mut objects = Objects::default();
    for (variable, value) in &contents.0 {
        let name = versioned(
            &topo_core::naming::secret_object(project, variable),
            value.as_bytes(),
        );
        let id = match existing_secrets.get(&name) {
            Some(id) => id.clone(),
            None => {
                let spec = SecretSpec {
                    name: Some(name.clone()),
                    labels: Some(owned.clone()),
                    data: Some(base64_of(value.as_bytes())),
                    ..Default::default()
                };
                docker
                    .create_secret(spec)
                    .await
                    .map_err(|e| explain(format!("creating the secret {name}"), &e))?
                    .id
            }
        };
        objects
            .secrets
            .insert(variable.clone(), Object { id, name });
    }
    for (config, bytes) in &contents.1 {
        let name = versioned(config, bytes);
        let id = match existing_configs.get(&name) {
            Some(id) => id.clone(),
            None => {
                let spec = ConfigSpec {
                    name: Some(name.clone()),
                    labels: Some(owned.clone()),
                    data: Some(base64_of(bytes)),
                    ..Default::default()
                };
                docker
                    .create_config(spec)
                    .await
                    .map_err(|e| explain(format!("creating the config {name}"), &e))?
                    .id
            }
        };
        objects.configs.insert(config.clone(), Object { id, name });
    }
    Ok(objects)
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Removes the project's secrets and configs that no service uses any more (`in_use`),
/// except the lock: their names, for the summary's notes.
pub async fn remove_unused(
    engine: &Engine,
    project: &str,
    in_use: &BTreeSet<String>,
) -> Vec<String> {
    let docker = engine.docker();
    let filters = project_filter(project);
    let lock = topo_core::naming::lock_name(project);
    let mut removed = Vec::new();
    if let Ok(secrets) = docker
        .list_secrets(Some(
            ListSecretsOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
    {
        for secret in secrets {
            let (Some(id), Some(name)) = (secret.id, secret.spec.and_then(|s| s.name)) else {
                continue;
            };
            // A secret still mounted by a task (an update under way) is refused: kept.
            if !in_use.contains(&name) && docker.delete_secret(&id).await.is_ok() {
                removed.push(name);
            }
        }
    }
    if let Ok(configs) = docker
        .list_configs(Some(
            ListConfigsOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
    {
        for config in configs {
            let (Some(id), Some(name)) = (config.id, config.spec.and_then(|s| s.name)) else {
                continue;
            };
            if name != lock && !in_use.contains(&name) && docker.delete_config(&id).await.is_ok() {
                removed.push(name);
            }
        }
    }
    removed
}

/// The overlay network (attachable: one-off containers and debugging can join it); made
/// when missing. Returns whether it was made.
pub async fn ensure_network(engine: &Engine, spec: &RuntimeSpec) -> Result<bool, SimError> {
    let name = &spec.network.name;
    match engine.docker().inspect_network(name, None).await {
        Ok(found) if found.driver.as_deref() == Some("overlay") => return Ok(false),
        Ok(_) => {
            return Err(SimError::Refused {
                problem: format!("the network {name} exists but is not an overlay network"),
                help: format!("remove it (`docker network rm {name}`) and deploy with --setup"),
            })
        }
        Err(e) if crate::error::is_not_found(&e) => {}
        Err(e) => return Err(explain(format!("inspecting the network {name}"), &e)),
    }
    let request = NetworkCreateRequest {
        name: name.clone(),
        driver: Some("overlay".to_owned()),
        attachable: Some(true),
        labels: Some(spec.network.labels.clone().into_iter().collect()),
        ..Default::default()
    };
    engine
        .docker()
        .create_network(request)
        .await
        .map_err(|e| explain(format!("creating the network {name}"), &e))?;
    Ok(true)
}

/// The node labelled [`STATEFUL_LABEL`]: its host name. None labelled: with `setup`, the
/// manager the deploy talks to is labelled (and a note says so); without, a refusal.
pub async fn stateful_node(
    engine: &Engine,
    setup: bool,
    notes: &mut Vec<String>,
) -> Result<String, SimError> {
    let docker = engine.docker();
    let nodes = docker
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .map_err(|e| explain("listing the Swarm's nodes", &e))?;
    let labelled: Vec<_> = nodes
        .iter()
        .filter(|n| {
            n.spec
                .as_ref()
                .and_then(|s| s.labels.as_ref())
                .and_then(|l| l.get(STATEFUL_LABEL))
                .is_some_and(|v| v == "true")
        })
        .collect();
    let hostname = |n: &bollard::models::Node| {
        n.description
            .as_ref()
            .and_then(|d| d.hostname.clone())
            .unwrap_or_else(|| n.id.clone().unwrap_or_default())
    };
    if let Some(node) = labelled.first() {
        return Ok(hostname(node));
    }
    if !setup {
        return Err(SimError::Refused {
            problem: format!("no node of the Swarm is labelled {STATEFUL_LABEL}=true: the database and whatever keeps data in a volume have nowhere to run"),
            help: format!("label the node that keeps the data (`docker node update --label-add {STATEFUL_LABEL}=true NODE`), or deploy with --setup to label this manager"),
        });
    }
    let info = docker
        .info()
        .await
        .map_err(|e| explain("asking the engine who it is", &e))?;
    let own = info.swarm.and_then(|s| s.node_id).unwrap_or_default();
    let filters = HashMap::from([("id".to_owned(), vec![own.clone()])]);
    let node = docker
        .list_nodes(Some(
            ListNodesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|e| explain("inspecting this manager's node", &e))?
        .into_iter()
        .next()
        .ok_or_else(|| SimError::Engine {
            context: "labelling this manager".to_owned(),
            detail: format!("no node {own}"),
        })?;
    let mut node_spec = node.spec.clone().unwrap_or_default();
    node_spec
        .labels
        .get_or_insert_with(HashMap::new)
        .insert(STATEFUL_LABEL.to_owned(), "true".to_owned());
    let version = node.version.as_ref().and_then(|v| v.index).unwrap_or(0);
    docker
        .update_node(
            &own,
            node_spec,
            bollard::query_parameters::UpdateNodeOptionsBuilder::new()
                .version(i64::try_from(version).unwrap_or(0))
                .build(),
        )
        .await
        .map_err(|e| explain("labelling this manager", &e))?;
    let name = hostname(&node);
    notes.push(format!(
        "labelled {name} (this manager) {STATEFUL_LABEL}=true: the database and stateful services run there; move the label to choose another node"
    ));
    Ok(name)
}
