//! The files a JavaScript workspace is declared in: `package.json` (a package's name and
//! dependencies; the root's `workspaces`, as an array or `{ packages: [...] }`) and
//! `pnpm-workspace.yaml` (`packages:`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The kinds of dependency a `package.json` declares, in the order a name declared under
/// several of them is read.
const KINDS: [&str; 4] = [
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "peerDependencies",
];

/// What topo-ci reads of a `package.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `name`, if it has one.
    pub name: Option<String>,
    /// Every dependency (dependencies, optional, dev and peer): name → version range
    /// (`^1.0.0`, `workspace:*`).
    pub dependencies: BTreeMap<String, String>,
    /// The `workspaces` globs, when the file declares any (a workspace root).
    pub workspaces: Option<Vec<String>>,
    /// `packageManager` (`yarn@4.1.0`), if given.
    pub package_manager: Option<String>,
    /// The dependencies declared only for its tests (a crate's `dev-dependencies`): what a
    /// crate depending on it does not build. Empty for a `package.json`, whose dev
    /// dependencies a workspace install gets for every package.
    pub dev_only: BTreeSet<String>,
    /// Where `patch-package` keeps its patches (`patches`, or a script's `--patch-dir`),
    /// when the package uses it: depends on it or runs it in a script.
    pub patch_dir: Option<String>,
}

impl Manifest {
    /// Reads a `package.json`; the error says what is wrong with it.
    pub fn parse(text: &[u8]) -> Result<Manifest, String> {
        let Read(object) = serde_json::from_slice(text).map_err(|e| e.to_string())?;
        let object = object.ok_or_else(|| "not a JSON object".to_owned())?;
        let string = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        let mut dependencies = BTreeMap::new();
        for kind in KINDS {
            match object.get(kind) {
                None | Some(Value::Null) => {}
                Some(Value::Object(map)) => {
                    for (name, range) in map {
                        let range = range
                            .as_str()
                            .ok_or_else(|| format!("`{kind}.{name}` is not a string"))?;
                        dependencies
                            .entry(name.clone())
                            .or_insert_with(|| range.to_owned());
                    }
                }
                Some(_) => return Err(format!("`{kind}` is not an object")),
            }
        }
        let workspaces = match object.get("workspaces") {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(globs(map.get("packages"), "workspaces.packages")?),
            Some(list) => Some(globs(Some(list), "workspaces")?),
        };
        let scripts = object.get("scripts").and_then(Value::as_object);
        let scripts = scripts
            .into_iter()
            .flatten()
            .filter_map(|(_, s)| s.as_str());
        let patch_dir = patch_dir(scripts, dependencies.contains_key(PATCH_PACKAGE));
        Ok(Manifest {
            name: string("name"),
            dependencies,
            workspaces,
            package_manager: string("packageManager"),
            dev_only: BTreeSet::new(),
            patch_dir,
        })
    }
}

/// The tool that patches installed packages after an npm or yarn v1 install, from files
/// named after the package they patch.
const PATCH_PACKAGE: &str = "patch-package";

/// Where `patch-package` reads its patches from, for a package whose scripts are `scripts`
/// and which declares it as a dependency or not: the `--patch-dir` a script running it
/// gives, else `patches`; `None` when the package neither declares nor runs it.
fn patch_dir<'s>(scripts: impl Iterator<Item = &'s str>, declared: bool) -> Option<String> {
    let mut runs = false;
    for script in scripts.filter(|s| s.contains(PATCH_PACKAGE)) {
        runs = true;
        let mut words = script.split_whitespace();
        while let Some(word) = words.next() {
            let dir = match word.strip_prefix("--patch-dir") {
                Some("") => words.next(),
                Some(value) => value.strip_prefix('='),
                None => None,
            };
            let dir = dir.map(|d| {
                d.trim_matches(|c| c == '"' || c == '\'')
                    .trim_end_matches('/')
            });
            if let Some(dir) = dir.filter(|d| !d.is_empty()) {
                return Some(dir.strip_prefix("./").unwrap_or(dir).to_owned());
            }
        }
    }
    (runs || declared).then(|| "patches".to_owned())
}

/// The keys of a `package.json` that [`Manifest::parse`] reads.
const READ: [&str; 8] = [
    "name",
    "packageManager",
    "workspaces",
    "scripts",
    KINDS[0],
    KINDS[1],
    KINDS[2],
    KINDS[3],
];

/// A JSON document's top-level object with only the keys in [`READ`] (`None` when the
/// document is not an object): the rest of a `package.json` (scripts, tool settings,
/// metadata) is skipped unbuilt, as every plan reads the manifest of each package of the
/// workspace.
struct Read(Option<Map<String, Value>>);

