//! `enroll --file`: an `account_id,role[,ou,tags]` CSV as spreadsheets export it, read
//! with the `csv` crate: a UTF-8 byte-order mark, quoted fields, CRLF line ends, a header
//! line (or none), blank lines and surrounding spaces are all fine. `ou` is the account's
//! own OU (replacing `--ou`), `tags` its own `KEY=VALUE` tags separated by `;` (added to
//! `--tag`). An enrollment has one management account: a second `management` line (or one
//! beside `--management` naming another account) is an error naming both, never one kept.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use onboarding::domain::{parse_tag, AccountId, AccountPlacement, Enrollment, OuRef};

/// Adds the file's accounts to `enrollment`; errors name the file and line.
pub fn read_into(path: &Path, enrollment: &mut Enrollment) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    read_bytes_into(&bytes, path, enrollment)
}

/// Adds the accounts of a file's `bytes` to `enrollment`; errors name `path` and the line.
/// (The fuzz target `accounts_csv` feeds it arbitrary bytes.)
pub fn read_bytes_into(bytes: &[u8], path: &Path, enrollment: &mut Enrollment) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(strip_bom(bytes));
    for row in reader.records() {
        let row = row.with_context(|| format!("reading {}", path.display()))?;
        let line = row.position().map_or(0, |p| p.line());
        let at = || format!("{}:{line}", path.display());
        let first = row.get(0).unwrap_or_default();
        if first.is_empty() || first.eq_ignore_ascii_case("account_id") {
            continue;
        }
        let id = AccountId::parse(first).with_context(at)?;
        match row.get(1).filter(|r| !r.is_empty()).unwrap_or("standalone") {
            "management" => match &enrollment.management_account {
                Some(other) if *other != id => bail!(
                    "{}: a second management account, {id}, besides {other}: an enrollment has one; put each organization in an enrollment of its own",
                    at()
                ),
                _ => enrollment.management_account = Some(id.clone()),
            },
            "member" => enrollment.members.push(id.clone()),
            "standalone" => enrollment.standalone_accounts.push(id.clone()),
            other => bail!(
                "{}: unknown role {other:?} (management, member or standalone)",
                at()
            ),
        }
        let own = AccountPlacement {
            ou: row
                .get(2)
                .filter(|ou| !ou.is_empty())
                .map(OuRef::parse)
                .transpose()
                .with_context(at)?,
            tags: row
                .get(3)
                .unwrap_or_default()
                .split(';')
                .filter(|tag| !tag.trim().is_empty())
                .map(parse_tag)
                .collect::<Result<_, _>>()
                .with_context(at)?,
        };
        if own != AccountPlacement::default() {
            enrollment.placement.per_account.insert(id, own);
        }
    }
    Ok(())
}

/// Excel and other spreadsheets start UTF-8 CSV with a byte-order mark; the `csv` crate
/// reads it as part of the first field.
fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The enrollment a file of `text` makes, for tests.
#[cfg(test)]
fn enrollment_of(text: &[u8]) -> Result<Enrollment> {
    use onboarding::domain::{EnrollmentName, TransferMode};
    let dir = std::env::temp_dir().join(format!("accounts-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.csv", fastrand_name(text)));
    std::fs::write(&path, text)?;
    let mut enrollment = Enrollment {
        name: EnrollmentName::parse("acme")?,
        transfer_mode: TransferMode::Standalone,
        management_account: None,
        members: Vec::new(),
        standalone_accounts: Vec::new(),
        placement: Default::default(),
    };
    read_into(&path, &mut enrollment)?;
    Ok(enrollment)
}

/// The ids of the parsed file, for tests.
#[cfg(test)]
fn ids(text: &[u8]) -> Result<Vec<AccountId>> {
    let enrollment = enrollment_of(text)?;
    let mut ids: Vec<AccountId> = enrollment.management_account.into_iter().collect();
    ids.extend(enrollment.members);
    ids.extend(enrollment.standalone_accounts);
    Ok(ids)
}

#[cfg(test)]
fn fastrand_name(text: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    format!("{:x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::ids;

    #[test]
    fn a_spreadsheet_export_with_a_byte_order_mark_and_crlf_enrolls() {
        let text = b"\xEF\xBB\xBFaccount_id,role\r\n222222222222,management\r\n\"333333333333\", member \r\n\r\n555555555555,standalone\r\n";
        let ids = ids(text).unwrap();
        let ids: Vec<&str> = ids.iter().map(|a| a.as_str()).collect();
        assert_eq!(ids, ["222222222222", "333333333333", "555555555555"]);
    }

    #[test]
    fn a_file_without_header_or_role_enrolls_standalone_accounts() {
        assert_eq!(ids(b"555555555555\n666666666666\n").unwrap().len(), 2);
    }

    #[test]
    fn an_account_may_name_its_own_ou_and_tags() {
        let text = b"account_id,role,ou,tags\n555555555555,standalone,Customers/Acme,team=data;tier=gold\n666666666666,standalone,,\n";
        let enrollment = super::enrollment_of(text).unwrap();
        let own = &enrollment.placement.per_account;
        assert_eq!(
            own.len(),
            1,
            "the account without its own OU or tags has none"
        );
        let acme = own.values().next().unwrap();
        assert_eq!(acme.ou.as_ref().unwrap().to_string(), "Customers/Acme");
        assert_eq!(acme.tags.len(), 2);
        assert_eq!(acme.tags["tier"], "gold");
        let error = super::enrollment_of(b"555555555555,standalone,,team\n").unwrap_err();
        assert!(
            format!("{error:#}").contains(":1: invalid tag"),
            "{error:#}"
        );
    }

    #[test]
    fn two_management_accounts_in_one_file_are_an_error_naming_both() {
        let text = b"account_id,role\n222222222222,management\n333333333333,member\n444444444444,management\n";
        let error = ids(text).unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains(":4: a second management account, 444444444444, besides 222222222222"),
            "{message}"
        );
    }

    #[test]
    fn a_bad_line_is_named_with_its_line_number() {
        let error = ids(b"account_id,role\n222222222222,boss\n").unwrap_err();
        assert!(
            format!("{error:#}").contains(":2: unknown role \"boss\""),
            "{error:#}"
        );
    }
}
