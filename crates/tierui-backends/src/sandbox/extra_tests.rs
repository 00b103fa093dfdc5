//! The sandbox's new state machines, on a manual clock: Auto Scaling groups
//! (launch, InService, drain, delete), Fargate profiles (CREATING → ACTIVE →
//! DELETING → gone), KMS keys (Enabled → PendingDeletion), and the error codes
//! AWS answers when the order is wrong.

use std::sync::{Arc, Mutex};

use super::super::world::World;
use super::super::{Clock, SandboxCloud};
use tierui_core::cloud::*;

fn lit(s: &str) -> Val {
    Val::Lit(s.into())
}

struct T {
    c: SandboxCloud,
    clock: Clock,
    o: Outputs,
}

impl T {
    fn new() -> T {
        let clock = Clock::manual(1_000_000);
        let c = SandboxCloud::new(
            Arc::new(Mutex::new(World::new(7))),
            "eu-west-1",
            clock.clone(),
            1.0,
            None,
        );
        let mut o = Outputs::new();
        o.entry("cluster".into()).or_default().extend([
            ("endpoint".to_string(), "https://x.eks".to_string()),
            ("certificate".to_string(), "Q0E=".to_string()),
        ]);
        T { c, clock, o }
    }
    fn run(&self, op: Op) -> Result<Produced, CloudError> {
        self.c.exec("call", &op, &self.o)
    }
    fn id(&self, op: Op, key: &str) -> String {
        self.run(op).unwrap()[key].clone()
    }
    fn code(&self, op: Op) -> String {
        self.run(op).unwrap_err().code
    }
    fn poll(&self, w: WaitFor) -> Poll {
        self.c.check(&w).unwrap()
    }
    fn undo(&self, u: Undo) -> Result<(), CloudError> {
        self.c.remove(&u)
    }
    /// A VPC with a public subnet (routed to an internet gateway) and a private one.
    fn network(&self) -> (String, String, String) {
        let vpc = self.id(
            Op::CreateVpc {
                cidr: "10.0.0.0/16".into(),
                tags: vec![],
                ipv6: false,
            },
            "id",
        );
        let subnet = |cidr: &str, az: &str| {
            self.id(
                Op::CreateSubnet {
                    vpc: lit(&vpc),
                    cidr: cidr.into(),
                    az: az.into(),
                    tags: vec![],
                    ipv6_block: None,
                },
                "id",
            )
        };
        let public = subnet("10.0.0.0/19", "eu-west-1a");
        let private = subnet("10.0.32.0/19", "eu-west-1b");
        let igw = self.id(Op::CreateInternetGateway { tags: vec![] }, "id");
        self.run(Op::AttachInternetGateway {
            igw: lit(&igw),
            vpc: lit(&vpc),
        })
        .unwrap();
        let rt = self.id(
            Op::CreateRouteTable {
                vpc: lit(&vpc),
                tags: vec![],
            },
            "id",
        );
        self.run(Op::CreateRoute {
            table: lit(&rt),
            destination: "0.0.0.0/0".into(),
            target: RouteTarget::InternetGateway { id: lit(&igw) },
        })
        .unwrap();
        self.run(Op::AssociateRouteTable {
            table: lit(&rt),
            subnet: lit(&public),
        })
        .unwrap();
        (vpc, public, private)
    }
    fn role(&self, name: &str, service: &str) -> String {
        self.id(
            Op::CreateRole {
                name: name.into(),
                trust: Trust::Service {
                    service: service.into(),
                },
                description: String::new(),
                tags: vec![],
                permissions_boundary: None,
            },
            "arn",
        )
    }
    /// An ACTIVE cluster `c1` with the given authentication mode and key.
    fn cluster(
        &self,
        public: &str,
        private: &str,
        mode: Option<&str>,
        key: Option<&str>,
    ) -> Result<(), CloudError> {
        let role = self.role("cluster", "eks.amazonaws.com");
        self.run(Op::CreateCluster {
            name: "c1".into(),
            version: Some("1.31".into()),
            role_arn: lit(&role),
            subnets: vec![lit(public), lit(private)],
            security_groups: vec![],
            public_access: true,
            private_access: false,
            public_access_cidrs: vec![],
            logging: vec![],
            tags: vec![],
            extras: ClusterExtras {
                authentication_mode: mode.map(str::to_string),
                encryption_key: key.map(lit),
                ..Default::default()
            },
        })?;
        self.clock.advance(600_000);
        assert_eq!(
            self.poll(WaitFor::ClusterActive { name: "c1".into() }),
            Poll::Done
        );
        Ok(())
    }
}

fn bootstrap() -> Bootstrap {
    Bootstrap {
        family: "AmazonLinux2023".into(),
        cluster: "c1".into(),
        endpoint: Val::of("cluster", "endpoint"),
        certificate: Val::of("cluster", "certificate"),
        service_cidr: "10.100.0.0/16".into(),
        labels: vec![],
        taints: vec![],
        max_pods: None,
        pre_bootstrap: vec![],
        override_command: None,
        bottlerocket: None,
    }
}

