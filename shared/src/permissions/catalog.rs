//! The operations of the manifest, one constant each: the SDK operation, the IAM actions
//! AWS checks for it, on which resources, with which condition keys, and the source.
//! `${own:LogGroup}` and `${own:DeadLetterQueue}` name the principal's own resources
//! (`TrackerLogGroup` for the tracker). Sources: the Service Authorization Reference (SAR) for actions, resource types and
//! condition keys; the API reference where a call implies a further permission.

use super::{grant, Grant, Operation, SAR};

const TABLE: &str =
    "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TableName}";
const TABLE_SAMPLE: (&str, &str) = ("request.TableName", "${RecordTable}");
const TARGET_ACCOUNT: &str = "arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:account/${TargetOrganizationId}/${request.AccountId}";
const TARGET_ACCOUNT_OF_RESOURCE: &str = "arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:account/${TargetOrganizationId}/${request.ResourceId}";

// --- Lambda runs the function with its role ----------------------------------------------

/// Lambda writes the function's logs with its execution role.
pub const LAMBDA_LOGS: Operation = Operation {
    service: "Lambda runtime",
    operation: "WriteLogs",
    grants: &[
        Grant {
            source: "Lambda Developer Guide, execution role (AWSLambdaBasicExecutionRole); the group itself is the stack's",
            ..grant("logs:CreateLogStream", &["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${own:LogGroup}:*"])
        },
        Grant {
            source: "Lambda Developer Guide, execution role (AWSLambdaBasicExecutionRole)",
            ..grant("logs:PutLogEvents", &["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${own:LogGroup}:*"])
        },
    ],
};

/// Lambda sends an asynchronous event that failed every retry to the function's
/// dead-letter queue with the execution role.
pub const LAMBDA_DEAD_LETTER: Operation = Operation {
    service: "Lambda runtime",
    operation: "SendToDeadLetterQueue",
    grants: &[Grant {
        source: "Lambda Developer Guide, asynchronous invocation: dead-letter queues (the execution role needs sqs:SendMessage)",
        ..grant("sqs:SendMessage", &["arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${own:DeadLetterQueue}"])
    }],
};

// --- DynamoDB: the record table ------------------------------------------------------------

const fn table_grant(action: &'static str) -> Grant {
    Grant {
        samples: &[TABLE_SAMPLE],
        source: SAR,
        ..grant(action, &[TABLE])
    }
}

pub const GET_ITEM: Operation = Operation {
    service: "DynamoDB",
    operation: "GetItem",
    grants: &[table_grant("dynamodb:GetItem")],
};
pub const PUT_ITEM: Operation = Operation {
    service: "DynamoDB",
    operation: "PutItem",
    grants: &[table_grant("dynamodb:PutItem")],
};
pub const UPDATE_ITEM: Operation = Operation {
    service: "DynamoDB",
    operation: "UpdateItem",
    grants: &[table_grant("dynamodb:UpdateItem")],
};
pub const DELETE_ITEM: Operation = Operation {
    service: "DynamoDB",
    operation: "DeleteItem",
    grants: &[table_grant("dynamodb:DeleteItem")],
};

/// A Scan of the table (the stored-data upgrade's pages).
pub const SCAN_TABLE: Operation = Operation {
    service: "DynamoDB",
    operation: "Scan",
    grants: &[table_grant("dynamodb:Scan")],
};
/// Consistent reads of several items at once: an event's record with its outbox item
/// (every function records), an enrollment's records (a counters rebuild).
pub const BATCH_GET_ITEM: Operation = Operation {
    service: "DynamoDB",
    operation: "BatchGetItem",
    // The request names its tables as the keys of RequestItems, which no request path
    // reads: the resource is the record table itself (the only table the adapter reads).
    grants: &[Grant {
        source: SAR,
        ..grant("dynamodb:BatchGetItem", &["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${RecordTable}"])
    }],
};

