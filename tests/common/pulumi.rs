//! The Python foundation fixture with the Pulumi SDKs the test command
//! installs (`TIERUI_TEST_PULUMI_VENV`, `TIERUI_TEST_PULUMI_NODE_MODULES`). A
//! missing SDK fails the test; none is skipped.

use std::path::{Path, PathBuf};

/// An SDK location the test command exports.
pub fn sdk(name: &str) -> PathBuf {
    let p = std::env::var_os(name).unwrap_or_else(|| {
        panic!("{name} is not set: run the tests with ./scripts/test-all, which installs the Pulumi SDKs")
    });
    let p = PathBuf::from(p);
    assert!(p.exists(), "{name}={} does not exist", p.display());
    p
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A copy of `fixtures/<name>` in `dest`.
pub fn fixture(name: &str, dest: &Path) {
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
        dest,
    );
}

/// `fixtures/python-foundation` in `dest`, every project's toolchain linked to
/// the test SDKs.
pub fn foundation(dest: &Path) {
    fixture("python-foundation", dest);
    let venv = sdk("TIERUI_TEST_PULUMI_VENV");
    let modules = sdk("TIERUI_TEST_PULUMI_NODE_MODULES");
    std::os::unix::fs::symlink(&venv, dest.join("gitops/pulumi_deploy/venv")).unwrap();
    std::os::unix::fs::symlink(&venv, dest.join("provisioning/pulumi/venv")).unwrap();
    std::os::unix::fs::symlink(&modules, dest.join("gitops/night_service/node_modules")).unwrap();
}
