//! The agent-store conformance suite. Every adapter's tests call `run_all` on a fresh, empty
//! store; a failure panics with the rule that was broken.
//!
//! Session ids are only ever checked for uniqueness within one agent: inserting a session id
//! a second time under the same agent is a `Conflict` everywhere, while the same id under
//! another agent of the tenant is left to the adapter (ids are fresh random ids, so the
//! service never produces that case).

use serde_json::{json, Value};

use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::ports::agent::{AgentCanvas, AgentSession, AgentStore};

pub async fn run_all(store: &dyn AgentStore) {
    agent_round_trip(store).await;
    agent_updates(store).await;
    agent_listing_and_delete(store).await;
    session_round_trip(store).await;
    session_updates(store).await;
    session_listing_and_delete(store).await;
    long_session(store).await;
    isolation(store).await;
}

/// A canvas DSL with nesting, unicode, nulls and floats that must survive serialization.
fn sample_dsl() -> Value {
    json!({
        "components": {
            "begin": {
                "obj": {
                    "component_name": "Begin",
                    "params": {"prologue": "Hi! I'm your assistant. ü 你好 🤖", "mode": "conversational"}
                },
                "downstream": ["Agent:Hello"],
                "upstream": []
            },
            "Agent:Hello": {
                "obj": {
                    "component_name": "Agent",
                    "params": {
                        "llm_id": "extractive-answerer@Builtin",
                        "temperature": 0.1234567890123,
                        "top_p": 0.3,
                        "max_tokens": 256,
                        "tools": [],
                        "sys_prompt": "Line one\nLine \"two\"\t\\ end",
                        "empty": null
                    }
                },
                "downstream": [],
                "upstream": ["begin"]
            }
        },
        "globals": {"sys.query": "", "sys.user_id": "", "sys.conversation_turns": 0, "sys.files": []},
        "graph": {"nodes": [{"id": "begin", "position": {"x": -12.5, "y": 1e-7}}], "edges": []},
        "history": [],
        "path": [],
        "retrieval": [],
        "variables": {}
    })
}

/// An agent canvas with every field set to something that must round-trip.
pub fn sample_agent(tenant_id: &str, title: &str) -> AgentCanvas {
    let now = now_ms();
    AgentCanvas {
        id: new_id(),
        tenant_id: tenant_id.into(),
        title: title.into(),
        description: Some("Answers questions. ü — «ok»".into()),
        avatar: Some("data:image/png;base64,AAAA".into()),
        canvas_type: Some("chatbot".into()),
        canvas_category: "agent_canvas".into(),
        permission: "me".into(),
        dsl: sample_dsl(),
        create_time: now,
        update_time: now,
    }
}

/// A session of `agent_id` with every field set to something that must round-trip.
pub fn sample_session(tenant_id: &str, agent_id: &str) -> AgentSession {
    let now = now_ms();
    let mut dsl = sample_dsl();
    dsl["history"] = json!([["user", "What is 1+1?"], ["assistant", "2"]]);
    dsl["path"] = json!(["begin", "Agent:Hello"]);
    AgentSession {
        id: new_id(),
        tenant_id: tenant_id.into(),
        agent_id: agent_id.into(),
        user_id: format!("user-of-{tenant_id}"),
        name: Some("What is 1+1? ü".into()),
        messages: vec![
            json!({"role": "assistant", "content": "Hi! I'm your assistant. ü"}),
            json!({"role": "user", "content": "What is 1+1?", "id": new_id(), "created_at": 1_700_000_000.123_456}),
            json!({"role": "assistant", "content": "2", "id": new_id(), "created_at": 1_700_000_001.5}),
        ],
        reference: vec![
            json!({"chunks": [{"id": "c1", "similarity": 0.1234567890123}], "doc_aggs": []}),
        ],
        dsl,
        tokens: 42,
        duration: 0.1234567890123,
        round: 1,
        thumb_up: 0,
        errors: Some("tool failed: «timeout»".into()),
        create_time: now,
        update_time: now,
    }
}

fn is_conflict<T>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

