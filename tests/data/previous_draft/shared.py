"""Argo workflow 'previous', exported by argodasf-jupyter.

Run it to print the workflow's YAML; submit it with `workflow.create()` after
setting hera's global_config (host, token, namespace).
"""

from hera.workflows import Container, DAG, Env, Parameter, Resource, RetryStrategy, SecretEnvFrom, Task, Workflow

ARGODASF__CLUSTER_MANIFEST = """\
apiVersion: kubernetes.dask.org/v1
kind: DaskCluster
metadata:
  name: '{{workflow.name}}--cluster'
  labels:
    argodasf.io/workflow: '{{workflow.name}}'
spec:
  scheduler:
    spec:
      containers:
      - name: scheduler
        image: example.org/dasf:1
        args:
        - dask
        - scheduler
        - --host
        - 0.0.0.0
        env:
        - name: OMP_NUM_THREADS
          value: '1'
        volumeMounts:
        - name: shared
          mountPath: /shared
        workingDir: /shared
        envFrom:
        - secretRef:
            name: s3-credentials
        ports:
        - name: tcp-comm
          containerPort: 8786
          protocol: TCP
        - name: http-dashboard
          containerPort: 8787
          protocol: TCP
        readinessProbe:
          httpGet:
            port: http-dashboard
            path: /health
          initialDelaySeconds: 0
          periodSeconds: 1
          timeoutSeconds: 300
        livenessProbe:
          httpGet:
            port: http-dashboard
            path: /health
          initialDelaySeconds: 15
          periodSeconds: 20
      volumes:
      - name: shared
        persistentVolumeClaim:
          claimName: data
      nodeSelector:
        pool: cpu
    service:
      type: ClusterIP
      selector:
        dask.org/cluster-name: '{{workflow.name}}--cluster'
        dask.org/component: scheduler
      ports:
      - name: tcp-comm
        protocol: TCP
        port: 8786
        targetPort: tcp-comm
      - name: http-dashboard
        protocol: TCP
        port: 8787
        targetPort: http-dashboard
  worker:
    replicas: 3
    spec:
      containers:
      - name: worker
        image: example.org/dasf:1
        args:
        - dask
        - worker
        - --name
        - $(DASK_WORKER_NAME)
        - --dashboard
        - --dashboard-address
        - :8788
        - --nthreads
        - '1'
        - --memory-limit
        - 2GiB
        env:
        - name: OMP_NUM_THREADS
          value: '1'
        volumeMounts:
        - name: shared
          mountPath: /shared
        workingDir: /shared
        envFrom:
        - secretRef:
            name: s3-credentials
        resources:
          requests:
            memory: 2Gi
            cpu: 500m
          limits:
            memory: 2Gi
            cpu: 500m
        ports:
        - name: http-dashboard
          containerPort: 8788
          protocol: TCP
      volumes:
      - name: shared
        persistentVolumeClaim:
          claimName: data
      nodeSelector:
        pool: cpu
"""

ARGODASF__CLUSTER_DELETE_MANIFEST = """\
apiVersion: kubernetes.dask.org/v1
kind: DaskCluster
metadata:
  name: '{{workflow.name}}--cluster'
"""

report_template = Container(
    name='report',
    image='alpine:3',
    command=['sh', '-c', 'printf %s "$@" | base64 -d | sh', 'argodasf'],
    args=['Y2F0IC9zaGFyZWQvb3V0LnR4dAo='],
    volumes=[{'name': 'shared', 'persistentVolumeClaim': {'claimName': 'data'}}],
    volume_mounts=[{'name': 'shared', 'mountPath': '/shared'}],
    working_dir='/shared',
    env_from=[
        SecretEnvFrom(
            name='s3-credentials',
        ),
    ],
    active_deadline_seconds=3600,
)

stage_template = Container(
    name='stage',
    image='example.org/dasf:1',
    args=<step script>,
    env=[
        Env(
            name='OMP_NUM_THREADS',
            value='1',
        ),
        Env(
            name='ARGODASF_PARAM_factor',
            value='{{=sprig.b64enc(inputs.parameters["factor"])}}',
        ),
        Env(
            name='ARGODASF_PARAM_out_path',
            value='{{=sprig.b64enc(inputs.parameters["out_path"])}}',
        ),
        Env(
            name='DASK_SCHEDULER_ADDRESS',
            value='tcp://{{workflow.name}}--cluster-scheduler.{{workflow.namespace}}:8786',
        ),
    ],
    volumes=[{'name': 'shared', 'persistentVolumeClaim': {'claimName': 'data'}}],
    volume_mounts=[{'name': 'shared', 'mountPath': '/shared'}],
    working_dir='/shared',
    env_from=[
        SecretEnvFrom(
            name='s3-credentials',
        ),
    ],
    active_deadline_seconds=600,
    retry_strategy=RetryStrategy(
        limit=1,
    ),
    inputs=[
        Parameter(
            name='factor',
        ),
        Parameter(
            name='out_path',
        ),
    ],
)

envelope_template = Container(
    name='envelope',
    image='example.org/dasf:1',
    args=<step script>,
    env=[
        Env(
            name='OMP_NUM_THREADS',
            value='1',
        ),
        Env(
            name='DASK_SCHEDULER_ADDRESS',
            value='tcp://{{workflow.name}}--cluster-scheduler.{{workflow.namespace}}:8786',
        ),
    ],
    volumes=[{'name': 'shared', 'persistentVolumeClaim': {'claimName': 'data'}}],
    volume_mounts=[{'name': 'shared', 'mountPath': '/shared'}],
    working_dir='/shared',
    env_from=[
        SecretEnvFrom(
            name='s3-credentials',
        ),
    ],
    active_deadline_seconds=3600,
)

argodasf__cluster_template = Resource(
    name='argodasf--cluster',
    manifest=ARGODASF__CLUSTER_MANIFEST,
    action='create',
    success_condition='status.phase == Running',
    set_owner_reference=True,
    timeout='900s',
)

argodasf__cluster_delete_template = Resource(
    name='argodasf--cluster-delete',
    manifest=ARGODASF__CLUSTER_DELETE_MANIFEST,
    action='delete',
    flags=['--ignore-not-found'],
)

argodasf__dag_template = DAG(
    name='argodasf--dag',
    tasks=[
        Task(
            name='argodasf--cluster',
            template=argodasf__cluster_template,
        ),
        Task(
            name='stage',
            template=stage_template,
            arguments=[
                Parameter(
                    name='factor',
                    value='{{workflow.parameters.factor}}',
                ),
                Parameter(
                    name='out_path',
                    value='{{workflow.parameters.out_path}}',
                ),
            ],
            dependencies=['argodasf--cluster'],
        ),
        Task(
            name='envelope',
            template=envelope_template,
            dependencies=['argodasf--cluster', 'stage'],
        ),
        Task(
            name='report',
            template=report_template,
            dependencies=['envelope'],
        ),
    ],
)

workflow = Workflow(
    generate_name='previous-',
    namespace='ns',
    entrypoint='argodasf--dag',
    labels={'argodasf.io/draft': 'previous'},
    service_account_name='runner',
    arguments=[
        Parameter(
            name='factor',
            value='3',
        ),
        Parameter(
            name='out_path',
            value='x',
        ),
    ],
    templates=[
        report_template,
        stage_template,
        envelope_template,
        argodasf__cluster_template,
        argodasf__cluster_delete_template,
        argodasf__dag_template,
    ],
    on_exit=argodasf__cluster_delete_template,
)

if __name__ == "__main__":
    print(workflow.to_yaml())
