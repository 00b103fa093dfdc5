//! The control plane's loops, run as one task on simulated time: scenario
//! actions, Deployment → ReplicaSet → Pod reconciliation, the kubelet's pod
//! lifecycle, volumes, Jobs and CronJobs, the HPA and the `--churn` load.

pub mod autoscale;
pub mod bootstrap;
pub mod churn;
pub mod cronjobs;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
pub mod history;
pub mod hpa;
pub mod jobs;
pub mod kubelet;
pub mod loadbalancers;
pub mod pdb;
pub mod replicaset;
pub mod rollout;
pub mod statefulset;
pub mod volumes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cluster::Sim;
use super::kinds;
use super::scenario::Action;
use super::selector::LabelSelector;
use super::state::State;
use super::store::Entry;

/// Real time between passes; pod steps and HPA syncs are on simulated time.
const TICK: Duration = Duration::from_millis(50);
const SCENARIO_MANAGER: &str = "tierui-scenario";

pub async fn run(sim: Arc<Sim>) {
    let mut kubelet = kubelet::Kubelet::default();
    let mut deployments = deployment::DeploymentController::default();
    let mut hpas = hpa::HpaController::default();
    let mut churn = churn::Churn::default();
    let mut cronjobs = cronjobs::CronJobController::default();
    let mut last_second = i64::MIN;
    let mut next_action = 0usize;
    let mut shutdown = sim.shutdown.subscribe();
    let mut cursor = sim.lock().store.rv();
    track_all(&sim, &mut kubelet).await;
    let mut last_tick = Instant::now();
    let mut resync = false;
    // A restored store may hold work left undone when the last process stopped
    // (a ReplicaSet created just before shutdown, without its pods): reconcile
    // everything once before waiting for changes.
    let mut first_pass = true;
    loop {
        if std::mem::take(&mut resync) {
            track_all(&sim, &mut kubelet).await;
        }
        let t = sim.clock.now();
        let real_dt = last_tick.elapsed().as_secs_f64();
        last_tick = Instant::now();
        {
            let mut st = sim.lock();
            while let Some(a) = sim.scenario.actions.get(next_action).filter(|a| a.at <= t) {
                run_action(&mut st, a);
                next_action += 1;
            }
            let changes = match st.store.changes_after(cursor, usize::MAX) {
                Ok(c) => c,
                Err(_) => {
                    // Fell behind the ring: look at every pod again (below, unlocked).
                    resync = true;
                    Vec::new()
                }
            };
            cursor = st.store.rv();
            let relevant = changes.iter().any(|c| {
                c.entry.kind != kinds::EVENT && !bootstrap::is_load_namespace(&c.entry.namespace)
            });
            kubelet.observe(&sim, &mut st, &changes, t);
            kubelet.fire_due(&sim, &mut st, t);
            let wall = sim.clock.wall_at(t);
            let new_second = wall != std::mem::replace(&mut last_second, wall);
            let first = std::mem::take(&mut first_pass);
            if relevant || first {
                crate::crd::sync(&mut st);
                replicaset::reconcile_all(&mut st);
                deployments.reconcile_all(&mut st, t);
                endpoints::reconcile_all(&mut st);
                statefulset::reconcile_all(&mut st);
                daemonset::reconcile_all(&mut st);
                volumes::reconcile_all(&mut st);
                pdb::reconcile_all(&mut st);
                loadbalancers::reconcile_all(&mut st, &sim.scenario);
            }
            // Batch work also runs on the clock: deadlines, schedules, TTLs.
            if relevant || first || new_second {
                jobs::reconcile_all(&mut st, wall);
                cronjobs.reconcile_all(&mut st, wall);
            }
            hpas.tick(&sim, &mut st, t);
            churn.tick(&mut st, sim.churn, real_dt);
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Hands every pod to the kubelet: parsed outside the lock and tracked a batch
/// per lock, so a restore with 10,000 pods does not hold up API requests.
async fn track_all(sim: &Sim, kubelet: &mut kubelet::Kubelet) {
    let entries: Vec<Arc<Entry>> = sim
        .lock()
        .store
        .range(kinds::POD, None, None)
        .cloned()
        .collect();
    for chunk in entries.chunks(256) {
        let pods: Vec<Value> = chunk.iter().map(|e| e.value()).collect();
        {
            let mut st = sim.lock();
            let t = sim.clock.now();
            for p in &pods {
                kubelet.track(sim, &mut st, p, t);
            }
        }
        tokio::task::yield_now().await;
    }
}

fn split(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("default", key))
}

fn run_action(st: &mut State, a: &Action) {
    if let Some(si) = &a.set_image {
        let (ns, name) = split(&si.deployment);
        if let Some(mut d) = st.get_value(kinds::DEPLOYMENT, ns, name) {
            if let Some(cs) = d
                .pointer_mut("/spec/template/spec/containers")
                .and_then(Value::as_array_mut)
            {
                for (i, c) in cs.iter_mut().enumerate() {
                    let matches = match &si.container {
                        Some(n) => c.get("name").and_then(Value::as_str) == Some(n.as_str()),
                        None => i == 0,
                    };
                    if matches {
                        c["image"] = json!(si.image);
                    }
                }
            }
            if let Err(e) = deployment::update_spec(st, d, SCENARIO_MANAGER) {
                tracing::warn!("scenario setImage on {}: {e}", si.deployment);
            }
        }
    }
    if let Some(sc) = &a.scale {
        let (ns, name) = split(&sc.deployment);
        if let Some(mut d) = st.get_value(kinds::DEPLOYMENT, ns, name) {
            d["spec"]["replicas"] = json!(sc.replicas);
            if let Err(e) = deployment::update_spec(st, d, SCENARIO_MANAGER) {
                tracing::warn!("scenario scale on {}: {e}", sc.deployment);
            }
        }
    }
    if let Some(dp) = &a.delete_pod {
        let Ok(sel) = LabelSelector::parse(&dp.selector) else {
            return;
        };
        let victim = st
            .store
            .range(kinds::POD, Some(&dp.namespace), None)
            .find(|e| sel.matches(&e.labels))
            .map(|e| e.name.clone());
        if let Some(name) = victim {
            st.delete_pod(&dp.namespace, &name);
        }
    }
}
