//! The metadata-store conformance suite. Every adapter's tests call `run_all` on a fresh,
//! empty store; a failure panics with the rule that was broken.

use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::domain::{
    ApiKeyRecord, ClientGeneration, Dataset, DatasetListQuery, DatasetOrder, ModelType,
    ProviderConfig, ProviderModel, Tenant,
};
use crate::ports::MetadataStore;

pub async fn run_all(store: &dyn MetadataStore) {
    tenants(store).await;
    api_keys(store).await;
    datasets(store).await;
    dataset_isolation(store).await;
}

fn tenant(name: &str) -> Tenant {
    Tenant {
        id: new_id(),
        name: name.into(),
        embd_id: "all-MiniLM-L6-v2@Builtin".into(),
        llm_id: "extractive-answerer@Builtin".into(),
        tts_id: String::new(),
        asr_id: String::new(),
        providers: vec![],
        create_time: now_ms(),
    }
}

pub fn sample_dataset(tenant_id: &str, name: &str) -> Dataset {
    let now = now_ms();
    Dataset {
        id: new_id(),
        avatar: None,
        tenant_id: tenant_id.into(),
        name: name.into(),
        language: "English".into(),
        description: Some("d".into()),
        embedding_model: "all-MiniLM-L6-v2@Builtin".into(),
        permission: "me".into(),
        created_by: tenant_id.into(),
        document_count: 0,
        token_num: 0,
        chunk_count: 0,
        similarity_threshold: 0.2,
        vector_similarity_weight: 0.3,
        chunk_method: "naive".into(),
        pipeline_id: None,
        parser_config: serde_json::json!({"chunk_token_num": 512, "nested": {"a": [1, 2]}}),
        pagerank: 0,
        graphrag_task_id: None,
        graphrag_task_finish_at: None,
        raptor_task_id: None,
        raptor_task_finish_at: None,
        mindmap_task_id: None,
        mindmap_task_finish_at: None,
        status: "1".into(),
        auto_metadata_config: None,
        create_time: now,
        update_time: now,
    }
}

async fn tenants(store: &dyn MetadataStore) {
    let mut t = tenant("alpha");
    store.create_tenant(&t).await.expect("create tenant");
    assert!(
        matches!(store.create_tenant(&t).await, Err(StoreError::Conflict(_))),
        "creating a tenant twice must conflict"
    );
    assert_eq!(store.get_tenant(&t.id).await.expect("get"), Some(t.clone()));
    assert_eq!(store.get_tenant(&new_id()).await.expect("get"), None);
    t.providers.push(ProviderConfig {
        factory: "OpenAI".into(),
        api_key: Some("sk-test".into()),
        base_url: Some("http://127.0.0.1:1/v1".into()),
        models: vec![ProviderModel {
            name: "text-embedding-3-small".into(),
            model_type: ModelType::Embedding,
        }],
    });
    t.embd_id = "text-embedding-3-small@OpenAI".into();
    store.update_tenant(&t).await.expect("update tenant");
    assert_eq!(store.get_tenant(&t.id).await.expect("get"), Some(t.clone()));
    let ghost = tenant("ghost");
    assert!(
        matches!(
            store.update_tenant(&ghost).await,
            Err(StoreError::NotFound(_))
        ),
        "updating a missing tenant must be NotFound"
    );
    let all = store.list_tenants().await.expect("list");
    assert!(all.iter().any(|x| x.id == t.id));
}

