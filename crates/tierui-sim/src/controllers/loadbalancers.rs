//! Load balancers as EKS gives them: with the AWS Load Balancer Controller
//! add-on, an Ingress of class `alb` gets an ALB's DNS name in
//! `status.loadBalancer.ingress[0].hostname` (`k8s-<ns>-<name>-<hash>-<n>.
//! <region>.elb.amazonaws.com`) and the controller's event; a Service of type
//! LoadBalancer gets an ELB name (an NLB's when the controller handles it), as
//! the service controller reports it.

use serde_json::{Value, json};

use crate::clock::fnv;
use crate::kinds;
use crate::scenario::Scenario;
use crate::state::State;

pub const ADDON: &str = "aws-load-balancer-controller";

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

/// The controller's IngressClass, when the cluster runs it (added when missing).
pub fn seed(st: &mut State, sc: &Scenario) {
    if sc.addons.iter().any(|a| a == ADDON)
        && st.store.get(kinds::INGRESSCLASS, "", "alb").is_none()
    {
        st.put(
            kinds::INGRESSCLASS,
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                   "metadata": {"name": "alb", "labels": {"app.kubernetes.io/name": ADDON}},
                   "spec": {"controller": "ingress.k8s.aws/alb"}}),
        );
    }
}

fn region(st: &State) -> String {
    st.store
        .range(kinds::NODE, None, None)
        .next()
        .map(|e| {
            s(
                &e.value(),
                "/metadata/labels/topology.kubernetes.io~1region",
            )
            .to_string()
        })
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".into())
}

/// `k8s-<ns>-<name>-<hash>`: the controller's name, parts cut to fit 32 characters.
fn lb_name(ns: &str, name: &str) -> String {
    let cut = |x: &str| {
        x.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(8)
            .collect::<String>()
    };
    let hash = fnv(format!("{ns}/{name}").as_bytes());
    format!(
        "k8s-{}-{}-{:010x}",
        cut(ns),
        cut(name),
        hash & 0xff_ffff_ffff
    )
}

fn has_hostname(o: &Value) -> bool {
    !s(o, "/status/loadBalancer/ingress/0/hostname").is_empty()
}

pub fn reconcile_all(st: &mut State, sc: &Scenario) {
    let alb = sc.addons.iter().any(|a| a == ADDON);
    let region = region(st);
    if alb {
        let ingresses: Vec<Value> = st
            .store
            .range(kinds::INGRESS, None, None)
            .map(|e| e.value())
            .filter(|i| {
                (s(i, "/spec/ingressClassName") == "alb"
                    || s(i, "/metadata/annotations/kubernetes.io~1ingress.class") == "alb")
                    && !has_hostname(i)
                    && i.pointer("/metadata/deletionTimestamp").is_none()
            })
            .collect();
        for mut ing in ingresses {
            let (ns, name) = (
                s(&ing, "/metadata/namespace").to_string(),
                s(&ing, "/metadata/name").to_string(),
            );
            let host = format!(
                "{}-{}.{region}.elb.amazonaws.com",
                lb_name(&ns, &name),
                fnv(name.as_bytes()) % 9_000_000_000 + 1_000_000_000
            );
            ing["status"] = json!({"loadBalancer": {"ingress": [{"hostname": host}]}});
            st.store.commit(kinds::INGRESS, ing.clone());
            st.event(
                kinds::INGRESS,
                &ing,
                "Normal",
                "SuccessfullyReconciled",
                "Successfully reconciled",
                "ingress",
            );
        }
    }
    let services: Vec<Value> = st
        .store
        .range(kinds::SERVICE, None, None)
        .map(|e| e.value())
        .filter(|v| s(v, "/spec/type") == "LoadBalancer" && !has_hostname(v))
        .collect();
    for mut svc in services {
        let (ns, name) = (
            s(&svc, "/metadata/namespace").to_string(),
            s(&svc, "/metadata/name").to_string(),
        );
        let nlb = alb
            && matches!(
                s(
                    &svc,
                    "/metadata/annotations/service.beta.kubernetes.io~1aws-load-balancer-type"
                ),
                "external" | "nlb-ip"
            );
        let h = fnv(format!("{ns}/{name}").as_bytes());
        let host = if nlb {
            format!("{}.elb.{region}.amazonaws.com", lb_name(&ns, &name))
        } else {
            format!(
                "a{h:016x}{:016x}-{}.{region}.elb.amazonaws.com",
                h.rotate_left(17),
                h % 9_000_000_000 + 1_000_000_000
            )
        };
        svc["status"] = json!({"loadBalancer": {"ingress": [{"hostname": host}]}});
        st.store.commit(kinds::SERVICE, svc.clone());
        let component = if nlb { "service" } else { "service-controller" };
        st.event(
            kinds::SERVICE,
            &svc,
            "Normal",
            "EnsuringLoadBalancer",
            "Ensuring load balancer",
            component,
        );
        st.event(
            kinds::SERVICE,
            &svc,
            "Normal",
            "EnsuredLoadBalancer",
            "Ensured load balancer",
            component,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alb_ingresses_and_load_balancer_services_get_dns_names() {
        let mut st = State::new(1);
        let sc = Scenario {
            addons: vec![ADDON.into()],
            ..Scenario::default()
        };
        seed(&mut st, &sc);
        assert!(st.store.get(kinds::INGRESSCLASS, "", "alb").is_some());
        st.put(
            kinds::INGRESS,
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "shop"}, "spec": {"ingressClassName": "alb"}}),
        );
        st.put(kinds::INGRESS, json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "other", "namespace": "shop"}, "spec": {"ingressClassName": "nginx"}}));
        st.put(
            kinds::SERVICE,
            json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "edge", "namespace": "shop"}, "spec": {"type": "LoadBalancer"}}),
        );
        reconcile_all(&mut st, &sc);
        let web = st.get_value(kinds::INGRESS, "shop", "web").unwrap();
        let host = s(&web, "/status/loadBalancer/ingress/0/hostname");
        assert!(
            host.starts_with("k8s-shop-web-") && host.ends_with(".us-east-1.elb.amazonaws.com"),
            "{host}"
        );
        assert!(!has_hostname(
            &st.get_value(kinds::INGRESS, "shop", "other").unwrap()
        ));
        let edge = st.get_value(kinds::SERVICE, "shop", "edge").unwrap();
        assert!(
            s(&edge, "/status/loadBalancer/ingress/0/hostname").ends_with(".elb.amazonaws.com")
        );
        // Once: a second pass changes nothing.
        let rv = st.store.rv();
        reconcile_all(&mut st, &sc);
        assert_eq!(st.store.rv(), rv);
    }
}
