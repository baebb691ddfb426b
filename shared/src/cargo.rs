//! Running cargo from a program that cargo started (`cargo run -p tasks -- test`, a test that
//! builds the service binaries), for the workspace's own tasks and tests.

use std::process::Command;

/// `cargo` (the one that started this process, when there is one), without the variables
/// cargo sets for the package it is running. Build scripts that watch those variables (ring
/// does: `rerun-if-env-changed=CARGO_PKG_NAME` and others) would otherwise see them change
/// between the outer and the inner build and recompile themselves and all that depends on
/// them, every time.
pub fn command() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if is_set_for_a_package(name) {
            command.env_remove(name);
        }
    }
    command
}

/// The variables cargo sets for one package's build script, binary or test; not the ones a
/// user sets to steer cargo itself (`CARGO_HOME`, `CARGO_TARGET_DIR`, `CARGO_PROFILE_*` …).
fn is_set_for_a_package(name: &str) -> bool {
    const PREFIXES: [&str; 4] = ["CARGO_PKG_", "CARGO_BIN_EXE_", "CARGO_CFG_", "DEP_"];
    const NAMES: [&str; 7] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
    ];
    PREFIXES.iter().any(|prefix| name.starts_with(prefix)) || NAMES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::is_set_for_a_package;

    #[test]
    fn package_variables_are_dropped_and_cargo_settings_kept() {
        for name in [
            "CARGO_PKG_NAME",
            "CARGO_MANIFEST_DIR",
            "CARGO_BIN_EXE_users",
            "CARGO_TARGET_TMPDIR",
        ] {
            assert!(is_set_for_a_package(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_PROFILE_DEV_DEBUG",
            "CARGO_INCREMENTAL",
            "PATH",
        ] {
            assert!(!is_set_for_a_package(name), "{name}");
        }
    }
}
