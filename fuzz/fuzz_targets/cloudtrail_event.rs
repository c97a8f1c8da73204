#![no_main]
//! See `onboarding_fuzz::cloudtrail_event`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| onboarding_fuzz::cloudtrail_event(data));
