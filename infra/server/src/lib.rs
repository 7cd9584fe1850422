//! The embedded all-in-one server: every function group's router mounted in one process,
//! plus the web console at `/` (embedded deployment only; the Lambdas do not serve it).

use axum::Router;
use lambdarag::contract::http::{finish, App};
use lambdarag::AppState;

/// Every group's routes on one state, finished with the contract's edge behaviour.
pub fn app(state: AppState) -> App {
    finish(routes(state))
}

/// The unfinished routes (for callers that add layers of their own).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .merge(fn_datasets::router(state.clone()))
        .merge(fn_documents::router(state.clone()))
        .merge(fn_chunks::router(state.clone()))
        .merge(fn_retrieval::router(state.clone()))
        .merge(fn_dify::router(state.clone()))
        .merge(fn_chats::router(state.clone()))
        .merge(fn_sessions::router(state.clone()))
        .merge(fn_openai::router(state.clone()))
        .merge(fn_memories::router(state.clone()))
        .merge(fn_files::router(state.clone()))
        .merge(fn_searches::router(state.clone()))
        .merge(fn_agents::router(state.clone()))
        .merge(fn_system::router(state))
        .merge(lambdarag_console::router())
        .layer(axum::extract::DefaultBodyLimit::max(
            fn_documents::MAX_FILE_BYTES,
        ))
}
