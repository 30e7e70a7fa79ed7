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
        ("BREAKWATER_TOKEN_SECRET", "0123456789abcdef0123"),
        ("BREAKWATER_ADMIN_KEY", "0123456789abcdef0123"),
    ];
    let (ok, stderr) = breakwater(&["reservation", "--payment-url", "localhost:1"], &secrets);
    assert!(!ok);
    assert!(stderr.contains("payment_url"), "{stderr}");
}
