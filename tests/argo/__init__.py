"""A strict fake Argo Server and the schemas it validates with."""