/// TransactWriteItems has no action of its own: each item is authorized as its own
/// action (DynamoDB Developer Guide, "Using IAM with DynamoDB transactions").
const fn item_grant(
    action: &'static str,
    kind: &'static str,
    table: &'static [&'static str],
) -> Grant {
    Grant {
        when: Some(kind),
        samples: &[TABLE_SAMPLE],
        source: "DynamoDB Developer Guide, Using IAM with DynamoDB transactions: each item's action is authorized",
        ..grant(action, table)
    }
}
pub const TRANSACT_WRITE_ITEMS: Operation = Operation {
    service: "DynamoDB",
    operation: "TransactWriteItems",
    grants: &[
        item_grant("dynamodb:PutItem", "request.TransactItems[*].Put", &["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TransactItems[*].Put.TableName}"]),
        item_grant("dynamodb:UpdateItem", "request.TransactItems[*].Update", &["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TransactItems[*].Update.TableName}"]),
        item_grant("dynamodb:DeleteItem", "request.TransactItems[*].Delete", &["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TransactItems[*].Delete.TableName}"]),
        item_grant("dynamodb:ConditionCheckItem", "request.TransactItems[*].ConditionCheck", &["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TransactItems[*].ConditionCheck.TableName}"]),
    ],
};

/// A query of the record table's indexes: `samples` names the indexes the principal's
/// role must allow (the adapters query indexes only, never the table itself).
const fn query(samples: &'static [(&'static str, &'static str)]) -> Grant {
    Grant {
        samples,
        source: SAR,
        ..grant(
            "dynamodb:Query",
            &["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TableName}${request.IndexName|/index/%}"],
        )
    }
}

const INDEX: &str = "request.IndexName";

/// A query of any index.
pub const QUERY_ANY_INDEX: Operation = Operation {
    service: "DynamoDB",
    operation: "Query",
    grants: &[query(&[
        TABLE_SAMPLE,
        (INDEX, "by_enrollment"),
        (INDEX, "by_phase"),
        (INDEX, "by_pending"),
        (INDEX, "by_placement"),
    ])],
};
/// The reconciler's queries: records not joined, outbox items left pending, and an
/// enrollment's members.
pub const QUERY_RECONCILER_INDEXES: Operation = Operation {
    service: "DynamoDB",
    operation: "Query",
    grants: &[query(&[
        TABLE_SAMPLE,
        (INDEX, "by_phase"),
        (INDEX, "by_pending"),
        (INDEX, "by_enrollment"),
    ])],
};
/// The placer's queries: the joined records not yet placed, and an enrollment's members.
pub const QUERY_PLACER_INDEXES: Operation = Operation {
    service: "DynamoDB",
    operation: "Query",
    grants: &[query(&[
        TABLE_SAMPLE,
        (INDEX, "by_placement"),
        (INDEX, "by_enrollment"),
    ])],
};
/// The preflight's queries: records still in their old organization, and an
/// enrollment's members.
pub const QUERY_PREFLIGHT_INDEXES: Operation = Operation {
    service: "DynamoDB",
    operation: "Query",
    grants: &[query(&[
        TABLE_SAMPLE,
        (INDEX, "by_phase"),
        (INDEX, "by_enrollment"),
    ])],
};

// --- EventBridge: notifications on the hub bus ---------------------------------------------

pub const PUT_EVENTS: Operation = Operation {
    service: "EventBridge",
    operation: "PutEvents",
    grants: &[Grant {
        context: &[("events:source", "${request.Entries[*].Source}")],
        samples: &[
            ("request.Entries[*].EventBusName", "${HubEventBus}"),
            ("request.Entries[*].Source", "org-onboarding"),
        ],
        source: "SAR (events:source is a condition key of PutEvents)",
        ..grant("events:PutEvents", &["arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${request.Entries[*].EventBusName}"])
    }],
};

