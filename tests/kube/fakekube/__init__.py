"""A small fake Kubernetes: API server, controllers and a kubelet that runs pods as
local processes. Enough of Kubernetes for the real dask-kubernetes operator and
KubeCluster to work against it; ../shared/FACTS.md (beside the repository) lists
what is needed, and ../README.md how to use it."""
