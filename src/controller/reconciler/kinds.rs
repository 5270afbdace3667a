//! The custom resources the skeleton reconciles.
use super::Kind;

impl Kind for crate::crd::PlanetScaleBranch {
    type Status = crate::crd::branch::PlanetScaleBranchStatus;
    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
}

impl Kind for crate::crd::PlanetScalePassword {
    type Status = crate::crd::password::PlanetScalePasswordStatus;
    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
}

impl Kind for crate::crd::DeployRequest {
    type Status = crate::crd::DeployRequestStatus;
    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
}
