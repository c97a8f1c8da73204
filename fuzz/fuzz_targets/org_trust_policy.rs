#![no_main]
//! See `onboarding_fuzz::org_trust_policy`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| onboarding_fuzz::org_trust_policy(data));
