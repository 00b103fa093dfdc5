//! The real cloud: aws-config's default chain (profiles, SSO, environment) and the
//! aws-sdk EC2, EKS, IAM and STS clients, pointed at AWS or at `--endpoint-url`
//! (moto, LocalStack). Everything returned is translated into tierui's types.

mod calls;
mod calls_more;
mod inventory;

use aws_config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls;

use tierui_core::cloud::CloudError;
use tierui_core::context::Options;

pub struct AwsCloud {
    pub ec2: aws_sdk_ec2::Client,
    pub eks: aws_sdk_eks::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub kms: aws_sdk_kms::Client,
    pub region: String,
    pub endpoint: Option<String>,
    account: tokio::sync::OnceCell<String>,
}

/// The shared SDK configuration for a region: profile and endpoint from the flags,
/// else AWS_PROFILE / AWS_ENDPOINT_URL as aws-config reads them.
///
/// A profile named explicitly (`--profile`, or `profile:` of a cluster in
/// tierui.yaml) other than `default` supplies the credentials itself, as the AWS
/// CLI's `--profile` does: credentials in the environment do not override it, so
/// a cluster pinned to an account is reached in that account.
pub async fn sdk_config(
    global: &Options,
    region: &str,
    profile: Option<&str>,
) -> aws_config::SdkConfig {
    // rustls with ring: no C crypto library to build.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http.clone())
        .region(Region::new(region.to_string()));
    if let Some(p) = global.profile.as_deref().or(profile) {
        loader = loader.profile_name(p);
        if p != "default" {
            let conf = aws_config::provider_config::ProviderConfig::without_region()
                .with_region(Some(Region::new(region.to_string())))
                .with_http_client(http);
            loader = loader.credentials_provider(
                aws_config::profile::ProfileFileCredentialsProvider::builder()
                    .configure(&conf)
                    .profile_name(p)
                    .build(),
            );
        }
    }
    if let Some(url) = &global.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

impl AwsCloud {
    pub async fn connect_with(
        global: &Options,
        region: &str,
        profile: Option<&str>,
    ) -> anyhow::Result<AwsCloud> {
        let region = global.region.clone().unwrap_or_else(|| region.to_string());
        let conf = sdk_config(global, &region, profile).await;
        let endpoint = global
            .endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|s| !s.is_empty());
        Ok(AwsCloud {
            ec2: aws_sdk_ec2::Client::new(&conf),
            eks: aws_sdk_eks::Client::new(&conf),
            iam: aws_sdk_iam::Client::new(&conf),
            sts: aws_sdk_sts::Client::new(&conf),
            autoscaling: aws_sdk_autoscaling::Client::new(&conf),
            kms: aws_sdk_kms::Client::new(&conf),
            region,
            endpoint,
            account: tokio::sync::OnceCell::new(),
        })
    }

    pub(crate) async fn account(&self) -> Result<String, CloudError> {
        self.account
            .get_or_try_init(|| async {
                let out = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| error("sts:GetCallerIdentity", e))?;
                Ok(out.account().unwrap_or_default().to_string())
            })
            .await
            .cloned()
    }
}

/// A public key file for ImportKeyPair (`~` is the home directory), checked to be
/// an OpenSSH public key; the error names the file.
pub fn read_public_key(path: &str) -> Result<String, String> {
    let full = match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or_default()
            .join(rest),
        None => std::path::PathBuf::from(path),
    };
    let text = std::fs::read_to_string(&full)
        .map_err(|e| format!("ssh public key {}: {e}", full.display()))?;
    let t = text.trim();
    if !(t.starts_with("ssh-") || t.starts_with("ecdsa-")) {
        return Err(format!(
            "ssh public key {}: not an OpenSSH public key (ssh-rsa/ssh-ed25519/ecdsa-…)",
            full.display()
        ));
    }
    Ok(t.to_string())
}

/// Translates an SDK error into AWS's code and message (never a panic, never a
/// bare Debug dump). An answer that is not AWS's (a 404 with no error code, or an
/// HTML page) is marked `NotImplemented` here; [`AwsCloud::honest`] keeps that
/// reading only for a custom endpoint such as moto.
pub fn error<E>(api: &str, e: aws_sdk_ec2::error::SdkError<E>) -> CloudError
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_ec2::error::ProvideErrorMetadata as _;
    use aws_sdk_ec2::error::SdkError;
    let status = e.raw_response().map(|r| r.status().as_u16());
    let body_is_html = e
        .raw_response()
        .and_then(|r| r.body().bytes())
        .is_some_and(is_html);
    let text = aws_sdk_ec2::error::DisplayErrorContext(&e).to_string();
    let (code, message) = match &e {
        SdkError::ServiceError(_) => (
            e.code().map(str::to_string),
            e.message().map(str::to_string),
        ),
        SdkError::DispatchFailure(_) => (Some("Connection".to_string()), None),
        SdkError::TimeoutError(_) => (Some("Timeout".to_string()), None),
        _ => (None, None),
    };
    // A JSON service (EKS) that got a page of markup fails to parse it.
    let markup_for_json = text.contains("unexpected token '<'");
    CloudError {
        api: api.to_string(),
        code: classify(status, body_is_html, markup_for_json, code),
        message: message.unwrap_or(text),
        status,
    }
}

