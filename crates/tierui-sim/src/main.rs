//! `tierui-sim`: the simulator on its own. Scenario files are read as given;
//! their `manifests` folders are not resolved here (that is the demo's data, which
//! `tierui sim --scenario <name>` brings).

use std::process::ExitCode;

use tierui_sim::{Serve, scenario::Scenario};

const USAGE: &str = "usage: tierui-sim [--port N] [--kubeconfig FILE] [--pods N] [--nodes N] [--namespaces N] [--churn X] [--seed N] [--speed X] [--scenario FILE]";

fn parse(args: &[String]) -> Result<Serve, String> {
    let mut s = Serve::default();
    s.config.cluster_name = "sim".into();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |what: &str| format!("{flag} {value}: {what}\n{USAGE}");
        match flag.as_str() {
            "--port" => s.config.port = value.parse().map_err(|_| bad("not a port"))?,
            "--pods" => s.config.pods = value.parse().map_err(|_| bad("not a count"))?,
            "--nodes" => s.config.nodes = Some(value.parse().map_err(|_| bad("not a count"))?),
            "--namespaces" => {
                s.config.load_namespaces = value.parse().map_err(|_| bad("not a count"))?
            }
            "--seed" => s.config.seed = value.parse().map_err(|_| bad("not a number"))?,
            "--churn" => s.config.churn = value.parse().map_err(|_| bad("not a number"))?,
            "--speed" => {
                let v: f64 = value.parse().map_err(|_| bad("not a number"))?;
                if !v.is_finite() || v <= 0.0 {
                    return Err(bad("the time factor must be a number above 0"));
                }
                s.config.speed = v;
            }
            "--kubeconfig" => s.kubeconfig = Some(value.into()),
            "--scenario" => {
                let text = std::fs::read_to_string(value).map_err(|e| bad(&e.to_string()))?;
                s.config.scenario = Scenario::parse(&text).map_err(|e| bad(&format!("{e:#}")))?;
                s.scenario_label = Some(value.clone());
            }
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    Ok(s)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args).map(tierui_sim::serve) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("tierui-sim: {e:#}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
