//! The `analyze` command as a user meets it: results that do not depend on
//! the worker count, standard input, output files, and one clear error line
//! (never a panic) for every kind of bad input or configuration.

mod common;

use common::*;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------

/// Captures with many flows, tunnels (flows whose parent lives on the same
/// worker) and fragments.
const MULTI_FLOW: &[&str] = &[
    "whatsapp.pcap",
    "kerberos.pcap",
    "anydesk.pcapng",
    "teredo.pcap",
    "6in4tunnel.pcap",
    "capwap.pcap",
    "tcpdump-geneve.pcap",
    "quickplay.pcap",
    "fragments.pcap",
];

fn assert_same_output(captures: &[&str]) {
    let one = analyze(captures, 1, &[]);
    one.assert_ok();
    assert!(
        one.records().len() > 1,
        "{captures:?}: too few flows to mean anything"
    );
    for workers in [2, 4] {
        let many = analyze(captures, workers, &[]);
        many.assert_ok();
        assert_eq!(
            one.sorted_lines(),
            many.sorted_lines(),
            "{captures:?}: -w 1 and -w {workers} differ"
        );
    }
}

#[test]
fn output_does_not_depend_on_worker_count() {
    for c in MULTI_FLOW {
        assert_same_output(&[c]);
    }
}

#[test]
fn two_captures_in_one_run_do_not_depend_on_worker_count() {
    // Later capture first, then earlier: the second file's clock runs behind.
    assert_same_output(&["whatsapp.pcap", "kerberos.pcap"]);
    assert_same_output(&["kerberos.pcap", "whatsapp.pcap"]);
    assert_same_output(&["anydesk.pcapng", "teredo.pcap"]);
}

// ---------------------------------------------------------------------------
// Standard input and output files
// ---------------------------------------------------------------------------

#[test]
fn stdin_gives_the_same_output_as_the_file() {
    for file in ["kerberos.pcap", "anydesk.pcapng", "sctp.cap"] {
        let bytes = std::fs::read(capture(file)).unwrap();
        let piped = gateward(&["analyze", "--all-flows", "-w", "2", "-"], Some(&bytes));
        piped.assert_ok();
        let direct = analyze(&[file], 2, &[]);
        assert!(!piped.stdout.is_empty(), "{file}");
        assert_eq!(
            piped.sorted_lines_without_file(),
            direct.sorted_lines_without_file(),
            "{file}"
        );
    }
}

/// `cat a.pcapng b.pcapng` is a valid pcapng stream with several sections
/// (draft-ietf-opsawg-pcapng 3.1), here of both byte orders: read as one
/// stream it gives what the files give as separate inputs.
#[test]
fn concatenated_pcapng_sections_read_like_separate_files() {
    let files = ["null.pcapng", "dns.pcap", "sll2.pcapng", "anydesk.pcapng"];
    let mut stream = Vec::new();
    for f in files {
        stream.extend(std::fs::read(capture(f)).unwrap());
    }
    let piped = gateward(&["analyze", "--all-flows", "-w", "2", "-"], Some(&stream));
    piped.assert_ok();
    assert_eq!(piped.stat("decode errors"), 0);
    let separate = analyze(&files, 2, &[]);
    assert_eq!(piped.packets(), separate.packets());
    assert_eq!(
        piped.sorted_lines_without_file(),
        separate.sorted_lines_without_file()
    );
}

#[test]
fn stdin_named_twice_is_refused() {
    let run = gateward(&["analyze", "-", "-"], Some(b""));
    assert_one_error(&run, &["standard input"]);
}

#[test]
fn output_file_gets_what_stdout_would() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.json");
    let path = capture("teredo.pcap");
    let run = gateward(
        &[
            "analyze",
            "--all-flows",
            "-w",
            "1",
            "-o",
            out.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
        None,
    );
    run.assert_ok();
    assert!(run.stdout.is_empty());
    let to_stdout = analyze(&["teredo.pcap"], 1, &[]);
    let mut written: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    written.sort();
    assert_eq!(written, to_stdout.sorted_lines());
}