/// A web page rather than an AWS answer (IAM's and EC2's errors are XML, which
/// starts with `<` too).
fn is_html(body: &[u8]) -> bool {
    let head: Vec<u8> = body
        .trim_ascii_start()
        .iter()
        .take(14)
        .map(u8::to_ascii_lowercase)
        .collect();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
}

/// The error code tierui reports: AWS's own, or `NotImplemented` for an answer
/// that is not an AWS error at all: a 404 without a code or with a web page, or
/// markup where a JSON service's answer belongs.
fn classify(
    status: Option<u16>,
    body_is_html: bool,
    markup_for_json: bool,
    code: Option<String>,
) -> String {
    let foreign = (status == Some(404) && (code.is_none() || body_is_html)) || markup_for_json;
    match code {
        _ if foreign => "NotImplemented".to_string(),
        Some(c) => c,
        None => "UnknownError".to_string(),
    }
}

impl AwsCloud {
    /// "Not implemented by this endpoint" is believable only of a custom endpoint
    /// (`--endpoint-url`, `AWS_ENDPOINT_URL`). From AWS itself the same answer means
    /// a proxy, a captive portal or a broken network in between: a failure with the
    /// call and status, never a step counted as finished.
    pub fn honest(&self, e: CloudError) -> CloudError {
        honest(e, self.endpoint.is_some())
    }
}

fn honest(e: CloudError, custom_endpoint: bool) -> CloudError {
    if !e.is_not_implemented() || custom_endpoint {
        return e;
    }
    let status = e
        .status
        .map_or_else(|| "an answer".to_string(), |s| format!("HTTP {s}"));
    CloudError {
        code: "UnexpectedResponse".to_string(),
        message: format!(
            "{status} that is not an AWS error (no error code, or an HTML page): something between tierui and AWS answered instead — a proxy, a VPN or a captive portal? ({})",
            e.message
        ),
        ..e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_foreign_answers_are_not_implemented() {
        assert_eq!(classify(Some(404), false, false, None), "NotImplemented");
        assert_eq!(
            classify(Some(404), true, false, Some("Oops".into())),
            "NotImplemented"
        );
        assert_eq!(classify(Some(200), false, true, None), "NotImplemented");
        // IAM's and EC2's own errors are XML: markup with a code is AWS speaking.
        assert_eq!(
            classify(Some(409), true, false, Some("EntityAlreadyExists".into())),
            "EntityAlreadyExists"
        );
        assert_eq!(
            classify(
                Some(404),
                false,
                false,
                Some("ResourceNotFoundException".into())
            ),
            "ResourceNotFoundException"
        );
        assert_eq!(
            classify(Some(400), false, false, Some("DependencyViolation".into())),
            "DependencyViolation"
        );
        assert_eq!(classify(None, false, false, None), "UnknownError");
        // IAM's NoSuchEntity is a 404 in XML: AWS's own answer, not a foreign page.
        let xml = b"<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">";
        assert!(!is_html(xml));
        assert!(is_html(
            b"\n  <!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">"
        ));
        assert!(is_html(b"<html><title>404 Not Found</title>"));
        assert_eq!(
            classify(Some(404), is_html(xml), false, Some("NoSuchEntity".into())),
            "NoSuchEntity"
        );
    }

    #[test]
    fn not_implemented_stands_only_for_a_custom_endpoint() {
        let mut e = CloudError::new("eks:CreateAddon", "NotImplemented", "<html>404</html>");
        e.status = Some(404);
        assert_eq!(honest(e.clone(), true).code, "NotImplemented");
        let real = honest(e, false);
        assert_eq!(real.code, "UnexpectedResponse");
        assert!(!real.is_not_implemented());
        assert!(
            real.message
                .starts_with("HTTP 404 that is not an AWS error"),
            "{}",
            real.message
        );
        assert_eq!(real.api, "eks:CreateAddon");
        // AWS's own errors pass through untouched either way.
        let denied = CloudError::new("eks:CreateCluster", "AccessDeniedException", "no");
        assert_eq!(honest(denied.clone(), false), denied);
    }
}
