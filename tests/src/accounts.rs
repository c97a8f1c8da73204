//! SDK configurations acting as any 12-digit AWS account on the emulator.
//!
//! Why: the product spans many accounts (the hub = the target organization's management
//! account, customer management accounts, members, standalone accounts), and the hub
//! reaches customer accounts only through an assumed role with an external id. Tests
//! and the demo need the same: real SDK clients, real STS, one identity per account.
//!
//! How fakecloud maps a request to an account (read in its source, 0.51.0):
//! * The SigV4 access key id decides the calling account. Keys minted by
//!   `POST /_fakecloud/iam/create-admin {"accountId","userName"}` (format `FKIA…`) belong
//!   to an IAM user `arn:aws:iam::<accountId>:user/<userName>` with an inline
//!   `Allow *:*` policy; the call creates the account on the fly. Calling it again for the
//!   same user replaces that user's keys, so every [`AwsAccount::create`] uses a fresh
//!   user name.
//! * Keys starting with `test` (e.g. `test`/`test`) are the root of the default account
//!   `123456789012` and bypass every check. The harness never uses them.
//! * Temporary keys from `sts:AssumeRole` belong to the role's account and identify as
//!   `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
//! * `create-admin` also accepts `"organizationId"`: it then enrols the account as a
//!   member of that organization without a handshake (a bootstrap shortcut, see
//!   [`AwsAccount::create_member_of`]; no `AcceptHandshake` happens, so nothing is
//!   recorded).
//!
//! What the emulator checks: `AssumeRole` denies (`AccessDenied`, HTTP 403) when the role
//! does not exist or its trust policy does not allow the caller, and it evaluates
//! trust-policy conditions including `sts:ExternalId` (missing or wrong external id is
//! denied), like AWS. Signatures are not verified and identity policies are not enforced
//! (fakecloud's default `--iam off`), so the spoke role's permission policy is written
//! for documentation and parity with `infra/spoke.yaml` but is not exercised here.
//!
//! Isolation: organizations, handshakes, buses and queues are all per account in the
//! emulator, so tests that use [`unique_account_id`] never see each other's data even
//! when they share one emulator process (`cargo test`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_organizations::types::{HandshakeParty, HandshakePartyType};
use aws_types::region::Region;
use serde_json::json;

use crate::emulator::Emulator;
use crate::REGION;

/// The default name of the role the hub assumes in each customer account.
pub const SPOKE_ROLE_NAME: &str = "OnboardingSpokeRole";

/// A fresh 12-digit account id, unique within this process and very likely across
/// processes (the first six digits come from the process id and start time).
pub fn unique_account_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let prefix = *PREFIX.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let mixed = (std::process::id().wrapping_mul(2_654_435_761)) ^ nanos;
        // 200000..=999999: never collides with the emulator's default 123456789012.
        200_000 + mixed % 800_000
    });
    let n = COUNTER.fetch_add(1, Ordering::SeqCst) % 1_000_000;
    format!("{prefix:06}{n:06}")
}

/// The handshake party naming account `id` (whom an invitation is sent to).
pub fn account_party(id: &str) -> HandshakeParty {
    HandshakeParty::builder()
        .r#type(HandshakePartyType::Account)
        .id(id)
        .build()
        .expect("a party with a type and an id")
}

/// `client`'s organization invites account `account`; returns the handshake's id.
pub async fn invite(client: &aws_sdk_organizations::Client, account: &str) -> Result<String> {
    let invited = client
        .invite_account_to_organization()
        .target(account_party(account))
        .send()
        .await
        .with_context(|| format!("InviteAccountToOrganization of {account}"))?;
    invited
        .handshake()
        .and_then(|h| h.id())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("the invitation of {account} has no handshake id"))
}

/// Who is calling: what CloudTrail puts in `userIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account_id: String,
    /// `arn:aws:iam::<acct>:user/<name>` or `arn:aws:sts::<acct>:assumed-role/<role>/<session>`.
    pub arn: String,
    /// `AIDA…` for a user, `AROA…:<session>` for an assumed role.
    pub principal_id: String,
    pub access_key_id: String,
    pub kind: IdentityKind,
}

/// The kind of principal, with what CloudTrail records about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityKind {
    IamUser {
        user_name: String,
    },
    AssumedRole {
        role_name: String,
        role_arn: String,
        /// `AROA…` (the role id, without the session).
        role_id: String,
        session_name: String,
        /// When the session was created (RFC 3339).
        creation_date: String,
    },
}

