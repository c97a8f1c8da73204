//! `make notification-rules`: writes template.yaml's generated blocks (the e-mail rules
//! and the lists of their ARNs) from `onboarding::notifications::email`.

use anyhow::Context;
use onboarding::notifications::email::template_blocks;
use onboarding_e2e::template::replace_generated_blocks;

fn main() -> anyhow::Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let mut text = std::fs::read_to_string(path).context("reading template.yaml")?;
    for (name, generated) in template_blocks() {
        text = replace_generated_blocks(&text, name, &generated);
    }
    std::fs::write(path, text).context("writing template.yaml")?;
    println!("template.yaml: notification e-mail rules written");
    Ok(())
}