/// `gateward analyze ... | head` must end quietly: a closed pipe is not an
/// error (exit status 0, no error line, no panic).
#[test]
fn closed_output_pipe_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    // All bundled captures in one run: more output than a pipe buffer holds.
    let mut args: Vec<String> = vec!["analyze".into(), "--all-flows".into()];
    for entry in std::fs::read_dir(capture("http.pcapng").parent().unwrap()).unwrap() {
        let p = entry.unwrap().path();
        if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng" | "cap")
        ) {
            args.push(p.display().to_string());
        }
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateward"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The read end is dropped here, closing the pipe.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_no_panic(&stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("gateward: error:"), "{stderr}");
}

// ---------------------------------------------------------------------------
// Bad inputs: exit status != 0, exactly one `gateward: error:` line that names
// the input and the reason, no panic
// ---------------------------------------------------------------------------

fn assert_one_error(run: &Run, must_contain: &[&str]) {
    assert_no_panic(&run.stderr);
    assert!(
        matches!(run.code, Some(c) if c != 0),
        "exit status {:?}, stderr:\n{}",
        run.code,
        run.stderr
    );
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "stderr:\n{}", run.stderr);
    for needle in must_contain {
        assert!(
            errors[0].contains(needle),
            "`{needle}` not in `{}`",
            errors[0]
        );
    }
}

fn analyze_path(path: &Path) -> Run {
    gateward(
        &["analyze", "--all-flows", "-w", "2", path.to_str().unwrap()],
        None,
    )
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Writes `bytes` as `name` in a fresh directory, analyzes it and asserts
/// one error line naming the file and containing each of `words`: what
/// every bad-input test below checks.
fn assert_file_is_one_error(name: &str, bytes: &[u8], words: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, name, bytes);
    let run = analyze_path(&p);
    let mut must_contain = vec![p.to_str().unwrap()];
    must_contain.extend_from_slice(words);
    assert_one_error(&run, &must_contain);
    run
}

#[test]
fn missing_file_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("no-such.pcap");
    let run = analyze_path(&p);
    assert_one_error(&run, &[p.to_str().unwrap(), "No such file"]);
    assert!(run.stdout.is_empty());
}

#[test]
fn output_naming_an_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("in.pcap");
    std::fs::copy(capture("tls12.pcap"), &p).unwrap();
    let before = std::fs::read(&p).unwrap();
    let s = p.to_str().unwrap();
    for flag in ["-o", "--report"] {
        let run = gateward(&["analyze", flag, s, s], None);
        assert_eq!(run.code, Some(2), "{flag}: {}", run.stderr);
        assert_one_error(&run, &[s, "is the input"]);
        assert_eq!(
            std::fs::read(&p).unwrap(),
            before,
            "{flag}: input untouched"
        );
    }
}

#[test]
fn directory_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = analyze_path(dir.path());
    assert_one_error(&run, &[dir.path().to_str().unwrap(), "directory"]);
}

#[test]
fn text_file_is_one_error_line() {
    let text = b"these are not the packets you are looking for\n";
    assert_file_is_one_error("notes.txt", text, &["not a pcap or pcapng"]);
}

#[test]
fn empty_file_is_one_error_line() {
    assert_file_is_one_error("empty.pcap", b"", &["empty"]);
}

/// pcap-savefile(5): the link type is the header's last 4 bytes (offset 20).
#[test]
fn pcap_with_unsupported_link_type_is_one_error_line() {
    let mut bytes = std::fs::read(capture("kerberos.pcap")).unwrap();
    bytes[20..24].copy_from_slice(&147u32.to_le_bytes()); // LINKTYPE_USER0
    let run = assert_file_is_one_error(
        "user0.pcap",
        &bytes,
        &["unsupported link type 147", "supported: Ethernet"],
    );
    assert!(run.stdout.is_empty());
}

