//! `tierui sim`: a Kubernetes API server on loopback.