fn is_not_found<T>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NotFound(_)))
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn agent_round_trip(store: &dyn AgentStore) {
    let agent = sample_agent("a-rt", "Round trip");
    store.insert_agent(&agent).await.expect("insert agent");
    assert_eq!(
        store.get_agent("a-rt", &agent.id).await.expect("get agent"),
        Some(agent.clone()),
        "an agent round-trips exactly"
    );
    assert!(
        is_conflict(&store.insert_agent(&agent).await),
        "inserting an existing agent id is a Conflict"
    );
    assert_eq!(
        store.get_agent("a-rt", &agent.id).await.expect("get agent"),
        Some(agent.clone()),
        "a refused insert leaves the agent untouched"
    );
    assert_eq!(
        store.get_agent("a-rt", &new_id()).await.expect("get agent"),
        None,
        "an unknown agent id is None"
    );

    // Every optional field empty, and an empty DSL.
    let mut bare = sample_agent("a-rt", "Bare");
    bare.description = None;
    bare.avatar = None;
    bare.canvas_type = None;
    bare.permission = "team".into();
    bare.dsl = json!({});
    store.insert_agent(&bare).await.expect("insert bare agent");
    assert_eq!(
        store.get_agent("a-rt", &bare.id).await.expect("get agent"),
        Some(bare.clone()),
        "None fields stay None"
    );

    // Empty strings are not None.
    let mut empty = sample_agent("a-rt", "");
    empty.description = Some(String::new());
    empty.avatar = Some(String::new());
    empty.canvas_type = Some(String::new());
    store
        .insert_agent(&empty)
        .await
        .expect("insert empty agent");
    assert_eq!(
        store.get_agent("a-rt", &empty.id).await.expect("get agent"),
        Some(empty),
        "Some(\"\") stays Some(\"\")"
    );

    let mut twin = sample_agent("a-rt", "Round trip");
    twin.id = new_id();
    store
        .insert_agent(&twin)
        .await
        .expect("titles are not unique in the store (the service dedupes them)");
}

async fn agent_updates(store: &dyn AgentStore) {
    let mut agent = sample_agent("a-up", "Before");
    store.insert_agent(&agent).await.expect("insert agent");
    agent.title = "After ü".into();
    agent.description = None;
    agent.avatar = None;
    agent.canvas_type = Some("other".into());
    agent.permission = "team".into();
    agent.dsl["components"]["Agent:Hello"]["obj"]["params"]["temperature"] = json!(0.987654321);
    agent.dsl["globals"]["sys.conversation_turns"] = json!(3);
    agent.update_time += 1;
    store.update_agent(&agent).await.expect("update agent");
    assert_eq!(
        store.get_agent("a-up", &agent.id).await.expect("get agent"),
        Some(agent.clone()),
        "an update replaces the whole agent"
    );
    // Back to Some: an update that sets a field again is seen too.
    agent.description = Some("again".into());
    store.update_agent(&agent).await.expect("update agent");
    assert_eq!(
        store.get_agent("a-up", &agent.id).await.expect("get agent"),
        Some(agent.clone())
    );
    assert_eq!(store.list_agents("a-up").await.expect("list").len(), 1);

    let ghost = sample_agent("a-up", "Ghost");
    assert!(
        is_not_found(&store.update_agent(&ghost).await),
        "updating a missing agent is NotFound"
    );
    assert_eq!(
        store.get_agent("a-up", &ghost.id).await.expect("get agent"),
        None,
        "a refused update does not create the agent"
    );
}

async fn agent_listing_and_delete(store: &dyn AgentStore) {
    assert!(store.list_agents("a-ls").await.expect("list").is_empty());
    let mut agents = Vec::new();
    for i in 0..5 {
        let agent = sample_agent("a-ls", &format!("agent {i}"));
        store.insert_agent(&agent).await.expect("insert agent");
        agents.push(agent);
    }
    // Another tenant's agent never shows.
    store
        .insert_agent(&sample_agent("a-ls-other", "agent 0"))
        .await
        .expect("insert agent");
    let mut listed = store.list_agents("a-ls").await.expect("list");
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = agents.clone();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        listed, want,
        "the listing holds exactly the tenant's agents, whole"
    );

    // Deleting an agent leaves its sessions.
    let doomed = &agents[0];
    let session = sample_session("a-ls", &doomed.id);
    store
        .insert_agent_session(&session)
        .await
        .expect("insert session");
    assert!(store
        .delete_agent("a-ls", &doomed.id)
        .await
        .expect("delete"));
    assert!(
        !store
            .delete_agent("a-ls", &doomed.id)
            .await
            .expect("delete"),
        "a second delete reports false"
    );
    assert!(
        !store.delete_agent("a-ls", &new_id()).await.expect("delete"),
        "deleting an unknown agent reports false"
    );
    assert_eq!(
        store
            .get_agent("a-ls", &doomed.id)
            .await
            .expect("get agent"),
        None
    );
    assert_eq!(store.list_agents("a-ls").await.expect("list").len(), 4);
    assert_eq!(
        store
            .get_agent_session("a-ls", &doomed.id, &session.id)
            .await
            .expect("get session"),
        Some(session.clone()),
        "deleting an agent keeps its sessions"
    );
    assert_eq!(
        store
            .list_agent_sessions("a-ls", &doomed.id)
            .await
            .expect("list sessions"),
        vec![session]
    );
}