/// The spoke role the hub assumes in a customer account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpokeRole {
    pub name: String,
    pub hub_account_id: String,
    pub external_id: String,
}

impl SpokeRole {
    /// `OnboardingSpokeRole` trusting `hub_account_id` with `external_id`.
    pub fn new(hub_account_id: impl Into<String>, external_id: impl Into<String>) -> Self {
        SpokeRole {
            name: SPOKE_ROLE_NAME.to_string(),
            hub_account_id: hub_account_id.into(),
            external_id: external_id.into(),
        }
    }

    /// Same, with another role name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The role's ARN in `account_id`.
    pub fn role_arn(&self, account_id: &str) -> String {
        format!("arn:aws:iam::{account_id}:role/{}", self.name)
    }

    /// The trust policy: only the hub account, only with the external id.
    pub fn trust_policy(&self) -> serde_json::Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{}:root", self.hub_account_id)},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": self.external_id}}
            }]
        })
    }

    /// The permission policy: only the Organizations calls the hub makes in a spoke.
    pub fn permission_policy() -> serde_json::Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": [
                    "organizations:DescribeOrganization",
                    "organizations:ListAccounts",
                    "organizations:ListHandshakesForAccount",
                    "organizations:DescribeHandshake",
                    "organizations:AcceptHandshake",
                    "organizations:DeclineHandshake"
                ],
                "Resource": "*"
            }]
        })
    }
}

/// An identity in one account on the emulator, with an [`SdkConfig`] to build any SDK
/// client acting as it.
#[derive(Debug, Clone)]
pub struct AwsAccount {
    config: SdkConfig,
    identity: CallerIdentity,
    endpoint: String,
}

impl AwsAccount {
    /// An admin user in `account_id` (created through the emulator's admin API).
    pub async fn create(emulator: &Emulator, account_id: &str) -> Result<AwsAccount> {
        Self::create_admin(emulator, account_id, None).await
    }

    /// An admin in a fresh, unique, standalone account.
    pub async fn create_unique(emulator: &Emulator) -> Result<AwsAccount> {
        Self::create(emulator, &unique_account_id()).await
    }

    /// An admin in `account_id`, enrolled as a member of `organization_id` without a
    /// handshake (the emulator's bootstrap shortcut; AWS would need invite + accept or
    /// CreateAccount). Use it to set up a customer organization that already has members.
    pub async fn create_member_of(
        emulator: &Emulator,
        account_id: &str,
        organization_id: &str,
    ) -> Result<AwsAccount> {
        Self::create_admin(emulator, account_id, Some(organization_id)).await
    }

