//! Release gating: which CI events deploy and which only build, and the overrides.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use topo_core::model::EventKind;
use topo_core::validate::compile_glob;
use topo_core::ValidTopology;

/// The CI event a plan is made for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    /// `push`, `tag` or `manual`.
    pub kind: EventName,
    /// The branch or tag name (`main`, `v1.4.0`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_name: Option<String>,
}

/// The name of an event kind, as written in plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventName {
    /// A push to a branch.
    Push,
    /// A pushed tag.
    Tag,
    /// A manual run.
    Manual,
}

impl From<EventKind> for EventName {
    fn from(kind: EventKind) -> Self {
        match kind {
            EventKind::Push => EventName::Push,
            EventKind::Tag => EventName::Tag,
            EventKind::Manual => EventName::Manual,
        }
    }
}

impl From<EventName> for EventKind {
    fn from(name: EventName) -> Self {
        match name {
            EventName::Push => EventKind::Push,
            EventName::Tag => EventKind::Tag,
            EventName::Manual => EventKind::Manual,
        }
    }
}

impl Event {
    /// The event GitHub Actions describes in its environment (`GITHUB_EVENT_NAME`,
    /// `GITHUB_REF_TYPE`, `GITHUB_REF_NAME`), if it is a push, a tag or a manual run.
    pub fn from_github(var: impl Fn(&str) -> Option<String>) -> Option<Event> {
        let kind = match var("GITHUB_EVENT_NAME")?.as_str() {
            "push" if var("GITHUB_REF_TYPE").as_deref() == Some("tag") => EventKind::Tag,
            "push" => EventKind::Push,
            "workflow_dispatch" | "repository_dispatch" | "schedule" => EventKind::Manual,
            _ => return None,
        };
        Some(Event {
            kind: kind.into(),
            ref_name: var("GITHUB_REF_NAME").filter(|name| !name.is_empty()),
        })
    }

    /// `tag v1.4.0`, `push main`, `manual`.
    pub fn describe(&self) -> String {
        let kind = EventKind::from(self.kind).as_str();
        match &self.ref_name {
            Some(name) => format!("{kind} {name}"),
            None => kind.to_owned(),
        }
    }
}

/// The `deploy_on` rule this event matches, if any: `None` means the event only builds.
pub fn deploying_rule(topology: &ValidTopology, event: &Event) -> Option<String> {
    topology.ci.deploy_on.iter().find_map(|rule| {
        if rule.kind != EventKind::from(event.kind) {
            return None;
        }
        let matches = match (&rule.ref_glob, &event.ref_name) {
            (None, _) => true,
            (Some(glob), Some(name)) => compile_glob(glob)
                .map(|glob| glob.compile_matcher().is_match(name))
                .unwrap_or(false),
            (Some(_), None) => false,
        };
        matches.then(|| rule.to_string())
    })
}

/// Services a person forced to deploy, whatever changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Force {
    /// Nothing forced.
    #[default]
    None,
    /// Every service.
    All,
    /// These services (by role or container name).
    Services(Vec<String>),
}

impl Force {
    /// Adds the `--force` values: `all` or service names.
    pub fn from_flags(values: &[String]) -> Force {
        if values.iter().any(|value| value == "all") {
            Force::All
        } else if values.is_empty() {
            Force::None
        } else {
            Force::Services(values.to_vec())
        }
    }

    /// Both: everything either forces.
    pub fn union(self, other: Force) -> Force {
        match (self, other) {
            (Force::All, _) | (_, Force::All) => Force::All,
            (Force::None, other) | (other, Force::None) => other,
            (Force::Services(mut a), Force::Services(b)) => {
                a.extend(b);
                a.sort();
                a.dedup();
                Force::Services(a)
            }
        }
    }

    /// Whether the service (role, container name) is forced.
    pub fn covers(&self, role: &str, container: &str) -> bool {
        match self {
            Force::None => false,
            Force::All => true,
            Force::Services(names) => names.iter().any(|n| n == role || n == container),
        }
    }

