fn main() {
    for e in std::fs::read_dir("/work/shared/public/eksctl-examples").unwrap() {
        let p = e.unwrap().path();
        let src = std::fs::read_to_string(&p).unwrap();
        let docs = tierui::workspace::yaml::parse_documents(&src);
        match docs {
            Err(e) => println!("{}: YAML {e}", p.display()),
            Ok(docs) => {
                for d in docs.iter().filter(|d| !d.root.is_null()) {
                    let mut diags = vec![];
                    let cfg = tierui::workspace::eksctl::parse(&d.root, &mut diags);
                    println!(
                        "{} ok={} {}",
                        p.file_name().unwrap().to_string_lossy(),
                        cfg.is_some(),
                        diags
                            .iter()
                            .map(|d| format!(
                                "[{:?} {}:{} {}]",
                                d.severity, d.line, d.col, d.message
                            ))
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                }
            }
        }
    }
}
