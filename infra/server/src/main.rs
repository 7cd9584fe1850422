//! `lambdarag`: run the embedded server and manage tenants, API keys and model providers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use lambdarag::domain::models::configure_provider;
use lambdarag::domain::{ModelType, ProviderModel, Tenant};
use lambdarag::ports::MetadataStore;
use lambdarag::AppState;
use tracing_subscriber::EnvFilter;

mod bench;
mod eval;
mod ingest;
mod watch;

#[derive(Parser)]
#[command(
    name = "lambdarag",
    version,
    about = "A RAG engine with RAGFlow's /api/v1 API"
)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct StoreArgs {
    /// Data directory of the embedded deployment (created if missing).
    #[arg(
        long,
        env = "LAMBDARAG_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    data_dir: PathBuf,
    /// Metadata store to use: the embedded SQLite file, or DynamoDB (configured from the
    /// AWS environment and LAMBDARAG_TABLE).
    #[arg(
        long,
        env = "LAMBDARAG_METADATA",
        value_enum,
        default_value = "sqlite",
        global = true
    )]
    metadata: MetadataKind,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum MetadataKind {
    Sqlite,
    Dynamodb,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API on the embedded adapters.
    Serve {
        #[arg(long, env = "LAMBDARAG_ADDR", default_value = "127.0.0.1:9380")]
        addr: SocketAddr,
        /// Parse workers run in this process. Each mostly waits (on index commits, which
        /// the waiting ones share, and reads); parsing and embedding take a bounded number
        /// of slots whatever this is, so more workers cost little memory.
        #[arg(long, env = "LAMBDARAG_WORKERS", default_value_t = 32)]
        workers: usize,
        #[command(flatten)]
        watch: watch::WatchArgs,
    },
    /// Upload and parse a folder into a dataset through the HTTP API (resumable).
    Ingest(ingest::IngestArgs),
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Model providers of a tenant.
    #[command(subcommand)]
    Provider(ProviderCmd),
    /// A tenant's default embedding, chat and audio models.
    Defaults {
        #[arg(long)]
        tenant: Option<String>,
        /// Default embedding model, `model@factory`.
        #[arg(long)]
        embedding: Option<String>,
        /// Default chat model, `model@factory`.
        #[arg(long)]
        chat: Option<String>,
        /// Default text-to-speech model, `model@factory` (a provider's `name:tts` model).
        #[arg(long)]
        tts: Option<String>,
        /// Default speech-to-text model, `model@factory` (a provider's `name:speech2text`
        /// model).
        #[arg(long)]
        asr: Option<String>,
    },
    /// Benchmarks of the embedded deployment (fresh temporary data dir unless --data-dir
    /// is given on the command line).
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Retrieval quality evaluation (fresh temporary data dir unless --data-dir is given
    /// on the command line).
    #[command(subcommand)]
    Eval(eval::EvalCmd),
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant and print its id and a first API key.
    Create {
        #[arg(long, default_value = "default")]
        name: String,
    },
    List,
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Print a new API key (for the only tenant, creating one on a fresh data dir).
    Create {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List keys (ids and hints; keys themselves are never stored).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key by the id `key list` shows.
    Revoke {
        key_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Set which client generation a key serves where the two disagree (GET /chats):
    /// `pinned` (ragflow-sdk 0.23.1, the default) or `v027` (ragflow-sdk 0.26.0).
    Generation {
        key_id: String,
        #[arg(long)]
        generation: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum ProviderCmd {
    /// Configure a provider (factory) for a tenant, replacing an earlier one of that factory.
    Set {
        #[arg(long)]
        tenant: Option<String>,
        /// Factory name as RAGFlow spells it: OpenAI, ZHIPU-AI, Bedrock, Ollama, VLLM, ...
        #[arg(long)]
        factory: String,
        #[arg(long)]
        api_key: Option<String>,
        #[arg(long)]
        base_url: Option<String>,
        /// Extra models served by this provider, `name:embedding|chat|rerank` (repeatable).
        #[arg(long = "model")]
        models: Vec<String>,
    },
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    Remove {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        factory: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The metadata side only: what the management commands need.
async fn open_state(args: &StoreArgs) -> CliResult<AppState> {
    match args.metadata {
        MetadataKind::Sqlite => Ok(lambdarag_embedded::open_metadata(&args.data_dir)?),
        MetadataKind::Dynamodb => Ok(lambdarag_aws::config::state_from_env().await?),
    }
}

async fn run(cli: Cli) -> CliResult {
    if let Command::Serve {
        addr,
        workers,
        watch,
    } = cli.command
    {
        return serve(addr, workers, watch, &cli.store).await;
    }
    let explicit_dir = || {
        bench::explicit_data_dir(
            <Cli as clap::CommandFactory>::command(),
            &cli.store.data_dir,
        )
    };
    match cli.command {
        Command::Bench(cmd) => return bench::run(cmd, explicit_dir()).await,
        Command::Eval(cmd) => return eval::run(cmd, explicit_dir()).await,
        Command::Ingest(args) => return ingest::run(args).await,
        _ => {}
    }
    let state = open_state(&cli.store).await?;
    let store: Arc<dyn MetadataStore> = state.meta.clone();
    match cli.command {
        Command::Serve { .. } | Command::Bench(_) | Command::Eval(_) | Command::Ingest(_) => Ok(()),
        Command::Tenant(TenantCmd::Create { name }) => {
            let t = lambdarag::services::auth::create_tenant(store.as_ref(), &name).await?;
            let (key, _) = lambdarag::services::auth::issue_key(store.as_ref(), &t.id).await?;
            println!("tenant: {}", t.id);
            println!("{key}");
            Ok(())
        }
        Command::Tenant(TenantCmd::List) => {
            for t in store.list_tenants().await? {
                println!(
                    "{}\t{}\tembedding={}\tchat={}",
                    t.id, t.name, t.embd_id, t.llm_id
                );
            }
            Ok(())
        }
        Command::Key(KeyCmd::Create { tenant }) => {
            let t = resolve_tenant(store.as_ref(), tenant, true).await?;
            let (key, _) = lambdarag::services::auth::issue_key(store.as_ref(), &t.id).await?;
            // The key alone on stdout, so scripts can capture it.
            println!("{key}");
            eprintln!("(tenant {}; the key is shown only once)", t.id);
            Ok(())
        }
        Command::Key(KeyCmd::List { tenant }) => {
            let t = resolve_tenant(store.as_ref(), tenant, false).await?;
            for k in store.list_keys(&t.id).await? {
                println!(
                    "{}\t{}\tcreated {}\tgeneration={}",
                    k.key_id,
                    k.hint,
                    lambdarag::contract::time::rfc1123(k.create_time),
                    k.generation.as_str()
                );
            }
            Ok(())
        }
        Command::Key(KeyCmd::Revoke { key_id, tenant }) => {
            let t = resolve_tenant(store.as_ref(), tenant, false).await?;
            if store.revoke_key(&t.id, &key_id).await? {
                println!("revoked {key_id}");
                Ok(())
            } else {
                Err(format!("tenant {} has no key {key_id}", t.id).into())
            }
        }
        Command::Key(KeyCmd::Generation {
            key_id,
            generation,
            tenant,
        }) => {
            let Some(g) = lambdarag::domain::ClientGeneration::parse(&generation) else {
                return Err(
                    format!("unknown generation {generation:?}: use pinned or v027").into(),
                );
            };
            let t = resolve_tenant(store.as_ref(), tenant, false).await?;
            if store.set_key_generation(&t.id, &key_id, g).await? {
                println!("{key_id}\tgeneration={}", g.as_str());
                Ok(())
            } else {
                Err(format!("tenant {} has no key {key_id}", t.id).into())
            }
        }
        Command::Provider(ProviderCmd::Set {
            tenant,
            factory,
            api_key,
            base_url,
            models,
        }) => {
            let mut t = resolve_tenant(store.as_ref(), tenant, false).await?;
            let extra = models
                .iter()
                .map(|m| parse_model(m))
                .collect::<Result<Vec<_>, _>>()?;
            configure_provider(&mut t, &factory, api_key, base_url, extra)?;
            store.update_tenant(&t).await?;
            print_providers(&t);
            Ok(())
        }
        Command::Provider(ProviderCmd::List { tenant }) => {
            let t = resolve_tenant(store.as_ref(), tenant, false).await?;
            print_providers(&t);
            Ok(())
        }
        Command::Provider(ProviderCmd::Remove { tenant, factory }) => {
            let mut t = resolve_tenant(store.as_ref(), tenant, false).await?;
            let before = t.providers.len();
            t.providers.retain(|p| p.factory != factory);
            if t.providers.len() == before {
                return Err(format!("no provider {factory} configured").into());
            }
            store.update_tenant(&t).await?;
            print_providers(&t);
            Ok(())
        }
        Command::Defaults {
            tenant,
            embedding,
            chat,
            tts,
            asr,
        } => {
            let mut t = resolve_tenant(store.as_ref(), tenant, false).await?;
            if let Some(e) = embedding {
                lambdarag::domain::models::verify_model(&t, &e, ModelType::Embedding)
                    .map_err(|e| e.message)?;
                t.embd_id = e;
            }
            if let Some(c) = chat {
                lambdarag::domain::models::verify_model(&t, &c, ModelType::Chat)
                    .map_err(|e| e.message)?;
                t.llm_id = c;
            }
            if let Some(m) = tts {
                lambdarag::domain::models::verify_model(&t, &m, ModelType::Tts)
                    .map_err(|e| e.message)?;
                t.tts_id = m;
            }
            if let Some(m) = asr {
                lambdarag::domain::models::verify_model(&t, &m, ModelType::Speech2Text)
                    .map_err(|e| e.message)?;
                t.asr_id = m;
            }
            store.update_tenant(&t).await?;
            println!(
                "embedding={}\tchat={}\ttts={}\tasr={}",
                t.embd_id, t.llm_id, t.tts_id, t.asr_id
            );
            Ok(())
        }
    }
}

fn parse_model(spec: &str) -> CliResult<ProviderModel> {
    let (name, kind) = spec.rsplit_once(':').ok_or_else(|| {
        format!("--model {spec}: expected name:embedding|chat|rerank|tts|speech2text")
    })?;
    let model_type = ModelType::parse(kind).ok_or_else(|| {
        format!("--model {spec}: type must be embedding, chat, rerank, tts or speech2text")
    })?;
    Ok(ProviderModel {
        name: name.to_string(),
        model_type,
    })
}

fn print_providers(t: &Tenant) {
    if t.providers.is_empty() {
        println!("(no providers configured; built-in models only)");
    }
    for p in &t.providers {
        let models: Vec<String> = p
            .models
            .iter()
            .map(|m| format!("{}@{} ({})", m.name, p.factory, m.model_type.as_str()))
            .collect();
        println!(
            "{}\tbase_url={}\tkey={}\n  {}",
            p.factory,
            p.base_url.as_deref().unwrap_or("-"),
            if p.api_key.is_some() { "set" } else { "none" },
            models.join("\n  ")
        );
    }
}

/// The tenant a command acts on: the given id, or the only tenant there is. On a fresh
/// store, `create_default` makes one so the first `key create` just works.
async fn resolve_tenant(
    store: &dyn MetadataStore,
    id: Option<String>,
    create_default: bool,
) -> CliResult<Tenant> {
    if let Some(id) = id {
        return store
            .get_tenant(&id)
            .await?
            .ok_or_else(|| format!("no tenant {id}").into());
    }
    let mut all = store.list_tenants().await?;
    match all.len() {
        0 if create_default => {
            Ok(lambdarag::services::auth::create_tenant(store, "default").await?)
        }
        0 => Err("no tenant yet: run `lambdarag key create` first".into()),
        1 => Ok(all.remove(0)),
        _ => Err("several tenants exist: pass --tenant <id> (see `lambdarag tenant list`)".into()),
    }
}

async fn serve(
    addr: SocketAddr,
    workers: usize,
    watch: watch::WatchArgs,
    args: &StoreArgs,
) -> CliResult {
    if args.metadata != MetadataKind::Sqlite {
        return Err("`serve` runs the embedded deployment; use --metadata sqlite".into());
    }
    let embedded = lambdarag_embedded::open(&args.data_dir)?;
    let registry = Arc::new(lambdarag_models::ModelRegistry::new(Some(
        args.data_dir.clone(),
    )));
    // One provider registry for chat and audio models (both speak the OpenAI protocol).
    let providers = Arc::new(lambdarag_models::ChatRegistry::new());
    let state = embedded
        .state
        .with_embedders(registry.clone())
        .with_rerankers(registry)
        .with_chat_models(providers.clone())
        .with_audio(providers);
    let has_tenant = !state.meta.list_tenants().await?.is_empty();

    // In-process parse workers on the durable queue; a task interrupted by a crash or a
    // stop becomes visible again after its lease and is picked up on the next start.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let visibility = std::time::Duration::from_secs(
        std::env::var("LAMBDARAG_TASK_VISIBILITY_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60),
    );
    let mut worker_handles = Vec::new();
    for _ in 0..workers.max(1) {
        worker_handles.push(tokio::spawn(lambdarag_ingest::pipeline::run_worker(
            state.clone(),
            embedded.queue.clone(),
            lambdarag_ingest::pipeline::PipelineConfig::default(),
            visibility,
            stop_rx.clone(),
        )));
    }
    if let Some(dir) = &watch.watch_dir {
        let tenant = watch::resolve_tenant(&state, watch.watch_tenant.as_deref()).await?;
        let watcher = watch::Watcher::new(
            state.clone(),
            &args.data_dir.join("watch.sqlite3"),
            dir,
            tenant,
            std::time::Duration::from_millis(watch.watch_interval_ms.max(50)),
        )?;
        worker_handles.push(tokio::spawn(watcher.run(stop_rx.clone())));
    }
    let app = lambdarag_server::app(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, data_dir = %args.data_dir.display(), "lambdarag listening");
    if !has_tenant {
        eprintln!(
            "No API key yet. In another terminal run:\n  cargo run -p lambdarag-server -- --data-dir {} key create\n(or `lambdarag key create` with the built binary) and use the printed key as `Authorization: Bearer <key>`.",
            args.data_dir.display()
        );
    }
    axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    let _ = stop_tx.send(true);
    for h in worker_handles {
        // A worker mid-task finishes its current step; its lease covers anything unfinished.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), h).await;
    }
    tracing::info!("lambdarag stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
