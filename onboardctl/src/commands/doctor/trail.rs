//! The doctor's trail check: AWS Organizations records its CloudTrail events in us-east-1,
//! and the product's EventBridge rules read them there, so a trail must be logging, record
//! management events (read-write All or WriteOnly, or an advanced selector of
//! `eventCategory` Management) and cover us-east-1 (multi-region, or home region
//! us-east-1). DescribeTrails (shadow trails included), then GetTrailStatus and
//! GetEventSelectors per trail in its home region, until one qualifies.

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::config::Region;
use aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput;
use aws_sdk_cloudtrail::types::{ReadWriteType, Trail};
use onboarding::adapters::organizations::ORGANIZATIONS_REGION;

use super::Verdict;
use crate::aws_error;

const CREATE: &str = "create one: aws cloudtrail create-trail --name org-onboarding --s3-bucket-name BUCKET --is-multi-region-trail, then aws cloudtrail start-logging --name org-onboarding";

/// What the doctor learned of one trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailState {
    pub name: String,
    pub home_region: String,
    pub multi_region: bool,
    pub logging: bool,
    /// Which management events it records (`All`, `WriteOnly`, `advanced`), if any.
    pub management: Option<String>,
    /// Why its status or selectors could not be read.
    pub unreadable: Option<String>,
}

impl TrailState {
    fn covers_us_east_1(&self) -> bool {
        self.multi_region || self.home_region == ORGANIZATIONS_REGION
    }

    fn qualifies(&self) -> bool {
        self.unreadable.is_none()
            && self.logging
            && self.management.is_some()
            && self.covers_us_east_1()
    }

    /// Why it does not qualify, in a few words.
    fn shortfall(&self) -> String {
        let name = &self.name;
        if let Some(reason) = &self.unreadable {
            return format!("trail {name}: {reason}");
        }
        let mut lacks = Vec::new();
        if !self.logging {
            lacks.push("is not logging".to_owned());
        }
        if self.management.is_none() {
            lacks.push("records no management write events".to_owned());
        }
        if !self.covers_us_east_1() {
            lacks.push(format!("covers only {} (single-region)", self.home_region));
        }
        format!("trail {name} {}", lacks.join(" and "))
    }
}

/// The verdict on the trails of the account.
pub fn verdict(trails: &[TrailState]) -> Verdict {
    if let Some(good) = trails.iter().find(|t| t.qualifies()) {
        let scope = if good.multi_region {
            "multi-region".to_owned()
        } else {
            format!("home region {}", good.home_region)
        };
        return Ok(format!(
            "{} is logging management events ({}) and covers {ORGANIZATIONS_REGION} ({scope})",
            good.name,
            good.management.as_deref().unwrap_or_default()
        ));
    }
    let found = if trails.is_empty() {
        "the account has no trail".to_owned()
    } else {
        trails
            .iter()
            .map(TrailState::shortfall)
            .collect::<Vec<_>>()
            .join("; ")
    };
    Err(format!(
        "no trail records AWS Organizations' events, which AWS records in {ORGANIZATIONS_REGION} and the product's EventBridge rules read there ({found}): a trail must be logging, record management events (All or WriteOnly) and cover {ORGANIZATIONS_REGION} (multi-region, or home region {ORGANIZATIONS_REGION}); {CREATE}"
    ))
}

/// Which management events the selectors record, if any.
pub fn management_events(selectors: &GetEventSelectorsOutput) -> Option<String> {
    let basic = selectors.event_selectors().iter().find_map(|s| {
        let kind = s.read_write_type().cloned().unwrap_or(ReadWriteType::All);
        let writes = matches!(kind, ReadWriteType::All | ReadWriteType::WriteOnly);
        (s.include_management_events().unwrap_or(true) && writes).then(|| kind.as_str().to_owned())
    });
    let advanced = selectors.advanced_event_selectors().iter().any(|s| {
        let fields = s.field_selectors();
        let management = fields
            .iter()
            .any(|f| f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management"));
        let reads_only = fields
            .iter()
            .any(|f| f.field() == "readOnly" && f.equals().iter().all(|v| v == "true"));
        management && !reads_only
    });
    basic.or_else(|| advanced.then(|| "advanced selector".to_owned()))
}

/// Reads the trails that cover us-east-1 and judges them.
pub async fn check(aws: &SdkConfig) -> Verdict {
    let trails = client(aws, ORGANIZATIONS_REGION)
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeTrails in {ORGANIZATIONS_REGION} failed ({}): allow cloudtrail:DescribeTrails, GetTrailStatus and GetEventSelectors to whoever runs the doctor",
                aws_error::one_line(&e)
            )
        })?;
    let mut states = Vec::new();
    for trail in trails.trail_list() {
        let state = read(aws, trail).await;
        let good = state.qualifies();
        states.push(state);
        if good {
            break;
        }
    }
    verdict(&states)
}

