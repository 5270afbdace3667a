//! Service tokens, their accesses and grants, OAuth applications and OAuth tokens.

use serde_json::{Value, json};

use super::V;
use crate::ids::{ts, ts_opt};
use crate::model::{Grant, OAuthApp, OAuthToken, ServiceToken};

fn describe(access: &str) -> String {
    format!("Allows {}", access.replace('_', " "))
}

impl V<'_> {
    /// (type, id, name, created_at) of a grant's resource.
    fn grant_resource(&self, g: &Grant) -> (&'static str, String, String, String) {
        match g.db_id.as_deref().and_then(|id| self.w.db_by_id(id)) {
            Some(db) => (
                "Database",
                db.id.clone(),
                db.name.clone(),
                ts(db.created_at),
            ),
            None => {
                let org = self.w.org_by_id(&g.org_id);
                let name = org.map(|o| o.name.clone()).unwrap_or_default();
                (
                    "Organization",
                    g.org_id.clone(),
                    name,
                    org.map(|o| ts(o.created_at)).unwrap_or_default(),
                )
            }
        }
    }

    fn token_access(&self, g: &Grant) -> Value {
        let (kind, id, name, created) = self.grant_resource(g);
        json!({
            "id": g.id, "access": g.access, "description": describe(&g.access), "resource_name": name,
            "resource_id": id, "resource_type": kind,
            "resource": {"id": id, "name": name, "created_at": created, "updated_at": created, "deleted_at": null},
        })
    }

    /// Service token object; `secret` only in the create response.
    pub fn service_token(&self, t: &ServiceToken, secret: Option<&str>) -> Value {
        json!({
            "id": t.id, "type": "ServiceToken", "name": t.name,
            "display_name": t.name.clone().unwrap_or_else(|| t.id.clone()), "token": secret,
            "plain_text_refresh_token": null, "avatar_url": "https://avatars.planetscale.com/service-token",
            "created_at": ts(t.created_at), "updated_at": ts(t.created_at), "expires_at": ts_opt(t.expires_at),
            "last_used_at": ts_opt(t.last_used_at), "actor_id": null, "actor_display_name": null,
            "actor_type": null,
            "service_token_accesses": t.grants.iter().map(|g| self.token_access(g)).collect::<Vec<_>>(),
            "oauth_accesses_by_resource": null,
        })
    }

    /// Item of the SDK-only `…/service-tokens/{id}/access` list.
    pub fn access_item(&self, g: &Grant) -> Value {
        let (kind, id, name, created) = self.grant_resource(g);
        let access_type = if kind == "Database" {
            "DatabaseAccess"
        } else {
            "OrganizationAccess"
        };
        json!({
            "id": g.id, "type": access_type, "access": g.access,
            "resource": {"id": id, "type": kind, "name": name, "created_at": created, "updated_at": created},
        })
    }

    /// Items of the SDK-only `…/service-tokens/{id}/grants` list.
    pub fn grants(&self, t: &ServiceToken) -> Vec<Value> {
        let mut groups: Vec<(Option<String>, Vec<&Grant>)> = Vec::new();
        for g in &t.grants {
            match groups.iter_mut().find(|(db, _)| *db == g.db_id) {
                Some((_, list)) => list.push(g),
                None => groups.push((g.db_id.clone(), vec![g])),
            }
        }
        groups
            .into_iter()
            .map(|(_, list)| {
                let (kind, id, name, _) = self.grant_resource(list[0]);
                let accesses: Vec<Value> =
                    list.iter().map(|g| json!({"access": g.access, "description": describe(&g.access)})).collect();
                json!({
                    "id": &crate::ids::hash_secret(&format!("{}{id}", t.id))[..12], "type": "ServiceTokenGrant",
                    "resource_name": name, "resource_type": kind, "resource_id": id, "accesses": accesses,
                })
            })
            .collect()
    }

    /// OAuth application object.
    pub fn oauth_app(&self, app: &OAuthApp) -> Value {
        let tokens = self
            .w
            .oauth_tokens
            .iter()
            .filter(|t| t.app_id == app.id && !t.access_revoked)
            .count();
        json!({
            "id": app.id, "type": "OauthApplication", "name": app.name, "redirect_uri": app.redirect_uri,
            "domain": app.redirect_uri.split('/').nth(2).unwrap_or_default(),
            "created_at": ts(app.created_at), "updated_at": ts(app.created_at), "scopes": app.scopes.join(" "),
            "avatar": "", "client_id": app.client_id, "tokens": tokens, "dcr": false,
            "single_org_authorization": false, "requires_org_scope": false,
            "scopes_by_resource": {}, "all_scopes_by_resource": {},
        })
    }

    /// OAuth token object (ServiceToken-shaped); secrets only right after creation.
    pub fn oauth_token(
        &self,
        t: &OAuthToken,
        access: Option<&str>,
        refresh: Option<&str>,
    ) -> Value {
        let user = self.w.users.iter().find(|u| u.id == t.user_id);
        let name = user.map(|u| u.name.clone()).unwrap_or_default();
        let orgs: Vec<Value> = user
            .map(|u| u.org_ids.iter().filter_map(|id| self.w.org_by_id(id)).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|o| json!({"name": o.name, "id": o.id, "url": format!("{}/v1/organizations/{}", self.base, o.name)}))
            .collect();
        let accesses: Vec<Value> = t
            .scopes
            .iter()
            .map(|s| json!({"name": s, "description": describe(crate::auth::bare_scope(s))}))
            .collect();
        json!({
            "id": t.id, "type": "OauthToken", "name": name, "display_name": name, "token": access,
            "plain_text_refresh_token": refresh, "avatar_url": "https://avatars.planetscale.com/oauth",
            "created_at": ts(t.created_at), "updated_at": ts(t.created_at), "expires_at": ts(t.expires_at),
            "last_used_at": ts_opt(t.last_used_at), "actor_id": t.user_id, "actor_display_name": name,
            "actor_type": "User", "service_token_accesses": null,
            "oauth_accesses_by_resource": {
                "organization": {"organizations": orgs, "accesses": accesses},
                "database": {"databases": [], "accesses": []},
                "branch": {"branches": [], "accesses": []},
                "user": {"users": [{"name": name, "id": t.user_id}], "accesses": []},
            },
        })
    }
}
