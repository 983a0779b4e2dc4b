//! Shared by the sesh benches: each bench is reported as a ratio to the raw primitives it is
//! built from, so that the figure says how much the protocol code adds, on any machine.
//!
//! A bench file measures its operation and a "raw" baseline made of the same primitives called
//! directly (in one criterion group), then calls [`report_ratios`], which reads criterion's
//! estimates and prints lines like
//!
//! ```text
//! ratio: identity/seed_to_session_id = 1.08 x raw (21.4 µs vs 19.8 µs)
//! ```

use std::path::PathBuf;

/// Where criterion writes its results: `$CRITERION_HOME`, or `criterion` in the target
/// directory this bench binary was built into.
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    // target/<profile>/deps/<bench binary>
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

/// The mean time of `group/function` in nanoseconds, from criterion's `estimates.json`.
pub fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let path = criterion_dir()?.join(group).join(function).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("mean")?.get("point_estimate")?.as_f64()
}

/// Prints `ratio: group/function = R x <raw> (t vs t_raw)` for each `(function, raw function)`
/// pair of `group`, or says which measurement is missing (as after `cargo bench -- --test`,
/// which measures nothing).
pub fn report_ratios(group: &str, pairs: &[(&str, &str)]) {
    for (function, raw) in pairs {
        match (mean_ns(group, function), mean_ns(group, raw)) {
            (Some(t), Some(t_raw)) if t_raw > 0.0 => println!(
                "ratio: {group}/{function} = {:.2} x {raw} ({} vs {})",
                t / t_raw,
                human(t),
                human(t_raw)
            ),
            _ => println!("ratio: {group}/{function}: not measured in this run"),
        }
    }
}

fn human(ns: f64) -> String {
    if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{ns:.0} ns")
    }
}