async fn session_round_trip(store: &dyn AgentStore) {
    let agent = sample_agent("s-rt", "Agent");
    store.insert_agent(&agent).await.expect("insert agent");
    let session = sample_session("s-rt", &agent.id);
    store
        .insert_agent_session(&session)
        .await
        .expect("insert session");
    assert_eq!(
        store
            .get_agent_session("s-rt", &agent.id, &session.id)
            .await
            .expect("get session"),
        Some(session.clone()),
        "a session round-trips exactly"
    );
    assert!(
        is_conflict(&store.insert_agent_session(&session).await),
        "inserting an existing session id is a Conflict"
    );
    let mut changed = session.clone();
    changed.name = Some("overwritten?".into());
    assert!(
        is_conflict(&store.insert_agent_session(&changed).await),
        "inserting an existing session id with other content is a Conflict"
    );
    assert_eq!(
        store
            .get_agent_session("s-rt", &agent.id, &session.id)
            .await
            .expect("get session"),
        Some(session.clone()),
        "a refused insert leaves the session untouched"
    );
    assert_eq!(
        store
            .get_agent_session("s-rt", &agent.id, &new_id())
            .await
            .expect("get session"),
        None,
        "an unknown session id is None"
    );
    assert_eq!(
        store
            .get_agent_session("s-rt", &new_id(), &session.id)
            .await
            .expect("get session"),
        None,
        "a session id under another agent id is not found"
    );

    // Every optional field empty, empty lists, negative and zero numbers.
    let mut bare = sample_session("s-rt", &agent.id);
    bare.name = None;
    bare.errors = None;
    bare.messages = Vec::new();
    bare.reference = Vec::new();
    bare.dsl = json!({});
    bare.tokens = 0;
    bare.duration = 0.0;
    bare.round = 0;
    bare.thumb_up = -1;
    store
        .insert_agent_session(&bare)
        .await
        .expect("insert bare session");
    assert_eq!(
        store
            .get_agent_session("s-rt", &agent.id, &bare.id)
            .await
            .expect("get session"),
        Some(bare),
        "None fields stay None, empty lists stay empty"
    );

    // A session may exist without a stored agent (the agent was deleted, or never stored).
    let orphan = sample_session("s-rt", &new_id());
    store
        .insert_agent_session(&orphan)
        .await
        .expect("insert orphan session");
    assert_eq!(
        store
            .get_agent_session("s-rt", &orphan.agent_id, &orphan.id)
            .await
            .expect("get session"),
        Some(orphan)
    );
}

async fn session_updates(store: &dyn AgentStore) {
    let agent = sample_agent("s-up", "Agent");
    store.insert_agent(&agent).await.expect("insert agent");
    let mut session = sample_session("s-up", &agent.id);
    store
        .insert_agent_session(&session)
        .await
        .expect("insert session");
    session
        .messages
        .push(json!({"role": "user", "content": "and 2+2? ü"}));
    session
        .messages
        .push(json!({"role": "assistant", "content": "4", "id": new_id()}));
    session
        .reference
        .push(json!({"chunks": [], "doc_aggs": [], "total": 0}));
    session.dsl["history"] = json!([
        ["user", "What is 1+1?"],
        ["assistant", "2"],
        ["user", "and 2+2? ü"],
        ["assistant", "4"]
    ]);
    session.name = None;
    session.errors = None;
    session.tokens += 17;
    session.duration = 3.456_789_012_345_678;
    session.round += 1;
    session.thumb_up = 1;
    session.update_time += 1;
    store
        .update_agent_session(&session)
        .await
        .expect("update session");
    assert_eq!(
        store
            .get_agent_session("s-up", &agent.id, &session.id)
            .await
            .expect("get session"),
        Some(session.clone()),
        "an update replaces the whole session"
    );
    assert_eq!(
        store
            .list_agent_sessions("s-up", &agent.id)
            .await
            .expect("list sessions")
            .len(),
        1
    );

    let ghost = sample_session("s-up", &agent.id);
    assert!(
        is_not_found(&store.update_agent_session(&ghost).await),
        "updating a missing session is NotFound"
    );
    assert_eq!(
        store
            .get_agent_session("s-up", &agent.id, &ghost.id)
            .await
            .expect("get session"),
        None,
        "a refused update does not create the session"
    );
    let mut elsewhere = session.clone();
    elsewhere.agent_id = new_id();
    assert!(
        is_not_found(&store.update_agent_session(&elsewhere).await),
        "updating a session under another agent id is NotFound"
    );
    assert_eq!(
        store
            .get_agent_session("s-up", &elsewhere.agent_id, &session.id)
            .await
            .expect("get session"),
        None,
        "a refused update does not create the session under the other agent"
    );
    assert_eq!(
        store
            .get_agent_session("s-up", &agent.id, &session.id)
            .await
            .expect("get session"),
        Some(session),
        "the original session is untouched"
    );
}