async fn api_keys(store: &dyn MetadataStore) {
    let a = tenant("keys-a");
    let b = tenant("keys-b");
    store.create_tenant(&a).await.expect("tenant a");
    store.create_tenant(&b).await.expect("tenant b");
    let rec = |t: &Tenant, n: u8| ApiKeyRecord {
        key_id: format!("{:016x}", n),
        hash: format!("{:064x}", n),
        tenant_id: t.id.clone(),
        hint: "ragflow-abc".into(),
        create_time: now_ms(),
        generation: ClientGeneration::Pinned,
    };
    let ka = rec(&a, 1);
    let ka2 = rec(&a, 2);
    let kb = rec(&b, 3);
    for k in [&ka, &ka2, &kb] {
        store.add_key(k).await.expect("add key");
    }
    assert_eq!(
        store.tenant_for_key_hash(&ka.hash).await.expect("lookup"),
        Some(a.id.clone())
    );
    assert_eq!(
        store.tenant_for_key_hash(&kb.hash).await.expect("lookup"),
        Some(b.id.clone())
    );
    assert_eq!(store.tenant_for_key_hash("00").await.expect("lookup"), None);
    // The client generation: pinned by default, set per key, only by the key's tenant.
    assert_eq!(
        store.key_for_hash(&ka.hash).await.expect("lookup"),
        Some(ka.clone())
    );
    assert_eq!(store.key_for_hash("00").await.expect("lookup"), None);
    assert!(!store
        .set_key_generation(&b.id, &ka.key_id, ClientGeneration::V027)
        .await
        .expect("set generation"));
    assert!(store
        .set_key_generation(&a.id, &ka.key_id, ClientGeneration::V027)
        .await
        .expect("set generation"));
    let got = store.key_for_hash(&ka.hash).await.expect("lookup");
    assert_eq!(got.map(|k| k.generation), Some(ClientGeneration::V027));
    let listed_gen: Vec<ClientGeneration> = store
        .list_keys(&a.id)
        .await
        .expect("list")
        .into_iter()
        .filter(|k| k.key_id == ka.key_id)
        .map(|k| k.generation)
        .collect();
    assert_eq!(listed_gen, vec![ClientGeneration::V027]);
    assert_eq!(
        store
            .key_for_hash(&ka2.hash)
            .await
            .expect("lookup")
            .map(|k| k.generation),
        Some(ClientGeneration::Pinned),
        "other keys of the tenant keep their setting"
    );
    assert_eq!(
        store.tenant_for_key_hash(&ka.hash).await.expect("lookup"),
        Some(a.id.clone())
    );
    let mut listed: Vec<String> = store
        .list_keys(&a.id)
        .await
        .expect("list")
        .into_iter()
        .map(|k| k.key_id)
        .collect();
    listed.sort();
    assert_eq!(listed, vec![ka.key_id.clone(), ka2.key_id.clone()]);
    // Tenant B cannot revoke tenant A's key.
    assert!(!store.revoke_key(&b.id, &ka.key_id).await.expect("revoke"));
    assert!(store
        .tenant_for_key_hash(&ka.hash)
        .await
        .expect("x")
        .is_some());
    assert!(store.revoke_key(&a.id, &ka.key_id).await.expect("revoke"));
    assert_eq!(store.tenant_for_key_hash(&ka.hash).await.expect("x"), None);
    assert!(!store
        .revoke_key(&a.id, &ka.key_id)
        .await
        .expect("revoke twice"));
    assert_eq!(store.list_keys(&a.id).await.expect("list").len(), 1);
}

fn query() -> DatasetListQuery {
    DatasetListQuery {
        id: None,
        name: None,
        page: 1,
        page_size: 30,
        orderby: DatasetOrder::CreateTime,
        desc: true,
    }
}

