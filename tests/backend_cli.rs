//! The backend subcommands refuse bad configuration before starting anything, naming the
//! offending key.

use std::process::Command;

fn breakwater(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_breakwater"));
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("BREAKWATER_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn reservation_without_secrets_names_the_missing_key() {
    let (ok, stderr) = breakwater(&["reservation", "--listen", "127.0.0.1:0"], &[]);
    assert!(!ok);
    assert!(stderr.contains("token_secret"), "{stderr}");
}

#[test]
fn bad_flags_and_environment_name_their_key() {
    let (ok, stderr) = breakwater(&["payment", "--decline-rate", "1.5"], &[]);
    assert!(!ok);
    assert!(stderr.contains("decline_rate"), "{stderr}");
    let (ok, stderr) = breakwater(
        &["inventory"],
        &[("BREAKWATER_DATABASE_URL", "mysql://nope")],
    );
    assert!(!ok);
    assert!(stderr.contains("database_url"), "{stderr}");
    let secrets = [
        ("BREAKWATER_TOKEN_SECRET", "0123456789abcdef0123456789"),
        ("BREAKWATER_ADMIN_KEY", "0123456789abcdef0123456789"),
    ];
    let (ok, stderr) = breakwater(&["reservation", "--payment-url", "localhost:1"], &secrets);
    assert!(!ok);
    assert!(stderr.contains("payment_url"), "{stderr}");
}

#[test]
fn secrets_have_no_flags() {
    for (command, flag) in [
        ("gateway", "--token-secret"),
        ("gateway", "--admin-key"),
        ("reservation", "--admin-key"),
        ("serve", "--token-secret"),
    ] {
        let (ok, stderr) = breakwater(&[command, flag, "0123456789abcdef0123456789"], &[]);
        assert!(!ok, "{command} {flag} was accepted");
        assert!(stderr.contains(flag), "{command}: {stderr}");
    }
}

#[test]
fn secrets_come_from_files_and_a_weak_one_is_named_never_shown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, value: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, value).expect("secret file");
        path.to_string_lossy().into_owned()
    };
    let strong = write("token", "file-token-secret-0123456789\n");
    let weak = write("admin", "weak-admin-key\n");
    let (ok, stderr) = breakwater(
        &["reservation"],
        &[
            ("BREAKWATER_TOKEN_SECRET_FILE", &strong),
            ("BREAKWATER_ADMIN_KEY_FILE", &weak),
        ],
    );
    assert!(!ok);
    assert!(stderr.contains("`admin_key`"), "{stderr}");
    assert!(stderr.contains("at least 22"), "{stderr}");
    assert!(
        !stderr.contains("weak-admin-key"),
        "the value was shown: {stderr}"
    );

    // Both secrets read from their files pass; the next key checked is the one named.
    let admin = write("admin-ok", "file-admin-key-0123456789");
    let (ok, stderr) = breakwater(
        &["reservation", "--rpc-timeout-ms", "0"],
        &[
            ("BREAKWATER_TOKEN_SECRET_FILE", &strong),
            ("BREAKWATER_ADMIN_KEY_FILE", &admin),
        ],
    );
    assert!(!ok);
    assert!(stderr.contains("rpc_timeout_ms"), "{stderr}");

    let (ok, stderr) = breakwater(
        &["reservation"],
        &[("BREAKWATER_ADMIN_KEY_FILE", "/nonexistent/admin-key")],
    );
    assert!(!ok);
    assert!(stderr.contains("BREAKWATER_ADMIN_KEY_FILE"), "{stderr}");
}
