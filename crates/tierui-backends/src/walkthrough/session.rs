//! Where a walkthrough runs and whose it is: the cluster's own AWS profile and
//! region from tierui.yaml, the account STS names, the progress file keyed by
//! account + region (+ custom endpoint) + cluster, and the lock that keeps a
//! second tierui from driving the same workspace's walkthrough at once.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::runner::{load_progress, state_file};
use tierui_core::cloud::Identity;
use tierui_core::context::Options;
use tierui_core::paths::{FileLock, LockError};
use tierui_core::walkthrough::engine::Progress;
use tierui_core::walkthrough::plan::Plan;
use tierui_core::workspace::ClusterStack;

/// The profile and region the walkthrough's AWS calls use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: String,
}

/// The cluster's profile and region from tierui.yaml, as the cluster pane uses
/// them; `--profile`/`--region` override only when given. The region must be the
/// ClusterConfig's own (its AZ names are that region's).
pub fn aws_settings(
    global: &Options,
    cluster: Option<&ClusterStack>,
    plan: &Plan,
    file: &Path,
) -> Result<AwsSettings> {
    let profile = global
        .profile
        .clone()
        .or_else(|| cluster.and_then(|c| c.profile.clone()));
    let (region, from) = match (&global.region, cluster.and_then(|c| c.region.as_ref())) {
        (Some(r), _) => (r.clone(), "--region"),
        (None, Some(r)) => (r.clone(), "tierui.yaml"),
        (None, None) => (plan.region.clone(), "metadata.region"),
    };
    if region != plan.region {
        bail!(
            "{}: {from} says region {region}, but the ClusterConfig's metadata.region is {} ({}); the walkthrough creates the cluster where its ClusterConfig says, with that region's zones — make the two agree",
            plan.cluster,
            plan.region,
            file.display()
        );
    }
    Ok(AwsSettings { profile, region })
}

/// The key of a progress file: the sandbox, or account + region (+ a custom
/// endpoint, which is another world with the same account IDs).
pub fn target(identity: &Identity, sandbox: bool) -> String {
    if sandbox {
        return "sandbox".into();
    }
    let base = format!("live-{}-{}", identity.account, identity.region);
    if identity.endpoint == "aws" {
        base
    } else {
        format!(
            "{base}-{:08x}",
            tierui_core::paths::fnv1a(identity.endpoint.as_bytes()) as u32
        )
    }
}

/// The progress this identity may resume, and what was noticed on the way.
pub struct Opened {
    pub file: PathBuf,
    pub progress: Progress,
    pub notes: Vec<String>,
}

/// Opens this identity's progress of the plan. A saved progress of the same
/// cluster that holds resources in another account is never resumed or torn
/// down: the walkthrough refuses and says whose it is.
pub fn open_progress(
    state_dir: &Path,
    plan: &Plan,
    identity: &Identity,
    sandbox: bool,
) -> Result<Opened> {
    let target = target(identity, sandbox);
    let file = state_file(state_dir, &plan.cluster, &target);
    let mut notes = Vec::new();
    if !sandbox {
        for (other, p) in saved_progresses(state_dir, &plan.cluster) {
            if other == file || p.target == "sandbox" || !p.holds_resources() {
                continue;
            }
            if p.endpoint.as_ref().is_some_and(|e| *e != identity.endpoint) {
                continue; // another endpoint is another world
            }
            match p.account_of() {
                Some(a) if a == identity.account => {
                    // Saved by an earlier tierui under its profile's name.
                    let same_region = p.region.as_ref().is_none_or(|r| *r == identity.region);
                    if p.endpoint.is_none() && same_region && !file.exists() {
                        std::fs::rename(&other, &file).map_err(|e| {
                            anyhow::anyhow!(
                                "cannot move {} to {}: {e}",
                                other.display(),
                                file.display()
                            )
                        })?;
                        notes.push(format!(
                            "progress of account {a} moved from {} to {}",
                            other.display(),
                            file.display()
                        ));
                    }
                }
                account => {
                    let whose = match &account {
                        Some(a) => format!(
                            "account {a}{}",
                            p.region
                                .as_ref()
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        ),
                        None => "an account tierui did not record (saved by an earlier version)"
                            .to_string(),
                    };
                    let switch = account
                        .as_ref()
                        .map_or("that account".to_string(), |a| format!("account {a}"));
                    bail!(
                        "{}: the walkthrough saved in {} holds resources in {whose}, but these credentials are account {} ({}). tierui never resumes or tears down another account's walkthrough: use a profile of {switch} (--profile, or profile: in tierui.yaml) to resume or tear it down — its resources may still cost money — or move that file aside to start over in account {}.",
                        plan.cluster,
                        other.display(),
                        identity.account,
                        identity.arn,
                        identity.account
                    );
                }
            }
        }
    }
    let mut progress = load_progress(&file, plan, &target)?;
    match &progress.account {
        Some(a) if *a != identity.account => bail!(
            "{}: {} belongs to account {a}, not to account {} ({}); tierui will not resume or tear it down from here",
            plan.cluster,
            file.display(),
            identity.account,
            identity.arn
        ),
        Some(_) => {}
        None => {
            progress.account = Some(identity.account.clone());
            progress.region = Some(identity.region.clone());
            progress.endpoint = Some(identity.endpoint.clone());
        }
    }
    Ok(Opened {
        file,
        progress,
        notes,
    })
}

