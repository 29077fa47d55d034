//! Rules across files: the same application described two ways.
//!
//! Every file is compared with one *reference*: the most production-like file given
//! (production, else prod-sim). A finding sits in the file that strays from it, and its
//! related place is the reference's spelling: production is what runs, so it is what the
//! other environments must match.

use std::collections::BTreeSet;

use super::{facts, LintFile, Place, Raw};
use crate::compose::{ComposeFile, ServiceView};
use crate::Mode;

pub(super) fn check(files: &[LintFile], out: &mut Vec<Raw>) {
    let Some(reference) = reference(files) else {
        return;
    };
    for other in files.iter().filter(|f| f.file.name != reference.file.name) {
        db_major_drift(&other.file, &reference.file, out);
        name_drift(&other.file, &reference.file, out);
        network_drift(&other.file, &reference.file, out);
    }
}

/// The most production-like file: the first production file, else the first prod-sim one.
fn reference(files: &[LintFile]) -> Option<&LintFile> {
    if files.len() < 2 {
        return None;
    }
    [Mode::Production, Mode::ProdSim, Mode::Dev]
        .into_iter()
        .find_map(|mode| files.iter().find(|f| f.mode == mode))
}

fn db_major_drift(file: &ComposeFile, reference: &ComposeFile, out: &mut Vec<Raw>) {
    let (our_services, their_services) = (file.services(), reference.services());
    for theirs in &their_services {
        let Some((their_image, their_pos)) = theirs.image() else {
            continue;
        };
        let Some(their_db) = facts::db_image(&their_image) else {
            continue;
        };
        let Some(ours) = same_database(&our_services, &their_services, theirs, their_db.engine)
        else {
            continue;
        };
        let Some((our_image, our_pos)) = ours.image() else {
            continue;
        };
        let our_db = facts::db_image(&our_image).expect("filtered to database images");
        let described = |major: &Option<String>| {
            major
                .clone()
                .unwrap_or_else(|| "an unpinned major".to_owned())
        };
        if our_db.major != their_db.major {
            out.push(
                Raw::new(
                    "db-major-drift",
                    Place::at(file, our_pos),
                    format!(
                        "{} {} here (`{our_image}`), {} in {} (`{their_image}`)",
                        our_db.engine,
                        described(&our_db.major),
                        described(&their_db.major),
                        reference.name
                    ),
                )
                .related(Place::at(reference, their_pos))
                .hint(match &their_db.major {
                    Some(major) => format!("run major {major} here too: data files of one major cannot be read by another"),
                    None => "pin the same major in every file".to_owned(),
                }),
            );
        }
    }
}

/// The service here that is the reference's database `theirs`, pairing one to one: the
/// service of its name when it runs the same engine; else, when no service here has its
/// name, the only service of the engine here whose name is none of the reference's — if
/// `theirs` is likewise the only one of the engine there whose name is none of these.
fn same_database<'a, 'b>(
    ours: &'b [ServiceView<'a>],
    reference: &[ServiceView<'_>],
    theirs: &ServiceView<'_>,
    engine: &str,
) -> Option<&'b ServiceView<'a>> {
    let runs_engine = |s: &ServiceView<'_>| {
        s.image()
            .and_then(|(image, _)| facts::db_image(&image))
            .is_some_and(|db| db.engine == engine)
    };
    let has = |services: &[ServiceView<'_>], name: &str| services.iter().any(|s| s.name() == name);
    if has(ours, theirs.name()) {
        return ours
            .iter()
            .find(|s| s.name() == theirs.name())
            .filter(|s| runs_engine(s));
    }
    let unmatched_there = reference
        .iter()
        .filter(|s| runs_engine(s) && !has(ours, s.name()))
        .count();
    let mut unmatched_here = ours
        .iter()
        .filter(|s| runs_engine(s) && !has(reference, s.name()));
    match (unmatched_here.next(), unmatched_here.next()) {
        (Some(only), None) if unmatched_there == 1 => Some(only),
        _ => None,
    }
}

fn name_drift(file: &ComposeFile, reference: &ComposeFile, out: &mut Vec<Raw>) {
    let ours = file.services();
    let theirs = reference.services();
    let their_names: BTreeSet<&str> = theirs.iter().map(|s| s.name()).collect();
    let our_names: BTreeSet<&str> = ours.iter().map(|s| s.name()).collect();
    for service in &ours {
        if let Some(counterpart) = theirs.iter().find(|t| t.name() == service.name()) {
            container_name_drift(file, service, reference, counterpart, out);
            continue;
        }
        // Unmatched by name: find the one reference service it is, by what it runs.
        let unmatched: Vec<&ServiceView<'_>> = theirs
            .iter()
            .filter(|t| !our_names.contains(t.name()))
            .collect();
        let Some(counterpart) = same_service(service, &unmatched) else {
            continue;
        };
        if their_names.contains(service.name()) {
            continue;
        }
        out.push(
            Raw::new(
                "name-drift",
                Place::at(file, service.key.pos),
                format!(
                    "the service `{}` here is `{}` in {}",
                    service.name(),
                    counterpart.name(),
                    reference.name
                ),
            )
            .related(Place::at(reference, counterpart.key.pos))
            .hint(format!(
                "rename `{}` to `{}` here, and every reference to it (depends_on, host variables such as DB_HOST)",
                service.name(),
                counterpart.name()
            )),
        );
    }
}

