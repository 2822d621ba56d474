"""Argo workflow 'previous', exported by argodasf-jupyter.

Run it to print the workflow's YAML; submit it with `workflow.create()` after
setting hera's global_config (host, token, namespace).
"""

from hera.workflows import Container, DAG, Parameter, Resource, RetryStrategy, SecretEnvFrom, Task, Workflow

STAGE_MANIFEST = """\
apiVersion: kubernetes.dask.org/v1
kind: DaskJob
metadata:
  name: '{{workflow.name}}-stage-{{retries}}'
  labels:
    argodasf.io/workflow: '{{workflow.name}}'
    argodasf.io/step: stage
spec:
  job:
    spec:
      containers:
      - args:
        - python
        - -c
        - <step bootstrap>
        - <step script>
        env:
        - name: OMP_NUM_THREADS
          value: '1'
        - name: ARGODASF_PARAM_factor
          value: '{{=sprig.b64enc(inputs.parameters["factor"])}}'
        - name: ARGODASF_PARAM_out_path
          value: '{{=sprig.b64enc(inputs.parameters["out_path"])}}'
        volumeMounts:
        - name: shared
          mountPath: /shared
        workingDir: /shared
        envFrom:
        - secretRef:
            name: s3-credentials
        name: job
        image: example.org/dasf:1
      volumes:
      - name: shared
        persistentVolumeClaim:
          claimName: data
      nodeSelector:
        pool: cpu
      serviceAccountName: runner
      restartPolicy: Never
  cluster:
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
            dask.org/cluster-name: '{{workflow.name}}-stage-{{retries}}'
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

ENVELOPE_MANIFEST = """\
apiVersion: kubernetes.dask.org/v1
kind: DaskJob
metadata:
  name: '{{workflow.name}}-envelope'
  labels:
    argodasf.io/workflow: '{{workflow.name}}'
    argodasf.io/step: envelope
spec:
  job:
    spec:
      containers:
      - args:
        - python
        - -c
        - <step bootstrap>
        - <step script>
        volumeMounts:
        - name: shared
          mountPath: /shared
        workingDir: /shared
        name: job
        image: example.org/dasf:1
      volumes:
      - name: shared
        persistentVolumeClaim:
          claimName: data
      serviceAccountName: runner
      restartPolicy: Never
  cluster:
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
            volumeMounts:
            - name: shared
              mountPath: /shared
            workingDir: /shared
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
        service:
          type: ClusterIP
          selector:
            dask.org/cluster-name: '{{workflow.name}}-envelope'
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
        replicas: 1
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
            - '2'
            volumeMounts:
            - name: shared
              mountPath: /shared
            workingDir: /shared
            ports:
            - name: http-dashboard
              containerPort: 8788
              protocol: TCP
          volumes:
          - name: shared
            persistentVolumeClaim:
              claimName: data
"""

ENVELOPE__AUTOSCALER_MANIFEST = """\
apiVersion: kubernetes.dask.org/v1
kind: DaskAutoscaler
metadata:
  name: '{{workflow.name}}-envelope'
  labels:
    dask.org/cluster-name: '{{workflow.name}}-envelope'
    dask.org/component: autoscaler
    argodasf.io/workflow: '{{workflow.name}}'
    argodasf.io/step: envelope
spec:
  cluster: '{{workflow.name}}-envelope'
  minimum: 1
  maximum: 4
"""

stage_template = Resource(
    name='stage',
    action='create',
    manifest=STAGE_MANIFEST,
    success_condition='status.jobStatus == Successful',
    failure_condition='status.jobStatus == Failed',
    set_owner_reference=True,
    timeout='600s',
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

envelope_template = Resource(
    name='envelope',
    action='create',
    manifest=ENVELOPE_MANIFEST,
    success_condition='status.jobStatus == Successful',
    failure_condition='status.jobStatus == Failed',
    set_owner_reference=True,
    timeout='3600s',
)

envelope__autoscaler_template = Resource(
    name='envelope--autoscaler',
    action='create',
    manifest=ENVELOPE__AUTOSCALER_MANIFEST,
    set_owner_reference=True,
)

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

argodasf__dag_template = DAG(
    name='argodasf--dag',
    tasks=[
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
        ),
        Task(
            name='envelope--autoscaler',
            template=envelope__autoscaler_template,
            dependencies=['stage'],
        ),
        Task(
            name='envelope',
            template=envelope_template,
            dependencies=['stage'],
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
        stage_template,
        envelope_template,
        envelope__autoscaler_template,
        report_template,
        argodasf__dag_template,
    ],
)

if __name__ == "__main__":
    print(workflow.to_yaml())