fn launch_template(name: &str) -> Op {
    Op::CreateLaunchTemplate {
        name: name.into(),
        image: "resolve:ssm:/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id".into(),
        instance_type: Some("m5.large".into()),
        bootstrap: bootstrap(),
        volume: Volume::default(),
        key_name: None,
        security_groups: vec![],
        instance_profile: None,
        imds_v2_only: true,
        tags: vec![],
    }
}

fn asg(name: &str, lt: &str, subnet: &str, min: i64, desired: i64, max: i64) -> Op {
    Op::CreateAutoScalingGroup {
        name: name.into(),
        launch_template: lit(lt),
        subnets: vec![lit(subnet)],
        min_size: min,
        desired_size: desired,
        max_size: max,
        instance_types: vec!["m5.large".into()],
        mix: None,
        target_group_arns: vec![],
        load_balancers: vec![],
        tags: vec![],
    }
}

#[test]
fn auto_scaling_groups_launch_drain_and_delete_in_order() {
    let t = T::new();
    let (_, _, private) = t.network();
    let lt = t.id(launch_template("lt1"), "id");
    assert_eq!(
        t.code(launch_template("lt1")),
        "InvalidLaunchTemplateName.AlreadyExistsException"
    );
    assert_eq!(
        t.code(asg("bad", &lt, &private, 2, 1, 3)),
        "ValidationError"
    );
    assert_eq!(
        t.code(asg("bad", "lt-0missing", &private, 1, 1, 1)),
        "ValidationError"
    );
    t.run(asg("g", &lt, &private, 1, 2, 3)).unwrap();
    assert_eq!(t.code(asg("g", &lt, &private, 1, 2, 3)), "AlreadyExists");
    let in_service = || {
        t.poll(WaitFor::AsgInService {
            name: "g".into(),
            desired: 2,
        })
    };
    assert_eq!(in_service(), Poll::Pending("0/2 InService".into()));
    t.clock.advance(90_000);
    assert_eq!(in_service(), Poll::Done);
    // Instances still in the group: AWS refuses the delete.
    let e = t
        .undo(Undo::DeleteAutoScalingGroup { name: "g".into() })
        .unwrap_err();
    assert_eq!(e.code, "ResourceInUse");
    t.undo(Undo::DrainAutoScalingGroup { name: "g".into() })
        .unwrap();
    assert_eq!(
        t.poll(WaitFor::AsgDrained { name: "g".into() }),
        Poll::Pending("2 instances terminating".into())
    );
    t.clock.advance(60_000);
    assert_eq!(t.poll(WaitFor::AsgDrained { name: "g".into() }), Poll::Done);
    t.undo(Undo::DeleteAutoScalingGroup { name: "g".into() })
        .unwrap();
    assert!(matches!(
        t.poll(WaitFor::AsgGone { name: "g".into() }),
        Poll::Pending(_)
    ));
    t.clock.advance(20_000);
    assert_eq!(t.poll(WaitFor::AsgGone { name: "g".into() }), Poll::Done);
    // The user data was rendered from the cluster's outputs when the template was made.
    let w = t.c.world.lock().unwrap();
    let ud = &w.regions["eu-west-1"].extra.launch_templates[&lt].user_data;
    assert!(ud.contains("apiServerEndpoint: https://x.eks"), "{ud}");
}

#[test]
fn fargate_profiles_need_private_subnets_and_take_time() {
    let t = T::new();
    let (_, public, private) = t.network();
    let fargate = |subnet: &str| Op::CreateFargateProfile {
        cluster: "c1".into(),
        name: "fp".into(),
        role_arn: Val::of("role-fargate", "arn"),
        subnets: vec![lit(subnet)],
        selectors: vec![("default".into(), vec![])],
        tags: vec![],
    };
    let mut o = t.o.clone();
    let role = t.role("fargate", "eks-fargate-pods.amazonaws.com");
    o.entry("role-fargate".into())
        .or_default()
        .insert("arn".into(), role);
    let run = |op: Op| t.c.exec("call", &op, &o);
    assert_eq!(
        run(fargate(&private)).unwrap_err().code,
        "ResourceNotFoundException"
    );
    t.cluster(&public, &private, None, None).unwrap();
    assert_eq!(
        run(fargate(&public)).unwrap_err().code,
        "InvalidParameterException"
    );
    run(fargate(&private)).unwrap();
    assert_eq!(
        run(fargate(&private)).unwrap_err().code,
        "ResourceInUseException"
    );
    let active = || {
        t.poll(WaitFor::FargateActive {
            cluster: "c1".into(),
            name: "fp".into(),
        })
    };
    assert_eq!(active(), Poll::Pending("CREATING".into()));
    t.clock.advance(120_000);
    assert_eq!(active(), Poll::Done);
    t.undo(Undo::DeleteFargateProfile {
        cluster: "c1".into(),
        name: "fp".into(),
    })
    .unwrap();
    let gone = || {
        t.poll(WaitFor::FargateGone {
            cluster: "c1".into(),
            name: "fp".into(),
        })
    };
    assert_eq!(gone(), Poll::Pending("DELETING".into()));
    t.clock.advance(60_000);
    assert_eq!(gone(), Poll::Done);
}