/// pcapng: the Interface Description Block follows the Section Header Block
/// (whose length is at offset 4); its link type is the first field of its body.
#[test]
fn pcapng_with_unsupported_link_type_is_one_error_line() {
    let mut bytes = std::fs::read(capture("http.pcapng")).unwrap();
    let shb_len = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    assert_eq!(
        &bytes[shb_len..shb_len + 4],
        &1u32.to_le_bytes(),
        "IDB expected"
    );
    bytes[shb_len + 8..shb_len + 10].copy_from_slice(&147u16.to_le_bytes()); // LINKTYPE_USER0
    assert_file_is_one_error("user0.pcapng", &bytes, &["unsupported link type 147"]);
}

#[test]
fn pcap_record_longer_than_any_snap_length_is_one_error_line() {
    let mut bytes = std::fs::read(capture("kerberos.pcap")).unwrap();
    bytes[24 + 8..24 + 12].copy_from_slice(&0x4000_0000u32.to_le_bytes());
    assert_file_is_one_error("huge.pcap", &bytes, &["corrupt"]);
}

/// Byte offsets where the records of a little-endian pcap start.
fn pcap_record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut pos = 24;
    while pos + 16 <= bytes.len() {
        starts.push(pos);
        let caplen = u32::from_le_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
        pos += 16 + caplen;
    }
    assert_eq!(pos, bytes.len());
    starts
}

/// Byte offsets where the blocks of a little-endian pcapng start.
fn pcapng_block_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut pos = 0;
    while pos + 12 <= bytes.len() {
        starts.push(pos);
        pos += u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
    }
    assert_eq!(pos, bytes.len());
    starts
}

/// A capture cut in the middle of a record: the error names the file, and the
/// flows of every packet before the cut are still written, exactly as for the
/// same capture cut cleanly at the last whole record.
fn check_truncated(file: &str, boundary: usize, cut: usize) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(capture(file)).unwrap();
    assert!(boundary < cut && cut < bytes.len());
    let clean = write(&dir, "clean", &bytes[..boundary]);
    let cut_path = write(&dir, "cut", &bytes[..cut]);
    let expected = analyze_path(&clean);
    expected.assert_ok();
    assert!(
        !expected.stdout.is_empty(),
        "{file}: no flow before the cut"
    );
    let run = analyze_path(&cut_path);
    assert_one_error(&run, &[cut_path.to_str().unwrap(), "truncated"]);
    assert_eq!(
        run.sorted_lines_without_file(),
        expected.sorted_lines_without_file(),
        "{file}"
    );
    assert_eq!(run.packets(), expected.packets(), "{file}");
}

#[test]
fn truncated_pcap_reports_the_flows_before_the_cut() {
    let bytes = std::fs::read(capture("whatsapp.pcap")).unwrap();
    let starts = pcap_record_starts(&bytes);
    let mid = starts[starts.len() / 2];
    check_truncated("whatsapp.pcap", mid, mid + 20); // inside the frame
    check_truncated("whatsapp.pcap", mid, mid + 7); // inside the record header
}

#[test]
fn truncated_pcapng_reports_the_flows_before_the_cut() {
    let bytes = std::fs::read(capture("anydesk.pcapng")).unwrap();
    let starts = pcapng_block_starts(&bytes);
    let mid = starts[starts.len() / 2];
    check_truncated("anydesk.pcapng", mid, mid + 40);
}

#[test]
fn a_bad_input_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(&dir, "bad.txt", b"hello");
    let good = capture("http.pcapng");
    let good2 = capture("dns.pcap");
    let run = gateward(
        &[
            "analyze",
            "--all-flows",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
            good2.to_str().unwrap(),
        ],
        None,
    );
    assert_one_error(&run, &[bad.to_str().unwrap()]);
    let expected = analyze(&["http.pcapng", "dns.pcap"], 2, &[]).sorted_lines();
    assert_eq!(run.sorted_lines(), expected);
    assert!(
        run.stderr.contains("inputs ok 2, failed 1"),
        "{}",
        run.stderr
    );
}

#[test]
fn garbage_on_stdin_is_one_error_line() {
    let run = gateward(&["analyze", "-"], Some(b"\x00\x01\x02\x03 not a capture"));
    assert_one_error(&run, &["<stdin>", "not a pcap or pcapng"]);
}

