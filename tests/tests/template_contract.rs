//! The SAM template deploys every function crate, with every environment variable its
//! `Config` reads: a function added or a variable read without updating template.yaml
//! fails here, not at deploy time.
//!
//! The templates' EventBridge rules are copies of what the library reads and publishes,
//! and so are the test harness's rules and recorder: each copy is checked here against
//! the library's lists (followed CloudTrail events, notification detail-types, phase
//! triggers), so that a copy that drifts fails `make test`, not a deployment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use onboarding::cloudtrail::{self, FOLLOWED_API_CALLS, FOLLOWED_SERVICE_EVENTS};
use onboarding::domain::Phase;
use onboarding::notifications::{self, DETAIL_TYPES, EMAILED};
use onboarding::trigger::{PHASE_TRIGGERS, PLACER_TRIGGER};
use onboarding_e2e::event_loop::FunctionRule;
use onboarding_e2e::recorder::RECORDED_OPERATIONS;
use serde_json::json;
use serde_yaml::Value;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// binary name -> environment variable names, for every AWS::Serverless::Function.
fn functions_in_template() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(workspace().join("template.yaml")).unwrap();
    let template: Value = serde_yaml::from_str(&text).unwrap();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let mut functions = BTreeMap::new();
    for (_, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("BuildProperties.Binary")
            .to_owned();
        let variables = resource["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .map(|vars| {
                vars.keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let runtime = resource["Properties"]["Runtime"]
            .as_str()
            .or(template["Globals"]["Function"]["Runtime"].as_str());
        assert_eq!(runtime, Some("provided.al2023"), "{binary}");
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{binary}"
        );
        functions.insert(binary, variables);
    }
    functions
}