impl<'de> Deserialize<'de> for Read {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Read, D::Error> {
        struct Top;
        impl<'de> Visitor<'de> for Top {
            type Value = Read;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON document")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
                let mut object = Map::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if READ.contains(&key.as_ref()) {
                        object.insert(key.into_owned(), map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Read(Some(object)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Read(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Read, E> {
                Ok(Read(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Read, E> {
                Ok(Read(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Read, E> {
                Ok(Read(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Read, E> {
                Ok(Read(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Read, E> {
                Ok(Read(None))
            }
            fn visit_unit<E>(self) -> Result<Read, E> {
                Ok(Read(None))
            }
        }
        deserializer.deserialize_any(Top)
    }
}

/// The `packages` globs of a `pnpm-workspace.yaml`.
pub fn pnpm_workspace(text: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8".to_owned())?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Object(map) => match map.get("packages") {
            None | Some(Value::Null) => Ok(Vec::new()),
            packages => globs(packages, "packages"),
        },
        _ => Err("not a mapping".to_owned()),
    }
}

fn globs(value: Option<&Value>, key: &str) -> Result<Vec<String>, String> {
    let Some(Value::Array(items)) = value else {
        return Err(format!("`{key}` is not a list of globs"));
    };
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("`{key}` holds a value that is not a string"))
        })
        .collect()
}

/// A workspace glob as topo-ci matches it: no `./`, no trailing `/`.
pub fn normalise_glob(glob: &str) -> String {
    let mut glob = glob.trim();
    while let Some(rest) = glob.strip_prefix("./") {
        glob = rest;
    }
    glob.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    fn check(input: &str, expect: Expect) {
        let got = if input.starts_with('{') || input.starts_with('[') {
            format!("{:?}", Manifest::parse(input.as_bytes()))
        } else {
            format!("{:?}", pnpm_workspace(input.as_bytes()))
        };
        expect.assert_eq(&got);
    }

    #[test]
    fn npm_and_yarn_workspaces_in_both_forms() {
        check(
            r#"{"name":"root","private":true,"workspaces":["apps/*","packages/*"],
                "devDependencies":{"typescript":"^5"},"packageManager":"npm@10.2.0"}"#,
            expect![[
                r#"Ok(Manifest { name: Some("root"), dependencies: {"typescript": "^5"}, workspaces: Some(["apps/*", "packages/*"]), package_manager: Some("npm@10.2.0"), dev_only: {}, patch_dir: None })"#
            ]],
        );
        check(
            r#"{"workspaces":{"packages":["packages/**"],"nohoist":["**/react"]}}"#,
            expect![[
                r#"Ok(Manifest { name: None, dependencies: {}, workspaces: Some(["packages/**"]), package_manager: None, dev_only: {}, patch_dir: None })"#
            ]],
        );
    }

    #[test]
    fn every_kind_of_dependency_the_first_kind_wins() {
        check(
            r#"{"name":"@shop/server","dependencies":{"@shop/common":"workspace:*","react":"^18"},
                "devDependencies":{"jest":"^29"},"optionalDependencies":{"fsevents":"2"},
                "peerDependencies":{"react":"*"}}"#,
            expect![[
                r#"Ok(Manifest { name: Some("@shop/server"), dependencies: {"@shop/common": "workspace:*", "fsevents": "2", "jest": "^29", "react": "^18"}, workspaces: None, package_manager: None, dev_only: {}, patch_dir: None })"#
            ]],
        );
    }

    #[test]
    fn patch_package_by_dependency_or_script_and_its_patch_dir() {
        let patch_dir = |json: &str| Manifest::parse(json.as_bytes()).map(|m| m.patch_dir);
        let cases = [
            (
                r#"{"devDependencies":{"patch-package":"^8"}}"#,
                "Ok(Some(\"patches\"))",
            ),
            (
                r#"{"scripts":{"postinstall":"npx patch-package"}}"#,
                "Ok(Some(\"patches\"))",
            ),
            (
                r#"{"scripts":{"postinstall":"patch-package --patch-dir ./vendor/fixes/ --error-on-fail"}}"#,
                "Ok(Some(\"vendor/fixes\"))",
            ),
            (
                r#"{"scripts":{"prepare":"husky && patch-package --patch-dir='fixes'"},"devDependencies":{"patch-package":"8"}}"#,
                "Ok(Some(\"fixes\"))",
            ),
            (
                r#"{"scripts":{"postinstall":"node fix.js"},"scripts2":1}"#,
                "Ok(None)",
            ),
            (r#"{"scripts":"patch-package"}"#, "Ok(None)"),
        ];
        for (json, expect) in cases {
            assert_eq!(format!("{:?}", patch_dir(json)), expect, "{json}");
        }
    }

    #[test]
    fn keys_not_read_are_skipped_but_must_be_json() {
        check(
            r#"{"scripts":{"build":"tsc","dependencies":1},"jest":[{"roots":["src"]},null,2.5],
                "name":"web","keywords":[],"private":true,"dependencies":{"react":"^18"}}"#,
            expect![[
                r#"Ok(Manifest { name: Some("web"), dependencies: {"react": "^18"}, workspaces: None, package_manager: None, dev_only: {}, patch_dir: None })"#
            ]],
        );
        check(
            r#"{"name":"web","scripts":{"build":tsc}}"#,
            expect![[r#"Err("expected ident at line 1 column 35")"#]],
        );
    }

    #[test]
    fn what_is_wrong_is_said() {
        check("[1]", expect![[r#"Err("not a JSON object")"#]]);
        assert_eq!(
            Manifest::parse(b"\"name\""),
            Err("not a JSON object".to_owned())
        );
        check(
            r#"{"dependencies":{"a":1}}"#,
            expect![[r#"Err("`dependencies.a` is not a string")"#]],
        );
        check(
            r#"{"workspaces":"apps/*"}"#,
            expect![[r#"Err("`workspaces` is not a list of globs")"#]],
        );
        check(
            r#"{"name": "#,
            expect![[r#"Err("EOF while parsing a value at line 1 column 9")"#]],
        );
    }

    #[test]
    fn pnpm_workspace_files() {
        check(
            "packages:\n  - 'apps/*'\n  - packages/**\n  - '!**/test/**'\n",
            expect![[r#"Ok(["apps/*", "packages/**", "!**/test/**"])"#]],
        );
        check("", expect![[r#"Ok([])"#]]);
        check(
            "packages: apps\n",
            expect![[r#"Err("`packages` is not a list of globs")"#]],
        );
    }

    #[test]
    fn globs_are_normalised() {
        assert_eq!(normalise_glob("./packages/*/"), "packages/*");
        assert_eq!(normalise_glob("apps/web"), "apps/web");
    }
}
