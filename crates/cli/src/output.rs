//! The commands' effects: printing diagnostics, writing files atomically.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use miette::GraphicalReportHandler;
use topo_core::diagnostic::DiagnosticRecord;
use topo_core::report::Exit;
use topo_core::{
    Diagnostic, LoadError, Loaded, Mode, RenderOptions, SourceFile, SpecOptions, Validated,
};

use crate::error::CommandError;
use crate::input::{directory_of, Input};

/// How diagnostics are printed.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// With source snippets and hints (to stderr).
    Human,
    /// One `file:line:column: severity[code]: message` line each (to stderr).
    Short,
    /// A JSON document (to stdout).
    Json,
}

/// Loads and validates, printing every diagnostic. `None` when there are errors.
pub(crate) fn load(
    input: &Input,
    format: Format,
) -> Result<Option<(SourceFile, Validated)>, CommandError> {
    report(input.load()?, format)
}

/// Prints every diagnostic of a loaded topology. `None` when there are errors.
fn report(
    loaded: Result<Loaded, LoadError>,
    format: Format,
) -> Result<Option<(SourceFile, Validated)>, CommandError> {
    match loaded {
        Ok(Loaded { source, validated }) => {
            print_diagnostics(&source, &validated.warnings, format);
            Ok(Some((source, validated)))
        }
        Err(LoadError::Invalid { file, diagnostics }) => {
            print_diagnostics(&file, &diagnostics, format);
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

pub(crate) fn print_diagnostics(source: &SourceFile, diagnostics: &[Diagnostic], format: Format) {
    match format {
        Format::Json => {
            let records: Vec<DiagnosticRecord> = diagnostics
                .iter()
                .map(|d| DiagnosticRecord::new(d, source))
                .collect();
            let document = serde_json::json!({ "file": source.name(), "valid": !topo_core::diagnostic::has_errors(diagnostics), "diagnostics": records });
            println!(
                "{}",
                serde_json::to_string_pretty(&document).expect("diagnostics serialise")
            );
        }
        Format::Short => {
            let (shown, hidden) = topo_core::limit::shown(diagnostics);
            for diagnostic in shown {
                eprintln!("{}", diagnostic.in_source(source).short());
            }
            if hidden > 0 {
                eprintln!("{}", topo_core::limit::more_line(source.name(), hidden));
            }
        }
        Format::Human => {
            let handler = report_handler();
            let (shown, hidden) = topo_core::limit::shown(diagnostics);
            for diagnostic in shown {
                let located = diagnostic.in_source(source);
                match topo_core::report::graphical(&handler, &located) {
                    Some(text) => {
                        // Without a span miette shows no location: say at least which file.
                        if diagnostic.span.is_none() {
                            eprintln!("{}", located.short());
                        }
                        eprint!("{text}");
                    }
                    // A span miette cannot draw: the one-line form and the hint.
                    None => {
                        eprintln!("{}", located.short());
                        if let Some(help) = &diagnostic.help {
                            eprintln!("  help: {help}");
                        }
                    }
                }
            }
            if hidden > 0 {
                eprintln!("{}", topo_core::limit::more_line(source.name(), hidden));
            }
            if !diagnostics.is_empty() {
                let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                let warnings = diagnostics.len() - errors;
                eprintln!(
                    "{}: {errors} error{}, {warnings} warning{}",
                    source.name(),
                    plural(errors),
                    plural(warnings)
                );
            }
        }
    }
}

/// miette's snippet renderer for stderr: colours only on a terminal without `NO_COLOR`.
pub(crate) fn report_handler() -> GraphicalReportHandler {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    topo_core::report::handler(color)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `topo check`: the topology's problems and what `topo lint` finds in its renders.
pub fn check(input: &Input, format: Format) -> Result<Exit, CommandError> {
    let repository = input.repository();
    let checked = input
        .load()?
        .and_then(|loaded| loaded.check(repository.as_deref()));
    let Some((source, validated)) = report(checked, format)? else {
        return Ok(Exit::Failure);
    };
    if !matches!(format, Format::Json) {
        let topology = &validated.topology;
        let containers = topology.services.len() + usize::from(topology.database.is_some());
        println!(
            "{}: valid ({} containers on {})",
            source.name(),
            containers,
            topo_core::naming::network_name(&topology.project)
        );
    }
    Ok(Exit::Success)
}

/// Where `topo render` reads the production images to pin, if anywhere.
pub struct Pins<'a> {
    /// A `topo build` report.
    pub images: Option<&'a Path>,
    /// A `topo-ci plan` document.
    pub plan: Option<&'a Path>,
    /// `--engine`: production on this engine instead of the topology's.
    pub engine: Option<topo_sim::cli::EngineArg>,
}

/// `topo render`.
pub fn render(
    input: &Input,
    modes: &[Mode],
    out: Option<&Path>,
    check: bool,
    pins: &Pins<'_>,
) -> Result<Exit, CommandError> {
    let Some((_, mut validated)) = load(input, Format::Human)? else {
        return Ok(Exit::Failure);
    };
    if let Some(engine) = pins.engine {
        topo_core::spec::swarm::override_engine(&mut validated.topology, engine.engine())
            .map_err(CommandError::Usage)?;
    }
    let out_dir = out
        .map(Path::to_path_buf)
        .or_else(|| input.repository())
        .unwrap_or_else(|| PathBuf::from("."));
    let mut options = render_options(input, &out_dir)?;
    options.spec.pinned = crate::pinned::pinned(&validated.topology, pins.images, pins.plan)?;
    let unpinned = (!options.spec.pinned.is_empty()).then(|| {
        validated
            .topology
            .services
            .iter()
            .map(|s| topo_core::naming::container_name(&validated.topology.project, &s.role))
            .filter(|c| !options.spec.pinned.contains_key(c))
            .collect::<Vec<_>>()
    });
    let files: Vec<_> = modes
        .iter()
        .map(|&mode| topo_core::render(&validated.topology, mode, &options))
        .collect();
    if check {
        let mut fresh = true;
        for file in &files {
            let path = out_dir.join(&file.file_name);
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            let diff = topo_core::render::unified_diff(
                &on_disk,
                &file.contents,
                &path.display().to_string(),
            );
            if !diff.is_empty() {
                fresh = false;
                print!("{diff}");
                eprintln!(
                    "stale: {} (run `topo render` to regenerate)",
                    path.display()
                );
            }
        }
        if fresh {
            println!(
                "up to date: {}",
                files
                    .iter()
                    .map(|f| f.file_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        return Ok(Exit::from_ok(fresh));
    }
    std::fs::create_dir_all(&out_dir).map_err(CommandError::io("create", &out_dir))?;
    for file in &files {
        let path = out_dir.join(&file.file_name);
        write_atomically(&path, file.contents.as_bytes())?;
        println!("wrote {} ({})", path.display(), file.mode);
    }
    match unpinned {
        Some(rest) if rest.is_empty() => println!("production runs the given images"),
        Some(rest) => println!(
            "production runs the given images; {} keep the tag variable: {}",
            rest.len(),
            rest.join(", ")
        ),
        None => {}
    }
    Ok(Exit::Success)
}

/// How the rendered files name their topology and reach the repository from `out_dir`.
pub(crate) fn render_options(input: &Input, out_dir: &Path) -> Result<RenderOptions, CommandError> {
    match input {
        Input::Example(name) => Ok(RenderOptions {
            source_name: format!("the built-in example `{name}`"),
            root: ".".to_owned(),
            spec: SpecOptions::default(),
        }),
        Input::File(path) => {
            let absolute =
                |p: &Path| std::path::absolute(p).map_err(CommandError::io("resolve", p));
            let out_abs = absolute(out_dir)?;
            let topology_abs = absolute(path)?;
            let relative = |target: &Path| {
                pathdiff::diff_paths(target, &out_abs)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
            };
            let root = relative(&directory_of(&topology_abs))
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| ".".to_owned());
            let source_name = relative(&topology_abs).unwrap_or_else(|| path.display().to_string());
            Ok(RenderOptions {
                source_name,
                root,
                spec: SpecOptions::default(),
            })
        }
    }
}

/// `topo init`.
pub fn init(example: &str, output: &Path, force: bool) -> Result<Exit, CommandError> {
    let text = topo_core::example::topology(example)
        .ok_or_else(|| crate::input::unknown_example(example))?;
    refuse_overwrite(output, force)?;
    let directory = directory_of(output);
    std::fs::create_dir_all(&directory).map_err(CommandError::io("create", &directory))?;
    write_atomically(output, text.as_bytes())?;
    let schema = directory.join("topology.schema.json");
    write_atomically(
        &schema,
        topo_core::schema::topology_schema_json().as_bytes(),
    )?;
    println!(
        "wrote {} (example `{example}`) and {}",
        output.display(),
        schema.display()
    );
    println!(
        "next: edit it, then `topo check -t {}` and `topo render -t {}`",
        output.display(),
        output.display()
    );
    Ok(Exit::Success)
}

/// An existing `output` is overwritten only with `--force`.
pub(crate) fn refuse_overwrite(output: &Path, force: bool) -> Result<(), CommandError> {
    if output.exists() && !force {
        return Err(CommandError::Refused {
            message: format!(
                "{} already exists; pass --force to overwrite it",
                output.display()
            ),
            help: None,
        });
    }
    Ok(())
}

/// Writes a whole file or nothing: a temporary file beside it, synced, then renamed over it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CommandError> {
    let mut file =
        atomic_write_file::AtomicWriteFile::open(path).map_err(CommandError::io("write", path))?;
    file.write_all(bytes)
        .and_then(|()| file.commit())
        .map_err(CommandError::io("write", path))
}
