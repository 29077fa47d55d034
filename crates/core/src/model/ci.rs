//! What CI needs from the topology: which files matter to which service, and which
//! events deploy.
//!
//! Only the data and its syntax live here; change detection itself is `topo-ci`'s.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::Spanned;

/// Change detection and release settings (`[ci]`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CiSettings {
    /// Files that affect every service, as globs relative to the repository root
    /// (`pnpm-lock.yaml`, `packages/*/package.json`). A change to one of them changes every
    /// service. The topology file is never one of them: a service is affected by an edit of
    /// the topology only through its own rendered production spec.
    #[serde(default)]
    pub global_files: Vec<Spanned<String>>,
    /// Globs excluded from every service's scope (`**/*.md`): changes to them are not
    /// meaningful. Adds to each service's own `changes.exclude`.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    /// The events that deploy changed services: `push`, `push:<branch glob>`, `tag`,
    /// `tag:<tag glob>`, `manual`. Any other event only builds them. Defaults to every
    /// event (`["push", "tag", "manual"]`).
    #[serde(default = "default_deploy_on")]
    pub deploy_on: Vec<Spanned<String>>,
}

fn default_deploy_on() -> Vec<Spanned<String>> {
    ["push", "tag", "manual"]
        .into_iter()
        .map(|event| Spanned::new(event.to_owned()))
        .collect()
}

impl Default for CiSettings {
    fn default() -> Self {
        CiSettings {
            global_files: Vec::new(),
            exclude: Vec::new(),
            deploy_on: default_deploy_on(),
        }
    }
}

/// A service's scope for change detection beyond its build context (`[services.changes]`).
///
/// `package` is for an image built from a workspace root (`context = "."`, a Dockerfile
/// running `npm run build -w @shop/server`, `cargo build -p server` or
/// `go build ./services/api`): its scope is then
/// the context less the directories of the workspace packages that package does not
/// depend on, and the root lockfile counts only through what it resolves for it.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    /// Extra globs, relative to the repository root, whose changes change this service
    /// (`packages/shared/**`).
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    /// Globs, relative to the repository root, whose changes do not (`apps/server/docs/**`).
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    /// The workspace package (npm, pnpm or yarn), crate or Go module the image is built
    /// from, when the build context holds others: its name (`@shop/server`, `server`,
    /// `example.com/shop/api`) or its directory from the topology's (`apps/server`). Files of the context's other packages change the
    /// service only if that package depends on them.
    #[serde(default)]
    pub package: Option<Spanned<String>>,
}

/// The kinds of CI event a plan is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// A push to a branch.
    Push,
    /// A tag was pushed (a release).
    Tag,
    /// A person asked for a deploy (workflow_dispatch, a manual run).
    Manual,
}

impl EventKind {
    /// Every kind, in the order they are documented.
    pub const ALL: [EventKind; 3] = [EventKind::Push, EventKind::Tag, EventKind::Manual];

    /// The name used in the topology and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Push => "push",
            EventKind::Tag => "tag",
            EventKind::Manual => "manual",
        }
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// One entry of `deploy_on`: an event kind and, optionally, a glob its ref name must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRule {
    /// The event kind.
    pub kind: EventKind,
    /// A glob the branch or tag name must match (`v*`); none matches every name.
    pub ref_glob: Option<String>,
}

impl EventRule {
    /// Parses `kind` or `kind:glob`; the error says what is accepted.
    pub fn parse(text: &str) -> Result<EventRule, String> {
        let (kind, glob) = match text.split_once(':') {
            Some((kind, glob)) => (kind, Some(glob)),
            None => (text, None),
        };
        let kind = EventKind::from_name(kind).ok_or_else(|| {
            format!(
                "unknown event `{kind}`: use push, tag or manual, optionally with `:<ref glob>`"
            )
        })?;
        match glob {
            Some("") => Err(format!(
                "`{text}` has an empty ref glob: write `{}` alone to match every ref",
                kind.as_str()
            )),
            Some(_) if kind == EventKind::Manual => Err("`manual` takes no ref glob".to_owned()),
            Some(glob) => Ok(EventRule {
                kind,
                ref_glob: Some(glob.to_owned()),
            }),
            None => Ok(EventRule {
                kind,
                ref_glob: None,
            }),
        }
    }
}

impl std::fmt::Display for EventRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.ref_glob {
            Some(glob) => write!(f, "{}:{glob}", self.kind.as_str()),
            None => f.write_str(self.kind.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got = match EventRule::parse(input) {
            Ok(rule) => format!("ok {rule}"),
            Err(message) => format!("error {message}"),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn event_rules() {
        check("push", "ok push");
        check("tag:v*", "ok tag:v*");
        check("push:release/*", "ok push:release/*");
        check("manual", "ok manual");
        check("manual:x", "error `manual` takes no ref glob");
        check(
            "tag:",
            "error `tag:` has an empty ref glob: write `tag` alone to match every ref",
        );
        check(
            "release",
            "error unknown event `release`: use push, tag or manual, optionally with `:<ref glob>`",
        );
    }
}