    async fn create_admin(
        emulator: &Emulator,
        account_id: &str,
        organization_id: Option<&str>,
    ) -> Result<AwsAccount> {
        anyhow::ensure!(
            account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit()),
            "account id must be 12 digits, got {account_id:?}"
        );
        let user_name = format!("admin-{}", uuid::Uuid::new_v4().simple());
        let mut body = json!({"accountId": account_id, "userName": user_name});
        if let Some(org) = organization_id {
            body["organizationId"] = json!(org);
        }
        let created = admin_post_async(emulator, "/_fakecloud/iam/create-admin", body).await?;
        let field = |name: &str| {
            created[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("create-admin response without {name}: {created}"))
        };
        let access_key_id = field("accessKeyId")?;
        let secret = field("secretAccessKey")?;
        let arn = field("arn")?;
        let config = sdk_config(
            emulator.endpoint(),
            Credentials::new(&access_key_id, &secret, None, None, "fakecloud-admin"),
        );
        // The user id (AIDA…) is only available through the API.
        let who = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .context("sts:GetCallerIdentity for a new admin")?;
        Ok(AwsAccount {
            config,
            identity: CallerIdentity {
                account_id: account_id.to_string(),
                arn,
                principal_id: who.user_id().unwrap_or_default().to_string(),
                access_key_id,
                kind: IdentityKind::IamUser { user_name },
            },
            endpoint: emulator.endpoint().to_string(),
        })
    }

    /// The SDK configuration acting as this identity (region us-east-1, emulator
    /// endpoint, static credentials, standard retries with a short back-off).
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.identity.account_id
    }

    /// The caller identity, as CloudTrail would record it.
    pub fn identity(&self) -> &CallerIdentity {
        &self.identity
    }

    /// The emulator endpoint this identity talks to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A plain Organizations client (not recorded; see
    /// [`crate::recorder::recorded_organizations_client`]).
    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::new(&self.config)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }

    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.config)
    }

    pub fn account(&self) -> aws_sdk_account::Client {
        aws_sdk_account::Client::new(&self.config)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::new(&self.config)
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.config)
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.config)
    }

    pub fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.config)
    }

    /// Gives the account its primary contact; with `verify_phone`, verifies its phone
    /// number too (the emulator's passcode is the documented `000000`).
    pub async fn put_contact_information(&self, verify_phone: bool) -> Result<()> {
        let contact = aws_sdk_account::types::ContactInformation::builder()
            .full_name("Pat Example")
            .address_line1("1 Example Street")
            .city("Springfield")
            .country_code("US")
            .postal_code("12345")
            .phone_number("+1-555-0100")
            .build()
            .context("a contact information")?;
        let account = self.account();
        account
            .put_contact_information()
            .contact_information(contact)
            .send()
            .await
            .context("PutContactInformation")?;
        if verify_phone {
            account
                .send_phone_number_verification()
                .send()
                .await
                .context("SendPhoneNumberVerification")?;
            account
                .verify_phone_number()
                .otp("000000")
                .send()
                .await
                .context("VerifyPhoneNumber")?;
        }
        Ok(())
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    /// Creates an organization (feature set ALL) with this account as its management
    /// account and returns its id (`o-…`).
    pub async fn create_organization(&self) -> Result<String> {
        let out = self
            .organizations()
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await
            .with_context(|| format!("CreateOrganization in {}", self.account_id()))?;
        out.organization()
            .and_then(|o| o.id())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("CreateOrganization returned no id"))
    }

    /// Every account id of this account's organization (`ListAccounts`, all pages).
    pub async fn organization_account_ids(&self) -> Result<Vec<String>> {
        let client = self.organizations();
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .list_accounts()
                .set_next_token(token)
                .send()
                .await
                .context("ListAccounts")?;
            ids.extend(
                page.accounts()
                    .iter()
                    .filter_map(|a| a.id().map(str::to_string)),
            );
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(ids);
            }
        }
    }

    /// Creates the access role the target uses once this account joined, as
    /// infra/spoke.yaml's `AccessRole` does: `name`, with AdministratorAccess. It trusts
    /// `target_management`'s root where the spoke trusts the hub's placer role
    /// (`HubPlacerRoleArn`): on the emulator the hub's functions run with that account's
    /// own credentials, not as their roles.
    pub async fn create_access_role(&self, name: &str, target_management: &str) -> Result<()> {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{target_management}:root")},
                "Action": "sts:AssumeRole"
            }]
        });
        let iam = self.iam();
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .with_context(|| format!("CreateRole {name} in {}", self.account_id()))?;
        iam.attach_role_policy()
            .role_name(name)
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .send()
            .await
            .context("AttachRolePolicy on the access role")?;
        Ok(())
    }

    /// Creates the OU `name` under `parent` in this account's organization; its id.
    pub async fn create_organizational_unit(&self, parent: &str, name: &str) -> Result<String> {
        let created = self
            .organizations()
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .with_context(|| format!("CreateOrganizationalUnit {name} under {parent}"))?;
        created
            .organizational_unit()
            .and_then(|ou| ou.id())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("CreateOrganizationalUnit returned no id"))
    }

    /// The root id of this account's organization.
    pub async fn root_id(&self) -> Result<String> {
        let roots = self
            .organizations()
            .list_roots()
            .send()
            .await
            .context("ListRoots")?;
        roots
            .roots()
            .first()
            .and_then(|r| r.id())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("ListRoots returned no root"))
    }

    /// The root or OU `account` is in, in this account's organization.
    pub async fn parent_of(&self, account: &str) -> Result<String> {
        let parents = self
            .organizations()
            .list_parents()
            .child_id(account)
            .send()
            .await
            .context("ListParents")?;
        parents
            .parents()
            .first()
            .and_then(|p| p.id())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("ListParents named no parent"))
    }

    /// The tags of `account` in this account's organization.
    pub async fn account_tags(&self, account: &str) -> Result<BTreeMap<String, String>> {
        let listed = self
            .organizations()
            .list_tags_for_resource()
            .resource_id(account)
            .send()
            .await
            .context("ListTagsForResource")?;
        Ok(listed
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    /// Creates the spoke role in this (customer) account and returns its ARN.
    pub async fn create_spoke_role(&self, spoke: &SpokeRole) -> Result<String> {
        let iam = self.iam();
        let role = iam
            .create_role()
            .role_name(&spoke.name)
            .assume_role_policy_document(spoke.trust_policy().to_string())
            .description("Lets the org-onboarding hub answer invitations of this account")
            .send()
            .await
            .with_context(|| format!("CreateRole {} in {}", spoke.name, self.account_id()))?;
        iam.put_role_policy()
            .role_name(&spoke.name)
            .policy_name("org-onboarding")
            .policy_document(SpokeRole::permission_policy().to_string())
            .send()
            .await
            .context("PutRolePolicy on the spoke role")?;
        role.role()
            .map(|r| r.arn().to_string())
            .ok_or_else(|| anyhow!("CreateRole returned no role"))
    }

    /// Assumes `role_arn` from this identity (what the product does from the hub) and
    /// returns an identity acting as the assumed role.
    pub async fn assume_role(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
    ) -> Result<AwsAccount> {
        let out = self
            .sts()
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .set_external_id(external_id.map(str::to_string))
            .send()
            .await
            .with_context(|| format!("AssumeRole {role_arn} from {}", self.account_id()))?;
        let creds = out
            .credentials()
            .ok_or_else(|| anyhow!("AssumeRole returned no credentials"))?;
        let user = out
            .assumed_role_user()
            .ok_or_else(|| anyhow!("AssumeRole returned no assumed role user"))?;
        let account_id = role_arn
            .split(':')
            .nth(4)
            .filter(|a| a.len() == 12)
            .ok_or_else(|| anyhow!("no account in role ARN {role_arn}"))?
            .to_string();
        let role_name = role_arn.rsplit('/').next().unwrap_or_default().to_string();
        let principal_id = user.assumed_role_id().to_string();
        let role_id = principal_id
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        let config = sdk_config(
            &self.endpoint,
            Credentials::new(
                creds.access_key_id(),
                creds.secret_access_key(),
                Some(creds.session_token().to_string()),
                None,
                "fakecloud-assumed-role",
            ),
        );
        Ok(AwsAccount {
            config,
            identity: CallerIdentity {
                account_id,
                arn: user.arn().to_string(),
                principal_id,
                access_key_id: creds.access_key_id().to_string(),
                kind: IdentityKind::AssumedRole {
                    role_name,
                    role_arn: role_arn.to_string(),
                    role_id,
                    session_name: session_name.to_string(),
                    creation_date: chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                },
            },
            endpoint: self.endpoint.clone(),
        })
    }

    /// Assumes the spoke role of `customer_account_id` from this (hub) identity with the
    /// spoke's external id.
    pub async fn assume_spoke_role(
        &self,
        customer_account_id: &str,
        spoke: &SpokeRole,
    ) -> Result<AwsAccount> {
        self.assume_role(
            &spoke.role_arn(customer_account_id),
            Some(&spoke.external_id),
            "org-onboarding",
        )
        .await
    }
}

/// An [`SdkConfig`] for the emulator with static credentials (and the emulator's HTTP
/// client, see [`crate::compat`]).
pub fn sdk_config(endpoint: &str, credentials: Credentials) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(crate::compat::emulator_http_client())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(20)),
        )
        .build()
}

pub(crate) async fn admin_post_async(
    emulator: &Emulator,
    path: &'static str,
    body: serde_json::Value,
) -> Result<serde_json::Value> {
    let addr = emulator.addr();
    tokio::task::spawn_blocking(move || {
        let response =
            crate::http::request(addr, "POST", path, Some(&body), Duration::from_secs(10))?;
        anyhow::ensure!(
            response.status == 200,
            "POST {path} answered HTTP {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    })
    .await
    .map_err(|e| anyhow!("admin call task failed: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_account_ids_are_twelve_digits_and_distinct() {
        let a = unique_account_id();
        let b = unique_account_id();
        assert_eq!(a.len(), 12);
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(a, b);
        assert_ne!(a, "123456789012");
    }

    #[test]
    fn trust_policy_names_the_hub_and_the_external_id() {
        let spoke = SpokeRole::new("111111111111", "ext-123");
        let policy = spoke.trust_policy();
        assert_eq!(
            policy["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::111111111111:root"
        );
        assert_eq!(
            policy["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
            "ext-123"
        );
        assert_eq!(
            spoke.role_arn("222222222222"),
            "arn:aws:iam::222222222222:role/OnboardingSpokeRole"
        );
    }
}