fn function_crates() -> Vec<String> {
    let mut crates: Vec<String> = std::fs::read_dir(workspace().join("functions"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    crates
}

#[test]
fn every_function_crate_has_its_resource_in_the_template() {
    let template = functions_in_template();
    let crates = function_crates();
    assert!(!crates.is_empty());
    for name in &crates {
        assert!(
            template.contains_key(name),
            "functions/{name} has no AWS::Serverless::Function in template.yaml"
        );
    }
    for binary in template.keys() {
        assert!(
            crates.contains(binary),
            "template.yaml builds {binary}, which no crate under functions/ provides"
        );
    }
}

#[test]
fn every_variable_a_config_reads_is_set_in_the_template() {
    let template = functions_in_template();
    for name in function_crates() {
        let set = &template[&name];
        for variable in onboarding::config::variables(name.parse().expect("a function")) {
            assert!(
                set.contains(*variable),
                "{name}: template.yaml does not set {variable}"
            );
        }
    }
}

/// `eventSource` of every AWS Organizations CloudTrail record.
const ORGANIZATIONS_EVENT_SOURCE: &str = "organizations.amazonaws.com";

fn load(file: &str) -> Value {
    let text = std::fs::read_to_string(workspace().join(file)).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// One EventBridge rule of a template: a SAM function's `EventBridgeRule` event or an
/// `AWS::Events::Rule` resource.
#[derive(Debug)]
struct Rule {
    /// `Resource` or `Function.Event`, for messages.
    name: String,
    /// The binary of the function the rule invokes, for a SAM function event.
    function: Option<String>,
    /// On the hub bus (`EventBusName` set), or on the account's default bus.
    on_custom_bus: bool,
    pattern: serde_json::Value,
}

fn rules(template: &Value) -> Vec<Rule> {
    let resources = template["Resources"].as_mapping().expect("Resources");
    let mut rules = Vec::new();
    for (id, resource) in resources {
        let id = id.as_str().unwrap_or_default();
        match resource["Type"].as_str() {
            Some("AWS::Serverless::Function") => {
                let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str();
                let events = resource["Properties"]["Events"].as_mapping();
                for (event, properties) in events.into_iter().flatten() {
                    if properties["Type"].as_str() != Some("EventBridgeRule") {
                        continue;
                    }
                    let properties = &properties["Properties"];
                    rules.push(Rule {
                        name: format!("{id}.{}", event.as_str().unwrap_or_default()),
                        function: binary.map(str::to_owned),
                        on_custom_bus: !properties["EventBusName"].is_null(),
                        pattern: to_json(&properties["Pattern"]),
                    });
                }
            }
            Some("AWS::Events::Rule") => {
                let properties = &resource["Properties"];
                rules.push(Rule {
                    name: id.to_owned(),
                    function: None,
                    on_custom_bus: !properties["EventBusName"].is_null(),
                    pattern: to_json(&properties["EventPattern"]),
                });
            }
            _ => {}
        }
    }
    rules
}

fn to_json(yaml: &Value) -> serde_json::Value {
    serde_json::to_value(yaml).unwrap()
}

/// Whether an EventBridge pattern of exact-value lists and nested objects (all our
/// templates use) matches `event`; any other filter (prefix, numeric, ...) fails the test,
/// so that this check is extended rather than silently wrong.
fn admits(pattern: &serde_json::Value, event: &serde_json::Value) -> bool {
    let pattern = pattern.as_object().expect("a pattern is an object");
    pattern.iter().all(|(key, wanted)| match wanted {
        serde_json::Value::Array(values) => {
            assert!(
                values.iter().all(|v| v.is_string()),
                "unsupported filter in {key}: {wanted}"
            );
            values.contains(&event[key])
        }
        serde_json::Value::Object(_) => event[key].is_object() && admits(wanted, &event[key]),
        other => panic!("unsupported pattern value in {key}: {other}"),
    })
}

fn api_call(event_name: &str) -> serde_json::Value {
    json!({"source": cloudtrail::SOURCE, "detail-type": cloudtrail::API_CALL,
        "detail": {"eventSource": ORGANIZATIONS_EVENT_SOURCE, "eventName": event_name}})
}

fn service_event(event_name: &str) -> serde_json::Value {
    json!({"source": cloudtrail::SOURCE, "detail-type": cloudtrail::SERVICE_EVENT,
        "detail": {"eventSource": ORGANIZATIONS_EVENT_SOURCE, "eventName": event_name}})
}

/// Every CloudTrail event the parser reads, as EventBridge delivers it (the fields our
/// patterns filter on).
fn followed_events() -> Vec<serde_json::Value> {
    let calls = FOLLOWED_API_CALLS.iter().map(|name| api_call(name));
    let service = FOLLOWED_SERVICE_EVENTS
        .iter()
        .map(|name| service_event(name));
    calls.chain(service).collect()
}

/// Organizations events the parser does not read: a rule must not wake the tracker for them.
fn unfollowed_events() -> Vec<serde_json::Value> {
    vec![
        api_call("CreateAccount"),
        api_call("MoveAccount"),
        service_event("CreateAccountResult"),
    ]
}

fn strings(value: &serde_json::Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn the_tracker_rules_list_exactly_the_events_the_cloudtrail_parser_reads() {
    let template = load("template.yaml");
    let tracker_rules: Vec<Rule> = rules(&template)
        .into_iter()
        .filter(|r| r.function.as_deref() == Some("tracker"))
        .collect();
    for rule in &tracker_rules {
        let pattern = &rule.pattern;
        assert_eq!(
            pattern["source"],
            json!([cloudtrail::SOURCE]),
            "{}",
            rule.name
        );
        let detail_type = strings(&pattern["detail-type"]);
        let event_names = strings(&pattern["detail"]["eventName"]);
        if detail_type == set(&[cloudtrail::API_CALL]) {
            assert_eq!(
                event_names,
                set(&FOLLOWED_API_CALLS),
                "{}: eventName",
                rule.name
            );
            assert_eq!(
                pattern["detail"]["eventSource"],
                json!([ORGANIZATIONS_EVENT_SOURCE]),
                "{}",
                rule.name
            );
        } else if detail_type == set(&[cloudtrail::SERVICE_EVENT]) {
            assert_eq!(
                event_names,
                set(&FOLLOWED_SERVICE_EVENTS),
                "{}: eventName",
                rule.name
            );
        } else {
            panic!(
                "{}: detail-type {detail_type:?} is not one the parser reads",
                rule.name
            );
        }
    }
    // Customer accounts' events arrive on the hub bus, the hub's own on its default bus:
    // every followed event must wake the tracker once on each, and nothing else must.
    for on_custom_bus in [true, false] {
        let on_this_bus = || {
            tracker_rules
                .iter()
                .filter(move |r| r.on_custom_bus == on_custom_bus)
        };
        for event in followed_events() {
            let matching: Vec<&str> = on_this_bus()
                .filter(|r| admits(&r.pattern, &event))
                .map(|r| r.name.as_str())
                .collect();
            assert_eq!(
                matching.len(),
                1,
                "{} (custom bus: {on_custom_bus}) is matched by {matching:?}",
                event["detail"]["eventName"]
            );
        }
        for event in unfollowed_events() {
            assert!(
                on_this_bus().all(|r| !admits(&r.pattern, &event)),
                "a tracker rule admits {event}"
            );
        }
    }
}

#[test]
fn the_spoke_forwards_every_event_the_cloudtrail_parser_reads() {
    let spoke = load("infra/spoke.yaml");
    let forward = rules(&spoke)
        .into_iter()
        .find(|r| r.name == "ForwardRule")
        .expect("infra/spoke.yaml has its ForwardRule");
    for event in followed_events() {
        assert!(
            admits(&forward.pattern, &event),
            "the spoke does not forward {event}"
        );
    }
}

#[test]
fn the_acceptor_and_inviter_rules_are_the_library_phase_triggers() {
    let template = load("template.yaml");
    let rules = rules(&template);
    for trigger in PHASE_TRIGGERS {
        let of_function: Vec<&Rule> = rules
            .iter()
            .filter(|r| r.function.as_deref() == Some(trigger.function.as_str()))
            .collect();
        assert_eq!(
            of_function.len(),
            1,
            "{}: {of_function:?}",
            trigger.function
        );
        let rule = of_function[0];
        assert!(rule.on_custom_bus, "{}: not on the hub bus", rule.name);
        assert_eq!(rule.pattern, trigger.event_pattern(), "{}", rule.name);
    }
    // Any function woken by our notifications is one of the library's triggers.
    for rule in &rules {
        if rule.pattern["source"] == json!([notifications::SOURCE]) && rule.function.is_some() {
            let function = rule.function.as_deref();
            assert!(
                PHASE_TRIGGERS
                    .iter()
                    .any(|t| Some(t.function.as_str()) == function)
                    || Some(PLACER_TRIGGER.function.as_str()) == function,
                "{} is triggered by notifications, but is neither in trigger::PHASE_TRIGGERS \
                 nor trigger::PLACER_TRIGGER",
                rule.name
            );
        }
    }
}

#[test]
fn the_placer_rule_is_the_library_placer_trigger() {
    let template = load("template.yaml");
    let of_placer: Vec<Rule> = rules(&template)
        .into_iter()
        .filter(|r| r.function.as_deref() == Some(PLACER_TRIGGER.function.as_str()))
        .collect();
    assert_eq!(of_placer.len(), 1, "the placer's rules: {of_placer:?}");
    let rule = &of_placer[0];
    assert!(rule.on_custom_bus, "{}: not on the hub bus", rule.name);
    assert_eq!(
        rule.pattern,
        PLACER_TRIGGER.event_pattern(),
        "{}",
        rule.name
    );
}

#[test]
fn rules_on_our_notifications_name_only_published_detail_types_and_phases() {
    let template = load("template.yaml");
    for rule in rules(&template) {
        if rule.pattern["source"] != json!([notifications::SOURCE]) {
            continue;
        }
        for detail_type in strings(&rule.pattern["detail-type"]) {
            assert!(
                DETAIL_TYPES.contains(&detail_type.as_str()),
                "{}: {detail_type:?} is not a detail-type org-onboarding publishes",
                rule.name
            );
        }
        if let Some(phases) = rule.pattern["detail"].get("new_phase") {
            for phase in strings(phases) {
                assert!(
                    phase.parse::<Phase>().is_ok(),
                    "{}: {phase:?} is not a phase",
                    rule.name
                );
            }
        }
    }
}

/// The rules whose target is the SNS topic (e-mail), by resource id.
fn email_rules(template: &Value) -> BTreeMap<String, Value> {
    let resources = template["Resources"].as_mapping().expect("Resources");
    resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Events::Rule"))
        .filter(|(_, r)| {
            r["Properties"]["Targets"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|t| match &t["Arn"] {
                    Value::Tagged(tagged) => tagged.value.as_str() == Some("NotificationTopic"),
                    _ => false,
                })
        })
        .map(|(id, r)| (id.as_str().unwrap_or_default().to_owned(), r.clone()))
        .collect()
}

#[test]
fn the_notification_email_rules_route_exactly_what_a_person_must_see() {
    let template = load("template.yaml");
    let rules = email_rules(&template);
    let mut routed = BTreeSet::new();
    for (id, rule) in &rules {
        let properties = &rule["Properties"];
        assert!(
            !properties["EventBusName"].is_null(),
            "{id}: on the hub bus"
        );
        let pattern = to_json(&properties["EventPattern"]);
        assert_eq!(pattern["source"], json!([notifications::SOURCE]), "{id}");
        let types = strings(&pattern["detail-type"]);
        assert_eq!(
            types.len(),
            1,
            "{id}: one detail-type, so one plain-text template"
        );
        routed.extend(types);
    }
    assert_eq!(routed, set(&EMAILED));
}

/// The e-mail rules and the lists of their ARNs are written from the notifications'
/// e-mail texts (`make notification-rules`): a notification added, or an e-mail changed,
/// in the library without regenerating fails here.
#[test]
fn the_email_rules_are_generated_from_the_notifications() {
    let text = std::fs::read_to_string(workspace().join("template.yaml")).unwrap();
    for (name, generated) in notifications::email::template_blocks() {
        let blocks = onboarding_e2e::template::generated_blocks(&text, name);
        assert!(
            !blocks.is_empty(),
            "template.yaml has no generated {name:?} block"
        );
        for block in blocks {
            assert_eq!(
                block, generated,
                "template.yaml's {name:?} differs from the library: run make notification-rules"
            );
        }
    }
}

/// Each e-mail is plain text from an input transformer: a JSON string template whose
/// every placeholder is a path of the event's detail.
#[test]
fn every_notification_email_is_plain_text_from_an_input_transformer() {
    let template = load("template.yaml");
    for (id, rule) in email_rules(&template) {
        let target = &rule["Properties"]["Targets"][0];
        let transformer = &target["InputTransformer"];
        let paths = transformer["InputPathsMap"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{id}: an input transformer with InputPathsMap"));
        let template_text = transformer["InputTemplate"]
            .as_str()
            .expect("InputTemplate");
        let text: String = serde_json::from_str(template_text)
            .unwrap_or_else(|e| panic!("{id}: the template is a JSON string ({e})"));
        assert!(!text.contains('{'), "{id}: plain text, not JSON");
        for (name, path) in paths {
            let path = path.as_str().unwrap_or_default();
            assert!(path.starts_with("$.detail."), "{id}: {path}");
            let name = name.as_str().unwrap_or_default();
            assert!(text.contains(&format!("<{name}>")), "{id}: <{name}> unused");
        }
        let mut rest = text.as_str();
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("a closed placeholder") + start;
            let name = &rest[start + 1..end];
            assert!(
                paths.contains_key(Value::String(name.to_owned())),
                "{id}: <{name}> is not in InputPathsMap"
            );
            rest = &rest[end + 1..];
        }
        assert!(
            !target["DeadLetterConfig"].is_null(),
            "{id}: a dead-letter queue"
        );
    }
}

/// The resource a `!Ref Resource` or `!GetAtt Resource.Attribute` names.
fn referenced(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" || tagged.tag == "GetAtt" => {
            tagged.value.as_str()?.split('.').next()
        }
        _ => None,
    }
}

/// The resources a policy resource (`AWS::SQS::QueuePolicy`, `AWS::SNS::TopicPolicy`)
/// admits by `aws:SourceArn`, one value or a list, in any of its statements.
fn admitted_sources(policy: &Value) -> BTreeSet<String> {
    let statements = policy["Properties"]["PolicyDocument"]["Statement"].as_sequence();
    let mut sources = BTreeSet::new();
    for statement in statements.into_iter().flatten() {
        let arns = &statement["Condition"]["ArnEquals"]["aws:SourceArn"];
        let arns = match arns {
            Value::Sequence(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            single => vec![single],
        };
        for arn in arns {
            let name = referenced(arn).unwrap_or_else(|| panic!("not a reference: {arn:?}"));
            sources.insert(name.to_owned());
        }
    }
    sources
}

/// The policy resource of type `kind` that applies to `resource` (its `list` property).
fn policy_of<'t>(template: &'t Value, kind: &str, list: &str, resource: &str) -> &'t Value {
    let resources = template["Resources"].as_mapping().expect("Resources");
    let policies: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some(kind))
        .filter(|r| {
            r["Properties"][list]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|item| referenced(item) == Some(resource))
        })
        .collect();
    assert_eq!(policies.len(), 1, "{resource}: one {kind}");
    policies[0]
}