// ---------------------------------------------------------------------------
// Configuration errors
// ---------------------------------------------------------------------------

fn run_with_config(text: &str) -> (Run, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(&dir, "gateward.toml", text.as_bytes());
    let cfg = cfg.to_str().unwrap().to_owned();
    let run = analyze_with_config(&cfg, "http.pcapng");
    (run, cfg)
}

#[test]
fn unknown_config_key_is_refused_with_its_path() {
    let (run, cfg) = run_with_config("[flow.timeouts.udp]\nnwe = 1\n");
    assert_one_error(&run, &[&cfg, "flow.timeouts.udp.nwe"]);
    assert!(run.stdout.is_empty());
}

#[test]
fn wrongly_typed_config_value_is_refused_with_its_path() {
    let (run, cfg) = run_with_config("[flow]\nmax_flows = \"many\"\n");
    assert_one_error(&run, &[&cfg, "flow.max_flows"]);
}

#[test]
fn config_syntax_error_is_refused() {
    let (run, cfg) = run_with_config("[flow\nmax_flows = 3\n");
    assert_one_error(&run, &[&cfg]);
}

#[test]
fn missing_config_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("absent.toml");
    let cfg = cfg.to_str().unwrap();
    let run = analyze_with_config(cfg, "http.pcapng");
    assert_one_error(&run, &[cfg]);
}

// ---------------------------------------------------------------------------
// Compressed captures (gzip, zstd, xz): detected by content, read as a stream
// ---------------------------------------------------------------------------

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Each bundled capture compressed in each format, under a name that says
/// nothing (the format comes from the magic number), gives exactly the
/// uncompressed run's records; so does the same stream on standard input.
#[test]
fn compressed_captures_read_like_the_uncompressed_file() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["whatsapp.pcap", "anydesk.pcapng"] {
        let bytes = std::fs::read(capture(file)).unwrap();
        let expected = analyze(&[file], 2, &[]);
        expected.assert_ok();
        assert!(expected.records().len() > 1, "{file}");
        let formats: [(&str, Vec<u8>); 3] = [
            ("gzip", gzip(&bytes)),
            ("zstd", zstd::encode_all(&bytes[..], 3).unwrap()),
            ("xz", xz(&bytes)),
        ];
        for (name, packed) in formats {
            assert!(packed.len() < bytes.len(), "{file} {name}: not compressed");
            let p = write(&dir, &format!("{file}-{name}.bin"), &packed);
            let run = analyze_path(&p);
            run.assert_ok();
            assert_eq!(run.packets(), expected.packets(), "{file} {name}");
            assert_eq!(
                run.sorted_lines_without_file(),
                expected.sorted_lines_without_file(),
                "{file} {name}"
            );
            let piped = gateward(&["analyze", "--all-flows", "-w", "2", "-"], Some(&packed));
            piped.assert_ok();
            assert_eq!(
                piped.sorted_lines_without_file(),
                expected.sorted_lines_without_file(),
                "{file} {name} on stdin"
            );
        }
    }
}

/// A .gz cut short: one error line naming the file and the broken gzip
/// stream, a non-zero exit, and the flows of the packets decoded before the
/// cut still written.
#[test]
fn truncated_gzip_is_one_error_line_after_the_flows_before_it() {
    let bytes = std::fs::read(capture("whatsapp.pcap")).unwrap();
    let packed = gzip(&bytes);
    let run = assert_file_is_one_error(
        "cut.pcap.gz",
        &packed[..packed.len() * 2 / 3],
        &["truncated gzip stream"],
    );
    assert!(!run.stdout.is_empty(), "no flow before the cut");
    let whole = analyze(&["whatsapp.pcap"], 2, &[]);
    assert!(run.packets() > 0 && run.packets() < whole.packets());
}