async fn session_listing_and_delete(store: &dyn AgentStore) {
    let agent = sample_agent("s-ls", "Agent");
    let other = sample_agent("s-ls", "Other agent");
    store.insert_agent(&agent).await.expect("insert agent");
    store.insert_agent(&other).await.expect("insert agent");
    assert!(store
        .list_agent_sessions("s-ls", &agent.id)
        .await
        .expect("list sessions")
        .is_empty());

    let mut sessions = Vec::new();
    for i in 0..5 {
        let mut session = sample_session("s-ls", &agent.id);
        session.name = Some(format!("session {i}"));
        store
            .insert_agent_session(&session)
            .await
            .expect("insert session");
        sessions.push(session);
    }
    let others: Vec<AgentSession> = (0..2).map(|_| sample_session("s-ls", &other.id)).collect();
    for s in &others {
        store.insert_agent_session(s).await.expect("insert session");
    }
    // Same agent id under another tenant.
    let foreign = sample_session("s-ls-other", &agent.id);
    store
        .insert_agent_session(&foreign)
        .await
        .expect("insert session");

    let mut listed = store
        .list_agent_sessions("s-ls", &agent.id)
        .await
        .expect("list sessions");
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = sessions.clone();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        listed, want,
        "the listing holds exactly the agent's sessions, whole"
    );
    assert_eq!(
        sorted(
            store
                .list_agent_sessions("s-ls", &other.id)
                .await
                .expect("list sessions")
                .into_iter()
                .map(|s| s.id)
                .collect()
        ),
        sorted(others.iter().map(|s| s.id.clone()).collect())
    );

    // Counts only ids that exist under this agent and tenant; repeats count once.
    let ids = vec![
        sessions[0].id.clone(),
        sessions[1].id.clone(),
        sessions[1].id.clone(),
        new_id(),
        others[0].id.clone(),
        foreign.id.clone(),
    ];
    assert_eq!(
        store
            .delete_agent_sessions("s-ls", &agent.id, &ids)
            .await
            .expect("delete sessions"),
        2,
        "only the agent's own existing sessions are counted"
    );
    assert_eq!(
        store
            .delete_agent_sessions("s-ls", &agent.id, &ids)
            .await
            .expect("delete sessions"),
        0,
        "a second delete finds nothing"
    );
    assert_eq!(
        store
            .delete_agent_sessions("s-ls", &agent.id, &[])
            .await
            .expect("delete sessions"),
        0,
        "deleting no ids is a no-op"
    );
    assert_eq!(
        sorted(
            store
                .list_agent_sessions("s-ls", &agent.id)
                .await
                .expect("list sessions")
                .into_iter()
                .map(|s| s.id)
                .collect()
        ),
        sorted(sessions[2..].iter().map(|s| s.id.clone()).collect()),
        "the named sessions are gone, the rest stay"
    );
    assert_eq!(
        store
            .get_agent_session("s-ls", &other.id, &others[0].id)
            .await
            .expect("get session"),
        Some(others[0].clone()),
        "another agent's session named in the delete stays"
    );
    assert_eq!(
        store
            .get_agent_session("s-ls-other", &agent.id, &foreign.id)
            .await
            .expect("get session"),
        Some(foreign),
        "another tenant's session named in the delete stays"
    );
    assert_eq!(
        store.list_agents("s-ls").await.expect("list").len(),
        2,
        "deleting sessions leaves the agents"
    );
}

