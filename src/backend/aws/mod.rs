//! The real cloud: aws-config's default chain (profiles, SSO, environment) and the
//! aws-sdk EC2, EKS, IAM and STS clients, pointed at AWS or at `--endpoint-url`
//! (moto, LocalStack). Everything returned is translated into tierui's types.

mod inventory;
mod ops;

use aws_config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls;

use crate::backend::cloud::CloudError;
use crate::cli::GlobalArgs;

pub struct AwsCloud {
    pub ec2: aws_sdk_ec2::Client,
    pub eks: aws_sdk_eks::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub region: String,
    pub endpoint: Option<String>,
    pub profile: Option<String>,
    account: tokio::sync::OnceCell<String>,
}

/// The shared SDK configuration for a region: profile and endpoint from the flags,
/// else AWS_PROFILE / AWS_ENDPOINT_URL as aws-config reads them.
pub async fn sdk_config(
    global: &GlobalArgs,
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
        .http_client(http)
        .region(Region::new(region.to_string()));
    if let Some(p) = global.profile.as_deref().or(profile) {
        loader = loader.profile_name(p);
    }
    if let Some(url) = &global.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

impl AwsCloud {
    pub async fn connect(global: &GlobalArgs, region: &str) -> anyhow::Result<AwsCloud> {
        Self::connect_with(global, region, None).await
    }

    pub async fn connect_with(
        global: &GlobalArgs,
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
            region,
            endpoint,
            profile: global
                .profile
                .clone()
                .or_else(|| profile.map(str::to_string))
                .or_else(|| std::env::var("AWS_PROFILE").ok()),
            account: tokio::sync::OnceCell::new(),
        })
    }

    /// Names where walkthrough progress against this cloud is kept apart from others.
    pub fn target(&self) -> String {
        match &self.endpoint {
            Some(url) => format!(
                "live-{}-{:08x}",
                self.region,
                crate::paths::fnv1a(url.as_bytes()) as u32
            ),
            None => format!(
                "live-{}-{}",
                self.region,
                self.profile.as_deref().unwrap_or("default")
            ),
        }
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

/// Translates an SDK error into AWS's code and message (never a panic, never a
/// bare Debug dump). moto answers some EKS calls with an HTML 404 page; that
/// becomes `NotImplemented`.
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
        .is_some_and(|b| b.trim_ascii_start().starts_with(b"<"));
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
    let not_implemented = (status == Some(404) && (body_is_html || code.is_none()))
        || text.contains("unexpected token '<'");
    let code = if not_implemented {
        "NotImplemented".to_string()
    } else {
        code.unwrap_or_else(|| "UnknownError".to_string())
    };
    CloudError {
        api: api.to_string(),
        code,
        message: message.unwrap_or(text),
        status,
    }
}
