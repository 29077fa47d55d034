//! The base of a pull-request plan: instead of what is deployed (the markers), head is
//! compared with the merge-base of a branch and head — what merging head into that branch
//! would change, so what the merge would deploy.
//!
//! The branch is `--base REF`, or, in a GitHub Actions pull-request run, the pull request's
//! base: `pull_request.base.sha` from the event payload (`GITHUB_EVENT_PATH`) when that
//! commit is in the clone, else the branch `GITHUB_BASE_REF` (`origin/<branch>` first).

use gix::ObjectId;

use crate::markers::{Marker, Markers};
use crate::plan::{BaseSource, PlanBase};
use crate::repo::{short, GitError, Repo};

/// A pull request, as GitHub Actions describes it in its environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullRequest {
    /// `pull_request` or `pull_request_target`.
    pub event: String,
    /// The branch it would merge into (`GITHUB_BASE_REF`, or the payload's `base.ref`).
    pub base_ref: Option<String>,
    /// That branch's commit when the event fired (the payload's `pull_request.base.sha`).
    pub base_sha: Option<String>,
    /// Its number, when the payload says.
    pub number: Option<u64>,
}

/// Why no base could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    /// The revision names nothing in this clone.
    #[error("cannot compare with `{revision}`: no branch, tag or commit of that name in this clone ({message}). Fetch it (`git fetch origin {fetch}`; in GitHub Actions, `actions/checkout` with `fetch-depth: 0`), or give another --base (`--base origin/main`)")]
    Unknown {
        /// The revision given.
        revision: String,
        /// What to fetch.
        fetch: String,
        /// What git said.
        message: String,
    },
    /// The pull request's base is not in this clone.
    #[error("the pull request's base ({wanted}) is not in this clone: fetch it (`actions/checkout` with `fetch-depth: 0`, or `git fetch origin {fetch}`), or give --base")]
    PullRequestBaseMissing {
        /// What was looked for.
        wanted: String,
        /// What to fetch.
        fetch: String,
    },
    /// A pull-request event that says nothing of its base.
    #[error("a `{event}` event without GITHUB_BASE_REF or a readable event payload (GITHUB_EVENT_PATH{why}): give --base")]
    PullRequestWithoutBase {
        /// The event.
        event: String,
        /// Why the payload did not help.
        why: String,
    },
    /// The two commits share no history.
    #[error(
        "`{revision}` and {head} have no common history: there is no merge-base to compare with"
    )]
    NoMergeBase {
        /// The revision given.
        revision: String,
        /// The head, short.
        head: String,
    },
    /// Git could not answer.
    #[error(transparent)]
    Git(#[from] GitError),
}

impl PullRequest {
    /// The pull request of a GitHub Actions run, if it is one (`GITHUB_EVENT_NAME`
    /// `pull_request` or `pull_request_target`). `read` reads the event payload file.
    pub fn from_github(
        var: impl Fn(&str) -> Option<String>,
        read: impl Fn(&str) -> std::io::Result<String>,
    ) -> Result<Option<PullRequest>, BaseError> {
        let Some(event) = var("GITHUB_EVENT_NAME")
            .filter(|e| matches!(e.as_str(), "pull_request" | "pull_request_target"))
        else {
            return Ok(None);
        };
        let mut pr = PullRequest {
            event,
            base_ref: var("GITHUB_BASE_REF").filter(|r| !r.is_empty()),
            ..PullRequest::default()
        };
        let mut why = String::from(" unset");
        if let Some(path) = var("GITHUB_EVENT_PATH").filter(|p| !p.is_empty()) {
            match read(&path).map_err(|e| e.to_string()).and_then(|text| {
                serde_json::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())
            }) {
                Ok(payload) => {
                    let request = &payload["pull_request"];
                    let base = &request["base"];
                    pr.base_sha = base["sha"].as_str().map(str::to_owned);
                    pr.number = request["number"].as_u64();
                    if pr.base_ref.is_none() {
                        pr.base_ref = base["ref"].as_str().map(str::to_owned);
                    }
                    why = " without pull_request.base".to_owned();
                }
                Err(e) => why = format!(" {path}: {e}"),
            }
        }
        if pr.base_ref.is_none() && pr.base_sha.is_none() {
            return Err(BaseError::PullRequestWithoutBase {
                event: pr.event,
                why,
            });
        }
        Ok(Some(pr))
    }

    /// `#12 into main`, `into main`.
    fn describe(&self) -> String {
        let into = self
            .base_ref
            .as_deref()
            .map_or_else(String::new, |r| format!(" into `{r}`"));
        match self.number {
            Some(n) => format!("pull request #{n}{into}"),
            None => format!("a pull request{into}"),
        }
    }
}

/// The base of a plan: `--base REF`, or a pull request's.
pub fn resolve_flag(repo: &Repo, head: ObjectId, revision: &str) -> Result<PlanBase, BaseError> {
    let commit = repo.resolve(revision).map_err(|e| BaseError::Unknown {
        revision: revision.to_owned(),
        fetch: revision
            .strip_prefix("origin/")
            .unwrap_or(revision)
            .to_owned(),
        message: e.message,
    })?;
    let why = format!("`--base {revision}`");
    finish(repo, head, revision, commit, BaseSource::Flag, why, None)
}