async fn datasets(store: &dyn MetadataStore) {
    let t = tenant("ds");
    store.create_tenant(&t).await.expect("tenant");
    let d1 = sample_dataset(&t.id, "First");
    store.insert_dataset(&d1).await.expect("insert");
    assert_eq!(
        store.get_dataset(&t.id, &d1.id).await.expect("get"),
        Some(d1.clone()),
        "a dataset reads back exactly as written"
    );
    // Case-insensitive uniqueness.
    let dup = sample_dataset(&t.id, "FIRST");
    assert!(
        matches!(
            store.insert_dataset(&dup).await,
            Err(StoreError::Conflict(_))
        ),
        "a name differing only in case must conflict"
    );
    assert_eq!(
        store
            .find_dataset_by_name(&t.id, "first")
            .await
            .expect("find")
            .map(|d| d.id),
        Some(d1.id.clone())
    );
    let mut others = vec![];
    for i in 0..4 {
        let d = sample_dataset(&t.id, &format!("ds-{i}"));
        store.insert_dataset(&d).await.expect("insert");
        others.push(d);
    }
    let (page, total) = store.list_datasets(&t.id, &query()).await.expect("list");
    assert_eq!(total, 5);
    assert_eq!(page[0].id, others[3].id, "newest first by default");
    let mut q = query();
    q.desc = false;
    q.page = 2;
    q.page_size = 2;
    let (page, total) = store.list_datasets(&t.id, &q).await.expect("list");
    assert_eq!(total, 5);
    assert_eq!(
        page.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        vec![others[1].id.clone(), others[2].id.clone()]
    );
    let mut q = query();
    q.name = Some("ds-2".into());
    let (page, total) = store.list_datasets(&t.id, &q).await.expect("list");
    assert_eq!((page.len(), total), (1, 1));
    let mut q = query();
    q.id = Some(d1.id.clone());
    let (page, _) = store.list_datasets(&t.id, &q).await.expect("list");
    assert_eq!(page[0].id, d1.id);

    // Rename: the old name frees up, the new one is taken, collisions conflict.
    let mut renamed = d1.clone();
    renamed.name = "Renamed".into();
    renamed.update_time = now_ms();
    store.update_dataset(&renamed).await.expect("rename");
    assert!(store
        .find_dataset_by_name(&t.id, "first")
        .await
        .expect("find")
        .is_none());
    let reuse = sample_dataset(&t.id, "first");
    store
        .insert_dataset(&reuse)
        .await
        .expect("old name is free again");
    let mut clash = renamed.clone();
    clash.name = "DS-0".into();
    assert!(
        matches!(
            store.update_dataset(&clash).await,
            Err(StoreError::Conflict(_))
        ),
        "renaming onto another dataset's name must conflict"
    );
    // A case-only rename of itself is fine.
    let mut recase = renamed.clone();
    recase.name = "RENAMED".into();
    recase.update_time = now_ms();
    store.update_dataset(&recase).await.expect("recase");
    assert_eq!(
        store
            .get_dataset(&t.id, &d1.id)
            .await
            .expect("get")
            .map(|d| d.name),
        Some("RENAMED".into())
    );
    // Order by update time.
    let mut q = query();
    q.orderby = DatasetOrder::UpdateTime;
    let (page, _) = store.list_datasets(&t.id, &q).await.expect("list");
    assert_eq!(page[0].id, d1.id, "the last updated dataset comes first");

    assert!(store.delete_dataset(&t.id, &d1.id).await.expect("delete"));
    assert!(!store
        .delete_dataset(&t.id, &d1.id)
        .await
        .expect("delete twice"));
    assert!(store
        .get_dataset(&t.id, &d1.id)
        .await
        .expect("get")
        .is_none());
    assert!(store
        .find_dataset_by_name(&t.id, "renamed")
        .await
        .expect("find")
        .is_none());
    let mut ghost = d1.clone();
    ghost.name = "ghost".into();
    assert!(
        matches!(
            store.update_dataset(&ghost).await,
            Err(StoreError::NotFound(_))
        ),
        "updating a deleted dataset must be NotFound"
    );
}

async fn dataset_isolation(store: &dyn MetadataStore) {
    let a = tenant("iso-a");
    let b = tenant("iso-b");
    store.create_tenant(&a).await.expect("tenant");
    store.create_tenant(&b).await.expect("tenant");
    let da = sample_dataset(&a.id, "shared-name");
    store.insert_dataset(&da).await.expect("insert");
    // Another tenant may use the same name.
    let db = sample_dataset(&b.id, "shared-name");
    store
        .insert_dataset(&db)
        .await
        .expect("same name, other tenant");
    assert!(store
        .get_dataset(&b.id, &da.id)
        .await
        .expect("get")
        .is_none());
    let (page, total) = store.list_datasets(&b.id, &query()).await.expect("list");
    assert_eq!(total, 1);
    assert_eq!(page[0].id, db.id);
    let mut hijack = da.clone();
    hijack.tenant_id = b.id.clone();
    hijack.name = "stolen".into();
    assert!(
        matches!(
            store.update_dataset(&hijack).await,
            Err(StoreError::NotFound(_))
        ),
        "tenant B cannot update tenant A's dataset"
    );
    assert!(!store.delete_dataset(&b.id, &da.id).await.expect("delete"));
    assert_eq!(
        store
            .get_dataset(&a.id, &da.id)
            .await
            .expect("get")
            .map(|d| d.name),
        Some("shared-name".into())
    );
}
