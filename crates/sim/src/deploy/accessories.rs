//! Accessories on a deploy target: each runs, is healthy and runs the pinned major (asked of
//! the server where topo's catalogue knows how). An application deploy never restarts one;
//! `--setup` creates a missing one, and `--accessory ROLE` replaces one whose image or
//! configuration changed, its data volumes kept.

use std::time::Instant;

use topo_core::spec::{labels, AccessorySpec};

use super::summary::Check;
use super::Deployment;
use crate::build::millis;
use crate::error::SimError;
use crate::lifecycle::exec;

impl Deployment<'_> {
    /// Step 4c: every accessory of production, in topology order.
    pub(super) async fn accessories(
        &self,
        setup: bool,
        upgrade: &[String],
        checks: &mut Vec<Check>,
        notes: &mut Vec<String>,
    ) -> Result<(), SimError> {
        for asked in upgrade {
            let known = self.spec.accessories.iter().any(|a| {
                a.container == *asked
                    || self
                        .spec
                        .container(&a.container)
                        .is_some_and(|c| c.role == *asked)
            });
            if !known {
                return Err(SimError::UnknownService(asked.clone()));
            }
        }
        for accessory in &self.spec.accessories {
            let Some(container) = self.spec.container(&accessory.container) else {
                continue;
            };
            let start = Instant::now();
            let asked = upgrade
                .iter()
                .any(|a| *a == container.role || *a == container.name);
            let differs = self.differs(container).await?;
            if asked && differs.is_some() {
                // Stopped first, within its stop timeout: a server saves its data on SIGTERM.
                let stop = container.effective_stop_timeout();
                notes.extend(super::switch::stop(self.engine, &container.name, stop).await?);
                super::switch::remove(self.engine, &container.name).await?;
                self.start_created("accessory", container).await?;
                notes.push(format!(
                    "{}: replaced ({}); its data volumes were kept",
                    container.name,
                    differs.clone().unwrap_or_default()
                ));
            } else if let Some(why) = &differs {
                notes.push(format!(
                    "{}: {why}; an application deploy leaves it as it is: `--accessory {}` replaces it (its data volumes kept)",
                    container.name, container.role
                ));
            }
            let detail = self.runs_healthy("accessory", container, setup).await?;
            checks.push(Check {
                name: format!("accessory {}", container.role),
                ok: true,
                detail,
                elapsed_ms: millis(start.elapsed()),
            });
            self.accessory_major(accessory, checks).await?;
        }
        Ok(())
    }

    /// How the running container differs from the spec (image or configuration), if it does.
    async fn differs(
        &self,
        container: &topo_core::spec::ContainerSpec,
    ) -> Result<Option<String>, SimError> {
        let Some(info) = self.engine.inspect_container(&container.name).await? else {
            return Ok(None);
        };
        let config = info.config.unwrap_or_default();
        let running_labels = config.labels.unwrap_or_default();
        let image = config.image.unwrap_or_default();
        let wanted = container.image.to_string();
        if image != wanted {
            return Ok(Some(format!("it runs {image}, the topology pins {wanted}")));
        }
        let changed =
            running_labels.get(labels::CONFIG_HASH) != container.labels.get(labels::CONFIG_HASH);
        Ok(changed.then(|| "its configuration differs from the topology's".to_owned()))
    }

    /// The running server's major, where the catalogue knows how to ask.
    async fn accessory_major(
        &self,
        accessory: &AccessorySpec,
        checks: &mut Vec<Check>,
    ) -> Result<(), SimError> {
        let (Some(command), Some(pinned)) = (&accessory.version_command, accessory.major) else {
            return Ok(());
        };
        let start = Instant::now();
        let name = &accessory.container;
        let (code, output) = exec(self.engine, name, command).await?;
        let major = (code == 0)
            .then(|| accessory.major_of_version_output(&output))
            .flatten();
        let what = accessory.known.as_deref().unwrap_or("server");
        match major {
            Some(major) if major == pinned => {
                checks.push(Check {
                    name: format!("accessory {} major", name),
                    ok: true,
                    detail: format!("{name} reports {what} major {major}, as pinned"),
                    elapsed_ms: millis(start.elapsed()),
                });
                Ok(())
            }
            Some(major) => Err(SimError::Refused {
                problem: format!("the accessory {name} runs {what} major {major}, but the topology pins major {pinned}"),
                help: format!("upgrade it on purpose with `--accessory`, or pin the image of major {major} until then"),
            }),
            None => Err(SimError::Refused {
                problem: format!(
                    "could not ask the accessory {name} for its version (`{}` exited {code}): {}",
                    command.join(" "),
                    output.trim()
                ),
                help: format!("see `docker logs {name}`"),
            }),
        }
    }
}
