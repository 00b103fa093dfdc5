//! Failures as teaching moments: what an AWS error code usually means and what to do.

use serde::Serialize;

use crate::cloud::CloudError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advice {
    pub meaning: String,
    pub action: String,
}

/// (code prefix, meaning, what to do)
const TABLE: &[(&str, &str, &str)] = &[
    (
        "UnauthorizedOperation",
        "Your IAM identity may not call this EC2 action.",
        "Ask for ec2 permissions (or use a role that has them); `aws sts get-caller-identity` shows who you are.",
    ),
    (
        "AccessDenied",
        "Your IAM identity may not call this action (an IAM policy, SCP or permissions boundary denies it).",
        "Check the policy of the identity tierui shows at the top; the message names the missing action.",
    ),
    (
        "InvalidClientTokenId",
        "The access key is not known to AWS (or to this endpoint).",
        "Check AWS_PROFILE / --profile and that the keys are active.",
    ),
    (
        "ExpiredToken",
        "The session credentials have expired.",
        "Log in again (`aws sso login`, or refresh the session) and rerun; progress is saved.",
    ),
    (
        "RequestExpired",
        "The request's signature time is too far from AWS's clock.",
        "Fix the machine's clock (NTP) and rerun.",
    ),
    (
        "VpcLimitExceeded",
        "The region already has the maximum number of VPCs (5 by default).",
        "Delete an unused VPC or ask for a higher quota in Service Quotas.",
    ),
    (
        "AddressLimitExceeded",
        "The region has no Elastic IP addresses left (5 by default).",
        "Release unused EIPs or raise the quota; NAT gateways need one each.",
    ),
    (
        "NatGatewayLimitExceeded",
        "Too many NAT gateways in an availability zone.",
        "Delete unused NAT gateways or use vpc.nat.gateway: Single.",
    ),
    (
        "InvalidSubnet.Range",
        "The subnet's CIDR is not inside the VPC's CIDR.",
        "Fix vpc.cidr (or the subnet CIDRs) in the ClusterConfig.",
    ),
    (
        "InvalidSubnet.Conflict",
        "The subnet's CIDR overlaps another subnet in the VPC.",
        "Pick non-overlapping CIDRs, or tear down the leftovers of an earlier attempt.",
    ),
    (
        "InvalidParameterValue",
        "A parameter is not acceptable to AWS (often an availability zone the account cannot use).",
        "Read the message: it names the parameter; for zones, set availabilityZones explicitly.",
    ),
    (
        "RouteAlreadyExists",
        "The route table already has a route for this destination.",
        "Usually left over from an earlier run; tierui adopts it when you retry.",
    ),
    (
        "Resource.AlreadyAssociated",
        "The resource is already attached or associated.",
        "Left over from an earlier run; retry and tierui adopts it.",
    ),
    (
        "DependencyViolation",
        "Something still uses this resource (ENIs of a cluster or load balancer, a NAT gateway, an attachment).",
        "Wait for dependants to finish deleting (clusters and NAT gateways take minutes), then retry; delete load balancers created by the controller first.",
    ),
    (
        "EntityAlreadyExists",
        "An IAM role, policy or provider of that name already exists but was not created by this walkthrough.",
        "Rename it in the account or delete it if it is unused; tierui only adopts resources tagged tierui.io/cluster.",
    ),
    (
        "NoSuchEntity",
        "The IAM role or policy named does not exist (or a managed policy is not available in this partition).",
        "Check the ARN; for AWS-managed policies, check the partition (aws, aws-cn, aws-us-gov).",
    ),
    (
        "DeleteConflict",
        "The IAM entity is still attached or has attached policies.",
        "Detach first; tierui's teardown order does that — retry the teardown.",
    ),
    (
        "MalformedPolicyDocument",
        "The policy JSON is not valid IAM policy grammar.",
        "Validate the document with IAM Access Analyzer.",
    ),
    (
        "LimitExceeded",
        "An IAM quota (roles, policies, OIDC providers) is reached.",
        "Delete unused entities or raise the quota.",
    ),
    (
        "ResourceInUseException",
        "EKS is busy with this resource, or it already exists (a cluster with node groups cannot be deleted).",
        "Wait for the current operation, or delete node groups before the cluster.",
    ),
    (
        "ResourceLimitExceededException",
        "An EKS quota (clusters per region, node groups per cluster) is reached.",
        "Delete unused clusters or raise the quota.",
    ),
    (
        "UnsupportedAvailabilityZoneException",
        "EKS has no capacity for control planes in one of the zones.",
        "Set availabilityZones to other zones (the message lists the ones that work).",
    ),
    (
        "InvalidParameterException",
        "EKS rejected a parameter (version, subnets in fewer than two AZs, a role that cannot be assumed).",
        "Read the message; for roles, check the trust policy allows eks.amazonaws.com.",
    ),
    (
        "InvalidRequestException",
        "The request is not valid in the resource's current state (e.g. the cluster is not ACTIVE yet).",
        "Wait until the cluster is ACTIVE, then retry.",
    ),
    (
        "ResourceNotFoundException",
        "The cluster, node group or addon does not exist (or not in this region).",
        "Check the region; an earlier step may have failed or been torn down.",
    ),
    (
        "Throttling",
        "AWS is rate-limiting your calls.",
        "Wait a little and retry; nothing was lost.",
    ),
    (
        "RequestLimitExceeded",
        "EC2 is rate-limiting your calls.",
        "Wait a little and retry; nothing was lost.",
    ),
    (
        "WaitTimeout",
        "The resource did not reach the expected state in time.",
        "Look at it in the AWS console (events, health issues) before retrying.",
    ),
    (
        "NotImplemented",
        "This endpoint does not implement the API (moto and LocalStack lack some EKS calls).",
        "Nothing to do in a test; against real AWS this does not happen.",
    ),
    (
        "Connection",
        "tierui could not reach the endpoint.",
        "Check network access, --endpoint-url and proxies.",
    ),
];

pub fn advice(e: &CloudError) -> Advice {
    let found = TABLE.iter().find(|(code, _, _)| e.code.starts_with(code));
    match found {
        Some((_, meaning, action)) => Advice {
            meaning: meaning.to_string(),
            action: action.to_string(),
        },
        None => Advice {
            meaning: format!("AWS refused {} with {}.", e.api, e.code),
            action:
                "Read AWS's message above; fix the cause and retry the step (progress is saved)."
                    .into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_codes() {
        let a = advice(&CloudError::new(
            "ec2:DeleteVpc",
            "DependencyViolation",
            "x",
        ));
        assert!(a.meaning.starts_with("Something still uses"));
        let a = advice(&CloudError::new("eks:X", "AccessDeniedException", "x"));
        assert!(a.meaning.contains("may not call"));
        let a = advice(&CloudError::new("ec2:X", "Weird", "x"));
        assert_eq!(a.meaning, "AWS refused ec2:X with Weird.");
    }
}