/// A rule or schedule whose target may not use its dead-letter queue loses the events it
/// fails to deliver, silently: every trigger of a function dead-letters to the function's
/// queue, whose policy admits exactly those rules (SAM names them `<Function><Event>`).
#[test]
fn every_function_trigger_may_dead_letter_to_the_function_queue() {
    let template = load("template.yaml");
    let resources = template["Resources"].as_mapping().expect("Resources");
    for (id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap_or_default();
        let properties = &resource["Properties"];
        let queue = referenced(&properties["DeadLetterQueue"]["TargetArn"])
            .unwrap_or_else(|| panic!("{id}: a dead-letter queue"));
        let events = properties["Events"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{id}: no trigger"));
        let mut rules = BTreeSet::new();
        for (event, trigger) in events {
            let event = event.as_str().unwrap_or_default();
            assert!(
                matches!(
                    trigger["Type"].as_str(),
                    Some("EventBridgeRule" | "Schedule")
                ),
                "{id}.{event}: an EventBridge rule or a schedule"
            );
            assert_eq!(
                referenced(&trigger["Properties"]["DeadLetterConfig"]["Arn"]),
                Some(queue),
                "{id}.{event}: dead-letters to {queue}"
            );
            rules.insert(format!("{id}{event}"));
        }
        let policy = policy_of(&template, "AWS::SQS::QueuePolicy", "Queues", queue);
        assert_eq!(admitted_sources(policy), rules, "{queue}'s policy");
    }
}

/// An e-mail rule the topic policy does not name is refused by SNS, and one the
/// notification dead-letter queue does not admit loses what it fails to deliver.
#[test]
fn every_email_rule_may_publish_to_the_topic_and_dead_letter_there() {
    let template = load("template.yaml");
    let rules: BTreeSet<String> = email_rules(&template).into_keys().collect();
    let topic = policy_of(
        &template,
        "AWS::SNS::TopicPolicy",
        "Topics",
        "NotificationTopic",
    );
    assert_eq!(admitted_sources(topic), rules, "NotificationTopicPolicy");
    for (id, rule) in email_rules(&template) {
        let target = &rule["Properties"]["Targets"][0];
        assert_eq!(
            referenced(&target["DeadLetterConfig"]["Arn"]),
            Some("NotificationDeadLetterQueue"),
            "{id}"
        );
    }
    let queue = policy_of(
        &template,
        "AWS::SQS::QueuePolicy",
        "Queues",
        "NotificationDeadLetterQueue",
    );
    assert_eq!(
        admitted_sources(queue),
        rules,
        "NotificationDeadLetterQueuePolicy"
    );
}

/// The table has the indexes the DynamoDB adapter queries, and every index a role may
/// query is one of them.
#[test]
fn the_table_has_the_adapter_indexes_and_roles_query_only_those() {
    use onboarding::adapters::dynamo::{
        BY_ENROLLMENT_INDEX, BY_PENDING_INDEX, BY_PHASE_INDEX, BY_PLACEMENT_INDEX,
    };
    let text = std::fs::read_to_string(workspace().join("template.yaml")).unwrap();
    let template: Value = serde_yaml::from_str(&text).unwrap();
    let (schema, _) = onboarding_e2e::template::parameter_values(&template, "RecordTableSchema");
    let indexes: BTreeSet<String> =
        onboarding_e2e::template::record_table_indexes(&template, &schema)
            .into_keys()
            .collect();
    assert_eq!(
        indexes,
        set(&[
            BY_ENROLLMENT_INDEX,
            BY_PHASE_INDEX,
            BY_PENDING_INDEX,
            BY_PLACEMENT_INDEX
        ])
    );
    let marker = "${RecordTable.Arn}/index/";
    let mut rest = text.as_str();
    while let Some(at) = rest.find(marker) {
        rest = &rest[at + marker.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '*')
            .collect();
        assert!(
            name == "*" || indexes.contains(&name),
            "a role may query index {name:?}, which the table does not have"
        );
    }
}

/// A hub role that may assume the spoke role but is not trusted by it fails in every
/// customer account: the spoke trusts exactly the hub roles with `sts:AssumeRole` on
/// `role/${SpokeRoleName}`, each through the parameter `Hub<Output>` that takes the hub's
/// output of that role's ARN. A principal may be optional (a parameter that defaults to
/// empty, for spokes deployed before its function existed): then it is listed as
/// `!If [<condition>, !Ref <parameter>, !Ref AWS::NoValue]` with a condition that is
/// exactly "the parameter is not empty", so that an empty value never reaches the policy.
#[test]
fn the_spoke_role_trusts_exactly_the_hub_roles_that_assume_it() {
    let hub = load("template.yaml");
    let resources = hub["Resources"].as_mapping().expect("Resources");
    let assumes_spoke = |role: &Value| {
        let policies = role["Properties"]["Policies"].as_sequence();
        policies.into_iter().flatten().any(|policy| {
            let statements = policy["PolicyDocument"]["Statement"].as_sequence();
            statements.into_iter().flatten().any(|statement| {
                let resource = match &statement["Resource"] {
                    Value::Tagged(tagged) => tagged.value.as_str().unwrap_or_default(),
                    _ => "",
                };
                statement["Action"].as_str() == Some("sts:AssumeRole")
                    && resource.ends_with(":role/${SpokeRoleName}")
            })
        })
    };
    let outputs = hub["Outputs"].as_mapping().expect("Outputs");
    let expected: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::IAM::Role") && assumes_spoke(r))
        .map(|(id, _)| {
            let id = id.as_str().unwrap_or_default();
            let output = outputs
                .iter()
                .find(|(_, o)| referenced(&o["Value"]) == Some(id))
                .unwrap_or_else(|| panic!("{id} assumes the spoke role but is no output"));
            format!("Hub{}", output.0.as_str().unwrap_or_default())
        })
        .collect();
    assert!(!expected.is_empty());
    let spoke = load("infra/spoke.yaml");
    let trust = &spoke["Resources"]["SpokeRole"]["Properties"]["AssumeRolePolicyDocument"];
    let mut trusted = BTreeSet::new();
    for statement in trust["Statement"].as_sequence().expect("Statement") {
        let principals = &statement["Condition"]["ArnEquals"]["aws:PrincipalArn"];
        for principal in principals.as_sequence().expect("a list of role ARNs") {
            let parameter = match principal {
                Value::Tagged(tagged) if tagged.tag == "If" => {
                    optional_principal(&spoke, &tagged.value)
                }
                principal => {
                    let parameter = referenced(principal).expect("a parameter");
                    assert!(
                        spoke["Parameters"][parameter]["Default"].is_null(),
                        "{parameter} has a default: list it under !If [<not empty>, ...]"
                    );
                    parameter
                }
            };
            assert!(
                !spoke["Parameters"][parameter].is_null(),
                "spoke parameter {parameter}"
            );
            trusted.insert(parameter.to_owned());
        }
    }
    assert_eq!(trusted, expected, "the spoke role's trusted principals");
}

/// The hub roles with `sts:AssumeRole` on `role/${<role name parameter>}`, a statement that
/// may sit under `!If`, each as the spoke parameter `Hub<Output>` that takes the hub's output
/// of that role's ARN.
fn hub_roles_assuming(hub: &Value, role_name_parameter: &str) -> BTreeSet<String> {
    let suffix = format!(":role/${{{role_name_parameter}}}");
    let assumes = |statement: &Value| {
        let resource = match &statement["Resource"] {
            Value::Tagged(tagged) => tagged.value.as_str().unwrap_or_default(),
            _ => "",
        };
        statement["Action"].as_str() == Some("sts:AssumeRole") && resource.ends_with(&suffix)
    };
    let unconditional = |statement: &Value| match statement {
        Value::Tagged(tagged) if tagged.tag == "If" => tagged.value[1].clone(),
        statement => statement.clone(),
    };
    let resources = hub["Resources"].as_mapping().expect("Resources");
    let outputs = hub["Outputs"].as_mapping().expect("Outputs");
    resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::IAM::Role"))
        .filter(|(_, r)| {
            let policies = r["Properties"]["Policies"].as_sequence();
            policies.into_iter().flatten().any(|policy| {
                let statements = policy["PolicyDocument"]["Statement"].as_sequence();
                statements
                    .into_iter()
                    .flatten()
                    .any(|s| assumes(&unconditional(s)))
            })
        })
        .map(|(id, _)| {
            let id = id.as_str().unwrap_or_default();
            let output = outputs
                .iter()
                .find(|(_, o)| referenced(&o["Value"]) == Some(id))
                .unwrap_or_else(|| panic!("{id} assumes {role_name_parameter} but is no output"));
            format!("Hub{}", output.0.as_str().unwrap_or_default())
        })
        .collect()
}

/// The access role (the role the target's people use and the placer checks) trusts the
/// hub roles that assume it, by `aws:PrincipalArn` (`ArnEquals`, through their `Hub<Output>`
/// parameters, required whenever the role is created), and, optionally, the administrator
/// roles a customer names (`ArnLike`, under `!If` on a parameter that defaults to empty):
/// never an account's root without a condition naming the principal, which would let every
/// principal of the target management account allowed `sts:AssumeRole` on `*` in.
#[test]
fn the_access_role_trusts_only_the_roles_that_need_it() {
    let hub = load("template.yaml");
    let expected = hub_roles_assuming(&hub, "AccessRoleName");
    assert_eq!(expected, BTreeSet::from(["HubPlacerRoleArn".to_owned()]));
    let spoke = load("infra/spoke.yaml");
    let role = &spoke["Resources"]["AccessRole"];
    let statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        .as_sequence()
        .expect("Statement");
    let mut hub_roles = BTreeSet::new();
    let mut administrators = BTreeSet::new();
    for statement in statements {
        let (statement, optional) = match statement {
            Value::Tagged(tagged) if tagged.tag == "If" => {
                assert_eq!(
                    referenced(&tagged.value[2]),
                    Some("AWS::NoValue"),
                    "!If [_, statement, !Ref AWS::NoValue]"
                );
                (&tagged.value[1], true)
            }
            statement => (statement, false),
        };
        assert_eq!(statement["Action"].as_str(), Some("sts:AssumeRole"));
        let condition = &statement["Condition"];
        let equals = referenced(&condition["ArnEquals"]["aws:PrincipalArn"]);
        let like = referenced(&condition["ArnLike"]["aws:PrincipalArn"]);
        match (equals, like) {
            (Some(parameter), None) if !optional => {
                hub_roles.insert(parameter.to_owned());
            }
            (None, Some(parameter)) if optional => {
                assert_eq!(
                    spoke["Parameters"][parameter]["Default"].as_str(),
                    Some(""),
                    "{parameter}: the administrators are optional"
                );
                administrators.insert(parameter.to_owned());
            }
            _ => panic!(
                "every statement of the access role's trust names its principals by \
                 aws:PrincipalArn (ArnEquals for the hub's roles, ArnLike for the optional \
                 administrators): {statement:?}"
            ),
        }
    }
    assert_eq!(hub_roles, expected, "the hub roles the access role trusts");
    assert_eq!(
        administrators,
        BTreeSet::from(["AccessRoleAdministratorArns".to_owned()])
    );
    // The placer's parameter may be empty only where no access role is created.
    let rule = &spoke["Rules"]["AccessRoleTrustsThePlacer"];
    let asserted = format!("{:?}", rule["Assertions"]);
    assert!(
        format!("{:?}", rule["RuleCondition"]).contains("CreateAccessRole")
            && asserted.contains("HubPlacerRoleArn"),
        "a Rule requires HubPlacerRoleArn with CreateAccessRole: {rule:?}"
    );
}

/// The parameter of an optional trusted principal, `!If [condition, !Ref <parameter>,
/// !Ref AWS::NoValue]`, whose condition is `!Not [!Equals [!Ref <parameter>, ""]]` and
/// whose parameter defaults to empty.
fn optional_principal<'t>(spoke: &'t Value, operands: &'t Value) -> &'t str {
    let operands = operands.as_sequence().expect("!If [condition, then, else]");
    assert_eq!(operands.len(), 3, "!If {operands:?}");
    let parameter = referenced(&operands[1]).expect("!If [_, !Ref <parameter>, _]");
    assert_eq!(
        referenced(&operands[2]),
        Some("AWS::NoValue"),
        "{parameter}: !If [_, _, !Ref AWS::NoValue]"
    );
    let condition = operands[0].as_str().expect("a condition name");
    let not_empty = match &spoke["Conditions"][condition] {
        Value::Tagged(not) if not.tag == "Not" => match &not.value[0] {
            Value::Tagged(equals) if equals.tag == "Equals" => {
                referenced(&equals.value[0]) == Some(parameter)
                    && equals.value[1].as_str() == Some("")
            }
            _ => false,
        },
        _ => false,
    };
    assert!(
        not_empty,
        "condition {condition} is !Not [!Equals [!Ref {parameter}, \"\"]]"
    );
    assert_eq!(
        spoke["Parameters"][parameter]["Default"].as_str(),
        Some(""),
        "{parameter}: an optional principal defaults to empty"
    );
    parameter
}

/// Every `events:source` condition (what a function may publish, what the hub bus
/// admits from the spokes) names one of the two sources the product knows.
#[test]
fn event_source_conditions_name_the_library_sources() {
    fn visit(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Mapping(map) => {
                for (key, value) in map {
                    // `Null: {events:source: "false"}` says the key is there, names no source.
                    if key.as_str() == Some("Null") {
                        continue;
                    }
                    if key.as_str() == Some("events:source") {
                        found.push(value.as_str().expect("a single source").to_owned());
                    }
                    visit(value, found);
                }
            }
            Value::Sequence(items) => items.iter().for_each(|v| visit(v, found)),
            Value::Tagged(tagged) => visit(&tagged.value, found),
            _ => {}
        }
    }
    let mut found = Vec::new();
    visit(&load("template.yaml"), &mut found);
    assert!(!found.is_empty());
    for source in found {
        assert!(
            [notifications::SOURCE, cloudtrail::SOURCE].contains(&source.as_str()),
            "events:source {source:?}"
        );
    }
}

