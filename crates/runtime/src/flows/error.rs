//! The workflows and business calendars service's own failure kinds (see [`crate::error`]).

use crate::Error;
#[allow(unused_imports)]
use crate::error::{Class, ErrorKinds, Named, named};

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl ErrorKinds for FlowError {
    fn named(&self) -> Option<Named> {
        match self {
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(FlowError);