/// A session whose history grew over many turns (about 150 KB) still round-trips.
async fn long_session(store: &dyn AgentStore) {
    let mut session = sample_session("s-long", &new_id());
    store
        .insert_agent_session(&session)
        .await
        .expect("insert session");
    let answer = "Lorem ipsum dolor sit amet, ü 你好. ".repeat(20);
    for turn in 0..200 {
        session
            .messages
            .push(json!({"role": "user", "content": format!("question {turn}")}));
        session
            .messages
            .push(json!({"role": "assistant", "content": answer, "id": new_id()}));
        session
            .reference
            .push(json!({"chunks": [{"similarity": 0.1234567890123}], "doc_aggs": []}));
    }
    session.round = 200;
    store
        .update_agent_session(&session)
        .await
        .expect("a session with a long history can be stored");
    assert_eq!(
        store
            .get_agent_session("s-long", &session.agent_id, &session.id)
            .await
            .expect("get session"),
        Some(session),
        "a long session round-trips exactly"
    );
}

async fn isolation(store: &dyn AgentStore) {
    let mine = sample_agent("iso-a", "Mine");
    store.insert_agent(&mine).await.expect("insert agent");
    let my_session = sample_session("iso-a", &mine.id);
    store
        .insert_agent_session(&my_session)
        .await
        .expect("insert session");

    // Agents.
    assert_eq!(
        store.get_agent("iso-b", &mine.id).await.expect("get agent"),
        None,
        "another tenant cannot read an agent"
    );
    assert!(
        store.list_agents("iso-b").await.expect("list").is_empty(),
        "another tenant cannot list an agent"
    );
    let mut theirs = mine.clone();
    theirs.tenant_id = "iso-b".into();
    theirs.title = "Stolen".into();
    assert!(
        is_not_found(&store.update_agent(&theirs).await),
        "another tenant cannot overwrite an agent"
    );
    assert!(
        !store.delete_agent("iso-b", &mine.id).await.expect("delete"),
        "another tenant cannot delete an agent"
    );
    assert_eq!(
        store.get_agent("iso-b", &mine.id).await.expect("get agent"),
        None,
        "refused writes create nothing for the other tenant"
    );

    // Sessions.
    assert_eq!(
        store
            .get_agent_session("iso-b", &mine.id, &my_session.id)
            .await
            .expect("get session"),
        None,
        "another tenant cannot read a session"
    );
    assert!(
        store
            .list_agent_sessions("iso-b", &mine.id)
            .await
            .expect("list sessions")
            .is_empty(),
        "another tenant cannot list a session"
    );
    let mut stolen = my_session.clone();
    stolen.tenant_id = "iso-b".into();
    stolen.name = Some("Stolen".into());
    assert!(
        is_not_found(&store.update_agent_session(&stolen).await),
        "another tenant cannot overwrite a session"
    );
    assert_eq!(
        store
            .delete_agent_sessions("iso-b", &mine.id, std::slice::from_ref(&my_session.id))
            .await
            .expect("delete sessions"),
        0,
        "another tenant cannot delete a session"
    );
    assert_eq!(
        store
            .get_agent_session("iso-b", &mine.id, &my_session.id)
            .await
            .expect("get session"),
        None,
        "refused writes create nothing for the other tenant"
    );

    // Another agent id of the owner does not reach the session either.
    assert_eq!(
        store
            .delete_agent_sessions("iso-a", &new_id(), std::slice::from_ref(&my_session.id))
            .await
            .expect("delete sessions"),
        0,
        "a session is not deleted under another agent id"
    );

    // The owner's records are untouched.
    assert_eq!(
        store.get_agent("iso-a", &mine.id).await.expect("get agent"),
        Some(mine.clone())
    );
    assert_eq!(
        store
            .get_agent_session("iso-a", &mine.id, &my_session.id)
            .await
            .expect("get session"),
        Some(my_session.clone())
    );

    // The same ids under another tenant are separate records.
    let mut same_agent = sample_agent("iso-b", "Same id");
    same_agent.id = mine.id.clone();
    store
        .insert_agent(&same_agent)
        .await
        .expect("the same agent id under another tenant is no conflict");
    let mut same_session = sample_session("iso-b", &mine.id);
    same_session.id = my_session.id.clone();
    store
        .insert_agent_session(&same_session)
        .await
        .expect("the same session id under another tenant is no conflict");
    assert_eq!(
        store
            .delete_agent_sessions("iso-b", &mine.id, std::slice::from_ref(&my_session.id))
            .await
            .expect("delete sessions"),
        1
    );
    assert!(store.delete_agent("iso-b", &mine.id).await.expect("delete"));
    assert_eq!(
        store.get_agent("iso-a", &mine.id).await.expect("get agent"),
        Some(mine),
        "the other tenant's deletes leave the owner's agent"
    );
    assert_eq!(
        store
            .get_agent_session("iso-a", &my_session.agent_id, &my_session.id)
            .await
            .expect("get session"),
        Some(my_session),
        "the other tenant's deletes leave the owner's session"
    );
}