// --- STS -----------------------------------------------------------------------------------

pub const ASSUME_SPOKE_ROLE: Operation = Operation {
    service: "STS",
    operation: "AssumeRole",
    grants: &[Grant {
        samples: &[(
            "request.RoleArn",
            "arn:${AWS::Partition}:iam::222222222222:role/${SpokeRoleName}",
        )],
        source: SAR,
        ..grant("sts:AssumeRole", &["${request.RoleArn}"])
    }],
};

/// The placer's check that the target can reach a joined account: only roles in accounts
/// of the target organization (aws:ResourceOrgID).
pub const ASSUME_ACCESS_ROLE: Operation = Operation {
    service: "STS",
    operation: "AssumeRole",
    grants: &[Grant {
        context: &[("aws:ResourceOrgID", "${TargetOrganizationId}")],
        samples: &[(
            "request.RoleArn",
            "arn:${AWS::Partition}:iam::222222222222:role/${AccessRoleName}",
        )],
        source: "SAR; IAM User Guide, global condition keys (aws:ResourceOrgID)",
        ..grant("sts:AssumeRole", &["${request.RoleArn}"])
    }],
};

// --- Organizations, as the target (the hub's own credentials) --------------------------------

const fn listing(action: &'static str) -> Grant {
    Grant {
        source: "SAR (no resource type: only \"*\")",
        ..grant(action, &["*"])
    }
}

pub const DESCRIBE_OWN_ORGANIZATION: Operation = Operation {
    service: "Organizations",
    operation: "DescribeOrganization",
    grants: &[listing("organizations:DescribeOrganization")],
};
pub const DESCRIBE_TARGET_ACCOUNT: Operation = Operation {
    service: "Organizations",
    operation: "DescribeAccount",
    grants: &[Grant {
        samples: &[("request.AccountId", "222222222222")],
        source: SAR,
        ..grant("organizations:DescribeAccount", &[TARGET_ACCOUNT])
    }],
};
pub const LIST_TARGET_ACCOUNTS: Operation = Operation {
    service: "Organizations",
    operation: "ListAccounts",
    grants: &[listing("organizations:ListAccounts")],
};
pub const LIST_TARGET_HANDSHAKES: Operation = Operation {
    service: "Organizations",
    operation: "ListHandshakesForOrganization",
    grants: &[listing("organizations:ListHandshakesForOrganization")],
};
pub const LIST_INBOUND_TRANSFERS: Operation = Operation {
    service: "Organizations",
    operation: "ListInboundResponsibilityTransfers",
    grants: &[listing("organizations:ListInboundResponsibilityTransfers")],
};
pub const LIST_OUTBOUND_TRANSFERS: Operation = Operation {
    service: "Organizations",
    operation: "ListOutboundResponsibilityTransfers",
    grants: &[listing("organizations:ListOutboundResponsibilityTransfers")],
};

/// Every invitation carries the enrollment's tags, so it needs TagResource too. The API
/// reference does not say which resource that permission is checked on (the account is
/// not yet a member): "*", in a role that runs in the target management account.
pub const INVITE_ACCOUNT: Operation = Operation {
    service: "Organizations",
    operation: "InviteAccountToOrganization",
    grants: &[
        Grant {
            context: &[("aws:TagKeys", "${request.Tags[*].Key}")],
            samples: &[("request.Tags[*].Key", "org-onboarding:enrollment")],
            source: SAR,
            ..grant("organizations:InviteAccountToOrganization", &["*"])
        },
        Grant {
            when: Some("request.Tags"),
            implied_by: Some("organizations:InviteAccountToOrganization"),
            context: &[("aws:TagKeys", "${request.Tags[*].Key}")],
            samples: &[("request.Tags[*].Key", "org-onboarding:enrollment")],
            source: "Organizations API Reference, InviteAccountToOrganization: \"If the request includes tags, then the requester must have the organizations:TagResource permission.\"",
            ..grant("organizations:TagResource", &["*"])
        },
    ],
};
pub const INVITE_TO_TRANSFER_BILLING: Operation = Operation {
    service: "Organizations",
    operation: "InviteOrganizationToTransferResponsibility",
    grants: &[Grant {
        context: &[("organizations:TransferType", "${request.Type}")],
        samples: &[("request.Type", "BILLING")],
        source: SAR,
        ..grant(
            "organizations:InviteOrganizationToTransferResponsibility",
            &["*"],
        )
    }],
};

