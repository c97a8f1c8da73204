//! Credentials: [`StsCredentials`] assumes the spoke role of each customer account (a
//! cached client per account, for one invocation), each session held to what its function
//! calls by a session policy ([`SessionScope`]); [`AmbientCredentials`] hands out the
//! Lambda's own, for an in-account deployment. Nothing here logs credentials or the
//! external id.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_organizations::config::SharedCredentialsProvider;
use aws_sdk_organizations::config::{Credentials as StaticCredentials, Region};
use aws_sdk_organizations::Client;
use chrono::{DateTime, Utc};

use super::customer::SdkAccountOrganizations;
use super::errors::{malformed, map_sdk_error};
use super::to_chrono;
use crate::domain::{AccountId, FunctionName};
use crate::permissions::session;
use crate::ports::{AccountOrganizations, Credentials, OrganizationsError};

/// Organizations is a global service whose endpoint lives in us-east-1.
pub const ORGANIZATIONS_REGION: &str = "us-east-1";

/// How long an assumed spoke session lasts (the STS minimum, 15 minutes: one invocation).
pub const SESSION_DURATION: Duration = Duration::from_secs(900);

/// A cached spoke client is assumed again when its session has less than this left.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The spoke session a client was built for: what a client hook may need to know (the
/// local harness's CloudTrail recorder puts it in `userIdentity`). Holds no secret; its
/// `Debug` leaves out the access key id all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct SpokeSession {
    pub account: AccountId,
    /// `arn:aws:iam::<account>:role/<role name>`.
    pub role_arn: String,
    pub role_name: String,
    /// `org-onboarding-<account>`.
    pub session_name: String,
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`, as STS returned it.
    pub assumed_role_arn: Option<String>,
    /// `AROA…:<session name>`, as STS returned it.
    pub assumed_role_id: Option<String>,
    /// The temporary access key id (an identifier that CloudTrail records, not a secret).
    pub access_key_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for SpokeSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpokeSession")
            .field("account", &self.account)
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field("assumed_role_arn", &self.assumed_role_arn)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What a spoke session may do: a function's own operations (AssumeRole carries its
/// session policy, [`crate::permissions::session`]), or, for a person's check of the spoke
/// as deployed (`onboardctl doctor`), whatever the role allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionScope {
    Function(FunctionName),
    WholeRole,
}

impl SessionScope {
    /// The inline session policy AssumeRole sends; `None` for the whole role.
    pub fn policy(self) -> Option<String> {
        match self {
            SessionScope::Function(function) => Some(session::policy(function).unwrap_or_else(
                // A function without spoke operations assumes nothing there: deny everything.
                || r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#.to_owned(),
            )),
            SessionScope::WholeRole => None,
        }
    }
}

/// Adjusts the configuration of every spoke client [`StsCredentials`] builds (the local
/// harness adds its CloudTrail-recording and fault-injecting interceptors).
pub type ClientHook = Arc<
    dyn Fn(
            &SpokeSession,
            aws_sdk_organizations::config::Builder,
        ) -> aws_sdk_organizations::config::Builder
        + Send
        + Sync,
>;

/// The ARN of the role `role_name` in `account` (the spoke role, the access role).
pub fn role_arn(account: &AccountId, role_name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role_name}")
}

/// The AssumeRole session name for `account`, which CloudTrail shows in the customer
/// account.
pub fn session_name(account: &AccountId) -> String {
    format!("org-onboarding-{account}")
}

/// Interceptors for every client of a spoke session in `account` (the harness logs each
/// call for the IAM check).
pub type SessionInterceptors = Arc<
    dyn Fn(&AccountId) -> Vec<aws_smithy_runtime_api::client::interceptors::SharedInterceptor>
        + Send
        + Sync,
>;

struct CachedClient {
    organizations: Arc<SdkAccountOrganizations>,
    /// The session's configuration, for clients of other services (the preflight's).
    config: SdkConfig,
    expires_at: Option<SystemTime>,
}

/// [`Credentials`] by STS AssumeRole: the spoke role `arn:aws:iam::<account>:role/<role
/// name>` with the configured external id, session `org-onboarding-<account>`, for
/// [`SESSION_DURATION`], with the scope's session policy. The Organizations client is built from the base configuration
/// (keeping its endpoint URL, so `AWS_ENDPOINT_URL` reaches a local emulator, its HTTP
/// client, retry and timeout settings) with the session's credentials and region
/// us-east-1. Clients are cached per account for the life of this value (one invocation),
/// and assumed again when their session is about to expire.
pub struct StsCredentials {
    sts: aws_sdk_sts::Client,
    base: SdkConfig,
    role_name: String,
    external_id: String,
    scope: SessionScope,
    hook: Option<ClientHook>,
    session_interceptors: Option<SessionInterceptors>,
    cache: Mutex<HashMap<AccountId, CachedClient>>,
}

