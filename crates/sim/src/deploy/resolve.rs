//! Before the lock: what each service should run (the release resolved against what runs
//! now), its create request translated (a missing secret stops here), and the images made
//! present.

use std::collections::{BTreeSet, HashMap};

use bollard::models::{ContainerCreateBody, ContainerInspectResponse};
use topo_core::spec::{ContainerSpec, ImageRef};

use super::history::{deploy_order, history_of};
use super::{DeployOptions, Deployment, Release, Wanted};
use crate::build::ensure_present;
use crate::error::SimError;
use crate::progress::{Event, Phase};
use crate::translate::create_body;

/// One service as resolved before the lock: what runs now, and what should run.
pub(super) struct Planned<'a> {
    /// Its spec.
    pub container: &'a ContainerSpec,
    /// Its container on the target, if any.
    pub current: Option<ContainerInspectResponse>,
    /// That container's labels.
    pub current_labels: HashMap<String, String>,
    /// The versions it ran, newest first.
    pub history: Vec<String>,
    /// The image it should run and its create request; `None` leaves it out of this deploy.
    pub wanted: Option<(Wanted, ContainerCreateBody)>,
    /// The engine's id of that image, once it is present: what "already runs it" compares
    /// with the running container's image (a tag string proves nothing).
    pub wanted_id: Option<String>,
}

impl Deployment<'_> {
    /// Reads a service's container again (after a repair renamed or restored it).
    pub(super) async fn refresh(&self, planned: &mut Planned<'_>) -> Result<(), SimError> {
        planned.current = self
            .engine
            .inspect_container(&planned.container.name)
            .await?;
        planned.current_labels = planned
            .current
            .as_ref()
            .and_then(|i| i.config.as_ref())
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        planned.history = history_of(&planned.current_labels);
        Ok(())
    }

    /// Step 1, the release: each service in deploy order with what it should run.
    pub(super) async fn resolve(
        &self,
        release: &Release,
        options: &DeployOptions,
    ) -> Result<Vec<Planned<'_>>, SimError> {
        let order = deploy_order(self.spec);
        for wanted in &options.services {
            if !order.iter().any(|c| c.role == *wanted || c.name == *wanted) {
                return Err(SimError::UnknownService(wanted.clone()));
            }
        }
        let mut planned = Vec::new();
        for container in order {
            let current = self.engine.inspect_container(&container.name).await?;
            let current_labels = current
                .as_ref()
                .and_then(|i| i.config.as_ref())
                .and_then(|c| c.labels.clone())
                .unwrap_or_default();
            let history = history_of(&current_labels);
            let selected = options.services.is_empty()
                || options
                    .services
                    .iter()
                    .any(|s| *s == container.role || *s == container.name);
            let wanted = match selected {
                true => wanted(container, release, &history, current.is_some())?,
                false => None,
            };
            let wanted = match wanted {
                Some(wanted) => {
                    let body = self.create_request(container, &wanted)?;
                    Some((wanted, body))
                }
                None => None,
            };
            planned.push(Planned {
                container,
                current,
                current_labels,
                history,
                wanted,
                wanted_id: None,
            });
        }
        Ok(planned)
    }

    /// The create request of `container` at the image wanted.
    fn create_request(
        &self,
        container: &ContainerSpec,
        wanted: &Wanted,
    ) -> Result<ContainerCreateBody, SimError> {
        let mut pinned = container.clone();
        let reference = wanted.reference();
        pinned.image = ImageRef::parse(&reference).map_err(|error| SimError::Refused {
            problem: format!("`{reference}` is not an image reference: {error}"),
            help: "give a plan made by `topo-ci plan`, a build report, or a tag".to_owned(),
        })?;
        create_body(&pinned, &self.spec.network.name, self.root, self.variables)
    }

    /// Step 2, the images: a production deploy builds nothing; what is not on the engine is
    /// pulled (by digest when the release names one). Every image that cannot be had is
    /// listed in one refusal, before any change. Returns every image the deploy needs, and
    /// notes each service's image id.
    pub(super) async fn images(
        &self,
        planned: &mut [Planned<'_>],
        setup: bool,
    ) -> Result<BTreeSet<String>, SimError> {
        self.progress.event(Event::Phase(Phase::Images));
        let mut images: BTreeSet<String> = planned
            .iter()
            .filter_map(|p| p.wanted.as_ref().map(|(w, _)| w.reference()))
            .collect();
        if setup {
            // A first deploy also starts the database and the proxy, whose images are fixed.
            for container in &self.spec.containers {
                if container.image.tag_variable().is_none() {
                    images.insert(container.image.to_string());
                }
            }
        }
        let mut missing = Vec::new();
        for image in &images {
            match ensure_present(self.engine, image.clone(), Some(self.credentials)).await {
                Ok(_) => {}
                Err(SimError::ImageMissing { image, detail }) => {
                    missing.push(format!("{image} ({detail})"))
                }
                Err(error) => return Err(error),
            }
        }
        if !missing.is_empty() {
            return Err(SimError::Refused {
                problem: format!(
                    "{} image{} cannot be had, nothing was changed: {}",
                    missing.len(),
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join("; ")
                ),
                help: "push them first (`topo build --push`), or check the tags and the registry's credentials on the target".to_owned(),
            });
        }
        for service in planned.iter_mut() {
            if let Some((wanted, _)) = &service.wanted {
                service.wanted_id = self.engine.image_id(&wanted.reference()).await?;
            }
        }
        Ok(images)
    }

    /// An image on the engine for the lock's container (which is never started).
    pub(super) fn lock_image(&self, images: &BTreeSet<String>) -> Result<String, SimError> {
        if let Some(image) = images.iter().next() {
            return Ok(image.clone());
        }
        match self.spec.containers.first() {
            Some(c) if c.image.tag_variable().is_none() => Ok(c.image.to_string()),
            Some(_) => Err(SimError::Refused {
                problem: "nothing to deploy".to_owned(),
                help: "name a tag, a plan with services to deploy, or services".to_owned(),
            }),
            None => Err(SimError::Refused {
                problem: "the topology has no containers".to_owned(),
                help: "add services to the topology".to_owned(),
            }),
        }
    }
}

/// What `container` should run for `release`.
fn wanted(
    container: &ContainerSpec,
    release: &Release,
    history: &[String],
    deployed: bool,
) -> Result<Option<Wanted>, SimError> {
    Ok(match release {
        Release::Tag(tag) => Some(Wanted::tagged(
            container.image.with_tag(tag).to_string(),
            None,
        )),
        Release::Images(images) => images.get(&container.name).cloned(),
        Release::Rollback => match history.get(1) {
            Some(previous) => Some(Wanted::tagged(
                container.image.with_tag(previous).to_string(),
                None,
            )),
            None => {
                return Err(SimError::Refused {
                    problem: format!(
                        "{} has no previous version to roll back to{}",
                        container.name,
                        if deployed {
                            ""
                        } else {
                            " (it is not deployed)"
                        }
                    ),
                    help: "name the services to roll back (`--rollback SERVICE`), or deploy a tag"
                        .to_owned(),
                })
            }
        },
    })
}
