//! Agents on the SQLite metadata store: one row per canvas and one per session, the record
//! as JSON.
//!
//! A session's key is (tenant, agent, id), as on DynamoDB (a partition per agent): a session
//! is found only under its own agent, and a listing reads the agent's key range.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use lambdarag::ports::agent::{AgentCanvas, AgentSession, AgentStore};
use lambdarag::StoreError;

use crate::sqlite::{backend, decode, is_unique_violation, SqliteStore};
use crate::sqlite_records::RecordTable;

/// Created by `SqliteStore::init` (`IF NOT EXISTS`: older data dirs gain the tables).
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS agent_canvases (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS agent_sessions (
    tenant_id   TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, agent_id, id)
);
"#;

fn conflict_or_backend(e: rusqlite::Error, what: String) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(format!("{what} already exists"))
    } else {
        backend(e)
    }
}

const AGENT_CANVASES: RecordTable = RecordTable {
    table: "agent_canvases",
    what: "agent",
};

#[async_trait]
impl AgentStore for SqliteStore {
    async fn insert_agent(&self, agent: &AgentCanvas) -> Result<(), StoreError> {
        AGENT_CANVASES
            .insert(self, &agent.tenant_id, &agent.id, agent)
            .await
    }

    async fn get_agent(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<AgentCanvas>, StoreError> {
        AGENT_CANVASES.get(self, tenant_id, id).await
    }

    async fn list_agents(&self, tenant_id: &str) -> Result<Vec<AgentCanvas>, StoreError> {
        AGENT_CANVASES.list(self, tenant_id).await
    }

    async fn update_agent(&self, agent: &AgentCanvas) -> Result<(), StoreError> {
        AGENT_CANVASES
            .update(self, &agent.tenant_id, &agent.id, agent)
            .await
    }

    async fn delete_agent(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        AGENT_CANVASES.delete(self, tenant_id, id).await
    }

    async fn insert_agent_session(&self, session: &AgentSession) -> Result<(), StoreError> {
        let body = serde_json::to_string(session)?;
        let (t, a, id) = (
            session.tenant_id.clone(),
            session.agent_id.clone(),
            session.id.clone(),
        );
        self.with(move |c| {
            c.execute(
                "INSERT INTO agent_sessions (tenant_id, agent_id, id, body) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![t, a, id, body],
            )
            .map(|_| ())
            .map_err(|e| conflict_or_backend(e, format!("agent session {id}")))
        })
        .await
    }

    async fn get_agent_session(
        &self,
        tenant_id: &str,
        agent_id: &str,
        id: &str,
    ) -> Result<Option<AgentSession>, StoreError> {
        let (t, a, id) = (tenant_id.to_string(), agent_id.to_string(), id.to_string());
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM agent_sessions \
                     WHERE tenant_id = ?1 AND agent_id = ?2 AND id = ?3",
                    params![t, a, id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn list_agent_sessions(
        &self,
        tenant_id: &str,
        agent_id: &str,
    ) -> Result<Vec<AgentSession>, StoreError> {
        let (t, a) = (tenant_id.to_string(), agent_id.to_string());
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT body FROM agent_sessions WHERE tenant_id = ?1 AND agent_id = ?2")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![t, a], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(decode)).collect()
        })
        .await
    }

    async fn update_agent_session(&self, session: &AgentSession) -> Result<(), StoreError> {
        let body = serde_json::to_string(session)?;
        let (t, a, id) = (
            session.tenant_id.clone(),
            session.agent_id.clone(),
            session.id.clone(),
        );
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE agent_sessions SET body = ?4 \
                     WHERE tenant_id = ?1 AND agent_id = ?2 AND id = ?3",
                    params![t, a, id, body],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("agent session {id}")));
            }
            Ok(())
        })
        .await
    }

    async fn delete_agent_sessions(
        &self,
        tenant_id: &str,
        agent_id: &str,
        ids: &[String],
    ) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let (t, a, ids) = (tenant_id.to_string(), agent_id.to_string(), ids.to_vec());
        self.with(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let mut deleted = 0;
            {
                let mut stmt = tx
                    .prepare(
                        "DELETE FROM agent_sessions \
                         WHERE tenant_id = ?1 AND agent_id = ?2 AND id = ?3",
                    )
                    .map_err(backend)?;
                for id in &ids {
                    // A repeated id finds nothing the second time, so it counts once.
                    deleted += stmt.execute(params![t, a, id]).map_err(backend)?;
                }
            }
            tx.commit().map_err(backend)?;
            Ok(deleted)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambdarag::ports::conformance_agents::{sample_agent, sample_session};

    #[tokio::test]
    async fn sqlite_store_passes_the_agent_conformance_suite() {
        let store = SqliteStore::in_memory().expect("sqlite");
        lambdarag::ports::conformance_agents::run_all(&store).await;
    }

    #[tokio::test]
    async fn agents_and_sessions_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.sqlite3");
        let agent = sample_agent("t", "kept");
        let session = sample_session("t", &agent.id);
        {
            let store = SqliteStore::open(&path).expect("open");
            store.insert_agent(&agent).await.expect("insert agent");
            store
                .insert_agent_session(&session)
                .await
                .expect("insert session");
        }
        let again = SqliteStore::open(&path).expect("reopen");
        assert_eq!(
            again.get_agent("t", &agent.id).await.expect("get agent"),
            Some(agent.clone())
        );
        assert_eq!(
            again
                .get_agent_session("t", &agent.id, &session.id)
                .await
                .expect("get session"),
            Some(session.clone())
        );
        assert_eq!(
            again
                .list_agent_sessions("t", &agent.id)
                .await
                .expect("list"),
            vec![session]
        );
    }
}
