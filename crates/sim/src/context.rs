//! Build contexts: the files a build sees, as the Docker CLI would send them.
//!
//! The Dockerfile's own ignore file (`app.Dockerfile.dockerignore`), else `.dockerignore`,
//! follows the engine's rules (moby's pattern matcher): patterns are anchored at the context
//! root, `*` and `?` never cross `/`, `**` crosses any number of directories, a pattern
//! matching a directory excludes everything under it, `!` re-includes, and the last matching
//! line wins (`topo_core::dockerignore`, which topo-ci's scopes share).
//! The Dockerfile and the ignore files are always sent, as the CLI does.
//!
//! The context's digest hashes what the build can see (paths, modes, contents, link
//! targets; not timestamps), so the same sources give the same image tag on any machine.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use topo_core::dockerignore::{ignore_files, normalise, DockerIgnore};

use crate::error::SimError;

/// Bumped when what the digest covers changes.
const DIGEST_RECIPE: &str = "topo-context/1";

/// One build context, read from disk.
#[derive(Debug)]
pub struct Context {
    /// The files sent, relative to the context root, sorted; directories end with `/`.
    pub entries: Vec<String>,
    /// A sha256 of what the build sees (plus the Dockerfile and target), 16 hex digits.
    pub digest: String,
    root: PathBuf,
    dockerfile: String,
}

impl Context {
    /// Reads `root` honouring the Dockerfile's own ignore file, else the context's
    /// `.dockerignore`; `dockerfile` and `target` enter the digest.
    pub fn read(root: &Path, dockerfile: &str, target: &str) -> Result<Context, SimError> {
        let io = |path: &Path, source| SimError::Io {
            path: path.to_owned(),
            source,
        };
        if !root.is_dir() {
            return Err(SimError::ContextMissing(root.to_owned()));
        }
        let ignore_files = ignore_files(dockerfile);
        let mut ignore = DockerIgnore::default();
        for file in &ignore_files {
            let ignore_path = root.join(file);
            match std::fs::read_to_string(&ignore_path) {
                Ok(text) => {
                    ignore =
                        DockerIgnore::parse(&text).map_err(|message| SimError::DockerIgnore {
                            path: ignore_path.clone(),
                            message,
                        })?;
                    break;
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(io(&ignore_path, error)),
            }
        }
        let [own, context] = ignore_files;
        let always = [normalise(dockerfile), own, context];
        let mut entries = Vec::new();
        let mut hasher = Sha256::new();
        hasher.update(DIGEST_RECIPE);
        hasher.update([0]);
        hasher.update(dockerfile);
        hasher.update([0]);
        hasher.update(target);
        hasher.update([0]);
        let mut stack = vec![String::new()];
        while let Some(directory) = stack.pop() {
            let path = root.join(&directory);
            let mut children: Vec<_> = std::fs::read_dir(&path)
                .map_err(|e| io(&path, e))?
                .map(|entry| entry.map(|e| e.file_name()))
                .collect::<Result<_, _>>()
                .map_err(|e| io(&path, e))?;
            children.sort();
            // Visited in reverse so that the stack pops them in order.
            for name in children.into_iter().rev() {
                let relative = format!("{directory}{}", name.to_string_lossy());
                let full = root.join(&relative);
                let meta = std::fs::symlink_metadata(&full).map_err(|e| io(&full, e))?;
                let excluded = ignore.excludes(&relative) && !always.contains(&relative);
                if meta.is_dir() {
                    // An excluded directory is still walked when a `!` line may re-include
                    // something beneath it.
                    if !excluded || ignore.has_exceptions() {
                        stack.push(format!("{relative}/"));
                    }
                    if !excluded {
                        entries.push(format!("{relative}/"));
                    }
                    continue;
                }
                if excluded {
                    continue;
                }
                hasher.update(relative.as_bytes());
                hasher.update([0]);
                if meta.file_type().is_symlink() {
                    let target = std::fs::read_link(&full).map_err(|e| io(&full, e))?;
                    hasher.update(b"l");
                    hasher.update(target.to_string_lossy().as_bytes());
                } else {
                    hasher.update(if is_executable(&meta) { b"x" } else { b"f" });
                    let bytes = std::fs::read(&full).map_err(|e| io(&full, e))?;
                    hasher.update((bytes.len() as u64).to_le_bytes());
                    hasher.update(&bytes);
                }
                hasher.update([0]);
                entries.push(relative);
            }
        }
        entries.sort();
        let digest = hasher.finalize();
        Ok(Context {
            entries,
            digest: digest[..8].iter().map(|b| format!("{b:02x}")).collect(),
            root: root.to_owned(),
            dockerfile: normalise(dockerfile),
        })
    }

    /// The context with build arguments: they enter the digest (other arguments, another
    /// image); none leaves it as it was.
    pub fn with_build_args(mut self, args: &std::collections::BTreeMap<String, String>) -> Context {
        if !args.is_empty() {
            use sha2::Digest as _;
            let mut hasher = sha2::Sha256::new();
            hasher.update(self.digest.as_bytes());
            for (name, value) in args {
                hasher.update(format!("\0arg {name}={value}").as_bytes());
            }
            let digest = hasher.finalize();
            self.digest = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        }
        self
    }

    /// The Dockerfile's text, when it can be read (for explaining a refused build).
    pub fn dockerfile_text(&self) -> Option<String> {
        std::fs::read_to_string(self.root.join(&self.dockerfile)).ok()
    }

    /// The context as an uncompressed tar archive (the body of a build request).
    pub fn tar(&self) -> Result<Vec<u8>, SimError> {
        let mut builder = tar::Builder::new(Vec::new());
        builder.follow_symlinks(false);
        for entry in &self.entries {
            let name = entry.trim_end_matches('/');
            let path = self.root.join(name);
            builder
                .append_path_with_name(&path, name)
                .map_err(|source| SimError::Io { path, source })?;
        }
        builder.into_inner().map_err(|source| SimError::Io {
            path: self.root.clone(),
            source,
        })
    }
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_honours_dockerignore_and_digests_content() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        std::fs::create_dir_all(root.join("node_modules/x")).expect("mkdir");
        std::fs::write(root.join("Dockerfile"), "FROM scratch\n").expect("write");
        std::fs::write(
            root.join(".dockerignore"),
            "node_modules\nDockerfile\n*.log\n",
        )
        .expect("write");
        std::fs::write(root.join("src/app.js"), "1").expect("write");
        std::fs::write(root.join("node_modules/x/i.js"), "x").expect("write");
        std::fs::write(root.join("debug.log"), "x").expect("write");
        let context = Context::read(root, "Dockerfile", "prod").expect("readable");
        assert_eq!(
            context.entries,
            [".dockerignore", "Dockerfile", "src/", "src/app.js"]
        );
        let tar = context.tar().expect("tar");
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, [".dockerignore", "Dockerfile", "src", "src/app.js"]);