/// The emulator's event loop installs the deployment's rules: the functions template.yaml's
/// rules wake (a function on a schedule only, the reconciler, the tests invoke themselves),
/// the acceptor's and inviter's patterns as in template.yaml, a tracker rule that admits
/// every followed event; and the recorder records every followed call.
#[test]
fn the_test_harness_installs_the_template_rules_and_records_the_followed_calls() {
    let template = load("template.yaml");
    let template_rules = rules(&template);
    let harness_rules = FunctionRule::defaults();
    let harness_functions: BTreeSet<String> =
        harness_rules.iter().map(|r| r.function.clone()).collect();
    let woken: BTreeSet<String> = template_rules
        .iter()
        .filter_map(|r| r.function.clone())
        .collect();
    assert_eq!(harness_functions, woken, "the event loop's functions");
    for rule in &harness_rules {
        let in_template: Vec<&Rule> = template_rules
            .iter()
            .filter(|r| r.function.as_deref() == Some(rule.function.as_str()))
            .collect();
        if rule.function == "tracker" {
            for event in followed_events() {
                assert!(
                    admits(&rule.pattern, &event),
                    "harness tracker rule: {event}"
                );
            }
        } else {
            assert_eq!(in_template.len(), 1, "{}", rule.function);
            assert_eq!(rule.pattern, in_template[0].pattern, "{}", rule.function);
        }
    }
    assert_eq!(set(&RECORDED_OPERATIONS), set(&FOLLOWED_API_CALLS));
}

