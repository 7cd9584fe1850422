//! What a handler can reach: the ports, chosen at start-up by the deployment.

use std::sync::Arc;

use crate::ports::MetadataStore;

#[derive(Clone)]
pub struct AppState {
    pub meta: Arc<dyn MetadataStore>,
}

impl AppState {
    pub fn new(meta: Arc<dyn MetadataStore>) -> Self {
        AppState { meta }
    }
}
