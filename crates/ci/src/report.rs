//! A plan for people and machines: text, Markdown (the deployment summary), JSON and
//! GitHub Actions outputs.

use std::fmt::Write as _;

use crate::plan::{Action, Plan, ServicePlan};
use crate::repo::short;

/// How many changed files the Markdown summary lists per service.
const LISTED_IN_SUMMARY: usize = 5;

/// A terminal-friendly table and the notes.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan for {} at {} ({}: {})",
        plan.env,
        short(&plan.head),
        plan.event.describe(),
        if plan.deploys {
            "deploys"
        } else {
            "builds only"
        }
    );
    if let Some(base) = &plan.base {
        let _ = writeln!(out, "base: {}", base.why);
    }
    let width = plan
        .services
        .iter()
        .map(|s| s.container.len())
        .max()
        .unwrap_or(0);
    let reason_width = plan
        .services
        .iter()
        .map(|s| s.reason.as_str().len())
        .max()
        .unwrap_or(0);
    for service in &plan.services {
        let _ = writeln!(
            out,
            "  {:<6}  {:<width$}  {:<reason_width$}  {}",
            service.action.as_str(),
            service.container,
            service.reason.as_str(),
            service.detail,
        );
    }
    for note in &plan.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

/// The plan document, pretty-printed.
pub fn json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("a plan always serialises");
    text.push('\n');
    text
}

/// The deployment summary: a table of services with action, reason, commit range and the
/// first changed files, then every fallback explained.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    match &plan.base {
        Some(base) => {
            let _ = writeln!(
                out,
                "### topo plan: what a merge of `{}` into `{}` would deploy to {}\n\n{}.\n",
                short(&plan.head),
                base.revision,
                plan.env,
                escape(&base.why)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "### topo plan: {} at `{}`\n",
                plan.env,
                short(&plan.head)
            );
        }
    }
    let _ = writeln!(
        out,
        "Event `{}`: {}.\n",
        plan.event.describe(),
        if plan.deploys {
            "deploys changed services"
        } else {
            "builds changed services, deploys nothing"
        }
    );
    out.push_str("| Service | Action | Reason | Commits | Changed | Files |\n");
    out.push_str("|---|---|---|---|---:|---|\n");
    for service in &plan.services {
        let reason = match service.cause {
            Some(cause) => format!("{} ({})", service.reason.as_str(), cause.as_str()),
            None => service.reason.as_str().to_owned(),
        };
        let range = match &service.base {
            Some(base) => format!("`{}..{}`", short(base), short(&plan.head)),
            None => "—".to_owned(),
        };
        let action = match service.action {
            Action::Skip => "skip".to_owned(),
            other => format!("**{}**", other.as_str()),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            service.container,
            action,
            reason,
            range,
            service.changed_count,
            files(service),
        );
    }
    if !plan.notes.is_empty() {
        out.push_str("\n**Notes**\n\n");
        for note in &plan.notes {
            let _ = writeln!(out, "- {}", escape(note));
        }
    }
    out
}

fn files(service: &ServicePlan) -> String {
    if service.changed_files.is_empty() {
        return String::new();
    }
    if !service.changed_dependencies.is_empty() {
        // A lockfile: what it changed for the service, not just its name.
        let file = escape(&service.changed_files.join(", ")).replace('`', "'");
        let mut listed: Vec<String> = service
            .changed_dependencies
            .iter()
            .take(LISTED_IN_SUMMARY)
            .map(|change| escape(change))
            .collect();
        if service.changed_dependencies.len() > LISTED_IN_SUMMARY {
            listed.push(format!(
                "… {} more",
                service.changed_dependencies.len() - LISTED_IN_SUMMARY
            ));
        }
        return format!("`{file}`: {}", listed.join("<br>"));
    }
    let mut listed: Vec<String> = service
        .changed_files
        .iter()
        .take(LISTED_IN_SUMMARY)
        .map(|file| format!("`{}`", escape(file).replace('`', "'")))
        .collect();
    if service.changed_count > LISTED_IN_SUMMARY {
        listed.push(format!(
            "… {} more",
            service.changed_count - LISTED_IN_SUMMARY
        ));
    }
    listed.join("<br>")
}

/// Table cells cannot hold `|` or line breaks.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// `$GITHUB_OUTPUT` lines: `deploy` (a JSON array of the containers to deploy, for a
/// matrix), `images` (a JSON array of the distinct images to build, for deploys and
/// builds), `any` (`true` when something deploys), one key per container with its action,
/// and `plan` (the whole document on one line).
pub fn github_outputs(plan: &Plan) -> String {
    let deploy: Vec<&str> = plan
        .services
        .iter()
        .filter(|s| s.action == Action::Deploy)
        .map(|s| s.container.as_str())
        .collect();
    let mut images: Vec<&str> = plan
        .services
        .iter()
        .filter(|s| s.action != Action::Skip)
        .map(|s| s.image.as_str())
        .collect();
    images.sort();
    images.dedup();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "deploy={}",
        serde_json::to_string(&deploy).expect("names serialise")
    );
    let _ = writeln!(
        out,
        "images={}",
        serde_json::to_string(&images).expect("names serialise")
    );
    let _ = writeln!(out, "any={}", !deploy.is_empty());
    for service in &plan.services {
        let _ = writeln!(out, "{}={}", service.container, service.action.as_str());
    }
    let _ = writeln!(
        out,
        "plan={}",
        serde_json::to_string(plan).expect("a plan always serialises")
    );
    out
}
