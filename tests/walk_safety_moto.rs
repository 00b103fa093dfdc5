//! The walkthrough on an account that bills, against moto's server: every
//! destructive action asks (and refuses without a terminal), adoption is proven
//! on the resources' own tags, the cluster's own profile decides the account, and
//! another account's progress is never resumed or torn down. Every assertion on
//! resources goes through the AWS API and checks tags on the client side (moto
//! ignores some filters).

mod common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::moto::{Env, MOTO, env, kill_when, runtime};
use common::tmux::Tmux;

const CLUSTER_TAG: &str = "tierui.io/cluster";
const STEP_TAG: &str = "tierui.io/step";

fn ha_fixture() -> String {
    format!(
        "{}/fixtures/eksctl/ha-nat-three-azs.yaml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Runs a command with its standard input a pipe that says "y" (not a terminal),
/// and fails the test if it does not finish within a minute (a walk waiting for
/// an answer that never comes would hang forever).
fn run_piped(mut c: Command) -> Output {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(b"y\ny\ny\ny\n");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the walk did not finish: it waits for an answer on a pipe");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tag_value<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// What the walkthrough of `cluster` holds in the account, read through the API
/// and filtered by tags here.
#[derive(Debug, Default)]
struct Held {
    vpcs: usize,
    subnets: usize,
    /// NAT gateways not deleted: (step tag, id, subnet).
    nats: Vec<(String, String, String)>,
    /// (step tag, allocation id).
    eips: Vec<(String, String)>,
    clusters: usize,
}

async fn held(e: &Env, cluster: &str, creds: aws_sdk_ec2::config::Credentials) -> Held {
    let conf = e.config(creds).await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let eks = aws_sdk_eks::Client::new(&conf);
    let ours = |tags: &[aws_sdk_ec2::types::Tag]| tag_value(tags, CLUSTER_TAG) == Some(cluster);
    let step =
        |tags: &[aws_sdk_ec2::types::Tag]| tag_value(tags, STEP_TAG).unwrap_or("").to_string();
    let mut h = Held::default();
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    h.vpcs = vpcs.vpcs().iter().filter(|v| ours(v.tags())).count();
    let subnets = ec2.describe_subnets().send().await.unwrap();
    h.subnets = subnets.subnets().iter().filter(|s| ours(s.tags())).count();
    let nats = ec2.describe_nat_gateways().send().await.unwrap();
    h.nats = nats
        .nat_gateways()
        .iter()
        .filter(|n| ours(n.tags()))
        .filter(|n| {
            n.state()
                .is_some_and(|s| !matches!(s.as_str(), "deleted" | "deleting"))
        })
        .map(|n| {
            (
                step(n.tags()),
                n.nat_gateway_id().unwrap_or_default().to_string(),
                n.subnet_id().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let eips = ec2.describe_addresses().send().await.unwrap();
    h.eips = eips
        .addresses()
        .iter()
        .filter(|a| ours(a.tags()))
        .map(|a| {
            (
                step(a.tags()),
                a.allocation_id().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let clusters = eks.list_clusters().send().await.unwrap();
    h.clusters = clusters.clusters().iter().filter(|c| *c == cluster).count();
    h
}

fn default_held(e: &Env, cluster: &str) -> Held {
    runtime().block_on(held(e, cluster, common::moto::default_creds()))
}

/// Credentials of another account (moto maps an assumed role's session to the
/// role's account).
fn other_account(e: &Env, account: &str) -> aws_sdk_ec2::config::Credentials {
    runtime().block_on(async {
        let conf = e.config(common::moto::default_creds()).await;
        let sts = aws_sdk_sts::Client::new(&conf);
        let out = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/ops"))
            .role_session_name("tierui-test")
            .send()
            .await
            .unwrap();
        let c = out.credentials().unwrap();
        aws_sdk_ec2::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "assumed",
        )
    })
}

fn with_creds(mut c: Command, creds: &aws_sdk_ec2::config::Credentials) -> Command {
    c.env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key());
    match creds.session_token() {
        Some(t) => c.env("AWS_SESSION_TOKEN", t),
        None => c.env_remove("AWS_SESSION_TOKEN"),
    };
    c
}

#[test]
fn create_without_yes_refuses_on_a_pipe_and_with_json_and_creates_nothing() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let out = run_piped(e.walk_as("dawn", &[]));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("standard input is not a terminal"), "{t}");
    assert!(t.contains("add --yes to confirm"), "{t}");
    assert!(t.contains("account 123456789012"), "{t}");
    let out = run_piped(e.walk_as("dawn", &["--json"]));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("--json without --yes"), "{t}");
    let h = default_held(&e, "dawn");
    assert_eq!((h.vpcs, h.subnets, h.clusters), (0, 0, 0), "{h:?}");
    // --plan asks nothing and needs no --yes.
    let plan = e.walk_as("dawn", &["--plan"]).output().unwrap();
    assert!(plan.status.success(), "{}", text(&plan));
}

#[test]
fn teardown_asks_refuses_without_a_terminal_and_with_yes_leaves_nothing() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let out = e.walk(&[]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let before = default_held(&e, "dawn");
    assert_eq!((before.vpcs, before.clusters, before.nats.len()), (1, 1, 1));

    // A pipe that says "y" is not a confirmation.
    let out = run_piped(e.walk_as("dawn", &["--teardown"]));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("tierui: refused: teardown of dawn deletes"),
        "{t}"
    );
    assert!(
        t.contains("1 EKS cluster") && t.contains("1 NAT gateway"),
        "{t}"
    );
    assert!(t.contains("that stops about $"), "{t}");
    assert!(t.contains("add --yes to confirm"), "{t}");
    let out = run_piped(e.walk_as("dawn", &["--teardown", "--json"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let after = default_held(&e, "dawn");
    assert_eq!(
        (after.vpcs, after.subnets, after.clusters, after.nats.len()),
        (
            before.vpcs,
            before.subnets,
            before.clusters,
            before.nats.len()
        ),
        "a refused teardown deleted something"
    );

    let out = e.walk(&["--teardown"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let gone = default_held(&e, "dawn");
    assert_eq!(
        (
            gone.vpcs,
            gone.subnets,
            gone.clusters,
            gone.nats.len(),
            gone.eips.len()
        ),
        (0, 0, 0, 0, 0),
        "{gone:?}"
    );
}

#[test]
fn create_and_teardown_confirmed_at_the_terminal() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let line = e.walk_line("dawn");
    let t = Tmux::start(&line, 200, 50);
    // Who the calls run as shows before the first question.
    t.wait_text("Account 123456789012 (arn:aws:sts::123456789012:user/moto)");
    // Every step that changes the account asks (G only writes a local file).
    for step in ['A', 'B', 'C', 'D', 'E', 'F', 'H'] {
        let ask = format!("Run step {step} (");
        t.wait_for(&ask, Duration::from_secs(60), |s| {
            s.contains(&ask) && s.trim_end().ends_with("[y/N]")
        });
        t.send(&["y", "Enter"]);
    }
    t.wait_for("the end", Duration::from_secs(60), |s| {
        s.contains("EXITED:")
    });
    let screen = t.screen();
    assert!(screen.contains("walkthrough complete"), "{screen}");
    assert!(screen.contains("EXITED:0"), "{screen}");
    assert_eq!(default_held(&e, "dawn").clusters, 1);
    drop(t);

    let line = e.walk_line("dawn --teardown");
    let t = Tmux::start(&line, 200, 60);
    let screen = t.wait_text("Delete them? [y/N, i lists the IDs]");
    assert!(screen.contains("1 EKS cluster"), "{screen}");
    assert!(screen.contains("stops about $"), "{screen}");
    t.send(&["i", "Enter"]);
    let screen = t.wait_for("the IDs", Duration::from_secs(30), |s| {
        s.matches("Delete them?").count() == 2
    });
    assert!(
        screen.contains("VPC") && screen.contains("vpc-"),
        "{screen}"
    );
    assert!(
        screen.contains("NAT gateway") && screen.contains("nat-"),
        "{screen}"
    );
    // Nothing is deleted before the answer.
    assert_eq!(default_held(&e, "dawn").clusters, 1);
    t.send(&["y", "Enter"]);
    t.wait_for("teardown", Duration::from_secs(60), |s| {
        s.contains("EXITED:")
    });
    let screen = t.screen();
    assert!(screen.contains("teardown complete"), "{screen}");
    assert!(screen.contains("EXITED:0"), "{screen}");
    let gone = default_held(&e, "dawn");
    assert_eq!(
        (gone.vpcs, gone.clusters, gone.nats.len()),
        (0, 0, 0),
        "{gone:?}"
    );
}

#[test]
fn answering_no_to_a_teardown_deletes_nothing() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    assert!(e.walk(&[]).output().unwrap().status.success());
    let line = e.walk_line("dawn --teardown");
    let t = Tmux::start(&line, 200, 50);
    t.wait_text("Delete them? [y/N, i lists the IDs]");
    t.send(&["n", "Enter"]);
    let screen = t.wait_text("EXITED:");
    assert!(
        screen.contains("nothing deleted") && screen.contains("EXITED:1"),
        "{screen}"
    );
    let h = default_held(&e, "dawn");
    assert_eq!((h.vpcs, h.clusters, h.nats.len()), (1, 1, 1), "{h:?}");
    assert!(e.walk(&["--teardown"]).output().unwrap().status.success());
}

/// Private route tables (step tag `rt-private-<az>`) and where their default
/// route goes: (az, NAT id).
async fn private_routes(e: &Env) -> Vec<(String, String)> {
    let conf = e.config(common::moto::default_creds()).await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let out = ec2.describe_route_tables().send().await.unwrap();
    let mut routes: Vec<(String, String)> = out
        .route_tables()
        .iter()
        .filter(|t| tag_value(t.tags(), CLUSTER_TAG) == Some("cluster-9"))
        .filter_map(|t| {
            let az = tag_value(t.tags(), STEP_TAG)?
                .strip_prefix("rt-private-")?
                .to_string();
            let nat = t
                .routes()
                .iter()
                .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
                .and_then(|r| r.nat_gateway_id())
                .unwrap_or("none")
                .to_string();
            Some((az, nat))
        })
        .collect();
    routes.sort();
    routes
}

fn assert_three_distinct_nats(e: &Env) {
    let h = default_held(e, "cluster-9");
    assert_eq!(h.nats.len(), 3, "one NAT gateway per AZ: {:?}", h.nats);
    let ids: BTreeSet<&str> = h.nats.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{:?}", h.nats);
    let steps: BTreeSet<&str> = h.nats.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(
        steps,
        BTreeSet::from(["nat-eu-west-1a", "nat-eu-west-1b", "nat-eu-west-1c"])
    );
    let subnets: BTreeSet<&str> = h.nats.iter().map(|(_, _, s)| s.as_str()).collect();
    assert_eq!(subnets.len(), 3, "each NAT in its own AZ's public subnet");
    assert_eq!(h.eips.len(), 3, "one Elastic IP per NAT: {:?}", h.eips);
    let allocs: BTreeSet<&str> = h.eips.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(allocs.len(), 3);
    // Each private route table routes 0.0.0.0/0 to its own AZ's NAT.
    let routes = runtime().block_on(private_routes(e));
    assert_eq!(routes.len(), 3, "{routes:?}");
    for (az, nat) in &routes {
        let own = h
            .nats
            .iter()
            .find(|(s, _, _)| *s == format!("nat-{az}"))
            .map(|(_, id, _)| id.as_str());
        assert_eq!(
            Some(nat.as_str()),
            own,
            "{az} routes to {nat}: {routes:?} {:?}",
            h.nats
        );
    }
}

#[test]
fn highly_available_nat_makes_three_and_reruns_adopt_the_same_three() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let file = ha_fixture();
    // A first run, killed once the second NAT gateway is done.
    let seen = kill_when(e.walk_as(&file, &["--yes"]), |l| {
        l.contains("nat-eu-west-1b") && l.contains(" done ")
    });
    assert!(
        seen.contains("nat-eu-west-1b"),
        "the run never got that far:\n{seen}"
    );
    let out = e.walk_as(&file, &["--yes"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_three_distinct_nats(&e);

    // The progress is lost: every resource is found again by its own tags —
    // three NATs adopted, none created, none handed to two AZs.
    std::fs::remove_dir_all(e.sb.state().join("workspaces")).unwrap();
    let out = e.walk_as(&file, &["--yes"]).output().unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for az in ["a", "b", "c"] {
        assert!(
            t.lines()
                .any(|l| l.contains(&format!("nat-eu-west-1{az}")) && l.contains("adopted nat-")),
            "nat in 1{az} not adopted:\n{t}"
        );
    }
    assert_three_distinct_nats(&e);

    let out = e.walk_as(&file, &["--teardown", "--yes"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let h = default_held(&e, "cluster-9");
    assert!(
        h.nats.is_empty() && h.eips.is_empty() && h.vpcs == 0,
        "{h:?}"
    );
}

#[test]
fn another_accounts_progress_is_never_resumed_or_torn_down() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let out = e.walk(&[]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let other = other_account(&e, "111111111111");
    for args in [&["--teardown", "--yes"][..], &["--yes"][..]] {
        let out = with_creds(e.walk_as("dawn", args), &other)
            .output()
            .unwrap();
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {t}");
        assert!(
            t.contains("holds resources in account 123456789012 (eu-west-1)"),
            "{t}"
        );
        assert!(
            t.contains("these credentials are account 111111111111"),
            "{t}"
        );
        assert!(
            t.contains("never resumes or tears down another account's walkthrough"),
            "{t}"
        );
    }
    // Nothing happened in either account.
    let h = default_held(&e, "dawn");
    assert_eq!((h.vpcs, h.clusters, h.nats.len()), (1, 1, 1), "{h:?}");
    let theirs = runtime().block_on(held(&e, "dawn", other));
    assert_eq!((theirs.vpcs, theirs.clusters), (0, 0), "{theirs:?}");
    let out = e.walk(&["--teardown"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn the_clusters_own_profile_decides_the_account() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let other = other_account(&e, "222222222222");
    // tierui.yaml pins dawn to profile "ops", whose credentials are account
    // 222222222222; the environment holds account 123456789012's.
    let desc = e.ws.path().join("tierui.yaml");
    let text_before = std::fs::read_to_string(&desc).unwrap();
    let pinned = text_before.replacen(
        "    region: eu-west-1\n    profile: default\n    context: dawn",
        "    region: eu-west-1\n    profile: ops\n    context: dawn",
        1,
    );
    assert_ne!(pinned, text_before, "the demo's dawn entry changed shape");
    std::fs::write(&desc, pinned).unwrap();
    let aws = e.sb.dir.path().join("aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[ops]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            other.access_key_id(),
            other.secret_access_key(),
            other.session_token().unwrap()
        ),
    )
    .unwrap();
    std::fs::write(aws.join("config"), "[profile ops]\nregion = eu-west-1\n").unwrap();
    let mut c = e.walk(&[]);
    c.env("AWS_SHARED_CREDENTIALS_FILE", aws.join("credentials"))
        .env("AWS_CONFIG_FILE", aws.join("config"));
    let out = c.output().unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("Account 222222222222"), "{t}");
    let theirs = runtime().block_on(held(&e, "dawn", other));
    assert_eq!(
        (theirs.vpcs, theirs.clusters),
        (1, 1),
        "created in the profile's account"
    );
    let ours = default_held(&e, "dawn");
    assert_eq!(
        (ours.vpcs, ours.clusters),
        (0, 0),
        "nothing in the environment's account"
    );
    let mut c = e.walk(&["--teardown"]);
    c.env("AWS_SHARED_CREDENTIALS_FILE", aws.join("credentials"))
        .env("AWS_CONFIG_FILE", aws.join("config"));
    assert!(c.output().unwrap().status.success());
}

#[test]
fn a_second_walkthrough_of_the_workspace_is_refused_while_one_runs() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    // The first one waits at its first question, holding the lock.
    let line = e.walk_line("dawn");
    let t = Tmux::start(&line, 200, 50);
    t.wait_text("Run step A (");
    let out = e.walk(&[]).output().unwrap();
    let txt = text(&out);
    assert_eq!(out.status.code(), Some(2), "{txt}");
    assert!(
        txt.contains("already open in another tierui: PID "),
        "{txt}"
    );
    assert!(txt.contains("walk dawn"), "{txt}");
    t.send(&["n", "Enter"]);
    t.wait_text("EXITED:");
    drop(t);
    // Released with its holder.
    let out = e.walk(&["--teardown"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn bad_speed_values_are_clear_errors() {
    let sb = common::Sandbox::new();
    for bad in ["0", "-2", "NaN", "inf"] {
        let out = sb
            .command()
            .arg(format!("--speed={bad}"))
            .args(["walk", "dawn", "--plan"])
            .output()
            .unwrap();
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {t}");
        assert!(
            t.contains("the time factor must be a number above 0"),
            "{bad}: {t}"
        );
        assert!(!t.contains("panicked"), "{t}");
    }
}

/// Waits for a question overlay drawn whole: its title and its last line.
fn question(t: &Tmux, title: &str, last_line: &str) -> String {
    t.wait_for(title, Duration::from_secs(30), |s| {
        s.contains(title) && s.contains(last_line)
    })
}

#[test]
fn the_ui_walkthrough_names_the_account_asks_per_step_and_before_teardown() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let line = format!(
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing {}",
        e.sb.shell_line(&format!(
            "--endpoint-url {} --workspace '{}'",
            e.url,
            e.ws.path().display()
        ))
    );
    let t = Tmux::start(&line, 160, 45);
    t.wait_text("Clusters (3)");
    t.send(&["j", "j", "w"]);
    t.wait_text("Walkthrough · dawn (eu-west-1)");
    // The account and the ARN the calls run as, before anything runs.
    t.wait_text("account 123456789012 (arn:aws:sts::123456789012:user/moto)");
    t.send(&["Enter"]);
    // The question's last line: the whole overlay is on screen, not half a frame.
    let screen = question(
        &t,
        "Run step A: Network of dawn?",
        "y runs the step · n pauses",
    );
    assert!(
        screen.contains("calls will change account 123456789012"),
        "{screen}"
    );
    // n pauses: nothing is created.
    t.send(&["n"]);
    t.wait_text("paused");
    assert_eq!(default_held(&e, "dawn").vpcs, 0);
    t.send(&["Enter"]);
    t.wait_text("Run step A: Network of dawn?");
    t.send(&["y"]);
    t.wait_for("step A", Duration::from_secs(60), |s| {
        s.contains("✓ A Network")
    });
    assert_eq!(default_held(&e, "dawn").vpcs, 1);
    t.send(&["T"]);
    let screen = question(&t, "Tear down dawn?", "y deletes · i lists the IDs");
    assert!(
        screen.contains("1 VPC") && screen.contains("4 subnets"),
        "{screen}"
    );
    assert!(screen.contains("That stops about $"), "{screen}");
    t.send(&["i"]);
    // An ID line of the overlay (the detail pane shows vpc- IDs too).
    t.wait_for("the IDs", Duration::from_secs(10), |s| {
        s.lines().any(|l| {
            l.split("NAT gateway")
                .nth(1)
                .is_some_and(|rest| rest.trim_start().starts_with("nat-"))
        })
    });
    t.send(&["y"]);
    t.wait_for("teardown", Duration::from_secs(60), |s| {
        s.contains("teardown complete")
    });
    let h = default_held(&e, "dawn");
    assert_eq!((h.vpcs, h.subnets, h.nats.len()), (0, 0, 0), "{h:?}");
    t.send(&["Escape"]);
    t.wait_text("Clusters (3)");
    t.send(&["q"]);
    t.wait_text("EXITED:0");
}
