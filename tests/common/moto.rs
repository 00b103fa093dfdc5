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

impl Env {
    /// Drops every `context:` of tierui.yaml, so tierui has to find the contexts.
    pub fn without_contexts(&self) {
        let descriptor = self.ws.path().join("tierui.yaml");
        let text = std::fs::read_to_string(&descriptor).unwrap();
        let kept: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("context:"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&descriptor, kept).unwrap();
    }

    /// An EKS cluster in moto (a role for it, no subnets); its ARN.
    pub async fn create_cluster(&self, name: &str) -> String {
        let (_, iam, eks) = self.clients().await;
        let role = iam
            .create_role()
            .role_name(format!("{name}-eks"))
            .assume_role_policy_document("{}")
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_string();
        eks.create_cluster()
            .name(name)
            .version("1.31")
            .role_arn(&role)
            .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
            .send()
            .await
            .unwrap()
            .cluster()
            .unwrap()
            .arn()
            .unwrap()
            .to_string()
    }
}

/// A kubeconfig as `aws eks update-kubeconfig` writes it: cluster, user and
/// context all named by the cluster's ARN, the token from `aws eks get-token`.
pub fn eks_kubeconfig(arn: &str, server: &str, cluster: &str, region: &str) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    server: {server}\n  name: {arn}\ncontexts:\n- context:\n    cluster: {arn}\n    user: {arn}\n  name: {arn}\ncurrent-context: {arn}\nkind: Config\npreferences: {{}}\nusers:\n- name: {arn}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      args:\n      - --region\n      - {region}\n      - eks\n      - get-token\n      - --cluster-name\n      - {cluster}\n      - --output\n      - json\n      command: aws\n"
    )
}

/// A stand-in `aws` for the exec plugin: prints an ExecCredential, and
/// appends its arguments to `record` when given.
pub fn fake_aws(bin: &std::path::Path, record: Option<&std::path::Path>) {
    std::fs::create_dir_all(bin).unwrap();
    let log = record
        .map(|r| format!("echo \"$@\" >> '{}'\n", r.display()))
        .unwrap_or_default();
    let path = bin.join("aws");
    std::fs::write(
        &path,
        format!("#!/bin/sh\n{log}echo '{{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"spec\":{{}},\"status\":{{\"expirationTimestamp\":\"2099-01-01T00:00:00Z\",\"token\":\"k8s-aws-v1.test\"}}}}'\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}