fn container_name_drift(
    file: &ComposeFile,
    service: &ServiceView<'_>,
    reference: &ComposeFile,
    counterpart: &ServiceView<'_>,
    out: &mut Vec<Raw>,
) {
    match (service.container_name(), counterpart.container_name()) {
        (Some((ours, at)), Some((theirs, their_at))) if ours != theirs => out.push(
            Raw::new(
                "name-drift",
                Place::at(file, at),
                format!("`{}` runs as the container `{ours}` here, `{theirs}` in {}", service.name(), reference.name),
            )
            .related(Place::at(reference, their_at))
            .hint(format!("name the container `{theirs}` here too")),
        ),
        (None, Some((theirs, their_at))) => out.push(
            Raw::new(
                "name-drift",
                Place::at(file, service.key.pos),
                format!(
                    "`{}` has no container_name here (Compose names it `<project>-{}-1`); {} names it `{theirs}`",
                    service.name(),
                    service.name(),
                    reference.name
                ),
            )
            .related(Place::at(reference, their_at))
            .hint(format!("add `container_name: {theirs}`")),
        ),
        _ => {}
    }
}

/// The one candidate that is the same service: a name that is the other's with a project
/// prefix (`db` and `vendure-db`), else the same build context, else the same image
/// repository (the database engine for database images).
fn same_service<'a, 'b>(
    service: &ServiceView<'_>,
    candidates: &[&'b ServiceView<'a>],
) -> Option<&'b ServiceView<'a>> {
    let unique = |matches: Vec<&'b ServiceView<'a>>| (matches.len() == 1).then(|| matches[0]);
    let named_alike = |a: &str, b: &str| {
        let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        long.ends_with(&format!("-{short}"))
            || long.ends_with(&format!("_{short}"))
            || long.starts_with(&format!("{short}-"))
    };
    let context = |s: &ServiceView<'_>| {
        s.build().map(|b| {
            b.context
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_owned()
        })
    };
    let repository = |s: &ServiceView<'_>| {
        s.image().map(|(image, _)| match facts::db_image(&image) {
            Some(db) => db.engine.to_owned(),
            None => facts::image_basename(&image).to_owned(),
        })
    };
    if let Some(found) = unique(
        candidates
            .iter()
            .copied()
            .filter(|c| named_alike(service.name(), c.name()))
            .collect(),
    ) {
        return Some(found);
    }
    if let Some(ours) = context(service) {
        if let Some(found) = unique(
            candidates
                .iter()
                .copied()
                .filter(|c| context(c).as_deref() == Some(ours.as_str()))
                .collect(),
        ) {
            return Some(found);
        }
    }
    let ours = repository(service)?;
    unique(
        candidates
            .iter()
            .copied()
            .filter(|c| repository(c).as_deref() == Some(ours.as_str()))
            .collect(),
    )
}

fn network_drift(file: &ComposeFile, reference: &ComposeFile, out: &mut Vec<Raw>) {
    let networks = |f: &ComposeFile| -> BTreeSet<String> {
        f.services()
            .iter()
            .flat_map(|s| s.networks())
            .map(|a| described_network(f, &a.network))
            .collect()
    };
    let (ours, theirs) = (networks(file), networks(reference));
    if ours == theirs || ours.is_empty() || theirs.is_empty() {
        return;
    }
    // Point at the first place a stray network is chosen: a service's `networks:` entry, or
    // the first service that has none (it is on the default network).
    let place_of = |f: &ComposeFile, wanted: &BTreeSet<String>, other: &BTreeSet<String>| {
        f.services().iter().find_map(|s| {
            s.networks().into_iter().find_map(|a| {
                let name = described_network(f, &a.network);
                (wanted.contains(&name) && !other.contains(&name)).then_some(a.pos)
            })
        })
    };
    let Some(at) = place_of(file, &ours, &theirs) else {
        return;
    };
    let mut raw = Raw::new(
        "network-drift",
        Place::at(file, at),
        format!(
            "services here join {}; in {} they join {}",
            join(&ours),
            reference.name,
            join(&theirs)
        ),
    );
    if let Some(their_at) = place_of(reference, &theirs, &ours) {
        raw = raw.related(Place::at(reference, their_at));
    }
    out.push(raw);
}

/// A network as messages name it: Compose's implicit default, or its engine name.
fn described_network(file: &ComposeFile, key: &str) -> String {
    let declared = file.root.get("networks").and_then(|n| n.get(key)).is_some();
    if key == "default" && !declared {
        "the default network".to_owned()
    } else {
        format!("`{}`", file.network_name(key))
    }
}

fn join(names: &BTreeSet<String>) -> String {
    names.iter().cloned().collect::<Vec<_>>().join(", ")
}
