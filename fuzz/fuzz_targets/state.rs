//! state.json bytes through the reader `state`, `delete` and the others
//! use, and what they derive from a state without system calls; and
//! /proc/PID/stat text through its parser: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runr::container::state;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = state::parse(data) {
        let _ = serde_json::to_string(&s.public(state::Status::Created));
        let _ = s.hook_state("running");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = state::parse_stat(text);
    }
});