#[test]
fn kms_keys_go_pending_deletion_and_clusters_refuse_them() {
    let t = T::new();
    let (_, public, private) = t.network();
    let made = t
        .run(Op::CreateKey {
            description: "k".into(),
            tags: vec![],
        })
        .unwrap();
    let (id, arn) = (made["id"].clone(), made["arn"].clone());
    assert_eq!(
        t.id(Op::DescribeKey { key: arn.clone() }, "state"),
        "Enabled"
    );
    assert_eq!(
        t.code(Op::DescribeKey {
            key: "arn:aws:kms:eu-west-1:123456789012:key/nope".into()
        }),
        "NotFoundException"
    );
    t.undo(Undo::ScheduleKeyDeletion { key_id: id.clone() })
        .unwrap();
    assert_eq!(
        t.undo(Undo::ScheduleKeyDeletion { key_id: id.clone() })
            .unwrap_err()
            .code,
        "KMSInvalidStateException"
    );
    assert_eq!(
        t.code(Op::DescribeKey { key: arn.clone() }),
        "KMSInvalidStateException"
    );
    let e = t.cluster(&public, &private, None, Some(&arn)).unwrap_err();
    assert_eq!(e.code, "InvalidParameterException");
    assert!(e.message.contains("PendingDeletion"), "{}", e.message);
}

#[test]
fn access_entries_need_an_api_mode_and_iam_deletes_go_in_order() {
    let t = T::new();
    let (_, public, private) = t.network();
    t.cluster(&public, &private, None, None).unwrap();
    let entry = |p: &str| Op::CreateAccessEntry {
        cluster: "c1".into(),
        principal_arn: lit(p),
        kind: Some("EC2_LINUX".into()),
        groups: vec![],
        username: None,
        tags: vec![],
    };
    // CreateCluster named no mode: CONFIG_MAP, and access entries are refused.
    assert_eq!(
        t.code(entry("arn:aws:iam::123456789012:role/n")),
        "InvalidRequestException"
    );

    let role = t.role("node", "ec2.amazonaws.com");
    t.run(Op::CreateInstanceProfile {
        name: "p".into(),
        tags: vec![],
    })
    .unwrap();
    t.run(Op::AddRoleToInstanceProfile {
        profile: "p".into(),
        role: "node".into(),
    })
    .unwrap();
    t.run(Op::PutRolePolicy {
        role: "node".into(),
        name: "x".into(),
        document: "{}".into(),
    })
    .unwrap();
    assert_eq!(
        t.code(Op::PutRolePolicy {
            role: "node".into(),
            name: "y".into(),
            document: "not json".into()
        }),
        "MalformedPolicyDocument"
    );
    assert_eq!(
        t.undo(Undo::DeleteInstanceProfile { name: "p".into() })
            .unwrap_err()
            .code,
        "DeleteConflict"
    );
    assert_eq!(
        t.undo(Undo::DeleteRole {
            name: "node".into()
        })
        .unwrap_err()
        .code,
        "DeleteConflict"
    );
    t.undo(Undo::RemoveRoleFromInstanceProfile {
        profile: "p".into(),
        role: "node".into(),
    })
    .unwrap();
    t.undo(Undo::DeleteInstanceProfile { name: "p".into() })
        .unwrap();
    let e = t
        .undo(Undo::DeleteRole {
            name: "node".into(),
        })
        .unwrap_err();
    assert!(
        e.message.contains("must delete policies first"),
        "{}",
        e.message
    );
    t.undo(Undo::DeleteRolePolicy {
        role: "node".into(),
        name: "x".into(),
    })
    .unwrap();
    t.undo(Undo::DeleteRole {
        name: "node".into(),
    })
    .unwrap();
    let _ = role;
}

#[test]
fn security_group_rules_block_the_groups_they_name() {
    let t = T::new();
    let (vpc, _, _) = t.network();
    let sg = |n: &str| {
        t.id(
            Op::CreateSecurityGroup {
                vpc: lit(&vpc),
                name: n.into(),
                description: String::new(),
                tags: vec![],
            },
            "id",
        )
    };
    let (a, b) = (sg("a"), sg("b"));
    let rule = Op::AuthorizeIngress {
        group: lit(&a),
        peer: Peer::Group { id: lit(&b) },
        protocol: "tcp".into(),
        from_port: 443,
        to_port: 443,
        description: String::new(),
    };
    t.run(rule.clone()).unwrap();
    assert_eq!(t.code(rule), "InvalidPermission.Duplicate");
    assert_eq!(
        t.undo(Undo::DeleteSecurityGroup { id: b.clone() })
            .unwrap_err()
            .code,
        "DependencyViolation"
    );
    t.undo(Undo::RevokeIngress {
        group: a.clone(),
        peer: b.clone(),
        protocol: "tcp".into(),
        from_port: 443,
        to_port: 443,
    })
    .unwrap();
    t.undo(Undo::DeleteSecurityGroup { id: b }).unwrap();
    t.undo(Undo::DeleteSecurityGroup { id: a }).unwrap();
}