/// The statements of a role's inline policies; a statement under `!If [condition, statement,
/// !Ref AWS::NoValue]` counts as that statement.
fn role_statements(role: &Value) -> Vec<&Value> {
    let policies = role["Properties"]["Policies"].as_sequence();
    let mut statements = Vec::new();
    for policy in policies.into_iter().flatten() {
        let listed = policy["PolicyDocument"]["Statement"].as_sequence();
        for statement in listed.into_iter().flatten() {
            match statement {
                Value::Tagged(tagged) if tagged.tag == "If" => {
                    statements.push(&tagged.value[1]);
                }
                statement => statements.push(statement),
            }
        }
    }
    statements
}

/// One string or a list of strings (`Action`, `Resource`), `!Sub` bodies as their text.
fn names(value: &Value) -> Vec<String> {
    let one = |value: &Value| match value {
        Value::String(text) => text.clone(),
        Value::Tagged(tagged) if tagged.tag == "Sub" => {
            tagged.value.as_str().expect("a !Sub string").to_owned()
        }
        other => panic!("not a string or a !Sub: {other:?}"),
    };
    match value {
        Value::Sequence(items) => items.iter().map(one).collect(),
        single => vec![one(single)],
    }
}

/// The AWS::Serverless::Function that builds `binary`.
fn function_of<'t>(template: &'t Value, binary: &str) -> &'t Value {
    let resources = template["Resources"].as_mapping().expect("Resources");
    resources
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .unwrap_or_else(|| panic!("no function builds {binary}"))
}

/// The role resource a function's `Role: !GetAtt <Role>.Arn` names.
fn role_of<'t>(template: &'t Value, binary: &str) -> (&'t str, &'t Value) {
    let function = function_of(template, binary);
    let role = referenced(&function["Properties"]["Role"]).expect("Role: !GetAtt <Role>.Arn");
    (role, &template["Resources"][role])
}

/// The placer proves access by assuming `AccessRoleName`, the role the spoke creates: its
/// policy names that role (in accounts of the target organization only, never one not yet
/// joined), its function reads the same name, and the spoke's role trusts the placer's
/// role in the hub account (and, optionally, named administrators: nothing else).
#[test]
fn the_placer_assumes_the_access_role_the_spoke_creates_in_target_accounts_only() {
    let hub = load("template.yaml");
    let (role_id, role) = role_of(&hub, PLACER_TRIGGER.function.as_str());
    let assumes: Vec<&Value> = role_statements(role)
        .into_iter()
        .filter(|s| names(&s["Action"]).iter().any(|a| a.starts_with("sts:")))
        .collect();
    assert_eq!(assumes.len(), 1, "{role_id}: one sts statement");
    let statement = assumes[0];
    assert_eq!(names(&statement["Action"]), ["sts:AssumeRole"], "{role_id}");
    assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{role_id}");
    let resources = names(&statement["Resource"]);
    assert_eq!(resources.len(), 1, "{role_id}: {resources:?}");
    assert!(
        resources[0].starts_with("arn:${AWS::Partition}:iam::")
            && resources[0].ends_with(":role/${AccessRoleName}"),
        "{role_id}: sts:AssumeRole of {:?}, not role/${{AccessRoleName}}",
        resources[0]
    );
    let org_condition = &statement["Condition"]["StringEquals"]["aws:ResourceOrgID"];
    assert_eq!(
        referenced(org_condition),
        Some("TargetOrganizationId"),
        "{role_id}: sts:AssumeRole needs aws:ResourceOrgID = !Ref TargetOrganizationId"
    );
    // The target's Organizations calls stay in the target organization: every action with
    // a resource type names the organization's ARNs; ListRoots has none.
    for statement in role_statements(role) {
        let actions = names(&statement["Action"]);
        if !actions.iter().any(|a| a.starts_with("organizations:")) {
            continue;
        }
        for resource in names(&statement["Resource"]) {
            let in_target = resource.contains(":organizations::${TargetManagementAccountId}:")
                && resource.contains("/${TargetOrganizationId}/");
            let no_resource_type = resource == "*" && actions == ["organizations:ListRoots"];
            assert!(
                in_target || no_resource_type,
                "{role_id}: {actions:?} on {resource:?}"
            );
        }
    }
    let placer = function_of(&hub, PLACER_TRIGGER.function.as_str());
    let variable = &placer["Properties"]["Environment"]["Variables"]["ACCESS_ROLE_NAME"];
    assert_eq!(
        referenced(variable),
        Some("AccessRoleName"),
        "ACCESS_ROLE_NAME"
    );

    let spoke = load("infra/spoke.yaml");
    let default_of = |template: &Value, parameter: &str| {
        template["Parameters"][parameter]["Default"]
            .as_str()
            .map(str::to_owned)
    };
    let default = Some(onboarding::config::DEFAULT_ACCESS_ROLE_NAME.to_owned());
    assert_eq!(default_of(&hub, "AccessRoleName"), default, "hub default");
    assert_eq!(
        default_of(&spoke, "AccessRoleName"),
        default,
        "spoke default"
    );
    let access_role = &spoke["Resources"]["AccessRole"];
    assert_eq!(access_role["Type"].as_str(), Some("AWS::IAM::Role"));
    let condition = access_role["Condition"].as_str().expect("a condition");
    let created_when = match &spoke["Conditions"][condition] {
        Value::Tagged(tagged) if tagged.tag == "Equals" => tagged.value.as_sequence(),
        _ => None,
    };
    let created_when: Option<Vec<Option<&str>>> = created_when.map(|operands| {
        operands
            .iter()
            .map(|o| referenced(o).or(o.as_str()))
            .collect()
    });
    assert_eq!(
        created_when,
        Some(vec![Some("CreateAccessRole"), Some("true")]),
        "AccessRole is created when CreateAccessRole is \"true\" (condition {condition})"
    );
    assert_eq!(
        referenced(&access_role["Properties"]["RoleName"]),
        Some("AccessRoleName"),
        "AccessRole's RoleName"
    );
    // Whom it trusts: the_access_role_trusts_only_the_roles_that_need_it. The placer's
    // statement is the first, by the hub account.
    let trust = &access_role["Properties"]["AssumeRolePolicyDocument"]["Statement"];
    let statement = &trust.as_sequence().expect("trust statements")[0];
    assert_eq!(statement["Effect"].as_str(), Some("Allow"));
    assert_eq!(names(&statement["Action"]), ["sts:AssumeRole"]);
    let principal = statement["Principal"].as_mapping().expect("a principal");
    assert_eq!(
        principal.len(),
        1,
        "AccessRole trusts AWS principals only: {principal:?}"
    );
    assert_eq!(
        names(&statement["Principal"]["AWS"]),
        ["arn:${AWS::Partition}:iam::${HubAccountId}:root"],
        "AccessRole trusts the placer in the hub account"
    );
}

