//! Carries out `update`'s effects on tokio tasks; results come back as messages.
//! Nothing here changes the state.

use std::sync::Arc;

use anyhow::Result;
use tokio::sync::mpsc;

use super::run::{no_color, now_ms};
use super::state::State;
use super::update::{Effect, Msg};
use crate::backend::cloud::Cloud;
use crate::context::Context;
use crate::sandbox::Sandbox;
use crate::theme::Theme;
use crate::walkthrough::plan::Plan;
use crate::walkthrough::runner::{
    Command as WalkCommand, LocalOps, Runner, load_progress, state_file,
};

pub struct Effects {
    ctx: Context,
    tx: mpsc::UnboundedSender<Msg>,
    sandbox: Option<Arc<Sandbox>>,
    /// Commands to the walkthrough runner while its screen is open.
    walk: Option<mpsc::UnboundedSender<WalkCommand>>,
}

impl Effects {
    pub fn new(
        ctx: Context,
        tx: mpsc::UnboundedSender<Msg>,
        sandbox: Option<Arc<Sandbox>>,
    ) -> Effects {
        Effects {
            ctx,
            tx,
            sandbox,
            walk: None,
        }
    }

    pub fn run(&mut self, effect: Effect, state: &State) {
        let tx = self.tx.clone();
        match effect {
            Effect::ReloadWorkspace => {
                let root = self.ctx.root.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(Msg::Reloaded(Box::new(crate::workspace::load(&root))));
                });
            }
            Effect::LoadTheme(name) => {
                let config = self.ctx.dirs.config.clone();
                tokio::task::spawn_blocking(move || {
                    let theme = Theme::load(Some(&name), &config, no_color())
                        .map(Box::new)
                        .map_err(|e| format!("{e:#}"));
                    let _ = tx.send(Msg::ThemeLoaded(theme));
                });
            }
            Effect::FetchLive(names) => {
                for name in names {
                    let Some(cluster) = state.ws.cluster(&name).cloned() else {
                        continue;
                    };
                    let (ctx, sandbox, tx) = (self.ctx.clone(), self.sandbox.clone(), tx.clone());
                    tokio::spawn(async move {
                        let result =
                            crate::cluster_live::fetch_cluster(&ctx, sandbox.as_deref(), &cluster)
                                .await;
                        let _ = tx.send(Msg::Live(
                            name,
                            result.map(Box::new).map_err(|e| format!("{e:#}")),
                        ));
                    });
                }
            }
            Effect::OpenWalk { cluster } => {
                if let Some(old) = self.walk.take() {
                    let _ = old.send(WalkCommand::Quit);
                }
                let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
                self.walk = Some(cmd_tx);
                let (ctx, sandbox) = (self.ctx.clone(), self.sandbox.clone());
                tokio::spawn(async move {
                    if let Err(e) = open_walk(ctx, sandbox, cluster, cmd_rx, tx.clone()).await {
                        let _ = tx.send(Msg::WalkFailed(format!("{e:#}")));
                    }
                });
            }
            Effect::Walk(cmd) => {
                if let Some(w) = &self.walk {
                    let _ = w.send(cmd);
                }
            }
            Effect::CloseWalk => {
                if let Some(w) = self.walk.take() {
                    let _ = w.send(WalkCommand::Quit);
                }
                // What the walkthrough created shows in the cluster pane.
                let _ = tx.send(Msg::RefreshLive);
            }
        }
    }
}

/// Plans the walkthrough, connects its cloud and serves the runner until the
/// screen closes.
async fn open_walk(
    ctx: Context,
    sandbox: Option<Arc<Sandbox>>,
    cluster: String,
    commands: mpsc::UnboundedReceiver<WalkCommand>,
    tx: mpsc::UnboundedSender<Msg>,
) -> Result<()> {
    let (plan, _file) = crate::walkthrough::headless::plan_for(&ctx, &cluster)?;
    let local = Arc::new(crate::walkthrough::local::FileLocal {
        dir: ctx.dirs.workspace_state(&ctx.root).join("kubeconfig"),
    });
    match sandbox {
        Some(sb) => {
            let cloud = Arc::new(sb.cloud(&plan.region));
            serve_walk(
                &ctx,
                plan,
                cloud,
                local,
                "sandbox".into(),
                sb.speed,
                false,
                commands,
                tx,
            )
            .await
        }
        None => {
            let cloud =
                Arc::new(crate::backend::aws::AwsCloud::connect(&ctx.global, &plan.region).await?);
            let target = cloud.target();
            serve_walk(&ctx, plan, cloud, local, target, 1.0, true, commands, tx).await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve_walk<C: Cloud>(
    ctx: &Context,
    plan: Plan,
    cloud: Arc<C>,
    local: Arc<dyn LocalOps>,
    target: String,
    speed: f64,
    confirm: bool,
    commands: mpsc::UnboundedReceiver<WalkCommand>,
    tx: mpsc::UnboundedSender<Msg>,
) -> Result<()> {
    let file = state_file(&ctx.dirs.workspace_state(&ctx.root), &plan.cluster, &target);
    let progress = load_progress(&file, &plan, &target)?;
    let view = super::walk::WalkView::new(
        plan.clone(),
        progress.clone(),
        ctx.sandbox,
        file.display().to_string(),
        now_ms(),
    );
    let _ = tx.send(Msg::WalkOpened(Box::new(view)));
    let (etx, mut erx) = mpsc::unbounded_channel();
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(e) = erx.recv().await {
            if forward.send(Msg::Walk(Box::new(e))).is_err() {
                break;
            }
        }
    });
    let runner = Runner::new(
        cloud, local, plan, progress, file, speed, confirm, etx, commands,
    );
    runner
        .identity()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    runner.serve().await;
    Ok(())
}
