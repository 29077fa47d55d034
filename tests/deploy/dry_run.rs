//! `deploy --dry-run`: the checks and each service's decision, with nothing changed on the
//! target, not even the lock.

use crate::{actions, common, Target};

#[test]
fn a_dry_run_decides_and_changes_nothing() {
    let Some(target) = Target::new("dry run", "ddry", |t| t) else {
        return;
    };
    let (output, summary) = target.deploy(&["--setup", "--tag", "v1"]);
    assert!(output.status.success(), "{summary:#}");
    target.derive("v2", "v1", "RUN echo v2 > /srv/www/version.txt");
    let before = target.identity("web");
    let listed = || {
        common::docker(&[
            "ps",
            "-a",
            "--filter",
            "label=topo.project=ddry",
            "--format",
            "{{.Names}} {{.ID}} {{.State}}",
        ])
    };
    let containers = listed();

    // A held lock does not stop a dry run: it reports it.
    common::docker(&[
        "create",
        "--name",
        "ddry-deploy-lock",
        "--label",
        "topo.project=ddry",
        "--label",
        "topo.lock.holder=ci@elsewhere",
        "--label",
        "topo.lock.host=another-host",
        "topo-test/busybox:latest",
        "true",
    ]);
    let (output, summary) = target.deploy(&["--dry-run", "--tag", "v2"]);
    assert!(output.status.success(), "{summary:#}");
    assert_eq!(summary["dry_run"], true);
    let decided = actions(&summary);
    for (service, action) in &decided {
        assert_eq!(action, "would-deploy", "{service}: {decided:?}");
    }
    assert!(
        summary["notes"]
            .to_string()
            .contains("the deploy lock is held by ci@elsewhere"),
        "{summary:#}"
    );
    assert_eq!(target.identity("web"), before, "a dry run touched web");
    assert_eq!(
        listed().lines().count(),
        containers.lines().count() + 1,
        "only the test's lock was added"
    );
    common::docker(&["rm", "-f", "ddry-deploy-lock"]);

    // What runs already is unchanged.
    let (output, summary) = target.deploy(&["--dry-run", "--tag", "v1"]);
    assert!(output.status.success(), "{summary:#}");
    for (service, action) in actions(&summary) {
        assert_eq!(action, "unchanged", "{service}");
    }
    assert_eq!(listed(), containers, "a dry run changed the target");
}