/// `Resource` of a statement as text, one string or a list: strings as they are, `!Sub`
/// bodies as their text, `!GetAtt X.Arn` as `GetAtt X.Arn`, `!Ref X` as `Ref X`.
fn resources(value: &Value) -> BTreeSet<String> {
    let one = |value: &Value| match value {
        Value::String(text) => text.clone(),
        Value::Tagged(tagged) if tagged.tag == "Sub" => {
            tagged.value.as_str().expect("a !Sub string").to_owned()
        }
        Value::Tagged(tagged) if tagged.tag == "GetAtt" || tagged.tag == "Ref" => {
            let tag = tagged.tag.to_string();
            let name = tagged.value.as_str().expect("a name");
            format!("{} {name}", tag.trim_start_matches('!'))
        }
        other => panic!("not a resource: {other:?}"),
    };
    match value {
        Value::Sequence(items) => items.iter().map(one).collect(),
        single => BTreeSet::from([one(single)]),
    }
}

/// action -> the resources it is allowed on, over every statement of a role (all Allow).
fn allowed(role_id: &str, statements: &[&Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut allowed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in statements {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{role_id}");
        for action in names(&statement["Action"]) {
            assert!(!action.contains('*'), "{role_id}: wildcard action {action}");
            allowed
                .entry(action)
                .or_default()
                .extend(resources(&statement["Resource"]));
        }
    }
    allowed
}

/// The actions a role may take on the records table itself (items, not indexes).
fn table_actions(allowed: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    allowed
        .iter()
        .filter(|(_, on)| on.contains("GetAtt RecordTable.Arn"))
        .map(|(action, _)| action.clone())
        .collect()
}

/// The preflight reads customer accounts only through the spoke role, and with its own
/// credentials writes records as the placer does, queries the two indexes it reads, and
/// publishes on the hub bus: no Organizations call of its own (the target organization is
/// none of its business), no other role, no scan.
#[test]
fn the_preflight_role_writes_like_the_placer_and_assumes_only_the_spoke_role() {
    use onboarding::adapters::dynamo::{BY_ENROLLMENT_INDEX, BY_PHASE_INDEX};
    let hub = load("template.yaml");
    let (role_id, role) = role_of(&hub, "preflight");
    let statements = role_statements(role);
    let allowed = allowed(role_id, &statements);
    let actions: BTreeSet<String> = allowed.keys().cloned().collect();
    assert_eq!(
        actions,
        set(&[
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sqs:SendMessage",
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:Query",
            "events:PutEvents",
            "sts:AssumeRole",
        ]),
        "{role_id}: its actions (no organizations:*)"
    );
    // The records: the tracker's transaction and the sweep cursor, as the placer writes them.
    let (placer_role_id, placer_role) = role_of(&hub, PLACER_TRIGGER.function.as_str());
    let placer = self::allowed(placer_role_id, &role_statements(placer_role));
    assert_eq!(
        table_actions(&allowed),
        table_actions(&placer),
        "{role_id}: the table actions of {placer_role_id}"
    );
    assert_eq!(
        table_actions(&allowed),
        set(&[
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
        ]),
        "{role_id}: items on the table, no Query or Scan of it"
    );
    let index = |name: &str| format!("${{RecordTable.Arn}}/index/{name}");
    assert_eq!(
        allowed["dynamodb:Query"],
        BTreeSet::from([index(BY_PHASE_INDEX), index(BY_ENROLLMENT_INDEX)]),
        "{role_id}: Query on by_phase and by_enrollment only"
    );
    // Its own log group and dead-letter queue.
    let function = function_of(&hub, "preflight");
    let log_group = referenced(&function["Properties"]["LoggingConfig"]["LogGroup"]);
    let queue = referenced(&function["Properties"]["DeadLetterQueue"]["TargetArn"]);
    for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
        assert_eq!(
            allowed[action],
            BTreeSet::from([format!("GetAtt {}.Arn", log_group.expect("a log group"))]),
            "{role_id}: {action}"
        );
    }
    assert_eq!(
        allowed["sqs:SendMessage"],
        BTreeSet::from([format!("GetAtt {}.Arn", queue.expect("a queue"))]),
        "{role_id}: sqs:SendMessage"
    );
    // Notifications: the hub bus, source org-onboarding only.
    let publish: Vec<&&Value> = statements
        .iter()
        .filter(|s| names(&s["Action"]) == ["events:PutEvents"])
        .collect();
    assert_eq!(publish.len(), 1, "{role_id}: one PutEvents statement");
    assert_eq!(
        resources(&publish[0]["Resource"]),
        BTreeSet::from(["GetAtt HubEventBus.Arn".to_owned()])
    );
    assert_eq!(
        publish[0]["Condition"]["ForAllValues:StringEquals"]["events:source"].as_str(),
        Some(notifications::SOURCE),
        "{role_id}: PutEvents with events:source {}",
        notifications::SOURCE
    );
    // The spoke role, by name, as the acceptor and the reconciler assume it; nothing else.
    let spoke_role =
        BTreeSet::from(["arn:${AWS::Partition}:iam::*:role/${SpokeRoleName}".to_owned()]);
    assert_eq!(allowed["sts:AssumeRole"], spoke_role, "{role_id}");
    for other in ["acceptor", "reconciler"] {
        let (other_id, other_role) = role_of(&hub, other);
        let theirs = self::allowed(other_id, &role_statements(other_role));
        assert_eq!(theirs["sts:AssumeRole"], spoke_role, "{other_id}");
    }
}

/// The preflight runs on its schedule only (no event wakes it: an account is checked before
/// anything happens to it), with the variables its parameters set, one at a time.
#[test]
fn the_preflight_runs_on_its_schedule_with_its_parameters() {
    use onboarding::config::{
        PREFLIGHT_EVERY_HOURS, PREFLIGHT_REGIONS, SPOKE_EXTERNAL_ID, SPOKE_ROLE_NAME,
        SWEEP_BUDGET_SECONDS,
    };
    let hub = load("template.yaml");
    let function = function_of(&hub, "preflight");
    let properties = &function["Properties"];
    let events = properties["Events"].as_mapping().expect("Events");
    assert_eq!(events.len(), 1, "the preflight's triggers: {events:?}");
    let (_, sweep) = events.iter().next().unwrap();
    assert_eq!(sweep["Type"].as_str(), Some("Schedule"));
    assert_eq!(
        referenced(&sweep["Properties"]["Schedule"]),
        Some("PreflightSchedule")
    );
    let parameter = |name: &str| &hub["Parameters"][name];
    assert_eq!(
        parameter("PreflightSchedule")["Default"].as_str(),
        Some("rate(1 hour)")
    );
    let variables = &properties["Environment"]["Variables"];
    for (variable, from) in [
        (PREFLIGHT_REGIONS, "PreflightRegions"),
        (PREFLIGHT_EVERY_HOURS, "PreflightEveryHours"),
        (SPOKE_ROLE_NAME, "SpokeRoleName"),
        (SPOKE_EXTERNAL_ID, "SpokeExternalId"),
    ] {
        assert_eq!(referenced(&variables[variable]), Some(from), "{variable}");
        assert!(!parameter(from).is_null(), "parameter {from}");
    }
    // Empty: the function's own region (Config::preflight_regions); 24 hours, the default
    // Config reads when the variable is unset.
    assert_eq!(parameter("PreflightRegions")["Default"].as_str(), Some(""));
    assert_eq!(
        parameter("PreflightEveryHours")["Default"].as_u64(),
        Some(24)
    );
    let budget: u64 = variables[SWEEP_BUDGET_SECONDS]
        .as_str()
        .and_then(|b| b.parse().ok())
        .expect("SWEEP_BUDGET_SECONDS");
    let timeout = properties["Timeout"].as_u64().expect("Timeout");
    assert!(
        budget < timeout,
        "the sweep budget ({budget} s) within the timeout ({timeout} s)"
    );
    // One at a time, as the reconciler: runs share one resume cursor.
    let reserved = match &properties["ReservedConcurrentExecutions"] {
        Value::Tagged(tagged) if tagged.tag == "If" => tagged.value.as_sequence(),
        _ => None,
    }
    .expect("ReservedConcurrentExecutions: !If [ReservesConcurrency, 1, !Ref AWS::NoValue]");
    assert_eq!(reserved[0].as_str(), Some("ReservesConcurrency"));
    assert_eq!(reserved[1].as_u64(), Some(1));
    assert_eq!(referenced(&reserved[2]), Some("AWS::NoValue"));
}

