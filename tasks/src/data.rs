//! Where `tasks` keeps the SQLite files: the workspace's `data/`, whatever the working folder.

use std::path::{Path, PathBuf};

use shared::config::{var, DATA_DIR_VARIABLE};

/// Sets `TRIO_DATA_DIR` (for this process and the services it starts) to the workspace's
/// `data/` unless it is set, so `cd users && cargo run -p tasks -- beers seed` seeds the
/// same `data/beers.db` that `tasks serve` serves; a relative `TRIO_DATA_DIR` is taken from
/// the working folder, once. A `tasks` binary run where its workspace is gone (an image)
/// keeps `data` in the working folder. `<SERVICE>_DATABASE_URL` still wins for its service.
/// Call before any thread starts.
pub fn anchor() {
    let dir = match var(DATA_DIR_VARIABLE) {
        Some(dir) => PathBuf::from(dir.trim()),
        None => workspace()
            .map(|workspace| workspace.join("data"))
            .unwrap_or_else(|| PathBuf::from("data")),
    };
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    std::env::set_var(DATA_DIR_VARIABLE, without_dot_dots(&dir));
}

/// `/a/b/../c` as `/a/c`, for the messages that show where the data is (the folder need not
/// exist yet, so it cannot be canonicalized).
fn without_dot_dots(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut plain = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                plain.pop();
            }
            Component::CurDir => {}
            other => plain.push(other),
        }
    }
    plain
}

/// The workspace `tasks` was built from, if it is still there.
fn workspace() -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    workspace
        .join("Cargo.toml")
        .is_file()
        .then(|| workspace.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_folder_is_shown_without_dot_dots() {
        assert_eq!(
            without_dot_dots(Path::new("/srv/trio/users/../data/./x")),
            PathBuf::from("/srv/trio/data/x")
        );
    }
}
