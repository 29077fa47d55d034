//! `topo diff MODE MODE [ROLE…]`: why a container differs between two modes, each
//! difference with the name of the rule that made it.

use clap::{Args, ValueEnum};
use topo_core::report::Exit;
use topo_core::spec::diff::{diff, Difference};
use topo_core::spec::runtime_spec;
use topo_core::{Mode, SpecOptions};

use crate::error::CommandError;
use crate::InputArgs;

/// `topo diff`'s arguments.
#[derive(Args)]
pub struct DiffArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The first mode.
    left: Mode,
    /// The second mode.
    right: Mode,
    /// Only these services (by role, `server`, or container name, `vendure-server`).
    roles: Vec<String>,
    /// How to print the differences.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
}

/// How `topo diff` prints.
#[derive(Clone, Copy, ValueEnum)]
enum DiffFormat {
    /// One line per difference, then the rules cited.
    Text,
    /// A JSON document: `{ left, right, differences: [{ role, field, left, right, rule }] }`.
    Json,
}

/// Runs `topo diff`.
pub fn run(args: DiffArgs) -> Result<Exit, CommandError> {
    let input = args.input.input();
    let Some((_, validated)) = crate::output::load(&input, crate::output::Format::Human)? else {
        return Ok(Exit::Failure);
    };
    let topology = &validated.topology;
    let options = SpecOptions::default();
    let left = runtime_spec(topology, args.left, &options);
    let right = runtime_spec(topology, args.right, &options);
    // Every container of either mode, by role and by name.
    let known: Vec<(&str, &str)> = left
        .containers
        .iter()
        .chain(&right.containers)
        .map(|c| (c.role.as_str(), c.name.as_str()))
        .collect();
    let mut roles = Vec::new();
    for name in &args.roles {
        match known
            .iter()
            .find(|(role, container)| role == name || container == name)
        {
            Some((role, _)) => roles.push((*role).to_owned()),
            None => {
                let mut all: Vec<&str> = Vec::new();
                for (role, _) in &known {
                    if !all.contains(role) {
                        all.push(role);
                    }
                }
                return Err(CommandError::Refused {
                    message: format!("`{name}` runs in neither {} nor {}", args.left, args.right),
                    help: Some(format!("name one of: {}", all.join(", "))),
                });
            }
        }
    }
    let differences = diff(&left, &right, &roles);
    match args.format {
        DiffFormat::Json => {
            let document = serde_json::json!({
                "left": args.left.as_str(),
                "right": args.right.as_str(),
                "differences": differences,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&document).expect("JSON of plain data")
            );
        }
        DiffFormat::Text => print!("{}", text(args.left, args.right, &differences)),
    }
    Ok(Exit::Success)
}

/// The text report: per container, one line per difference with its rule; then each rule
/// cited, with why.
fn text(left: Mode, right: Mode, differences: &[Difference]) -> String {
    let mut out = String::new();
    let containers: Vec<&str> = {
        let mut seen: Vec<&str> = Vec::new();
        for d in differences {
            if !seen.contains(&d.role.as_str()) {
                seen.push(&d.role);
            }
        }
        seen
    };
    out.push_str(&format!(
        "{left} → {right}: {} difference{} in {} container{}\n",
        differences.len(),
        if differences.len() == 1 { "" } else { "s" },
        containers.len(),
        if containers.len() == 1 { "" } else { "s" },
    ));
    for role in &containers {
        out.push_str(&format!("\n{role}\n"));
        for d in differences.iter().filter(|d| d.role == *role) {
            let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
            out.push_str(&format!(
                "  {}: {} → {}  [{}]\n",
                d.field,
                side(&d.left),
                side(&d.right),
                d.rule.id
            ));
        }
    }
    let mut cited: Vec<&topo_core::spec::rules::Rule> = Vec::new();
    for rule in topo_core::spec::rules::RULES {
        if differences.iter().any(|d| d.rule == *rule) {
            cited.push(rule);
        }
    }
    if !cited.is_empty() {
        out.push_str("\nwhy:\n");
        for rule in cited {
            out.push_str(&format!("  {}: {}\n", rule.id, rule.why));
        }
    }
    out
}
