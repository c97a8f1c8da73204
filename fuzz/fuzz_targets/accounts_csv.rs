#![no_main]
//! See `onboarding_fuzz::accounts_csv`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| onboarding_fuzz::accounts_csv(data));