    /// The names that are not services of the topology.
    pub fn unknown<'a>(&'a self, topology: &ValidTopology) -> Vec<&'a str> {
        match self {
            Force::Services(names) => names
                .iter()
                .filter(|name| topology.service_named(name).is_none())
                .map(String::as_str)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The commit-message token that forces deploys: `[topo force]` forces every service,
/// `[topo force: server, worker]` (or `[topo force server worker]`) only those.
pub const FORCE_TOKEN: &str = "[topo force";

/// The force a commit message asks for.
pub fn force_in_message(message: &str) -> Force {
    let Some(start) = message.find(FORCE_TOKEN) else {
        return Force::None;
    };
    let rest = &message[start + FORCE_TOKEN.len()..];
    let Some(end) = rest.find(']') else {
        return Force::None;
    };
    let inner = &rest[..end];
    if !(inner.is_empty() || inner.starts_with([':', ' '])) {
        return Force::None; // `[topo forced]` and the like are not the token
    }
    let names: Vec<String> = inner
        .trim_start_matches(':')
        .split([',', ' '])
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        Force::All
    } else {
        Force::from_flags(&names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use topo_core::model::Topology;
    use topo_core::Spanned;

    fn check_token(message: &str, expect: Force) {
        assert_eq!(force_in_message(message), expect, "{message}");
    }

    #[test]
    fn force_tokens() {
        check_token("fix: typo", Force::None);
        check_token("release [topo force]", Force::All);
        check_token(
            "x\n\n[topo force: server, worker]",
            Force::Services(vec!["server".into(), "worker".into()]),
        );
        check_token(
            "[topo force vendure-server]",
            Force::Services(vec!["vendure-server".into()]),
        );
        check_token("[topo forced]", Force::None);
        check_token("[topo force all]", Force::All);
        check_token("[topo force", Force::None);
    }

    fn check_gate(deploy_on: &[&str], event: Event, expect: Option<&str>) {
        let mut topology = Topology::new("shop");
        topology.ci.deploy_on = deploy_on
            .iter()
            .map(|s| Spanned::new((*s).to_owned()))
            .collect();
        let topology = topo_core::validate(topology, &Default::default())
            .expect("a valid topology")
            .topology;
        assert_eq!(
            deploying_rule(&topology, &event).as_deref(),
            expect,
            "{event:?}"
        );
    }

    fn event(kind: EventName, name: Option<&str>) -> Event {
        Event {
            kind,
            ref_name: name.map(str::to_owned),
        }
    }

    #[test]
    fn gates() {
        let seeds = ["tag:v*", "manual"];
        check_gate(&seeds, event(EventName::Push, Some("main")), None);
        check_gate(
            &seeds,
            event(EventName::Tag, Some("v1.2.0")),
            Some("tag:v*"),
        );
        check_gate(&seeds, event(EventName::Tag, Some("nightly")), None);
        check_gate(&seeds, event(EventName::Manual, None), Some("manual"));
        check_gate(
            &["push:main"],
            event(EventName::Push, Some("main")),
            Some("push:main"),
        );
        check_gate(
            &["push:main"],
            event(EventName::Push, Some("feature/x")),
            None,
        );
        check_gate(
            &["push:release/*"],
            event(EventName::Push, Some("release/1")),
            Some("push:release/*"),
        );
        check_gate(&["push"], event(EventName::Push, None), Some("push"));
    }

    #[test]
    fn github_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            Event::from_github(env(&[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF_TYPE", "tag"),
                ("GITHUB_REF_NAME", "v2")
            ])),
            Some(event(EventName::Tag, Some("v2")))
        );
        assert_eq!(
            Event::from_github(env(&[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF_TYPE", "branch"),
                ("GITHUB_REF_NAME", "main")
            ])),
            Some(event(EventName::Push, Some("main")))
        );
        assert_eq!(
            Event::from_github(env(&[("GITHUB_EVENT_NAME", "pull_request")])),
            None
        );
        assert_eq!(Event::from_github(env(&[])), None);
    }
}
