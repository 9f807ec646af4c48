//! Cross-crate story tests live in tests/stories.
