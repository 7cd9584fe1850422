//! One module per resource: the logic behind a route group, called by thin handlers in
//! `functions/<group>`. Services see only ports (through `AppState`), never an adapter.

pub mod agents;
pub mod answer;
pub mod audio;
pub mod auth;
pub mod chats;
pub mod chunks;
pub mod completion;
pub mod dataset_tasks;
pub mod datasets;
pub mod dify;
pub mod documents;
pub mod files;
pub mod graphrag;
pub mod memories;
pub mod metadata_filter;
pub mod openai_compat;
pub mod raptor;
pub mod retrieval;
pub mod saved_filter;
pub mod searches;
pub mod sessions;
pub mod sessions_v027;
pub mod source;
pub mod system;
pub mod task_checkpoint;
