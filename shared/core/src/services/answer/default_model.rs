//! One-shot asks of the tenant's default chat model: related questions (S7), and the
//! keywords and translations retrieval adds to a question (R1 `keyword`, `cross_languages`).

use serde_json::{Map, Value};

use super::prompt::setting_options;
use super::{collect_answer, model_error, TurnPlan};
use crate::contract::envelope::ApiError;
use crate::contract::pyfmt::{py_str, truthy};
use crate::ports::chat::{ChatMessage, GenOptions, Purpose};
use crate::state::AppState;

/// Instructions for related-question suggestions (lambdarag's own wording).
pub const RELATED_QUESTIONS_PROMPT: &str = "You suggest search queries. Given the user's \
keywords, write 5 to 10 related search questions that would help the user find more \
useful information. Keep each one short and specific. Answer with a numbered list only, \
one item per line in the form `1. question`, in the language of the keywords.";

/// The `N. text` lines of a model's answer, numbers removed (upstream's parsing).
pub fn numbered_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut chars = l.chars();
            let d = chars.next()?;
            let rest = chars.as_str();
            (d.is_ascii_digit() && rest.starts_with(". ")).then(|| rest[2..].to_string())
        })
        .collect()
}

pub const KEYWORDS_PROMPT: &str = "You pick search keywords. Given a question, answer with \
at most 3 of its most important keywords or key phrases, in the question's language, \
separated by commas, and nothing else.";

/// R1 `keyword: true`: keywords for the question from the tenant's default chat model, to
/// be appended to it (upstream's `keyword_extraction`). The built-in answerer extracts
/// none, so the question is searched as asked.
pub async fn question_keywords(
    state: &AppState,
    tenant_id: &str,
    question: &str,
) -> Result<String, ApiError> {
    let opts = GenOptions {
        temperature: Some(0.2),
        max_tokens: Some(64),
        purpose: Purpose::Keywords,
        ..Default::default()
    };
    let answer = ask_default_model(
        state,
        tenant_id,
        KEYWORDS_PROMPT.into(),
        question.into(),
        opts,
    );
    Ok(answer.await?.trim().to_string())
}

/// R1 `cross_languages`: the question translated into each language by the tenant's
/// default chat model, one translation per line (the built-in translates nothing).
pub async fn question_translations(
    state: &AppState,
    tenant_id: &str,
    question: &str,
    languages: &[String],
) -> Result<String, ApiError> {
    let system = format!(
        "You translate search questions. Translate the user's question into each of these \
         languages: {}. Answer with one translation per line, in that order, and nothing else.",
        languages.join(", ")
    );
    let opts = GenOptions {
        temperature: Some(0.2),
        purpose: Purpose::Translate,
        ..Default::default()
    };
    let answer = ask_default_model(state, tenant_id, system, question.into(), opts);
    Ok(answer.await?.trim().to_string())
}

/// One system + user exchange with the tenant's default chat model, collected to text.
async fn ask_default_model(
    state: &AppState,
    tenant_id: &str,
    system: String,
    user: String,
    opts: GenOptions,
) -> Result<String, ApiError> {
    ask_model(state, tenant_id, None, system, user, opts).await
}

/// One system + user exchange with `llm_id` (`None` or empty: the tenant's default chat
/// model), collected to text.
pub async fn ask_model(
    state: &AppState,
    tenant_id: &str,
    llm_id: Option<&str>,
    system: String,
    user: String,
    opts: GenOptions,
) -> Result<String, ApiError> {
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))?;
    let llm_id = llm_id.filter(|id| !id.is_empty()).unwrap_or(&tenant.llm_id);
    let model = state
        .chat_models
        .chat_model(&tenant, llm_id)
        .map_err(|e| ApiError::exception(model_error(&e)))?;
    let plan = TurnPlan {
        model,
        messages: vec![ChatMessage::system(system), ChatMessage::user(user)],
        opts,
        reference: None,
        prompt: String::new(),
        empty_answer: None,
        quote: false,
    };
    let t = collect_answer(&plan).await.map_err(ApiError::exception)?;
    Ok(t.answer)
}

/// S7: related questions from the tenant's default chat model.
pub async fn related_questions(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<Vec<String>, ApiError> {
    let Some(question) = req.get("question").filter(|v| truthy(v)).map(py_str) else {
        return Err(ApiError::data("`question` is required."));
    };
    let industry = req.get("industry").map(py_str).unwrap_or_default();
    let mut system = RELATED_QUESTIONS_PROMPT.to_string();
    if !industry.trim().is_empty() {
        system.push_str(&format!(" The user works in: {industry}."));
    }
    let opts = GenOptions {
        temperature: Some(0.9),
        purpose: Purpose::RelatedQuestions,
        ..Default::default()
    };
    let user = format!("Keywords: {question}\nRelated search terms:\n");
    let answer = ask_default_model(state, tenant_id, system, user, opts).await?;
    Ok(numbered_lines(&answer))
}

/// v0.27's `POST /chat/recommendation`: related questions (S7's prompt and parsing), with
/// the model and settings of a saved search app when `search_id` names one of the caller's
/// (upstream reads any tenant's app; another tenant's is treated as absent here).
pub async fn recommendation(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<Vec<String>, ApiError> {
    crate::services::searches::require_keys(req, &["question"])?;
    let config = crate::services::searches::saved_config(state, tenant_id, req).await?;
    let mut opts = match config.get("llm_setting") {
        Some(Value::Object(s)) => setting_options(s),
        _ => GenOptions {
            temperature: Some(0.9),
            ..Default::default()
        },
    };
    opts.purpose = Purpose::RelatedQuestions;
    let llm_id = config.get("chat_id").filter(|v| truthy(v)).map(py_str);
    let question = py_str(&req["question"]);
    let user = format!("Keywords: {question}\nRelated search terms:\n");
    let system = RELATED_QUESTIONS_PROMPT.to_string();
    let answer = ask_model(state, tenant_id, llm_id.as_deref(), system, user, opts).await?;
    Ok(numbered_lines(&answer))
}
