//! Invalid observe and adopt fields of the branch, the password and the deploy request
//! (`managementPolicy`, `adopt`, `passwordId`, `number`): observing never writes, and naming an
//! existing object to manage needs `adopt`.
use serde_json::json;

use crate::case::{Case, Kind, bad, bad_update};

pub fn cases() -> Vec<Case> {
    let mut all = branch_cases();
    all.extend(password_cases());
    all.extend(deploy_request_cases());
    all
}

fn branch_cases() -> Vec<Case> {
    vec![
        bad(
            Kind::Branch,
            "Observe with production",
            json!({"managementPolicy": "Observe", "production": true}),
            &[
                "spec.managementPolicy",
                "production, safeMigrations and deletionProtected change the branch",
            ],
        ),
        bad(
            Kind::Branch,
            "managementPolicy unknown",
            json!({"managementPolicy": "Watch"}),
            &["spec.managementPolicy", "Unsupported value"],
        ),
    ]
}

fn password_cases() -> Vec<Case> {
    vec![
        bad(
            Kind::Password,
            "Observe without passwordId",
            json!({"managementPolicy": "Observe"}),
            &[
                "spec.passwordId",
                "managementPolicy: Observe needs passwordId",
            ],
        ),
        bad(
            Kind::Password,
            "passwordId managed without adopt",
            json!({"passwordId": "pw1"}),
            &["spec.adopt", "passwordId names an existing password"],
        ),
        bad(
            Kind::Password,
            "passwordId not an id",
            json!({"passwordId": "pw 1", "adopt": true}),
            &[
                "spec.passwordId",
                "passwordId must be a PlanetScale password or role id (letters, digits, '-' and '_')",
            ],
        ),
        bad(
            Kind::Password,
            "passwordId too long",
            json!({"passwordId": "p".repeat(65), "adopt": true}),
            &["spec.passwordId", "Too long"],
        ),
        bad_update(
            Kind::Password,
            "passwordId changed",
            json!({"passwordId": "pw1", "adopt": true}),
            json!({"passwordId": "pw2"}),
            &["spec.passwordId", "passwordId is immutable"],
        ),
        bad(
            Kind::Password,
            "managementPolicy unknown",
            json!({"managementPolicy": "Watch"}),
            &["spec.managementPolicy", "Unsupported value"],
        ),
    ]
}

fn deploy_request_cases() -> Vec<Case> {
    vec![
        bad(
            Kind::DeployRequest,
            "Observe without number",
            json!({"managementPolicy": "Observe"}),
            &["spec.number", "managementPolicy: Observe needs number"],
        ),
        bad(
            Kind::DeployRequest,
            "number managed without adopt",
            json!({"number": 7}),
            &["spec.adopt", "number names an existing deploy request"],
        ),
        bad(
            Kind::DeployRequest,
            "Observe with deploy",
            json!({"managementPolicy": "Observe", "number": 7, "deploy": true}),
            &[
                "spec.managementPolicy",
                "deploy, cutover, revert, skipRevert and approval act on the deploy request",
            ],
        ),
        bad(
            Kind::DeployRequest,
            "number zero",
            json!({"number": 0, "adopt": true}),
            &["spec.number", "should be greater than or equal to 1"],
        ),
        bad_update(
            Kind::DeployRequest,
            "number changed",
            json!({"number": 7, "adopt": true}),
            json!({"number": 8}),
            &["spec.number", "number is immutable"],
        ),
        bad(
            Kind::DeployRequest,
            "managementPolicy unknown",
            json!({"managementPolicy": "Watch"}),
            &["spec.managementPolicy", "Unsupported value"],
        ),
    ]
}