        let same = Context::read(root, "Dockerfile", "prod").expect("readable");
        assert_eq!(same.digest, context.digest);
        std::fs::write(root.join("debug.log"), "ignored change").expect("write");
        let ignored = Context::read(root, "Dockerfile", "prod").expect("readable");
        assert_eq!(
            ignored.digest, context.digest,
            "an ignored file changes nothing"
        );
        std::fs::write(root.join("src/app.js"), "2").expect("write");
        let changed = Context::read(root, "Dockerfile", "prod").expect("readable");
        assert_ne!(changed.digest, context.digest);
        let other_target = Context::read(root, "Dockerfile", "dev").expect("readable");
        assert_ne!(other_target.digest, changed.digest);
    }

    #[test]
    fn a_dockerfiles_own_ignore_file_is_read_instead_of_the_contexts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("docker")).expect("mkdir");
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        std::fs::write(root.join("docker/app.Dockerfile"), "FROM scratch\n").expect("write");
        std::fs::write(root.join("docker/app.Dockerfile.dockerignore"), "*.log\n").expect("write");
        std::fs::write(root.join(".dockerignore"), "src\n").expect("write");
        std::fs::write(root.join("src/app.js"), "1").expect("write");
        std::fs::write(root.join("debug.log"), "x").expect("write");
        let context = Context::read(root, "./docker/app.Dockerfile", "prod").expect("readable");
        assert_eq!(
            context.entries,
            [
                ".dockerignore",
                "docker/",
                "docker/app.Dockerfile",
                "docker/app.Dockerfile.dockerignore",
                "src/",
                "src/app.js"
            ]
        );
        // Another Dockerfile of the same context has no ignore file of its own.
        std::fs::write(root.join("docker/other.Dockerfile"), "FROM scratch\n").expect("write");
        let other = Context::read(root, "docker/other.Dockerfile", "prod").expect("readable");
        assert!(
            other.entries.iter().all(|e| !e.starts_with("src")),
            "{:?}",
            other.entries
        );
        assert!(other.entries.contains(&"debug.log".to_owned()));
    }
}
