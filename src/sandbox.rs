//! The sandbox world of a workspace: its cloud (and, with the simulator, its
//! clusters), kept in `<state>/workspaces/<id>/sandbox/` and seeded from the
//! workspace on first use. `tierui sandbox reset` starts over.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use crate::backend::sandbox::world::World;
use crate::backend::sandbox::{Clock, SandboxCloud, seed};
use crate::context::Context;
use crate::workspace::Workspace;

/// The seed every sandbox world starts from (IDs are replayable).
pub const SEED: u64 = 20_261_125;

pub struct Sandbox {
    pub dir: PathBuf,
    pub world: Arc<Mutex<World>>,
    pub speed: f64,
}

impl Sandbox {
    pub fn dir_of(ctx: &Context) -> PathBuf {
        ctx.dirs.workspace_state(&ctx.root).join("sandbox")
    }

    pub fn world_file(&self) -> PathBuf {
        self.dir.join("world.json")
    }

    /// Opens (and on first use seeds) the workspace's sandbox world.
    pub fn open(ctx: &Context, ws: &Workspace) -> Result<Sandbox> {
        let dir = Sandbox::dir_of(ctx);
        crate::paths::private_dir(&dir)?;
        let file = dir.join("world.json");
        let fresh = !file.exists();
        let mut world = SandboxCloud::load_world(&file, SEED)?;
        if fresh {
            seed::seed(&mut world, ws, Clock::System.now_ms());
            crate::paths::write_private(&file, &serde_json::to_vec(&world)?)?;
        }
        Ok(Sandbox {
            dir,
            world: Arc::new(Mutex::new(world)),
            speed: ctx.global.speed.unwrap_or(1.0),
        })
    }

    /// A cloud client for one region of this world.
    pub fn cloud(&self, region: &str) -> SandboxCloud {
        SandboxCloud::new(
            self.world.clone(),
            region,
            Clock::System,
            self.speed,
            Some(self.world_file()),
        )
    }

    /// Forgets the world, the sandbox walkthrough progress and, for the demo, edits
    /// to the demo files.
    pub fn reset(ctx: &Context) -> Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        let state = ctx.dirs.workspace_state(&ctx.root);
        for path in [
            state.join("sandbox"),
            state.join("walkthrough"),
            state.join("kubeconfig"),
        ] {
            if path.exists() {
                std::fs::remove_dir_all(&path)?;
                removed.push(path);
            }
        }
        if ctx.demo {
            std::fs::remove_dir_all(&ctx.root)?;
            crate::paths::extract_demo(&ctx.root)?;
            removed.push(ctx.root.clone());
        }
        Ok(removed)
    }
}
