//! Storage for rules and automation: the `AutomationTx` port.

use weft_runtime::automation::ports::AutomationTx;

use crate::tx::SeaTx;

impl AutomationTx for SeaTx {}
