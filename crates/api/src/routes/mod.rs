pub mod auth;
pub mod automation;
pub mod data;
pub mod files;
pub mod flows;
pub mod meta;
pub mod org;
pub mod system;
