//! Puts the git revision into `gateward --version` (as `GATEWARD_VERSION`,
//! e.g. `0.1.0 (git 1a2b3c4d5e6f)`). One `git` call, and only when HEAD or
//! the branch it names moves: cargo reruns this script for those files
//! alone. Outside a git checkout (a source tarball, `cargo install` from
//! crates.io) the version is the crate's alone, or `GATEWARD_GIT_REV` when
//! a packager sets it.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GATEWARD_GIT_REV");
    let version = env!("CARGO_PKG_VERSION");
    let rev = std::env::var("GATEWARD_GIT_REV")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| {
            // A worktree's HEAD lives in its own git dir, its branches in the
            // common one; watch both (and packed-refs, where `git gc` moves refs).
            let git_dir = PathBuf::from(git(&["rev-parse", "--absolute-git-dir"])?);
            let common = git(&["rev-parse", "--git-common-dir"])
                .map(PathBuf::from)
                .map(|p| {
                    if p.is_absolute() {
                        p
                    } else {
                        std::env::current_dir().unwrap_or_default().join(p)
                    }
                })
                .unwrap_or_else(|| git_dir.clone());
            // Only files that exist: cargo reruns a script on every build
            // while a file it watches is missing.
            let mut watch = vec![git_dir.join("HEAD"), common.join("packed-refs")];
            if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watch.push(common.join(r));
            }
            for f in watch.iter().filter(|f| f.exists()) {
                println!("cargo:rerun-if-changed={}", f.display());
            }
            git(&["rev-parse", "--short=12", "HEAD"])
        });
    match rev {
        Some(r) => println!("cargo:rustc-env=GATEWARD_VERSION={version} (git {r})"),
        None => println!("cargo:rustc-env=GATEWARD_VERSION={version}"),
    }
}