impl fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StsCredentials")
            .field("role_name", &self.role_name)
            .field("external_id", &"<redacted>")
            .field("scope", &self.scope)
            .field("hook", &self.hook.is_some())
            .finish_non_exhaustive()
    }
}

impl StsCredentials {
    /// Assumes roles with an STS client built from `base`, for `scope`.
    pub fn new(
        base: &SdkConfig,
        role_name: impl Into<String>,
        external_id: impl Into<String>,
        scope: SessionScope,
    ) -> Self {
        Self::with_sts_client(
            aws_sdk_sts::Client::new(base),
            base,
            role_name,
            external_id,
            scope,
        )
    }

    /// Assumes roles with `sts` (tests pass a mocked one); spoke clients from `base`.
    pub fn with_sts_client(
        sts: aws_sdk_sts::Client,
        base: &SdkConfig,
        role_name: impl Into<String>,
        external_id: impl Into<String>,
        scope: SessionScope,
    ) -> Self {
        Self {
            sts,
            base: base.clone(),
            role_name: role_name.into(),
            external_id: external_id.into(),
            scope,
            hook: None,
            session_interceptors: None,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Passes the configuration of every spoke client built from now on through `hook`.
    pub fn with_client_hook(mut self, hook: ClientHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Adds `interceptors` to the clients of other services that session users build
    /// ([`StsCredentials::session_interceptors`]).
    pub fn with_session_interceptors(mut self, interceptors: SessionInterceptors) -> Self {
        self.session_interceptors = Some(interceptors);
        self
    }

    /// The interceptors for clients of a session in `account` (none unless set).
    pub fn session_interceptors(
        &self,
        account: &AccountId,
    ) -> Vec<aws_smithy_runtime_api::client::interceptors::SharedInterceptor> {
        self.session_interceptors
            .as_ref()
            .map(|f| f(account))
            .unwrap_or_default()
    }

    pub fn role_name(&self) -> &str {
        &self.role_name
    }

    /// The spoke session of `account` as an [`SdkConfig`] (its credentials, the base
    /// configuration's endpoint, HTTP client, retry and timeout settings, and region), for
    /// clients of any service in the account; assumed once per session like the
    /// Organizations client.
    pub async fn session_config(
        &self,
        account: &AccountId,
    ) -> Result<SdkConfig, OrganizationsError> {
        Ok(self.session(account).await?.config)
    }

    /// The account's cached session, or a new one.
    async fn session(&self, account: &AccountId) -> Result<Session, OrganizationsError> {
        if let Some(session) = self.cached(account) {
            return Ok(session);
        }
        let (organizations, config, expires_at) = self.assume(account).await?;
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(
            account.clone(),
            CachedClient {
                organizations: organizations.clone(),
                config: config.clone(),
                expires_at,
            },
        );
        Ok(Session {
            organizations,
            config,
        })
    }

    fn cached(&self, account: &AccountId) -> Option<Session> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let entry = cache.get(account)?;
        let fresh = entry.expires_at.is_none_or(|at| {
            at.duration_since(SystemTime::now())
                .is_ok_and(|left| left > REFRESH_MARGIN)
        });
        fresh.then(|| Session {
            organizations: entry.organizations.clone(),
            config: entry.config.clone(),
        })
    }

    async fn assume(
        &self,
        account: &AccountId,
    ) -> Result<(Arc<SdkAccountOrganizations>, SdkConfig, Option<SystemTime>), OrganizationsError>
    {
        let role_arn = role_arn(account, &self.role_name);
        let session_name = session_name(account);
        let output = self
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(&session_name)
            .external_id(&self.external_id)
            .set_policy(self.scope.policy())
            .duration_seconds(SESSION_DURATION.as_secs() as i32)
            .send()
            .await
            .map_err(|e| {
                let err = map_sdk_error(e);
                tracing::warn!(role_arn = %role_arn, code = %err.failure.code, transient = err.transient, "cannot assume the spoke role");
                err
            })?;
        let credentials = output
            .credentials()
            .ok_or_else(|| malformed("AssumeRole returned no credentials"))?;
        let expires_at = SystemTime::try_from(*credentials.expiration()).ok();
        let session = SpokeSession {
            account: account.clone(),
            role_arn: role_arn.clone(),
            role_name: self.role_name.clone(),
            session_name,
            assumed_role_arn: output.assumed_role_user().map(|u| u.arn().to_owned()),
            assumed_role_id: output
                .assumed_role_user()
                .map(|u| u.assumed_role_id().to_owned()),
            access_key_id: credentials.access_key_id().to_owned(),
            created_at: Utc::now(),
            expires_at: to_chrono(credentials.expiration()),
        };
        let static_credentials = StaticCredentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            expires_at,
            "spoke",
        );
        let config = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(static_credentials))
            .build();
        let mut builder = aws_sdk_organizations::config::Builder::from(&config)
            .region(Region::new(ORGANIZATIONS_REGION));
        if let Some(hook) = &self.hook {
            builder = hook(&session, builder);
        }
        let client = Client::from_conf(builder.build());
        // How full the session token is (SessionTokenUtilization, which replaced
        // PackedPolicySize): the session policy counts towards it.
        let token_percent = output.session_token_utilization();
        if token_percent.is_some_and(|p| p >= session::TOKEN_WARNING_PERCENT) {
            tracing::warn!(role_arn = %role_arn, scope = ?self.scope, session_token_percent = token_percent, "the session policy nears AWS's packed size limit");
        }
        tracing::info!(role_arn = %role_arn, scope = ?self.scope, session_token_percent = token_percent, "assumed the spoke role");
        Ok((
            Arc::new(SdkAccountOrganizations::for_account(
                client,
                account.clone(),
            )),
            config,
            expires_at,
        ))
    }
}

/// One account's spoke session: its Organizations client and its configuration.
struct Session {
    organizations: Arc<SdkAccountOrganizations>,
    config: SdkConfig,
}

#[async_trait]
impl Credentials for StsCredentials {
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    async fn organizations_for(
        &self,
        account: &AccountId,
    ) -> Result<Arc<dyn AccountOrganizations>, OrganizationsError> {
        Ok(self.session(account).await?.organizations)
    }
}

/// [`Credentials`] that hand out one client, whatever the account: for an in-account
/// deployment, where the function runs with the credentials of the very account it
/// onboards (a single account onboarding itself, or a test harness that builds one
/// `AmbientCredentials` per account). It does not check which account its credentials
/// belong to: with several customer accounts use [`StsCredentials`].
#[derive(Debug, Clone)]
pub struct AmbientCredentials(pub Client);

#[async_trait]
impl Credentials for AmbientCredentials {
    async fn organizations_for(
        &self,
        account: &AccountId,
    ) -> Result<Arc<dyn AccountOrganizations>, OrganizationsError> {
        Ok(Arc::new(SdkAccountOrganizations::for_account(
            self.0.clone(),
            account.clone(),
        )))
    }
}
