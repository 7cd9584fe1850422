//! GET /searches: `keywords`, `page`, `page_size`, `orderby`, `desc`, `owner_ids`.

use serde_json::{json, Value};

use super::STATUS_VALID;
use crate::contract::envelope::ApiError;
use crate::contract::http::first;
use crate::ports::search::SearchApp;
use crate::state::AppState;

/// Upstream's `validate_rest_api_page_size` bound.
const MAX_PAGE_SIZE: i64 = 100;

/// A validated listing request.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchListQuery {
    /// Lower-cased substring of the name.
    pub keywords: String,
    /// 0 with `page_size` 0: no paging (upstream's defaults).
    pub page: i64,
    pub page_size: i64,
    pub orderby: String,
    pub desc: bool,
    /// Only apps of these tenants (empty: no filter).
    pub owner_ids: Vec<String>,
}

/// `int(request.args.get(...))`: upstream raises outside its try, so the global handler
/// answers code 100 with the exception's repr.
fn py_int(raw: &str) -> Result<i64, ApiError> {
    raw.trim().parse().map_err(|_| {
        ApiError::exception(format!(
            "ValueError(\"invalid literal for int() with base 10: '{raw}'\")"
        ))
    })
}

pub fn parse_query(pairs: &[(String, String)]) -> Result<SearchListQuery, ApiError> {
    let page = first(pairs, "page").map(py_int).transpose()?.unwrap_or(0);
    let page_size = first(pairs, "page_size")
        .map(py_int)
        .transpose()?
        .unwrap_or(0);
    if page_size > MAX_PAGE_SIZE {
        return Err(ApiError::exception(
            "ValueError('page_size must be less than or equal to 100')",
        ));
    }
    let orderby = first(pairs, "orderby").unwrap_or("create_time").to_string();
    if !matches!(
        orderby.as_str(),
        "create_time" | "update_time" | "name" | "id"
    ) {
        // Upstream's `getter_by` fails inside the try: `server_error_response`, code 100.
        return Err(ApiError::exception(format!(
            "AttributeError(\"type object 'Search' has no attribute '{orderby}'\")"
        )));
    }
    Ok(SearchListQuery {
        keywords: first(pairs, "keywords").unwrap_or_default().to_lowercase(),
        page,
        page_size,
        orderby,
        desc: first(pairs, "desc").is_none_or(|d| !d.eq_ignore_ascii_case("false")),
        owner_ids: pairs
            .iter()
            .filter(|(k, _)| k == "owner_ids")
            .map(|(_, v)| v.clone())
            .collect(),
    })
}

impl SearchListQuery {
    /// Filter, order (ties by id) and page: the page and the total before paging.
    pub fn apply(&self, mut all: Vec<SearchApp>) -> (Vec<SearchApp>, usize) {
        all.retain(|a| {
            a.status == STATUS_VALID
                && (self.keywords.is_empty() || a.name.to_lowercase().contains(&self.keywords))
                && (self.owner_ids.is_empty() || self.owner_ids.contains(&a.tenant_id))
        });
        all.sort_by(|a, b| {
            let ord = match self.orderby.as_str() {
                "update_time" => a.update_time.cmp(&b.update_time),
                "name" => a.name.cmp(&b.name),
                "id" => std::cmp::Ordering::Equal,
                _ => a.create_time.cmp(&b.create_time),
            }
            .then_with(|| a.id.cmp(&b.id));
            if self.desc {
                ord.reverse()
            } else {
                ord
            }
        });
        let total = all.len();
        if self.page > 0 && self.page_size > 0 {
            let start = usize::try_from((self.page - 1).saturating_mul(self.page_size))
                .unwrap_or(usize::MAX);
            let size = usize::try_from(self.page_size).unwrap_or(usize::MAX);
            all = all.into_iter().skip(start).take(size).collect();
        }
        (all, total)
    }
}

/// The listing: `{"search_apps": [...], "total": n}`. `owner_ids` can only narrow to the
/// caller's own tenant (there are no joined tenants): any other id lists nothing.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let query = parse_query(pairs)?;
    let all = state.searches.list_searches(tenant_id).await?;
    let (page, total) = query.apply(all);
    let nickname = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let apps: Vec<Value> = page
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "avatar": a.avatar,
                "tenant_id": a.tenant_id,
                "name": a.name,
                "description": a.description,
                "created_by": a.created_by,
                "status": a.status,
                "update_time": a.update_time,
                "create_time": a.create_time,
                "nickname": nickname,
                "tenant_avatar": null,
            })
        })
        .collect();
    Ok(json!({"search_apps": apps, "total": total}))
}
