// The values the checker assumes where the inputs give none: the accounts of the two stacks,
// the stack name, the spoke's opt-ins (all on, so every policy exists) and samples for the
// parameters that have no Default. A --param overrides any of them (README.md, "Resolution").

export const HUB_ACCOUNT = '111111111111';
export const SPOKE_ACCOUNT = '222222222222';
export const STACK_NAME = 'org-onboarding';

/** Values that replace a template's Defaults: every spoke opt-in on, so every policy exists. */
export const OPT_INS = {
  hub: {},
  spoke: {
    CreateSpokeRole: 'true',
    AllowDirectTransfer: 'true',
    BillingTransfer: 'true',
    PreflightReads: 'true',
    CreateAccessRole: 'true',
    HubPreflightRoleArn: `arn:aws:iam::${HUB_ACCOUNT}:role/PreflightRole`,
  },
};

/** Sample values for parameters without a Default (a --param overrides them). */
export const REQUIRED_SAMPLES = {
  hub: {
    TargetOrganizationId: 'o-exampleorg1',
    TargetManagementAccountId: HUB_ACCOUNT,
    SpokeExternalId: 'example-external-id-0123456789',
  },
  spoke: {
    HubAccountId: HUB_ACCOUNT,
    HubAcceptorRoleArn: `arn:aws:iam::${HUB_ACCOUNT}:role/AcceptorRole`,
    HubReconcilerRoleArn: `arn:aws:iam::${HUB_ACCOUNT}:role/ReconcilerRole`,
    HubEventBusArn: `arn:aws:events:us-east-1:${HUB_ACCOUNT}:event-bus/org-onboarding`,
    ExternalId: 'example-external-id-0123456789',
    TargetOrganizationId: 'o-exampleorg1',
    TargetManagementAccountId: HUB_ACCOUNT,
  },
};
