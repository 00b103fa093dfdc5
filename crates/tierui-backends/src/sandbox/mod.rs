//! The sandbox cloud: an in-process AWS with EC2, IAM and EKS state machines, AWS's
//! error codes and messages, and realistic durations scaled by `--speed`. It costs
//! nothing and persists per workspace, so what a walkthrough creates is still there
//! next time.

pub mod clusters;
pub mod extra;
pub mod ops;
pub mod reads;
pub mod scenario;
pub mod seed;
pub mod world;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tierui_core::cloud::CloudError;
use world::World;

/// Where time comes from; tests use [`Clock::Manual`].
#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Manual(Arc<Mutex<u64>>),
}

impl Clock {
    pub fn now_ms(&self) -> u64 {
        match self {
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            Clock::Manual(t) => t.lock().map_or(0, |t| *t),
        }
    }

    pub fn manual(start_ms: u64) -> Clock {
        Clock::Manual(Arc::new(Mutex::new(start_ms)))
    }

    pub fn advance(&self, ms: u64) {
        if let Clock::Manual(t) = self
            && let Ok(mut t) = t.lock()
        {
            *t += ms;
        }
    }
}

/// One process at a time changes a sandbox world file (the TUI and `tierui walk`
/// would otherwise overwrite each other's resources). The first change of a
/// process takes the lock and re-reads the file, which a previous holder may have
/// changed since this process loaded it.
fn take_writer_lock(
    api: &str,
    file: &std::path::Path,
    world: &mut World,
) -> Result<(), CloudError> {
    match tierui_core::paths::hold_for_process(&file.with_extension("lock")) {
        Ok(false) => Ok(()),
        Ok(true) => {
            if let Ok(bytes) = std::fs::read(file)
                && let Ok(fresh) = serde_json::from_slice::<World>(&bytes)
            {
                *world = fresh;
            }
            Ok(())
        }
        Err(tierui_core::paths::LockError::Held { holder }) => Err(CloudError::new(
            api,
            "SandboxBusy",
            format!(
                "another tierui is changing this workspace's sandbox world ({holder}); one process changes it at a time — quit that one first"
            ),
        )),
        Err(tierui_core::paths::LockError::Io(e)) => {
            Err(CloudError::new(api, "InternalError", format!("{e:#}")))
        }
    }
}

/// One region's view of the shared sandbox world (like an SDK client for a region).
#[derive(Debug, Clone)]
pub struct SandboxCloud {
    pub world: Arc<Mutex<World>>,
    pub region: String,
    pub clock: Clock,
    /// 10 means AWS's ten minutes take one.
    pub speed: f64,
    /// Saved after every change when set.
    pub file: Option<PathBuf>,
}

impl SandboxCloud {
    pub fn new(
        world: Arc<Mutex<World>>,
        region: &str,
        clock: Clock,
        speed: f64,
        file: Option<PathBuf>,
    ) -> SandboxCloud {
        SandboxCloud {
            world,
            region: region.to_string(),
            clock,
            speed: if speed > 0.0 { speed } else { 1.0 },
            file,
        }
    }

    /// Loads the world from `file`, or starts an empty one.
    pub fn load_world(file: &std::path::Path, seed: u64) -> anyhow::Result<World> {
        match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::anyhow!(
                    "{}: not a sandbox world ({e}); `tierui sandbox reset` starts over",
                    file.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(World::new(seed)),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", file.display())),
        }
    }

    /// Scaled duration: `secs` of AWS time in wall milliseconds at this speed.
    pub fn after(&self, secs: u64) -> u64 {
        self.clock.now_ms() + ((secs as f64 * 1000.0) / self.speed) as u64
    }

    /// Runs `f` on the world (locked), saving afterwards when it changed something.
    pub fn with<T>(
        &self,
        api: &str,
        mutate: bool,
        f: impl FnOnce(&mut World, &str, u64) -> Result<T, CloudError>,
    ) -> Result<T, CloudError> {
        let now = self.clock.now_ms();
        let mut world = self
            .world
            .lock()
            .map_err(|_| CloudError::new(api, "InternalError", "sandbox world lock poisoned"))?;
        if let Some(fault) = world.take_fault(api, &self.region) {
            let mut e = CloudError::new(api, &fault.code, fault.message);
            e.status = Some(if fault.code.contains("Throttl") {
                400
            } else {
                403
            });
            return Err(e);
        }
        if mutate && let Some(file) = &self.file {
            take_writer_lock(api, file, &mut world)?;
        }
        let out = f(&mut world, &self.region, now)?;
        if mutate && let Some(file) = &self.file {
            let bytes = serde_json::to_vec(&*world)
                .map_err(|e| CloudError::new(api, "InternalError", e.to_string()))?;
            tierui_core::paths::write_private(file, &bytes).map_err(|e| {
                CloudError::new(
                    api,
                    "InternalError",
                    format!("saving the sandbox world: {e:#}"),
                )
            })?;
        }
        Ok(out)
    }
}
