//! The Helm releases of the cluster the detail pane shows: asked in the
//! background when the pane first shows a cluster (and again on refresh),
//! kept per cluster, their values shown on request.

use tierui_backends::kube::helm::HelmRelease;

use super::state::{Level, Screen, Selection, State};
use super::update::{Effect, Outcome};

/// What tierui knows of a cluster's Helm releases.
#[derive(Debug, Clone, PartialEq)]
pub enum HelmEntry {
    Loading,
    Ready(Vec<HelmRelease>),
    /// The cluster could not be asked (or refused): why, in its own words.
    Failed(String),
}

/// The cluster whose pane is on screen.
pub fn shown(s: &State) -> Option<String> {
    if !matches!(s.screen, Screen::Home) {
        return None;
    }
    match s.selection? {
        Selection::Cluster(i) => s.ws.clusters.get(i).map(|c| c.name.clone()),
        Selection::Release(_) => None,
    }
}

/// The shown cluster's Helm releases, when nobody has asked for them yet.
pub fn wanted(s: &mut State) -> Option<Effect> {
    let name = shown(s)?;
    // After the cloud's answer: a cluster it says is missing is not asked,
    // and the context is chosen with that answer (no second DescribeCluster).
    let asking = matches!(s.live.get(&name), Some(super::state::LiveEntry::Loading));
    if s.helm.contains_key(&name) || asking || super::monitor::cluster_absent(s, &name) {
        return None;
    }
    s.helm.insert(name.clone(), HelmEntry::Loading);
    Some(Effect::FetchHelm(name))
}

/// Asks the shown cluster again (its last answer stays until the new one);
/// other clusters' answers are forgotten, to be asked when shown.
pub fn refresh(s: &mut State) -> Vec<Effect> {
    let name = shown(s);
    s.helm.retain(|c, _| Some(c) == name.as_ref());
    match name {
        // A missing cluster is asked once the cloud says it exists ([`wanted`]).
        Some(name) if super::monitor::cluster_absent(s, &name) => {
            s.helm.remove(&name);
            Vec::new()
        }
        Some(name) => {
            s.helm.entry(name.clone()).or_insert(HelmEntry::Loading);
            vec![Effect::FetchHelm(name)]
        }
        None => Vec::new(),
    }
}

pub fn arrived(
    s: &mut State,
    cluster: String,
    result: Result<Vec<HelmRelease>, String>,
) -> Outcome {
    let entry = match result {
        Ok(list) => HelmEntry::Ready(list),
        Err(e) => HelmEntry::Failed(e),
    };
    let visible = shown(s).as_deref() == Some(cluster.as_str());
    s.helm.insert(cluster, entry);
    Outcome {
        effects: Vec::new(),
        redraw: visible,
    }
}

/// `v`: the values of the shown cluster's Helm releases, or not.
pub fn toggle_values(s: &mut State) -> Outcome {
    if shown(s).is_none() {
        s.message = Some((
            Level::Info,
            "select a cluster: v shows its Helm releases' values".into(),
        ));
        return Outcome {
            effects: Vec::new(),
            redraw: true,
        };
    }
    s.helm_values = !s.helm_values;
    s.message = Some((
        Level::Info,
        if s.helm_values {
            "Helm values shown (values of secret-looking keys masked)"
        } else {
            "Helm values hidden"
        }
        .into(),
    ));
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}
