//! moto's server as the AWS peer (started by scripts/test-all, address in
//! TIERUI_TEST_MOTO): reset, a demo workspace, the binary pointed at moto, and SDK
//! clients for asserting through the AWS API rather than tierui's own state.

use std::process::Command;
use std::sync::Mutex;

use super::Sandbox;

/// moto is one server: tests that use it run one at a time and reset it first.
pub static MOTO: Mutex<()> = Mutex::new(());

pub fn moto() -> String {
    std::env::var("TIERUI_TEST_MOTO").expect("TIERUI_TEST_MOTO is not set: run ./scripts/test-all, which starts moto (tests never skip a missing peer)")
}

pub fn reset(url: &str) {
    let status = Command::new("python3")
        .args(["-c", &format!("import urllib.request; urllib.request.urlopen(urllib.request.Request('{url}/moto-api/reset', method='POST'))")])
        .status()
        .expect("python3");
    assert!(status.success(), "moto reset failed");
}

pub struct Env {
    pub sb: Sandbox,
    pub ws: tempfile::TempDir,
    pub url: String,
}

/// A reset moto and a fresh demo workspace.
pub fn env() -> Env {
    let url = moto();
    reset(&url);
    let ws = tempfile::tempdir().unwrap();
    tierui_core::paths::extract_demo(ws.path()).unwrap();
    Env {
        sb: Sandbox::new(),
        ws,
        url,
    }
}

/// Static credentials of moto's default account 123456789012.
pub fn default_creds() -> aws_sdk_ec2::config::Credentials {
    aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "test")
}

impl Env {
    /// `tierui walk <target> --endpoint-url <moto> --workspace <ws> <extra>`, with
    /// no `--yes` unless `extra` has it.
    pub fn walk_as(&self, target: &str, extra: &[&str]) -> Command {
        let mut c = self.sb.command();
        c.args(["walk", target, "--endpoint-url", &self.url, "--workspace"])
            .arg(self.ws.path())
            .args(extra);
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE");
        c
    }

    /// `tierui walk dawn --yes …`.
    pub fn walk(&self, extra: &[&str]) -> Command {
        let mut args = vec!["--yes"];
        args.extend_from_slice(extra);
        self.walk_as("dawn", &args)
    }

    pub async fn config(&self, creds: aws_sdk_ec2::config::Credentials) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&self.url)
            .credentials_provider(creds)
            .http_client(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https(),
            )
            .load()
            .await
    }

    pub async fn clients(
        &self,
    ) -> (
        aws_sdk_ec2::Client,
        aws_sdk_iam::Client,
        aws_sdk_eks::Client,
    ) {
        let conf = self.config(default_creds()).await;
        (
            aws_sdk_ec2::Client::new(&conf),
            aws_sdk_iam::Client::new(&conf),
            aws_sdk_eks::Client::new(&conf),
        )
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl Env {
    /// A shell line (for tmux) running `tierui walk <args>` against moto with
    /// account 123456789012's credentials and no `--yes` unless `args` has it.
    pub fn walk_line(&self, args: &str) -> String {
        format!(
            "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing {}",
            self.sb.shell_line(&format!(
                "walk {args} --endpoint-url {} --workspace '{}'",
                self.url,
                self.ws.path().display()
            ))
        )
    }
}

/// Runs `cmd`, reading its output until a line satisfies `stop`, then kills it (a
/// crash at that point); returns what it printed.
pub fn kill_when(mut cmd: Command, stop: impl Fn(&str) -> bool) -> String {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if stop(&line) {
            child.kill().unwrap();
            break;
        }
    }
    let _ = child.wait();
    seen
}
