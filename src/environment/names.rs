//! Docker object names and option-file groups of a world: injective by construction.
//!
//! Environment names are restricted to `[a-z0-9_-]` (see `config::validate_env`); world names
//! come from file names and may hold anything, so they are escaped into `[a-z0-9_-]`:
//! lowercase letters, digits and `-` stay, `_` becomes `__`, every other byte (capitals too,
//! since option-file groups ignore case) becomes `_xx` (hex).
//! The parts are joined with `.`, which neither side can contain, so no two (env, world)
//! pairs share a container, volume or option-file group.

/// The longest escaped world name accepted (Docker names and option-file groups stay short).
pub const MAX_WORLD_KEY: usize = 100;

/// The world's name as it appears in Docker names and option-file groups.
pub fn world_key(world: &str) -> String {
    let mut out = String::with_capacity(world.len());
    for b in world.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' => out.push(b as char),
            b'_' => out.push_str("__"),
            other => out.push_str(&format!("_{other:02x}")),
        }
    }
    out
}

pub fn container_name(env: &str, world: &str) -> String {
    format!("worlds.{env}.{}", world_key(world))
}

pub fn volume_name(env: &str, world: &str) -> String {
    format!("worlds.{env}.{}.data", world_key(world))
}

/// The suffix of the world's groups in the option file: `--defaults-group-suffix=_<key>`.
pub fn group_suffix(world: &str) -> String {
    format!("_{}", world_key(world))
}

/// Why a host name cannot be a world, if it cannot.
pub fn unrepresentable(world: &str) -> Option<String> {
    if world.is_empty() {
        return Some("the host name is empty".to_string());
    }
    if world.chars().any(char::is_control) {
        return Some("the host name holds control characters".to_string());
    }
    let key = world_key(world);
    if key.len() > MAX_WORLD_KEY {
        return Some(format!(
            "the host name is too long ({} characters once escaped for Docker; at most {MAX_WORLD_KEY})",
            key.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_names_stay_readable() {
        assert_eq!(container_name("default", "host1"), "worlds.default.host1");
        assert_eq!(volume_name("eu-west", "host1"), "worlds.eu-west.host1.data");
        assert_eq!(group_suffix("host1"), "_host1");
    }

    #[test]
    fn names_that_used_to_collide_are_distinct() {
        assert_ne!(
            container_name("eu", "west-host1"),
            container_name("eu-west", "host1")
        );
        assert_ne!(world_key("eu west"), world_key("eu-west"));
        assert_ne!(world_key("host_1"), world_key("host1"));
        assert_ne!(world_key("a_2d"), world_key("a-"));
        assert_eq!(world_key("a]b"), "a_5db");
        assert_eq!(world_key("é"), "_c3_a9");
        // Option-file groups ignore case: `Host1` and `host1` must not share one.
        assert_ne!(
            world_key("Host1").to_ascii_lowercase(),
            world_key("host1").to_ascii_lowercase()
        );
    }

    #[test]
    fn unrepresentable_hosts_have_a_reason() {
        assert!(unrepresentable("host1").is_none());
        assert!(unrepresentable("eu west]").is_none());
        assert!(unrepresentable("bad\x1bname").is_some());
        assert!(unrepresentable(&"x".repeat(101)).is_some());
        assert!(unrepresentable("").is_some());
    }

    proptest! {
        #[test]
        fn world_keys_are_injective_and_docker_safe(a in ".{0,12}", b in ".{0,12}") {
            let (ka, kb) = (world_key(&a), world_key(&b));
            prop_assert!(ka.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-'));
            if a != b {
                prop_assert_ne!(ka.to_ascii_lowercase(), kb.to_ascii_lowercase());
            }
        }
    }
}
