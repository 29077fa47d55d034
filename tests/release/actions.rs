//! Just enough of a GitHub Actions runner to run a workflow's `run:` steps for real: jobs in
//! `needs` order with their `if:`, a fresh checkout and a fresh docker CLI config per job
//! (a fresh runner), `${{ }}` expressions over `secrets`, `vars`, `needs`, `steps`,
//! `runner` and `github`, step outputs through `$GITHUB_OUTPUT`, the job summary through
//! `$GITHUB_STEP_SUMMARY`, artifacts between jobs. Steps that `uses:` anything but
//! checkout and the artifact actions are refused, so the test cannot pass by skipping one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::text;

/// The event a run is for.
pub struct Trigger {
    /// `branch` or `tag`.
    pub ref_type: &'static str,
    /// `main`, `v1.0.0`.
    pub ref_name: String,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Each job's result: `success`, `failure` or `skipped`.
    pub results: BTreeMap<String, String>,
    /// Each job's outputs.
    pub outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// Each job's step summary.
    pub summaries: BTreeMap<String, String>,
    /// Each job's steps' output (stdout, then stderr).
    pub logs: BTreeMap<String, String>,
    /// Each failed step's output.
    pub failures: Vec<String>,
}

/// A workflow, run against a repository.
pub struct Runner<'a> {
    pub workflow: Value,
    /// The repository pushed to.
    pub repository: &'a Path,
    pub secrets: BTreeMap<String, String>,
    pub vars: BTreeMap<String, String>,
    /// Prepended to PATH (where `topo` and `topo-ci` are).
    pub path: String,
}

struct Context<'a> {
    runner: &'a Runner<'a>,
    trigger: &'a Trigger,
    sha: String,
    temp: PathBuf,
    needs: &'a RunResult,
    steps: BTreeMap<String, BTreeMap<String, String>>,
    env: BTreeMap<String, String>,
}

impl Runner<'_> {
    /// Runs every job of the workflow for a push of `trigger` at the repository's
    /// `trigger.ref_name`.
    pub fn run(&self, trigger: &Trigger) -> RunResult {
        let sha = git(self.repository, &["rev-parse", &trigger.ref_name]);
        let jobs = self.workflow["jobs"].as_object().expect("jobs");
        let mut result = RunResult::default();
        let artifacts = tempfile::tempdir().expect("tempdir");
        while result.results.len() < jobs.len() {
            let (name, job) = jobs
                .iter()
                .find(|(name, job)| {
                    !result.results.contains_key(*name)
                        && needs(job).iter().all(|n| result.results.contains_key(n))
                })
                .expect("a job whose needs have run (no cycle)");
            let all_succeeded = needs(job)
                .iter()
                .all(|n| result.results.get(n).map(String::as_str) == Some("success"));
            let temp = tempfile::tempdir().expect("tempdir");
            let mut context = Context {
                runner: self,
                trigger,
                sha: sha.clone(),
                temp: temp.path().to_owned(),
                needs: &result,
                steps: BTreeMap::new(),
                env: BTreeMap::new(),
            };
            let wanted = match job["if"].as_str() {
                Some(condition) => context.condition(condition),
                None => true,
            };
            if !all_succeeded || !wanted {
                result.results.insert(name.clone(), "skipped".to_owned());
                continue;
            }
            let (ok, outputs, summary, failure, log) = context.job(job, artifacts.path());
            result.logs.insert(name.clone(), log);
            result.results.insert(
                name.clone(),
                if ok { "success" } else { "failure" }.to_owned(),
            );
            result.outputs.insert(name.clone(), outputs);
            result.summaries.insert(name.clone(), summary);
            result
                .failures
                .extend(failure.map(|f| format!("{name}: {f}")));
        }
        result
    }
}