/// What the preflight reads through the spoke role besides the handshakes: the account's
/// own settings and its organization's delegated administrators always (they predict
/// blockers), and the resource policies only where the customer said so
/// (`PreflightReads`, default "false"). The reads of `shared/src/adapters/preflight/`.
const ACCOUNT_READS: [&str; 3] = [
    "account:GetContactInformation",
    "account:GetAccountInformation",
    "organizations:ListDelegatedAdministrators",
];
const POLICY_READS: [&str; 12] = [
    "iam:ListRoles",
    "s3:ListAllMyBuckets",
    "s3:GetBucketPolicy",
    "s3:GetBucketLocation",
    "kms:ListKeys",
    "kms:GetKeyPolicy",
    "sns:ListTopics",
    "sns:GetTopicAttributes",
    "sqs:ListQueues",
    "sqs:GetQueueAttributes",
    "lambda:ListFunctions",
    "lambda:GetPolicy",
];

#[test]
fn the_spoke_lets_the_preflight_read_policies_only_when_preflight_reads_is_true() {
    let spoke = load("infra/spoke.yaml");
    let role = &spoke["Resources"]["SpokeRole"];
    let allows: Vec<&Value> = role_statements(role)
        .into_iter()
        .filter(|s| s["Effect"].as_str() == Some("Allow"))
        .collect();
    let always = allowed("SpokeRole", &allows);
    for action in ACCOUNT_READS {
        assert!(always.contains_key(action), "SpokeRole allows {action}");
    }
    for action in [
        "account:GetContactInformation",
        "account:GetAccountInformation",
    ] {
        assert_eq!(
            always[action],
            BTreeSet::from(["arn:${AWS::Partition}:account::${AWS::AccountId}:account".to_owned()]),
            "SpokeRole: {action} on this account only"
        );
    }
    for action in POLICY_READS {
        assert!(
            !always.contains_key(action),
            "SpokeRole allows {action} whatever PreflightReads says"
        );
    }

    let parameter = &spoke["Parameters"]["PreflightReads"];
    assert_eq!(
        parameter["Default"].as_str(),
        Some("false"),
        "off by default"
    );
    assert_eq!(
        to_json(&parameter["AllowedValues"]),
        json!(["true", "false"])
    );

    // The one policy that grants them, on the spoke role, when PreflightReads is "true".
    let spoke_resources = spoke["Resources"].as_mapping().expect("Resources");
    let granting: Vec<(&str, &Value)> = spoke_resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::IAM::RolePolicy"))
        .filter(|(_, r)| {
            let statements = r["Properties"]["PolicyDocument"]["Statement"].as_sequence();
            statements
                .into_iter()
                .flatten()
                .flat_map(|s| names(&s["Action"]))
                .any(|a| POLICY_READS.contains(&a.as_str()))
        })
        .map(|(id, r)| (id.as_str().unwrap_or_default(), r))
        .collect();
    assert_eq!(granting.len(), 1, "one policy grants the policy reads");
    let (id, policy) = granting[0];
    let statements = spoke_policy_behind(&spoke, id, policy, "PreflightReads");
    let granted = allowed(id, &statements);
    let actions: BTreeSet<String> = granted.keys().cloned().collect();
    assert_eq!(
        actions,
        set(&POLICY_READS),
        "{id}: exactly the policy reads"
    );
    assert_reads_on_own_account(id, &statements);
}

