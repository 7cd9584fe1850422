//! What the task queue carries. A queued task is one of several kinds, told apart by a
//! `kind` field; a body without `kind` is a parse task, so messages queued before kinds
//! existed (and parse tasks, which are still written without it) decode as they always did.
//! A new kind (GraphRAG, RAPTOR, ...) is one more variant here plus its arm in the workers'
//! dispatch.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::ParseTask;

/// Extract semantic / episodic / procedural memories from one raw message with the
/// memory's chat model. The message itself (not its text) is named: the text can be far
/// larger than a queue message may be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryTask {
    pub task_id: String,
    pub tenant_id: String,
    pub memory_id: String,
    /// The raw message to extract from.
    pub message_id: i64,
}

/// Build a dataset's RAPTOR summary tree. The task row (`DatasetTaskStore`) named by
/// `task_id` holds its progress; the dataset's current RAPTOR task must still be this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaptorTask {
    pub task_id: String,
    pub tenant_id: String,
    pub dataset_id: String,
}

/// Build a dataset's knowledge graph; like `RaptorTask`, its row holds the progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphragTask {
    pub task_id: String,
    pub tenant_id: String,
    pub dataset_id: String,
}

/// One unit of queued work.
#[derive(Debug, Clone, PartialEq)]
pub enum QueuedTask {
    Parse(ParseTask),
    Memory(MemoryTask),
    Raptor(RaptorTask),
    Graphrag(GraphragTask),
}

const KIND: &str = "kind";
const MEMORY_KIND: &str = "memory_extract";
const PARSE_KIND: &str = "parse";
const RAPTOR_KIND: &str = "raptor";
const GRAPHRAG_KIND: &str = "graphrag";

impl QueuedTask {
    /// The parse task, if this is one.
    pub fn as_parse(&self) -> Option<&ParseTask> {
        match self {
            QueuedTask::Parse(t) => Some(t),
            _ => None,
        }
    }

    /// The kind's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            QueuedTask::Parse(_) => PARSE_KIND,
            QueuedTask::Memory(_) => MEMORY_KIND,
            QueuedTask::Raptor(_) => RAPTOR_KIND,
            QueuedTask::Graphrag(_) => GRAPHRAG_KIND,
        }
    }
}

impl From<ParseTask> for QueuedTask {
    fn from(t: ParseTask) -> Self {
        QueuedTask::Parse(t)
    }
}

impl From<MemoryTask> for QueuedTask {
    fn from(t: MemoryTask) -> Self {
        QueuedTask::Memory(t)
    }
}

impl From<RaptorTask> for QueuedTask {
    fn from(t: RaptorTask) -> Self {
        QueuedTask::Raptor(t)
    }
}

/// A task's own fields plus its `kind`.
fn with_kind<T: Serialize, E: serde::ser::Error>(t: &T, kind: &str) -> Result<Value, E> {
    let mut v = serde_json::to_value(t).map_err(E::custom)?;
    if let Value::Object(m) = &mut v {
        m.insert(KIND.into(), Value::String(kind.into()));
    }
    Ok(v)
}

impl Serialize for QueuedTask {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // Exactly the old body: a worker that predates kinds still reads it.
            QueuedTask::Parse(t) => t.serialize(s),
            QueuedTask::Memory(t) => with_kind::<_, S::Error>(t, MEMORY_KIND)?.serialize(s),
            QueuedTask::Raptor(t) => with_kind::<_, S::Error>(t, RAPTOR_KIND)?.serialize(s),
            QueuedTask::Graphrag(t) => with_kind::<_, S::Error>(t, GRAPHRAG_KIND)?.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for QueuedTask {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let kind = v.get(KIND).and_then(Value::as_str).unwrap_or(PARSE_KIND);
        match kind {
            PARSE_KIND => serde_json::from_value(v)
                .map(QueuedTask::Parse)
                .map_err(serde::de::Error::custom),
            MEMORY_KIND => serde_json::from_value(v)
                .map(QueuedTask::Memory)
                .map_err(serde::de::Error::custom),
            RAPTOR_KIND => serde_json::from_value(v)
                .map(QueuedTask::Raptor)
                .map_err(serde::de::Error::custom),
            GRAPHRAG_KIND => serde_json::from_value(v)
                .map(QueuedTask::Graphrag)
                .map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!(
                "unknown task kind '{other}'"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_task() -> ParseTask {
        ParseTask {
            task_id: "t1".into(),
            tenant_id: "ten".into(),
            dataset_id: "ds".into(),
            document_id: "doc".into(),
            generation: 3,
        }
    }

    #[test]
    fn a_body_without_kind_is_a_parse_task() {
        let old = r#"{"task_id":"t1","tenant_id":"ten","dataset_id":"ds","document_id":"doc","generation":3}"#;
        let t: QueuedTask = serde_json::from_str(old).expect("decodes");
        assert_eq!(t, QueuedTask::Parse(parse_task()));
        // and parse tasks are still written without a kind
        assert_eq!(
            serde_json::to_string(&QueuedTask::Parse(parse_task())).expect("encodes"),
            old
        );
    }

    #[test]
    fn memory_tasks_round_trip_with_their_kind() {
        let t = QueuedTask::Memory(MemoryTask {
            task_id: "x".into(),
            tenant_id: "ten".into(),
            memory_id: "m".into(),
            message_id: 7,
        });
        let body = serde_json::to_string(&t).expect("encodes");
        assert!(body.contains(r#""kind":"memory_extract""#));
        assert_eq!(
            serde_json::from_str::<QueuedTask>(&body).expect("decodes"),
            t
        );
        // an old worker reading it as a parse task fails to decode (fields missing) rather
        // than parsing something
        assert!(serde_json::from_str::<ParseTask>(&body).is_err());
    }

    #[test]
    fn raptor_tasks_round_trip_with_their_kind() {
        let t = QueuedTask::Raptor(RaptorTask {
            task_id: "x".into(),
            tenant_id: "ten".into(),
            dataset_id: "ds".into(),
        });
        let body = serde_json::to_string(&t).expect("encodes");
        assert!(body.contains(r#""kind":"raptor""#));
        assert_eq!(
            serde_json::from_str::<QueuedTask>(&body).expect("decodes"),
            t
        );
        assert_eq!(t.kind(), "raptor");
        assert!(serde_json::from_str::<ParseTask>(&body).is_err());
    }

    #[test]
    fn unknown_kinds_and_bad_bodies_are_errors() {
        assert!(serde_json::from_str::<QueuedTask>(r#"{"kind":"graphrag"}"#).is_err());
        assert!(serde_json::from_str::<QueuedTask>(r#"{"kind":"parse"}"#).is_err());
        assert!(serde_json::from_str::<QueuedTask>("[1]").is_err());
    }
}