/// A corrupt zstd frame (bytes flipped after the header; the frame carries
/// its content checksum, as the `zstd` tool writes by default) is one error
/// line too, never a panic or a hang.
#[test]
fn corrupt_zstd_is_one_error_line() {
    use std::io::Write;
    let bytes = std::fs::read(capture("whatsapp.pcap")).unwrap();
    let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(true).unwrap();
    e.write_all(&bytes).unwrap();
    let mut packed = e.finish().unwrap();
    let mid = packed.len() / 2;
    for b in &mut packed[mid..mid + 64] {
        *b ^= 0x5a;
    }
    assert_file_is_one_error("bad.zst", &packed, &["zstd stream"]);
}

/// `--version` names the build's git revision when built from a checkout.
#[test]
fn version_names_the_git_revision() {
    let run = gateward(&["--version"], None);
    run.assert_ok();
    let line = run.stdout.trim();
    assert!(
        line.starts_with(concat!("gateward ", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    let in_git = Path::new(env!("CARGO_MANIFEST_DIR")).join(".git").exists();
    if in_git
        && std::process::Command::new("git")
            .arg("--version")
            .output()
            .is_ok()
    {
        assert!(line.contains("(git "), "{line}");
    }
}

/// `generate` writes man pages and completions that name the subcommands.
#[test]
fn generate_writes_man_pages_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    gateward(&["generate", "man", d], None).assert_ok();
    for shell in ["bash", "zsh", "fish"] {
        gateward(&["generate", "completions", shell, d], None).assert_ok();
    }
    for page in ["gateward.1", "gateward-analyze.1", "gateward-run.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    let man = std::fs::read_to_string(dir.path().join("gateward.1")).unwrap();
    assert!(
        !man.contains("generate"),
        "hidden subcommand in the man page"
    );
    for script in ["gateward.bash", "_gateward", "gateward.fish"] {
        let text = std::fs::read_to_string(dir.path().join(script)).unwrap();
        assert!(
            text.contains("analyze") && text.contains("validate"),
            "{script}"
        );
    }
}

/// Issue 14: `validate` passed configurations `run` then refused. Plain
/// `validate` now names each such problem as a warning (a configuration
/// for `analyze` needs no interface); `validate --run`, the unit's
/// ExecStartPre, refuses them. Typos in allow-rule protocols are errors;
/// a host name in `metrics_listen` is accepted, as `run` binds it.
#[test]
fn validate_checks_what_run_needs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = |name: &str, text: &str| write(&dir, name, text.as_bytes());
    let empty = cfg("empty.toml", "[capture]\ninterfaces = []\n");
    let e = empty.to_str().unwrap();
    let plain = gateward(&["validate", "-c", e], None);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    assert!(
        plain.stderr.contains("would refuse: capture.interfaces"),
        "{}",
        plain.stderr
    );
    let run = gateward(&["validate", "--run", "-c", e], None);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_one_error(&run, &[e, "no interface to capture on"]);

    let missing = cfg("nosuch.toml", "[capture]\ninterfaces = [\"gw-nosuch0\"]\n");
    let run = gateward(
        &["validate", "--run", "-c", missing.to_str().unwrap()],
        None,
    );
    assert_one_error(&run, &["no interface `gw-nosuch0`"]);

    let sink = cfg(
        "sink.toml",
        "[capture]\ninterfaces = [\"lo\"]\n[[output.sink]]\ntype = \"file\"\npath = \"/nonexistent-gateward-dir/eve.json\"\n",
    );
    let run = gateward(&["validate", "--run", "-c", sink.to_str().unwrap()], None);
    assert_one_error(&run, &["output.sink[0].path", "does not exist"]);

    let typo = cfg("typo.toml", "[[allow.rule]]\nkinds = [\"vpn/openvnp\"]\n");
    let run = gateward(&["validate", "-c", typo.to_str().unwrap()], None);
    assert_one_error(&run, &["allow.rule[0].kinds", "`openvnp`"]);
    let good = cfg(
        "good.toml",
        "[[allow.rule]]\nkinds = [\"vpn/openvpn\", \"proxy/*\"]\ndomains = [\"*.example.com\"]\n[daemon]\nmetrics_listen = \"localhost:9715\"\n",
    );
    let run = gateward(&["validate", "-c", good.to_str().unwrap()], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}
