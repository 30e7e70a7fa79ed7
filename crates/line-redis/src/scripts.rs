//! The Lua scripts, each prefixed with the shared prelude.

use redis::Script;

macro_rules! script {
    ($file:literal) => {
        Script::new(&format!(
            "{}\n{}",
            include_str!("scripts/prelude.lua"),
            include_str!(concat!("scripts/", $file))
        ))
    };
}

/// Every script the store runs, loaded once (EVALSHA thereafter).
pub(crate) struct Scripts {
    pub create: Script,
    pub update: Script,
    pub join: Script,
    pub snapshot: Script,
    pub sync: Script,
    pub heartbeat: Script,
    pub liveness: Script,
    pub lease: Script,
    pub admit: Script,
    pub drop: Script,
    pub open: Script,
    pub enter: Script,
    pub leave: Script,
    pub finish: Script,
    pub restore: Script,
    pub stock: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            create: script!("create.lua"),
            update: script!("update.lua"),
            join: script!("join.lua"),
            snapshot: script!("snapshot.lua"),
            sync: script!("sync.lua"),
            heartbeat: script!("heartbeat.lua"),
            liveness: script!("liveness.lua"),
            lease: script!("lease.lua"),
            admit: script!("admit.lua"),
            drop: script!("drop.lua"),
            open: script!("open.lua"),
            enter: script!("enter.lua"),
            leave: script!("leave.lua"),
            finish: script!("finish.lua"),
            restore: script!("restore.lua"),
            stock: script!("stock.lua"),
        }
    }
}
