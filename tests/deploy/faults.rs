//! Fault injection: a deploy killed (SIGKILL, as a cancelled CI job is) at every step
//! boundary of a deploy — the lock, a job, blue-green, recreate — each followed by a plain
//! deploy that must succeed and repair the host by itself, while an independent client sends
//! requests through the proxy the whole time: none may fail.

use std::os::unix::process::ExitStatusExt as _;
use std::time::Duration;

use topo_sim::fault;

use crate::{common, text_of, Load, Target};

#[test]
fn a_deploy_killed_at_every_step_boundary_is_repaired_by_the_next_one() {
    let Some(target) = Target::new("fault injection", "dfault", |t| t) else {
        return;
    };
    let (output, summary) = target.deploy(&["--setup", "--tag", "v1"]);
    assert!(output.status.success(), "{summary:#}");
    for tag in ["a", "b"] {
        target.derive(tag, "v1", &format!("RUN echo {tag} > /srv/www/version.txt"));
    }

    let load = Load::start(target.port, 2, Duration::from_millis(10));
    let mut matrix = Vec::new();
    for (i, point) in fault::POINTS.iter().enumerate() {
        // Each round moves every service (job, blue-green web, recreate worker) to the other
        // version, so every boundary is passed.
        let tag = ["a", "b"][i % 2];
        let before = load.counts();
        let killed = target
            .sim_command(&["deploy", "--format", "json", "--tag", tag])
            .env(fault::VARIABLE, point)
            .output()
            .expect("topo-sim runs");
        assert_eq!(
            killed.status.signal(),
            Some(9),
            "{point}: the deploy was to be killed there; it ended {:?}\n{}",
            killed.status,
            text_of(&killed.stderr)
        );
        let (output, summary) = target.deploy(&["--tag", tag]);
        assert!(
            output.status.success(),
            "{point}: the next deploy: {summary:#}"
        );
        let leftovers = common::docker(&[
            "ps",
            "-a",
            "--filter",
            "label=topo.project=dfault",
            "--format",
            "{{.Names}} {{.State}}",
        ]);
        for line in leftovers.lines() {
            assert!(
                !line.contains("-next") && !line.contains("-old") && !line.contains("lock"),
                "{point}: left behind after the repair: {leftovers}"
            );
        }
        assert!(
            leftovers.contains("dfault-worker running") && leftovers.contains("dfault-web running"),
            "{point}: {leftovers}"
        );
        assert_eq!(target.get("/version.txt"), (200, tag.to_owned()), "{point}");
        let after = load.counts();
        let repaired: Vec<String> = summary["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .filter_map(|n| n.as_str())
            .filter(|n| n.starts_with("repaired"))
            .map(str::to_owned)
            .collect();
        assert!(
            summary["notes"]
                .to_string()
                .contains("took over the deploy lock"),
            "{point}: the killed deploy's lock was taken over: {summary:#}"
        );
        matrix.push((point, after.0 - before.0, after.1 - before.1, repaired));
    }
    let (sent, failed) = load.finish();
    eprintln!("| kill point | recovered | lock taken over | requests | failed | repairs noted |");
    eprintln!("|---|---|---|---:|---:|---|");
    for (point, sent, failed, repaired) in &matrix {
        eprintln!(
            "| {point} | yes | yes | {sent} | {failed} | {} |",
            repaired.join("; ")
        );
    }
    eprintln!(
        "{} kill points: {sent} requests through the proxy, {failed} failed",
        matrix.len()
    );
    assert!(sent > 200, "the client ran ({sent} requests)");
    assert_eq!(failed, 0, "requests failed across the kills and repairs");
}