async fn read(aws: &SdkConfig, trail: &Trail) -> TrailState {
    let name = trail.name().unwrap_or("(unnamed)").to_owned();
    let home_region = trail
        .home_region()
        .unwrap_or(ORGANIZATIONS_REGION)
        .to_owned();
    let mut state = TrailState {
        name: name.clone(),
        multi_region: trail.is_multi_region_trail().unwrap_or(false),
        logging: false,
        management: None,
        unreadable: None,
        home_region,
    };
    let id = trail.trail_arn().unwrap_or(&name).to_owned();
    let client = client(aws, &state.home_region);
    match client.get_trail_status().name(&id).send().await {
        Ok(status) => state.logging = status.is_logging().unwrap_or(false),
        Err(e) => {
            state.unreadable = Some(format!(
                "GetTrailStatus failed ({})",
                aws_error::one_line(&e)
            ));
            return state;
        }
    }
    match client.get_event_selectors().trail_name(&id).send().await {
        Ok(selectors) => state.management = management_events(&selectors),
        Err(e) => {
            state.unreadable = Some(format!(
                "GetEventSelectors failed ({})",
                aws_error::one_line(&e)
            ))
        }
    }
    state
}

fn client(aws: &SdkConfig, region: &str) -> aws_sdk_cloudtrail::Client {
    let config = aws_sdk_cloudtrail::config::Builder::from(aws)
        .region(Region::new(region.to_owned()))
        .build();
    aws_sdk_cloudtrail::Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector, EventSelector};

    use super::*;

    fn trail(name: &str) -> TrailState {
        TrailState {
            name: name.into(),
            home_region: "us-east-1".into(),
            multi_region: false,
            logging: true,
            management: Some("All".into()),
            unreadable: None,
        }
    }

    #[test]
    fn a_logging_trail_of_management_events_in_us_east_1_is_ok() {
        let verdict = verdict(&[trail("org-onboarding")]).unwrap();
        assert_eq!(
            verdict,
            "org-onboarding is logging management events (All) and covers us-east-1 (home region us-east-1)"
        );
    }

    #[test]
    fn a_multi_region_trail_from_elsewhere_covers_us_east_1() {
        let shadow = TrailState {
            home_region: "eu-west-1".into(),
            multi_region: true,
            ..trail("everywhere")
        };
        assert!(verdict(&[shadow]).is_ok());
    }

    #[test]
    fn no_trail_fails_with_how_to_create_one() {
        let fix = verdict(&[]).unwrap_err();
        assert!(fix.contains("(the account has no trail)"), "{fix}");
        assert!(fix.contains("us-east-1"), "{fix}");
        assert!(
            fix.contains("aws cloudtrail create-trail --name org-onboarding --s3-bucket-name BUCKET --is-multi-region-trail"),
            "{fix}"
        );
        assert!(fix.contains("start-logging"), "{fix}");
    }

    #[test]
    fn each_trail_that_falls_short_is_named_with_why() {
        let stopped = TrailState {
            logging: false,
            ..trail("stopped")
        };
        let reads = TrailState {
            management: None,
            ..trail("reads")
        };
        let fix = verdict(&[stopped, reads]).unwrap_err();
        assert!(fix.contains("trail stopped is not logging"), "{fix}");
        assert!(
            fix.contains("trail reads records no management write events"),
            "{fix}"
        );
    }

    fn selectors(
        basic: Vec<EventSelector>,
        advanced: Vec<AdvancedEventSelector>,
    ) -> GetEventSelectorsOutput {
        GetEventSelectorsOutput::builder()
            .set_event_selectors(Some(basic))
            .set_advanced_event_selectors(Some(advanced))
            .build()
    }

    fn field(name: &str, value: &str) -> AdvancedFieldSelector {
        AdvancedFieldSelector::builder()
            .field(name)
            .equals(value)
            .build()
            .unwrap()
    }

    #[test]
    fn read_only_selectors_record_no_organizations_events() {
        let read_only = EventSelector::builder()
            .read_write_type(ReadWriteType::ReadOnly)
            .include_management_events(true)
            .build();
        assert_eq!(management_events(&selectors(vec![read_only], vec![])), None);
        let write_only = EventSelector::builder()
            .read_write_type(ReadWriteType::WriteOnly)
            .build();
        assert_eq!(
            management_events(&selectors(vec![write_only], vec![])).as_deref(),
            Some("WriteOnly")
        );
    }

    #[test]
    fn an_advanced_selector_of_management_events_counts() {
        let management = AdvancedEventSelector::builder()
            .field_selectors(field("eventCategory", "Management"))
            .build()
            .unwrap();
        assert_eq!(
            management_events(&selectors(vec![], vec![management])).as_deref(),
            Some("advanced selector")
        );
        let reads = AdvancedEventSelector::builder()
            .field_selectors(field("eventCategory", "Management"))
            .field_selectors(field("readOnly", "true"))
            .build()
            .unwrap();
        assert_eq!(management_events(&selectors(vec![], vec![reads])), None);
    }
}