/// Every readable saved progress of `cluster` in the state dir.
fn saved_progresses(state_dir: &Path, cluster: &str) -> Vec<(PathBuf, Progress)> {
    let Ok(entries) = std::fs::read_dir(state_dir.join("walkthrough")) else {
        return Vec::new();
    };
    let prefix = format!("{cluster}-");
    let mut out: Vec<(PathBuf, Progress)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
        })
        .filter_map(|p| {
            let progress: Progress = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            (progress.cluster == cluster).then_some((p, progress))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Takes the workspace's walkthrough lock: one tierui (TUI or `tierui walk`)
/// drives a workspace's walkthrough at a time.
pub fn lock(state_dir: &Path) -> Result<FileLock> {
    match tierui_core::paths::try_lock(&state_dir.join("walkthrough.lock")) {
        Ok(l) => Ok(l),
        Err(LockError::Held { holder }) => Err(held(&holder)),
        Err(LockError::Io(e)) => Err(e),
    }
}

fn held(holder: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the walkthrough of this workspace is already open in another tierui: {holder}; finish or quit that one first (two runs at once would create everything twice)"
    )
}

/// The lock for the UI, which may reopen the walkthrough while its previous
/// runner is still finishing a call: a hold by this very process is waited out
/// (up to 30 s); another process's is refused at once.
pub async fn lock_for_ui(state_dir: &Path) -> Result<FileLock> {
    let me = format!("PID {} ", std::process::id());
    for _ in 0..120 {
        match tierui_core::paths::try_lock(&state_dir.join("walkthrough.lock")) {
            Ok(l) => return Ok(l),
            Err(LockError::Held { holder }) if holder.starts_with(&me) => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(LockError::Held { holder }) => return Err(held(&holder)),
            Err(LockError::Io(e)) => return Err(e),
        }
    }
    bail!("the walkthrough's previous run in this tierui did not finish within 30 s")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_plan() -> Plan {
        tierui_core::walkthrough::plan::demo_plan_with_nat("Single")
    }

    fn id(account: &str) -> Identity {
        Identity {
            account: account.into(),
            arn: format!("arn:aws:iam::{account}:user/ops"),
            region: "eu-west-1".into(),
            endpoint: "aws".into(),
        }
    }

    fn save(state: &Path, target: &str, p: &Progress) {
        let f = state_file(state, &p.cluster, target);
        tierui_core::paths::write_private(&f, &serde_json::to_vec(p).unwrap()).unwrap();
    }

    #[test]
    fn progress_is_keyed_by_account_region_and_endpoint() {
        let a = target(&id("111111111111"), false);
        let b = target(&id("222222222222"), false);
        assert_eq!(a, "live-111111111111-eu-west-1");
        assert_ne!(a, b);
        let mut moto = id("111111111111");
        moto.endpoint = "http://127.0.0.1:5000".into();
        assert!(target(&moto, false).starts_with("live-111111111111-eu-west-1-"));
        assert_eq!(target(&moto, true), "sandbox");
    }

    #[test]
    fn another_accounts_progress_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let plan = demo_plan();
        let mut theirs = open_progress(dir.path(), &plan, &id("111111111111"), false)
            .unwrap()
            .progress;
        theirs.begin("vpc", 1);
        theirs.returned("vpc", Default::default(), false, false, 2);
        save(dir.path(), &target(&id("111111111111"), false), &theirs);
        let e = open_progress(dir.path(), &plan, &id("222222222222"), false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("holds resources in account 111111111111 (eu-west-1)"),
            "{e}"
        );
        assert!(
            e.contains("these credentials are account 222222222222"),
            "{e}"
        );
        // Its owner still opens it.
        let mine = open_progress(dir.path(), &plan, &id("111111111111"), false).unwrap();
        assert!(mine.progress.holds_resources());
    }

    #[test]
    fn an_old_progress_keyed_by_profile_name_is_judged_by_its_arns() {
        let dir = tempfile::tempdir().unwrap();
        let plan = demo_plan();
        let mut old = Progress::new(&plan, "live-eu-west-1-default");
        old.begin("role-cluster", 1);
        old.returned(
            "role-cluster",
            [(
                "arn".to_string(),
                "arn:aws:iam::111111111111:role/tierui-dawn-cluster".to_string(),
            )]
            .into(),
            false,
            false,
            2,
        );
        save(dir.path(), "live-eu-west-1-default", &old);
        // Another account behind the same profile name: refused.
        let e = open_progress(dir.path(), &plan, &id("222222222222"), false)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("account 111111111111"), "{e}");
        // Its own account takes it over under the new key.
        let mine = open_progress(dir.path(), &plan, &id("111111111111"), false).unwrap();
        assert!(mine.progress.holds_resources());
        assert_eq!(mine.notes.len(), 1, "{:?}", mine.notes);
        assert!(mine.file.ends_with("dawn-live-111111111111-eu-west-1.json"));
        // Without an ARN the account is unknown: refused too.
        let mut vpc_only = Progress::new(&plan, "live-eu-west-1-work");
        vpc_only.returned("vpc", Default::default(), false, false, 1);
        save(dir.path(), "live-eu-west-1-work", &vpc_only);
        let e = open_progress(dir.path(), &plan, &id("111111111111"), false)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("an account tierui did not record"), "{e}");
    }

    #[test]
    fn the_cluster_region_comes_from_tierui_yaml_and_must_match_the_config() {
        let plan = demo_plan();
        let f = Path::new("dawn-cluster.yaml");
        let g = Options::default();
        let s = aws_settings(&g, None, &plan, f).unwrap();
        assert_eq!((s.profile, s.region.as_str()), (None, "eu-west-1"));
        let flags = Options {
            region: Some("us-east-1".into()),
            ..Options::default()
        };
        let e = aws_settings(&flags, None, &plan, f)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--region says region us-east-1"), "{e}");
        assert!(e.contains("metadata.region is eu-west-1"), "{e}");
        // The cluster's tierui.yaml entry: its profile, its region checked too;
        // a flag given overrides the entry.
        let mut entry = ClusterStack {
            name: "dawn".into(),
            region: Some("eu-west-1".into()),
            profile: Some("ops".into()),
            context: None,
            source: tierui_core::workspace::ClusterSource::Eksctl {
                config_file: f.into(),
                script: None,
                config: None,
            },
        };
        let s = aws_settings(&g, Some(&entry), &plan, f).unwrap();
        assert_eq!(
            (s.profile.as_deref(), s.region.as_str()),
            (Some("ops"), "eu-west-1")
        );
        let pinned = Options {
            profile: Some("admin".into()),
            ..Options::default()
        };
        let s = aws_settings(&pinned, Some(&entry), &plan, f).unwrap();
        assert_eq!(s.profile.as_deref(), Some("admin"));
        entry.region = Some("us-west-2".into());
        let e = aws_settings(&g, Some(&entry), &plan, f)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tierui.yaml says region us-west-2"), "{e}");
    }

    #[tokio::test]
    async fn the_ui_waits_out_its_own_previous_runner_but_not_another_process() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path()).unwrap();
        // The previous runner of this process lets go a moment later.
        let release = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            drop(first);
        });
        let second = lock_for_ui(dir.path()).await.unwrap();
        release.await.unwrap();
        drop(second);
        // Another process's hold: refused at once, naming it.
        let other = tierui_core::paths::try_lock(&dir.path().join("walkthrough.lock")).unwrap();
        std::fs::write(
            dir.path().join("walkthrough.lock"),
            "PID 1 (tierui walk dawn)",
        )
        .unwrap();
        let started = std::time::Instant::now();
        let e = lock_for_ui(dir.path()).await.unwrap_err().to_string();
        assert!(e.contains("PID 1 (tierui walk dawn)"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        drop(other);
    }
}