fn needs(job: &Value) -> Vec<String> {
    match &job["needs"] {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

impl Context<'_> {
    /// Runs a job's steps: success, its outputs, its summary and a failed step's output.
    fn job(
        &mut self,
        job: &Value,
        artifacts: &Path,
    ) -> (
        bool,
        BTreeMap<String, String>,
        String,
        Option<String>,
        String,
    ) {
        let mut log = String::new();
        let workspace = self.temp.join("workspace");
        let docker_config = self.temp.join("docker-config");
        std::fs::create_dir_all(&docker_config).expect("docker config dir");
        let summary = self.temp.join("step-summary.md");
        std::fs::write(&summary, "").expect("summary");
        for (key, value) in self.runner.workflow["env"]
            .as_object()
            .into_iter()
            .chain(job["env"].as_object())
            .flatten()
        {
            let value = self.substitute(value.as_str().unwrap_or_default());
            self.env.insert(key.clone(), value);
        }
        let mut failure = None;
        for (index, step) in job["steps"].as_array().expect("steps").iter().enumerate() {
            if let Some(uses) = step["uses"].as_str() {
                self.action(uses, step, &workspace, artifacts);
                continue;
            }
            let script = step["run"].as_str().expect("a step runs or uses something");
            let script = self.substitute(script);
            let outputs = self.temp.join(format!("output-{index}"));
            std::fs::write(&outputs, "").expect("outputs");
            let mut env = self.env.clone();
            for (key, value) in step["env"].as_object().into_iter().flatten() {
                let value = match value {
                    Value::String(s) => self.substitute(s),
                    other => other.to_string(),
                };
                env.insert(key.clone(), value);
            }
            let output = self.bash(index, &script, &env, &workspace, &outputs, &summary);
            log.push_str(&text(&output.stdout));
            log.push_str(&text(&output.stderr));
            let written = std::fs::read_to_string(&outputs).unwrap_or_default();
            if let Some(id) = step["id"].as_str() {
                self.steps.insert(id.to_owned(), parse_outputs(&written));
            }
            if !output.status.success() {
                failure = Some(format!(
                    "step {index} failed ({}):\n{}\n{}",
                    output.status,
                    text(&output.stdout),
                    text(&output.stderr)
                ));
                break;
            }
        }
        let outputs = job["outputs"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(key, value)| {
                (
                    key.clone(),
                    self.substitute(value.as_str().unwrap_or_default()),
                )
            })
            .collect();
        let summary = std::fs::read_to_string(&summary).unwrap_or_default();
        (failure.is_none(), outputs, summary, failure, log)
    }

    /// Runs one step's script with the runner's environment (GitHub's variables, then the
    /// workflow's, job's and step's `env`).
    fn bash(
        &self,
        index: usize,
        script: &str,
        env: &BTreeMap<String, String>,
        workspace: &Path,
        outputs: &Path,
        summary: &Path,
    ) -> std::process::Output {
        let docker_config = self.temp.join("docker-config");
        let file = self.temp.join(format!("step-{index}.sh"));
        std::fs::write(&file, script).expect("script");
        let trigger = self.trigger;
        Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(workspace)
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.runner.path,
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", &self.temp)
            .env("DOCKER_CONFIG", &docker_config)
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", "push")
            .env("GITHUB_REF_TYPE", trigger.ref_type)
            .env("GITHUB_REF_NAME", &trigger.ref_name)
            .env(
                "GITHUB_REF",
                match trigger.ref_type {
                    "tag" => format!("refs/tags/{}", trigger.ref_name),
                    _ => format!("refs/heads/{}", trigger.ref_name),
                },
            )
            .env("GITHUB_SHA", &self.sha)
            .env("GITHUB_WORKSPACE", workspace)
            .env("GITHUB_OUTPUT", outputs)
            .env("GITHUB_STEP_SUMMARY", summary)
            .env("RUNNER_TEMP", &self.temp)
            .envs(env)
            .output()
            .expect("bash runs")
    }

    /// The actions a runner must have: checkout, and artifacts between jobs.
    fn action(&self, uses: &str, step: &Value, workspace: &Path, artifacts: &Path) {
        let with = |key: &str| step["with"][key].as_str().map(str::to_owned);
        match uses.split('@').next().unwrap_or(uses) {
            "actions/checkout" => {
                let full = step["with"]["fetch-depth"].as_i64() == Some(0);
                let mut clone = Command::new("git");
                clone.args(["clone", "-q", "--branch", &self.trigger.ref_name]);
                if !full {
                    clone.args(["--depth", "1"]);
                }
                let cloned = clone
                    .arg(format!("file://{}", self.runner.repository.display()))
                    .arg(workspace)
                    .output()
                    .expect("git runs");
                assert!(
                    cloned.status.success(),
                    "checkout: {}",
                    text(&cloned.stderr)
                );
            }
            "actions/upload-artifact" => {
                let name = with("name").expect("an artifact name");
                let path = with("path").expect("an artifact path");
                let into = artifacts.join(&name);
                std::fs::create_dir_all(&into).expect("artifact dir");
                std::fs::copy(workspace.join(&path), into.join(&path))
                    .unwrap_or_else(|e| panic!("upload {name}: {path}: {e}"));
            }
            "actions/download-artifact" => {
                let name = with("name").expect("an artifact name");
                let from = artifacts.join(&name);
                for entry in std::fs::read_dir(&from)
                    .unwrap_or_else(|e| panic!("download {name}: no such artifact ({e})"))
                {
                    let entry = entry.expect("entry");
                    std::fs::copy(entry.path(), workspace.join(entry.file_name()))
                        .expect("download");
                }
            }
            other => panic!("this runner does not emulate `{other}`: the test cannot skip it"),
        }
    }

    /// `text` with each `${{ expression }}` replaced by its value.
    fn substitute(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("a closed expression") + start;
            out.push_str(&self.value(rest[start + 3..end].trim()));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// A context value (`secrets.X`, `needs.J.outputs.K`, `steps.S.outputs.K`, …).
    fn value(&self, path: &str) -> String {
        let parts: Vec<&str> = path.split('.').collect();
        let get = |map: Option<&BTreeMap<String, String>>, key: &str| {
            map.and_then(|m| m.get(key)).cloned().unwrap_or_default()
        };
        match parts.as_slice() {
            ["secrets", name] => get(Some(&self.runner.secrets), name),
            ["vars", name] => get(Some(&self.runner.vars), name),
            ["env", name] => get(Some(&self.env), name),
            ["needs", job, "outputs", key] => get(self.needs.outputs.get(*job), key),
            ["needs", job, "result"] => get(Some(&self.needs.results), job),
            ["steps", id, "outputs", key] => get(self.steps.get(*id), key),
            ["runner", "temp"] => self.temp.display().to_string(),
            ["github", "sha"] => self.sha.clone(),
            ["github", "ref_name"] => self.trigger.ref_name.clone(),
            _ => panic!("this runner does not know the expression `{path}`"),
        }
    }

    /// An `if:` of `&&`-joined comparisons (`A == 'x'`, `A != 'x'`) and status functions.
    fn condition(&self, condition: &str) -> bool {
        let condition = condition
            .trim()
            .trim_start_matches("${{")
            .trim_end_matches("}}");
        condition.split("&&").all(|term| {
            let term = term.trim();
            match term {
                "always()" | "!cancelled()" | "success()" => return true,
                _ => {}
            }
            let (left, right, equal) = match (term.split_once("!="), term.split_once("==")) {
                (Some((l, r)), _) => (l, r, false),
                (None, Some((l, r))) => (l, r, true),
                _ => panic!("this runner does not know the condition `{term}`"),
            };
            let literal = right.trim().trim_matches('\'');
            (self.value(left.trim()) == literal) == equal
        })
    }
}

/// `key=value` lines and `key<<DELIMITER` blocks.
fn parse_outputs(written: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = written.lines();
    while let Some(line) = lines.next() {
        if let Some((key, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            outputs.insert(key.to_owned(), value.join("\n"));
        } else if let Some((key, value)) = line.split_once('=') {
            outputs.insert(key.to_owned(), value.to_owned());
        }
    }
    outputs
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout).trim().to_owned()
}