/// The base of a pull request: its base commit when this clone has it, else its branch
/// (`origin/<branch>`, then `<branch>`).
pub fn resolve_pull_request(
    repo: &Repo,
    head: ObjectId,
    pr: &PullRequest,
) -> Result<PlanBase, BaseError> {
    let from = format!("GITHUB_EVENT_NAME={}", pr.event);
    if let Some((sha, commit)) = pr
        .base_sha
        .as_deref()
        .and_then(|sha| Some((sha, repo.has_commit(sha)?)))
    {
        let why = format!(
            "{} ({from}; its base commit from the event payload)",
            pr.describe()
        );
        let revision = pr.base_ref.clone().unwrap_or_else(|| sha.to_owned());
        return finish(
            repo,
            head,
            &revision,
            commit,
            BaseSource::PullRequest,
            why,
            pr.number,
        );
    }
    if let Some(branch) = &pr.base_ref {
        for candidate in [format!("refs/remotes/origin/{branch}"), branch.clone()] {
            if let Ok(commit) = repo.resolve(&candidate) {
                let why = format!("{} ({from}, GITHUB_BASE_REF={branch})", pr.describe());
                let shown = candidate
                    .strip_prefix("refs/remotes/")
                    .unwrap_or(&candidate);
                return finish(
                    repo,
                    head,
                    shown,
                    commit,
                    BaseSource::PullRequest,
                    why,
                    pr.number,
                );
            }
        }
    }
    let wanted = [pr.base_ref.as_deref(), pr.base_sha.as_deref().map(short)]
        .into_iter()
        .flatten()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(" at ");
    Err(BaseError::PullRequestBaseMissing {
        wanted,
        fetch: pr
            .base_ref
            .clone()
            .unwrap_or_else(|| "<base branch>".to_owned()),
    })
}

/// The merge-base of `commit` and head, and the sentence saying why it is the base.
fn finish(
    repo: &Repo,
    head: ObjectId,
    revision: &str,
    commit: ObjectId,
    source: BaseSource,
    why: String,
    pull_request: Option<u64>,
) -> Result<PlanBase, BaseError> {
    let merge_base = repo
        .merge_base(commit, head)?
        .ok_or_else(|| BaseError::NoMergeBase {
            revision: revision.to_owned(),
            head: short(&head.to_string()).to_owned(),
        })?;
    let (merge, head_short) = (merge_base.to_string(), head.to_string());
    let why = format!(
        "{why}: compared with {}, the merge-base of `{revision}` ({}) and {} — what a merge would deploy",
        short(&merge),
        short(&commit.to_string()),
        short(&head_short),
    );
    Ok(PlanBase {
        source,
        revision: revision.to_owned(),
        commit: commit.to_string(),
        merge_base: merge,
        pull_request,
        why,
    })
}

/// Markers that put every container at the merge-base: a plan against them diffs every
/// service from there (no fingerprint is recorded, so none is reused).
pub fn markers_at(base: &PlanBase, env: &str, containers: &[String]) -> Markers {
    let mut markers = Markers::default();
    for container in containers {
        let marker = Marker {
            commit: base.merge_base.clone(),
            fingerprint: None,
            image: None,
            digests: None,
            deployed_at: String::new(),
        };
        markers.set(env, container, marker);
    }
    markers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn payload(_: &str) -> std::io::Result<String> {
        Ok(r#"{"number": 12, "pull_request": {"number": 12, "base": {"ref": "main", "sha": "0123456789abcdef0123456789abcdef01234567"}}}"#.to_owned())
    }

    #[test]
    fn pull_requests_from_github() {
        assert_eq!(
            PullRequest::from_github(env(&[("GITHUB_EVENT_NAME", "push")]), payload)
                .expect("no error"),
            None
        );
        let pr = PullRequest::from_github(
            env(&[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_EVENT_PATH", "/event.json"),
            ]),
            payload,
        )
        .expect("no error")
        .expect("a pull request");
        assert_eq!(pr.base_ref.as_deref(), Some("main"));
        assert_eq!(pr.number, Some(12));
        assert_eq!(pr.describe(), "pull request #12 into `main`");
        let pr = PullRequest::from_github(
            env(&[
                ("GITHUB_EVENT_NAME", "pull_request_target"),
                ("GITHUB_BASE_REF", "release"),
            ]),
            |_| Err(std::io::Error::other("unreadable")),
        )
        .expect("no error")
        .expect("a pull request");
        assert_eq!(
            (pr.base_ref.as_deref(), pr.base_sha),
            (Some("release"), None)
        );
        let error =
            PullRequest::from_github(env(&[("GITHUB_EVENT_NAME", "pull_request")]), payload)
                .expect_err("no base");
        assert!(error.to_string().contains("give --base"), "{error}");
    }
}
