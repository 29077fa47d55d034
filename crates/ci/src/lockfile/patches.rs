//! `patch-package`'s patches (npm, yarn v1): files in a directory (`patches/`), each named
//! after the installed package it patches (`left-pad+1.3.0.patch`,
//! `@types+node+20.1.0.patch`, `banana++apple+0.4.2.patch` for the `apple` installed under
//! `banana`), applied after the install. The lockfile records none of them, so a closure
//! holding a patched package is made to carry its patch: a changed patch changes exactly
//! the closures holding the package.

use super::{Closure, Resolved};
use std::rc::Rc;

/// One patch file of the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    /// The package it patches (the last of a nested path): its installed name.
    pub package: String,
    /// The file, from the repository root.
    pub path: String,
    /// What identifies its content (its blob id).
    pub id: String,
}

/// What a package's integrity carries after it, for each patch applied to it.
const PATCHED_BY: &str = " patched by ";

/// The package a patch file patches, read from its name (from the patch directory, so a
/// legacy `@scope/name+1.0.0.patch` keeps its scope directory) as `patch-package` reads
/// it; `None` for a file it skips.
pub fn patched_package(file: &str) -> Option<String> {
    let stem = file.strip_suffix(".patch")?;
    let stem = stem.strip_suffix(".dev").unwrap_or(stem);
    // The legacy form, `name:1.0.0` or `name+1.0.0` with no other `+` in the name.
    if let Some((name, version)) = stem.split_once([':', '+']) {
        if !name.is_empty() && !name.contains(['+', '=']) && is_version(version) {
            return Some(name.to_owned());
        }
    }
    let last = stem.rsplit("++").next()?;
    let parts: Vec<&str> = (last.split('+').map(str::trim))
        .filter(|part| !part.is_empty())
        .collect();
    let at = parts.iter().position(|part| is_version(part))?;
    let sequence = &parts[at + 1..];
    // A sequence number (`001`) and name may follow: read as JavaScript's `parseInt` of the
    // number without its leading zeros, which needs a digit first.
    let number =
        |n: &str| (n.trim_start_matches('0').bytes().next()).is_some_and(|b| b.is_ascii_digit());
    let sequence_ok = match sequence {
        [] => true,
        [n] | [n, _] => number(n),
        _ => false,
    };
    match (&parts[..at], sequence_ok) {
        ([name], true) => Some((*name).to_owned()),
        ([scope, name], true) => Some(format!("{scope}/{name}")),
        _ => None,
    }
}

/// `patch-package`'s version: three dot-separated numbers first (`1.2.3`, `1.2.3-beta.1`).
fn is_version(text: &str) -> bool {
    let mut parts = text.splitn(3, '.');
    let mut numbers = [parts.next(), parts.next()].into_iter();
    let leading =
        numbers.all(|p| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())));
    let third = parts
        .next()
        .is_some_and(|p| p.bytes().next().is_some_and(|b| b.is_ascii_digit()));
    leading && third
}

impl Closure {
    /// The closure with each package a patch patches carrying that patch after its
    /// integrity (its id, in the order `patches` has them: the order they are applied in):
    /// by installed name, whatever the version (`patch-package` applies a patch of another
    /// version too, with a warning) or where it is installed.
    pub fn patched(&self, patches: &[Patch]) -> Closure {
        if patches.is_empty() {
            return self.clone();
        }
        let packages = self.0.iter().map(|package| {
            let applied = patches.iter().filter(|p| p.package == package.name);
            let mut integrity = package.integrity.clone();
            // By content only: a patch renamed (for the package's next version, say)
            // patches the same.
            for patch in applied {
                integrity.push_str(&format!("{PATCHED_BY}{}", patch.id));
            }
            if integrity == package.integrity {
                return package.clone();
            }
            Rc::new(Resolved {
                integrity,
                ..(**package).clone()
            })
        });
        Closure(packages.collect())
    }
}

/// The patches a package's integrity carries (`""` for none).
pub(super) fn patches_in(integrity: &str) -> &str {
    integrity.find(PATCHED_BY).map_or("", |at| &integrity[at..])
}

#[cfg(test)]
mod tests {
    use super::patched_package;

    fn check(file: &str, expect: Option<&str>) {
        assert_eq!(patched_package(file).as_deref(), expect, "{file}");
    }

    #[test]
    fn file_names_as_patch_package_reads_them() {
        check("left-pad+1.3.0.patch", Some("left-pad"));
        check("left-pad+1.3.0.dev.patch", Some("left-pad"));
        check("left-pad:1.3.0.patch", Some("left-pad"));
        check("@types+node+20.1.0.patch", Some("@types/node"));
        check("@types/node+20.1.0.patch", Some("@types/node"));
        check("banana++apple+0.4.2.patch", Some("apple"));
        check("@a+b++@c+d+1.0.0-rc.1.patch", Some("@c/d"));
        check("left-pad+1.3.0+001+initial.patch", Some("left-pad"));
        check("left-pad+1.3.0+002.patch", Some("left-pad"));
        // The legacy form is tried first: an unscoped name takes whatever follows its
        // version.
        check("left-pad+1.3.0+x+y.patch", Some("left-pad"));
        check("@a+b+1.0.0+x+y.patch", None);
        check("@a+b+1.0.0+000.patch", None);
        check("@a+b+1.0.0+007.patch", Some("@a/b"));
        check("left-pad.patch", None);
        check("left-pad+latest.patch", None);
        check("README.md", None);
        check("a+b+c+1.0.0.patch", None);
    }
}
