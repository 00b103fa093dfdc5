fn main() {
    let v = serde_json::json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x","labels":{"app":"x"}},"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"a","image":"r/x:v1","ports":[{"containerPort":80}],"args":["--x","yes","1.0","null",""]}]}}},"data":{"multi":"line1\nline2\n","colon":"a: b","star":"*x","empty":{},"list":[]}});
    println!("{}", serde_saphyr::to_string(&v).unwrap());
}
