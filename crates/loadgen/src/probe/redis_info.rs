//! Redis figures from `INFO`: CPU seconds, commands executed, memory.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// One reading of one or more Redis servers (summed over the nodes of a cluster).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RedisInfo {
    /// `used_cpu_sys + used_cpu_user`, seconds.
    pub cpu_seconds: f64,
    /// Calls of every command in `INFO commandstats` (commands run inside scripts
    /// included), without the probe's own `INFO` calls.
    pub commands: u64,
    /// Script runs (`EVAL`, `EVALSHA`, `FCALL`): each is one round trip that may run
    /// many commands inside.
    pub script_calls: u64,
    /// `used_memory`, bytes.
    pub used_memory: u64,
    /// Calls per command name.
    pub calls: BTreeMap<String, u64>,
}

impl RedisInfo {
    /// Reads the text of `INFO cpu memory stats commandstats`.
    pub fn parse(text: &str) -> Self {
        let mut info = Self::default();
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once(':') else {
                continue;
            };
            match key {
                "used_cpu_sys" | "used_cpu_user" => {
                    info.cpu_seconds += value.parse::<f64>().unwrap_or(0.0);
                }
                "used_memory" => info.used_memory = value.parse().unwrap_or(0),
                _ => {
                    if let Some(name) = key.strip_prefix("cmdstat_") {
                        let calls = value
                            .split(',')
                            .find_map(|field| field.strip_prefix("calls="))
                            .and_then(|calls| calls.parse().ok())
                            .unwrap_or(0);
                        info.calls.insert(name.to_owned(), calls);
                    }
                }
            }
        }
        // The probe's own calls are not the server's work.
        info.calls.remove("info");
        info.commands = info.calls.values().sum::<u64>();
        info.script_calls = [
            "eval",
            "evalsha",
            "eval_ro",
            "evalsha_ro",
            "fcall",
            "fcall_ro",
        ]
        .iter()
        .filter_map(|name| info.calls.get(*name))
        .sum();
        info
    }

    /// Adds another node's reading.
    fn add(&mut self, other: &Self) {
        self.cpu_seconds += other.cpu_seconds;
        self.commands += other.commands;
        self.script_calls += other.script_calls;
        self.used_memory += other.used_memory;
        for (name, calls) in &other.calls {
            *self.calls.entry(name.clone()).or_default() += calls;
        }
    }

    /// What happened between `earlier` and this reading.
    pub fn since(&self, earlier: &Self) -> Self {
        let calls = self
            .calls
            .iter()
            .map(|(name, calls)| {
                let before = earlier.calls.get(name).copied().unwrap_or(0);
                (name.clone(), calls.saturating_sub(before))
            })
            .filter(|(_, calls)| *calls > 0)
            .collect();
        Self {
            cpu_seconds: (self.cpu_seconds - earlier.cpu_seconds).max(0.0),
            commands: self.commands.saturating_sub(earlier.commands),
            script_calls: self.script_calls.saturating_sub(earlier.script_calls),
            used_memory: self.used_memory,
            calls,
        }
    }
}

/// Reads `INFO` from a set of Redis servers.
pub struct RedisProbe {
    urls: Vec<String>,
    connections: Vec<Option<redis::aio::MultiplexedConnection>>,
}

const TIMEOUT: Duration = Duration::from_secs(2);

impl RedisProbe {
    /// A probe of these servers (every node of a cluster, to sum them).
    pub fn new(urls: Vec<String>) -> Self {
        let connections = urls.iter().map(|_| None).collect();
        Self { urls, connections }
    }

    /// One reading, summed over the servers.
    pub async fn read(&mut self) -> anyhow::Result<RedisInfo> {
        let mut total = RedisInfo::default();
        for index in 0..self.urls.len() {
            let text = self.info_of(index).await;
            if text.is_err() {
                self.connections[index] = None;
            }
            total.add(&RedisInfo::parse(&text?));
        }
        Ok(total)
    }

    /// Runs one command on every server (e.g. `CONFIG RESETSTAT`).
    pub async fn run_everywhere(&mut self, args: &[&str]) -> anyhow::Result<()> {
        for index in 0..self.urls.len() {
            let connection = self.connection(index).await?;
            let mut command = redis::cmd(args[0]);
            for arg in &args[1..] {
                command.arg(*arg);
            }
            tokio::time::timeout(TIMEOUT, command.query_async::<redis::Value>(connection))
                .await??;
        }
        Ok(())
    }

    async fn info_of(&mut self, index: usize) -> anyhow::Result<String> {
        let connection = self.connection(index).await?;
        let text: String = tokio::time::timeout(
            TIMEOUT,
            redis::cmd("INFO")
                .arg("cpu")
                .arg("memory")
                .arg("stats")
                .arg("commandstats")
                .query_async(connection),
        )
        .await??;
        Ok(text)
    }

    async fn connection(
        &mut self,
        index: usize,
    ) -> anyhow::Result<&mut redis::aio::MultiplexedConnection> {
        if self.connections[index].is_none() {
            let client = redis::Client::open(self.urls[index].as_str())?;
            let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(TIMEOUT));
            let connection = tokio::time::timeout(
                TIMEOUT,
                client.get_multiplexed_async_connection_with_config(&config),
            )
            .await??;
            self.connections[index] = Some(connection);
        }
        self.connections[index]
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("no connection"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# CPU\r\nused_cpu_sys:1.50\r\nused_cpu_user:2.25\r\n\
        # Memory\r\nused_memory:1048576\r\n# Stats\r\ntotal_commands_processed:120\r\n\
        # Commandstats\r\ncmdstat_evalsha:calls=10,usec=50,usec_per_call=5.00\r\n\
        cmdstat_bitfield:calls=30,usec=9\r\ncmdstat_info:calls=20,usec=100\r\n";

    #[test]
    fn parses_info() {
        let info = RedisInfo::parse(SAMPLE);
        assert!((info.cpu_seconds - 3.75).abs() < 1e-9);
        assert_eq!(info.used_memory, 1_048_576);
        assert_eq!(info.commands, 40);
        assert_eq!(info.script_calls, 10);
        assert_eq!(info.calls["evalsha"], 10);
    }

    #[test]
    fn differences_between_readings() {
        let before = RedisInfo::parse(SAMPLE);
        let after = RedisInfo::parse(
            &SAMPLE
                .replace("calls=10,", "calls=15,")
                .replace("used_cpu_user:2.25", "used_cpu_user:3.25"),
        );
        let delta = after.since(&before);
        assert_eq!(delta.commands, 5);
        assert!((delta.cpu_seconds - 1.0).abs() < 1e-9);
        assert_eq!(delta.calls.len(), 1);
    }
}
