//! Fetching each cluster's live state from its cloud: the sandbox world, or AWS
//! with the cluster's own profile and region from tierui.yaml.

use anyhow::Result;

use crate::sandbox::clusters::Sandbox;
use tierui_core::cloud::inventory::{ClusterLive, fetch};
use tierui_core::context::Context;
use tierui_core::workspace::model::ClusterStack;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What AWS (or the sandbox) says about one cluster. Errors of single calls are
/// inside the result; `Err` means no connection could be set up at all.
pub async fn fetch_cluster(
    ctx: &Context,
    sandbox: Option<&Sandbox>,
    c: &ClusterStack,
) -> Result<ClusterLive> {
    let spec = c.spec();
    let region = c
        .region
        .clone()
        .or_else(|| spec.as_ref().and_then(|s| s.region.clone()))
        .ok_or_else(|| anyhow::anyhow!("{}: no region (set it in tierui.yaml)", c.name))?;
    let name = spec.map_or_else(|| c.name.clone(), |s| s.cluster_name);
    match sandbox {
        Some(sb) => Ok(fetch(&sb.cloud(&region), &name, now_ms()).await),
        None => {
            let cloud =
                crate::aws::AwsCloud::connect_with(&ctx.options, &region, c.profile.as_deref())
                    .await?;
            Ok(fetch(&cloud, &name, now_ms()).await)
        }
    }
}