// --- Organizations, the placer's arranging of the target -------------------------------------

/// A parent in the target organization, a root or an OU (`|parent` makes the id the rest
/// of its ARN: `root/o-…/r-…` or `ou/o-…/ou-…`).
const TARGET_PARENT: &str =
    "arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:${request.ParentId|parent}";

pub const LIST_ROOTS: Operation = Operation {
    service: "Organizations",
    operation: "ListRoots",
    grants: &[listing("organizations:ListRoots")],
};
pub const LIST_PARENTS: Operation = Operation {
    service: "Organizations",
    operation: "ListParents",
    grants: &[Grant {
        samples: &[("request.ChildId", "222222222222")],
        source: SAR,
        ..grant("organizations:ListParents", &["arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:account/${TargetOrganizationId}/${request.ChildId}"])
    }],
};
pub const LIST_OUS_FOR_PARENT: Operation = Operation {
    service: "Organizations",
    operation: "ListOrganizationalUnitsForParent",
    grants: &[Grant {
        samples: &[
            ("request.ParentId", "r-ab12"),
            ("request.ParentId", "ou-ab12-cd34ef56"),
        ],
        source: SAR,
        ..grant(
            "organizations:ListOrganizationalUnitsForParent",
            &[TARGET_PARENT],
        )
    }],
};
/// Authorized on the account, its source parent and its destination parent (SAR:
/// account, organizationalunit and root are all required resource types).
pub const MOVE_ACCOUNT: Operation = Operation {
    service: "Organizations",
    operation: "MoveAccount",
    grants: &[Grant {
        samples: &[
            ("request.AccountId", "222222222222"),
            ("request.SourceParentId", "r-ab12"),
            ("request.SourceParentId", "ou-ab12-cd34ef56"),
            ("request.DestinationParentId", "r-ab12"),
            ("request.DestinationParentId", "ou-ab12-cd34ef56"),
        ],
        source: SAR,
        ..grant(
            "organizations:MoveAccount",
            &[
                TARGET_ACCOUNT,
                "arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:${request.SourceParentId|parent}",
                "arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:${request.DestinationParentId|parent}",
            ],
        )
    }],
};
pub const LIST_ACCOUNT_TAGS: Operation = Operation {
    service: "Organizations",
    operation: "ListTagsForResource",
    grants: &[Grant {
        samples: &[("request.ResourceId", "222222222222")],
        source: SAR,
        ..grant(
            "organizations:ListTagsForResource",
            &[TARGET_ACCOUNT_OF_RESOURCE],
        )
    }],
};
pub const TAG_ACCOUNT: Operation = Operation {
    service: "Organizations",
    operation: "TagResource",
    grants: &[Grant {
        context: &[("aws:TagKeys", "${request.Tags[*].Key}")],
        samples: &[
            ("request.ResourceId", "222222222222"),
            ("request.Tags[*].Key", "org-onboarding:enrollment"),
        ],
        source: SAR,
        ..grant("organizations:TagResource", &[TARGET_ACCOUNT_OF_RESOURCE])
    }],
};

// --- Organizations in a customer account, through the spoke role -----------------------------

const TARGET_HANDSHAKE: &str = "${response.Handshake.Arn}";

