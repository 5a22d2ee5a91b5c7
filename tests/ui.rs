//! The workbench in a real browser: tests/ui/e2e.py drives headless Chromium over WebDriver
//! (selenium) through sign-in, case context, search, a finding's evidence graph, dismissal that
//! survives a new load, a forged CSRF token, paths, a pre-award clearance, an analyst who sees
//! no private name and an auditor's trail. Runs when `QINGLIAN_UI_VENV` names a virtual
//! environment with selenium (.ci/run installs it, with Debian's chromium and chromium-driver);
//! otherwise SKIPPED.

#[test]
fn the_workbench_works_in_a_real_browser() {
    let Ok(venv) = std::env::var("QINGLIAN_UI_VENV") else {
        eprintln!("SKIPPED: QINGLIAN_UI_VENV is not set (.ci/run sets it)");
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::path::Path::new(&venv).join("bin/python");
    let o = std::process::Command::new(python)
        .arg(root.join("tests/ui/e2e.py"))
        .env("QINGLIAN_BIN", env!("CARGO_BIN_EXE_qinglian"))
        .output()
        .expect("the venv's python runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "the browser test failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("ok: every step passed"), "{out}");
}