/// A YAML snippet (intrinsic functions included) as the JSON text `to_json` makes of it.
/// The statements of the spoke's policy `id`, after checking that it is on the spoke role
/// and exists only when the role is created and `parameter` is `"true"`.
fn spoke_policy_behind<'s>(
    spoke: &Value,
    id: &str,
    policy: &'s Value,
    parameter: &str,
) -> Vec<&'s Value> {
    assert_eq!(
        referenced(&policy["Properties"]["RoleName"]),
        Some("SpokeRole"),
        "{id}: on the spoke role"
    );
    let condition = policy["Condition"].as_str().expect("a condition");
    let operands: Vec<String> = match &spoke["Conditions"][condition] {
        Value::Tagged(and) if and.tag == "And" => and
            .value
            .as_sequence()
            .expect("!And operands")
            .iter()
            .map(|o| serde_json::to_string(&to_json(o)).unwrap())
            .collect(),
        other => panic!("{id}: condition {condition} is !And [...]: {other:?}"),
    };
    assert_eq!(
        operands,
        [
            yaml_as_json("!Condition CreatesSpokeRole"),
            yaml_as_json(&format!(r#"!Equals [!Ref {parameter}, "true"]"#))
        ],
        "{id}: condition {condition} is !And [CreatesSpokeRole, {parameter} = \"true\"]"
    );
    policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .expect("Statement")
        .iter()
        .collect()
}

fn yaml_as_json(text: &str) -> String {
    serde_json::to_string(&to_json(&serde_yaml::from_str::<Value>(text).unwrap())).unwrap()
}

/// Every action of `statements` is a read (List or Get); those on `"*"` are listings (no
/// resource type), the others name this account's resources.
fn assert_reads_on_own_account(id: &str, statements: &[&Value]) {
    for statement in statements {
        for action in names(&statement["Action"]) {
            let verb = action.split(':').nth(1).unwrap_or_default();
            assert!(
                verb.starts_with("List") || verb.starts_with("Get"),
                "{id}: {action} is not a read"
            );
        }
        let on = resources(&statement["Resource"]);
        if on == BTreeSet::from(["*".to_owned()]) {
            for action in names(&statement["Action"]) {
                let verb = action.split(':').nth(1).unwrap_or_default();
                assert!(
                    verb.starts_with("List"),
                    "{id}: {action} on \"*\" (only the listings have no resource type)"
                );
            }
            continue;
        }
        let own_account = on.iter().all(|r| r.contains(":${AWS::AccountId}:"))
            || referenced(&statement["Condition"]["StringEquals"]["aws:ResourceAccount"])
                == Some("AWS::AccountId");
        assert!(own_account, "{id}: {on:?} is not this account's");
    }
}

/// The handshakes of the target organization, as the spoke's statements name them:
/// `handshake/<organization>/<type>/*`, owned by the target management account.
fn target_handshakes(kind: &str) -> String {
    format!(
        "arn:${{AWS::Partition}}:organizations::${{TargetManagementAccountId}}:handshake/${{TargetOrganizationId}}/{kind}"
    )
}

/// The spoke's `AWS::IAM::RolePolicy` resources, by id.
fn spoke_role_policies(spoke: &Value) -> Vec<(&str, &Value)> {
    let resources = spoke["Resources"].as_mapping().expect("Resources");
    resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::IAM::RolePolicy"))
        .map(|(id, r)| (id.as_str().unwrap_or_default(), r))
        .collect()
}

/// Billing mode: the spoke role accepts the target's billing-transfer handshakes
/// (`handshake/<TargetOrganizationId>/transfer_responsibility/*` of the target management
/// account, and the emulator's `transfer/*`) only
/// where `BillingTransfer` is "true" (a customer's management account), through one
/// policy of its own; whatever the parameters, it accepts no other organization's
/// handshake, never on `"*"`, and never declines the target's.
#[test]
fn the_spoke_accepts_the_target_billing_transfer_only_when_billing_transfer_is_true() {
    let spoke = load("infra/spoke.yaml");
    let parameter = &spoke["Parameters"]["BillingTransfer"];
    assert_eq!(
        parameter["Default"].as_str(),
        Some("false"),
        "off by default"
    );
    assert_eq!(
        to_json(&parameter["AllowedValues"]),
        json!(["true", "false"])
    );
    let description = parameter["Description"].as_str().unwrap_or_default();
    assert!(
        description.contains("management account") && description.contains("billing mode"),
        "BillingTransfer says it is for a management account in billing mode: {description:?}"
    );

    // Always (the role's own policies): invitations to join of the target only.
    let role = &spoke["Resources"]["SpokeRole"];
    let statements = role_statements(role);
    let allows: Vec<&Value> = statements
        .iter()
        .copied()
        .filter(|s| s["Effect"].as_str() == Some("Allow"))
        .collect();
    let always = allowed("SpokeRole", &allows);
    assert_eq!(
        always["organizations:AcceptHandshake"],
        BTreeSet::from([target_handshakes("invite/*")]),
        "SpokeRole: AcceptHandshake of the target's invitations only, whatever BillingTransfer says"
    );
    let never_declines = statements.iter().any(|s| {
        s["Effect"].as_str() == Some("Deny")
            && names(&s["Action"]) == ["organizations:DeclineHandshake"]
            && resources(&s["Resource"]) == BTreeSet::from([target_handshakes("*")])
    });
    assert!(
        never_declines,
        "SpokeRole denies DeclineHandshake of every target handshake, transfers included"
    );

    // Every grant of AcceptHandshake, in any policy: the target's handshakes, never "*".
    let policies = spoke_role_policies(&spoke);
    let mut accepts: Vec<(&str, BTreeSet<String>)> =
        vec![("SpokeRole", always["organizations:AcceptHandshake"].clone())];
    for (id, policy) in &policies {
        let listed = policy["Properties"]["PolicyDocument"]["Statement"].as_sequence();
        for statement in listed.into_iter().flatten() {
            if names(&statement["Action"])
                .iter()
                .any(|a| a == "organizations:AcceptHandshake" || a == "organizations:*")
            {
                assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{id}");
                accepts.push((id, resources(&statement["Resource"])));
            }
        }
    }
    for (id, on) in &accepts {
        for resource in on {
            assert!(
                resource.starts_with(&target_handshakes("")) && !resource.contains("::*:"),
                "{id}: AcceptHandshake on {resource:?}, not a handshake of the target organization"
            );
            assert_ne!(
                resource,
                &target_handshakes("*"),
                "{id}: any target handshake"
            );
        }
    }

    // The transfers: one policy, on the spoke role, when BillingTransfer is "true". AWS's
    // handshake ARN names the type lower-cased, `transfer_responsibility`; the emulator
    // writes `transfer` (tests/README.md), so both are granted, and nothing else.
    let transfers = BTreeSet::from([
        target_handshakes("transfer_responsibility/*"),
        target_handshakes("transfer/*"),
    ]);
    let granting: Vec<&(&str, BTreeSet<String>)> = accepts
        .iter()
        .filter(|(_, on)| on.contains(&target_handshakes("transfer_responsibility/*")))
        .collect();
    assert_eq!(
        granting.len(),
        1,
        "one policy accepts transfers: {accepts:?}"
    );
    let id = granting[0].0;
    let (_, policy) = policies
        .iter()
        .find(|(policy_id, _)| *policy_id == id)
        .unwrap_or_else(|| panic!("{id}: transfers are accepted by a policy of their own"));
    let statements = spoke_policy_behind(&spoke, id, policy, "BillingTransfer");
    let granted = allowed(id, &statements);
    assert_eq!(
        granted,
        BTreeMap::from([("organizations:AcceptHandshake".to_owned(), transfers)]),
        "{id}: exactly AcceptHandshake of the target's transfers"
    );
}

/// The responsibility-transfer calls of billing mode, in the target management account.
const TRANSFER_LISTS: [&str; 2] = [
    "organizations:ListInboundResponsibilityTransfers",
    "organizations:ListOutboundResponsibilityTransfers",
];
const INVITE_TO_TRANSFER: &str = "organizations:InviteOrganizationToTransferResponsibility";

/// Billing mode in the hub: the inviter sends the transfer invitation and reads the
/// target's lists of transfers; the tracker and the acceptor (whose tracker confirms each
/// acceptance) read those lists. With their own credentials only: no other role gets a
/// transfer action, and none may accept, decline or end a transfer.
#[test]
fn the_hub_invites_to_transfer_billing_and_confirms_it_from_its_own_lists() {
    let hub = load("template.yaml");
    let mut expected = BTreeMap::from([
        (
            "inviter",
            set(&[INVITE_TO_TRANSFER, TRANSFER_LISTS[0], TRANSFER_LISTS[1]]),
        ),
        ("tracker", set(&TRANSFER_LISTS)),
        ("acceptor", set(&TRANSFER_LISTS)),
    ]);
    for binary in function_crates() {
        let (role_id, role) = role_of(&hub, &binary);
        let allowed = allowed(role_id, &role_statements(role));
        let transfer_actions: BTreeSet<String> = allowed
            .keys()
            .filter(|a| {
                a.contains("ResponsibilityTransfer") || a.contains("TransferResponsibility")
            })
            .cloned()
            .collect();
        let wanted = expected.remove(binary.as_str()).unwrap_or_default();
        assert_eq!(transfer_actions, wanted, "{role_id} ({binary})");
        for action in &transfer_actions {
            // Listings and an invitation of the target's own: no resource names another
            // organization's transfer, so "*" is the value, as for InviteAccountToOrganization.
            assert_eq!(
                allowed[action],
                BTreeSet::from(["*".to_owned()]),
                "{role_id}: {action}"
            );
        }
        for action in [
            "organizations:AcceptHandshake",
            "organizations:DeclineHandshake",
            "organizations:TerminateResponsibilityTransfer",
        ] {
            assert!(
                !allowed.contains_key(action),
                "{role_id}: {action} with the hub's own credentials"
            );
        }
    }
    assert!(expected.is_empty(), "no function crate for {expected:?}");
}

#[test]
fn every_metric_the_functions_emit_has_an_alarm_across_the_functions() {
    let template = load("template.yaml");
    let alarms: BTreeMap<String, &Value> = template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .filter(|(_, r)| {
            r["Properties"]["Namespace"].as_str() == Some(onboarding::metrics::NAMESPACE)
        })
        .map(|(name, r)| {
            let metric = r["Properties"]["MetricName"].as_str();
            let metric = metric.unwrap_or_else(|| panic!("{name:?} names no MetricName"));
            (metric.to_owned(), &r["Properties"])
        })
        .collect();
    for metric in onboarding::metrics::ALL {
        let alarm = alarms
            .get(metric)
            .unwrap_or_else(|| panic!("no alarm on the metric {metric}"));
        // The functions write each count without dimension too (metrics::line): an
        // alarm naming one function would miss the others that emit it.
        assert!(
            alarm["Dimensions"].is_null(),
            "the {metric} alarm watches one dimension, not every function"
        );
        assert!(alarm["AlarmActions"]
            .as_sequence()
            .is_some_and(|a| !a.is_empty()));
    }
    let known: BTreeSet<&str> = onboarding::metrics::ALL.into_iter().collect();
    for metric in alarms.keys() {
        assert!(
            known.contains(metric.as_str()),
            "an alarm on {metric}, which nothing emits"
        );
    }
}