pub const LIST_OWN_HANDSHAKES: Operation = Operation {
    service: "Organizations",
    operation: "ListHandshakesForAccount",
    grants: &[listing("organizations:ListHandshakesForAccount")],
};
/// Accepting an invitation may create the Organizations service-linked role in the
/// account, and in a direct transfer it leaves the old organization.
pub const ACCEPT_HANDSHAKE: Operation = Operation {
    service: "Organizations",
    operation: "AcceptHandshake",
    grants: &[
        Grant {
            samples: &[
                ("response.Handshake.Arn", "arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:handshake/${TargetOrganizationId}/invite/h-exampl3handshake"),
                ("response.Handshake.Arn", "arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:handshake/${TargetOrganizationId}/transfer_responsibility/h-exampl3handshake"),
            ],
            source: "SAR (handshake ARN: handshake/o-ORG/HANDSHAKE_TYPE/h-ID, the type lower-cased as AWS writes it: invite, transfer_responsibility)",
            ..grant("organizations:AcceptHandshake", &[TARGET_HANDSHAKE])
        },
        Grant {
            when: Some("response.Handshake.Arn"),
            implied_by: Some("organizations:AcceptHandshake"),
            context: &[("iam:AWSServiceName", "organizations.amazonaws.com")],
            source: "Organizations User Guide, service-linked roles: accepting an invitation creates AWSServiceRoleForOrganizations in the account",
            ..grant("iam:CreateServiceLinkedRole", &["arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/organizations.amazonaws.com/AWSServiceRoleForOrganizations"])
        },
        Grant {
            when: Some("response.DirectTransfer"),
            implied_by: Some("organizations:AcceptHandshake"),
            source: "Organizations User Guide, direct transfer: a member accepting another organization's invitation leaves its organization (spoke AllowDirectTransfer)",
            ..grant("organizations:LeaveOrganization", &["*"])
        },
    ],
};
pub const DECLINE_HANDSHAKE: Operation = Operation {
    service: "Organizations",
    operation: "DeclineHandshake",
    grants: &[Grant {
        samples: &[("response.Handshake.Arn", "arn:${AWS::Partition}:organizations::333333333333:handshake/o-otherorg01/invite/h-exampl3handshake")],
        source: SAR,
        ..grant("organizations:DeclineHandshake", &[TARGET_HANDSHAKE])
    }],
};
pub const DESCRIBE_CUSTOMER_ORGANIZATION: Operation = Operation {
    service: "Organizations",
    operation: "DescribeOrganization",
    grants: &[listing("organizations:DescribeOrganization")],
};
pub const LIST_CUSTOMER_ACCOUNTS: Operation = Operation {
    service: "Organizations",
    operation: "ListAccounts",
    grants: &[listing("organizations:ListAccounts")],
};
pub const LIST_DELEGATED_ADMINISTRATORS: Operation = Operation {
    service: "Organizations",
    operation: "ListDelegatedAdministrators",
    grants: &[listing("organizations:ListDelegatedAdministrators")],
};

// --- The preflight's reads in a customer account ----------------------------------------------

const OWN_ACCOUNT: &str = "arn:${AWS::Partition}:account::${AWS::AccountId}:account";

