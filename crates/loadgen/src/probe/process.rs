//! CPU time and resident memory of processes, from `/proc`.

use serde::Serialize;

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on every
/// Linux this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// One reading of one process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ProcessSample {
    /// User plus system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
}

/// Reads process `pid`; `None` when it is gone.
pub fn process_sample(pid: u32) -> Option<ProcessSample> {
    read(&format!("/proc/{pid}"))
}

/// Reads this process.
pub fn self_sample() -> ProcessSample {
    read("/proc/self").unwrap_or_default()
}

fn read(dir: &str) -> Option<ProcessSample> {
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
    Some(ProcessSample {
        cpu_seconds: cpu_seconds(&stat)?,
        rss_bytes: rss_bytes(&status)?,
    })
}

/// utime + stime from a `stat` line (fields 14 and 15; the name in parentheses may hold
/// spaces, so fields are counted after its closing parenthesis).
fn cpu_seconds(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name, field 3 (state) is index 0, so utime (14) is index 11.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

fn rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_and_status() {
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(
            rss_bytes("Name:\tx\nVmRSS:\t  2048 kB\n"),
            Some(2 * 1024 * 1024)
        );
    }

    #[test]
    fn reads_itself() {
        let me = self_sample();
        assert!(me.rss_bytes > 0);
        assert!(process_sample(std::process::id()).is_some());
    }
}