pub const GET_CONTACT_INFORMATION: Operation = Operation {
    service: "Account",
    operation: "GetContactInformation",
    grants: &[Grant {
        source: SAR,
        ..grant("account:GetContactInformation", &[OWN_ACCOUNT])
    }],
};
pub const GET_ACCOUNT_INFORMATION: Operation = Operation {
    service: "Account",
    operation: "GetAccountInformation",
    grants: &[Grant {
        source: SAR,
        ..grant("account:GetAccountInformation", &[OWN_ACCOUNT])
    }],
};
pub const LIST_ROLES: Operation = Operation {
    service: "IAM",
    operation: "ListRoles",
    grants: &[Grant {
        source: SAR,
        ..grant("iam:ListRoles", &["*"])
    }],
};
pub const LIST_BUCKETS: Operation = Operation {
    service: "S3",
    operation: "ListBuckets",
    grants: &[Grant {
        source: "SAR (ListBuckets is authorized as s3:ListAllMyBuckets)",
        ..grant("s3:ListAllMyBuckets", &["*"])
    }],
};
const BUCKET: &str = "arn:${AWS::Partition}:s3:::${request.Bucket}";
pub const GET_BUCKET_POLICY: Operation = Operation {
    service: "S3",
    operation: "GetBucketPolicy",
    grants: &[Grant {
        context: &[("aws:ResourceAccount", "${AWS::AccountId}")],
        samples: &[("request.Bucket", "example-bucket")],
        source: SAR,
        ..grant("s3:GetBucketPolicy", &[BUCKET])
    }],
};
pub const GET_BUCKET_LOCATION: Operation = Operation {
    service: "S3",
    operation: "GetBucketLocation",
    grants: &[Grant {
        context: &[("aws:ResourceAccount", "${AWS::AccountId}")],
        samples: &[("request.Bucket", "example-bucket")],
        source: SAR,
        ..grant("s3:GetBucketLocation", &[BUCKET])
    }],
};
pub const LIST_KEYS: Operation = Operation {
    service: "KMS",
    operation: "ListKeys",
    grants: &[Grant {
        source: SAR,
        ..grant("kms:ListKeys", &["*"])
    }],
};
pub const GET_KEY_POLICY: Operation = Operation {
    service: "KMS",
    operation: "GetKeyPolicy",
    grants: &[Grant {
        samples: &[("request.KeyId", "arn:${AWS::Partition}:kms:us-east-1:${AWS::AccountId}:key/1234abcd-12ab-34cd-56ef-1234567890ab")],
        source: SAR,
        ..grant("kms:GetKeyPolicy", &["${request.KeyId}"])
    }],
};
pub const LIST_TOPICS: Operation = Operation {
    service: "SNS",
    operation: "ListTopics",
    grants: &[Grant {
        source: SAR,
        ..grant("sns:ListTopics", &["*"])
    }],
};
pub const GET_TOPIC_ATTRIBUTES: Operation = Operation {
    service: "SNS",
    operation: "GetTopicAttributes",
    grants: &[Grant {
        samples: &[(
            "request.TopicArn",
            "arn:${AWS::Partition}:sns:us-east-1:${AWS::AccountId}:example",
        )],
        source: SAR,
        ..grant("sns:GetTopicAttributes", &["${request.TopicArn}"])
    }],
};
pub const LIST_QUEUES: Operation = Operation {
    service: "SQS",
    operation: "ListQueues",
    grants: &[Grant {
        source: SAR,
        ..grant("sqs:ListQueues", &["*"])
    }],
};
pub const GET_QUEUE_ATTRIBUTES: Operation = Operation {
    service: "SQS",
    operation: "GetQueueAttributes",
    grants: &[Grant {
        samples: &[(
            "request.QueueArn",
            "arn:${AWS::Partition}:sqs:us-east-1:${AWS::AccountId}:example",
        )],
        source: "SAR (the queue's ARN, which AWS derives from the request's QueueUrl)",
        ..grant("sqs:GetQueueAttributes", &["${request.QueueArn}"])
    }],
};
pub const LIST_FUNCTIONS: Operation = Operation {
    service: "Lambda",
    operation: "ListFunctions",
    grants: &[Grant {
        source: SAR,
        ..grant("lambda:ListFunctions", &["*"])
    }],
};
pub const GET_FUNCTION_POLICY: Operation = Operation {
    service: "Lambda",
    operation: "GetPolicy",
    grants: &[Grant {
        samples: &[(
            "request.FunctionName",
            "arn:${AWS::Partition}:lambda:us-east-1:${AWS::AccountId}:function:example",
        )],
        source: SAR,
        ..grant("lambda:GetPolicy", &["${request.FunctionName}"])
    }],
};
