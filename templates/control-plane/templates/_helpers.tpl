{{/* meshctl.labels renders the labels every control-plane object carries. */}}
{{- define "meshctl.labels" -}}
app.kubernetes.io/part-of: meshctl
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ include "meshctl.version" . | quote }}
meshctl.io/control-plane-ns: {{ .Release.Namespace }}
{{- end }}

{{/* meshctl.componentLabels renders the labels of a component's objects: (list ctx component). */}}
{{- define "meshctl.componentLabels" -}}
{{- include "meshctl.labels" (index . 0) }}
app.kubernetes.io/name: meshctl-{{ index . 1 }}
meshctl.io/control-plane-component: {{ index . 1 }}
{{- end }}

{{/* meshctl.selector renders the selector labels of a component: (list ctx component). */}}
{{- define "meshctl.selector" -}}
meshctl.io/control-plane-ns: {{ (index . 0).Release.Namespace }}
meshctl.io/control-plane-component: {{ index . 1 }}
{{- end }}

{{/* meshctl.controllerSecurityContext is the securityContext of every controller container. */}}
{{- define "meshctl.controllerSecurityContext" -}}
runAsUser: {{ .Values.controller.uid }}
runAsGroup: {{ .Values.controller.gid }}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
meshctl.deployment renders the Deployment of a controller from a dict:
  ctx        the root context
  component  identity, destination, policy or injector
  port       the component's serving port
  portName   its name
  env        extra environment variables (a YAML list string, may be empty)
  mounts     extra volumeMounts (a YAML list string, may be empty)
  volumes    extra volumes (a YAML list string, may be empty)
  workload   extra keys for the proxy partial's Workload
*/}}
{{- define "meshctl.deployment" -}}
{{- $ := .ctx -}}
{{- $c := .component -}}
{{- $name := printf "meshctl-%s" $c -}}
{{- $workload := merge (dict "kind" "deployment" "name" $name "namespace" $.Release.Namespace "controlPlane" true) (index . "workload" | default dict) -}}
{{- $pctx := dict "Values" $.Values "Release" $.Release "Workload" $workload -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "meshctl.componentLabels" (list $ $c) | nindent 4 }}
spec:
  replicas: {{ $.Values.controller.replicas }}
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      {{- include "meshctl.selector" (list $ $c) | nindent 6 }}
  {{- if gt (int $.Values.controller.replicas) 1 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 1
  {{- end }}
  template:
    metadata:
      labels:
        app.kubernetes.io/part-of: meshctl
        app.kubernetes.io/name: {{ $name }}
        meshctl.io/control-plane-component: {{ $c }}
        {{- include "meshctl.proxy.labels" $pctx | nindent 8 }}
      annotations:
        meshctl.io/inject: enabled
        {{- include "meshctl.proxy.annotations" $pctx | nindent 8 }}
    spec:
      serviceAccountName: {{ $name }}
      automountServiceAccountToken: true
      enableServiceLinks: false
      {{- with $.Values.controller.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      {{- if $.Values.controller.enablePodAntiAffinity }}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  {{- include "meshctl.selector" (list $ $c) | nindent 18 }}
      {{- end }}
      securityContext:
        seccompProfile:
          type: RuntimeDefault
      initContainers:
        {{- include "meshctl.proxy.init" $pctx | nindent 8 }}
        {{- if $.Values.proxy.nativeSidecar }}
        {{- include "meshctl.proxy" $pctx | nindent 8 }}
        {{- end }}
      containers:
        {{- if not $.Values.proxy.nativeSidecar }}
        {{- include "meshctl.proxy" $pctx | nindent 8 }}
        {{- end }}
        - name: {{ $c }}
          image: {{ include "meshctl.image" $ }}
          imagePullPolicy: {{ $.Values.image.pullPolicy }}
          args: ["controller", {{ $c | quote }}]
          env:
            - name: MESHCTL_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: MESHCTL_LOG_LEVEL
              value: {{ $.Values.controller.logLevel | quote }}
            - name: MESHCTL_LOG_FORMAT
              value: {{ $.Values.controller.logFormat | quote }}
            {{- with index . "env" }}
            {{- . | nindent 12 }}
            {{- end }}
          ports:
            - name: {{ .portName }}
              containerPort: {{ .port }}
            - name: admin-http
              containerPort: 9990
          readinessProbe:
            httpGet:
              path: /ready
              port: 9990
            initialDelaySeconds: 2
            periodSeconds: 10
            timeoutSeconds: 1
          livenessProbe:
            httpGet:
              path: /live
              port: 9990
            initialDelaySeconds: 10
            periodSeconds: 10
            timeoutSeconds: 1
          resources:
            {{- include "meshctl.resources" $.Values.controller.resources | nindent 12 }}
          securityContext:
            {{- include "meshctl.controllerSecurityContext" $ | nindent 12 }}
          terminationMessagePolicy: FallbackToLogsOnError
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- with index . "mounts" }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- include "meshctl.proxy.volumes" $pctx | nindent 8 }}
        {{- with index . "volumes" }}
        {{- . | nindent 8 }}
        {{- end }}
{{- end }}

{{/* meshctl.service renders the Service of a controller: (list ctx component port portName servicePort). */}}
{{- define "meshctl.service" -}}
{{- $ := index . 0 -}}
{{- $c := index . 1 -}}
apiVersion: v1
kind: Service
metadata:
  name: meshctl-{{ $c }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "meshctl.componentLabels" (list $ $c) | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "meshctl.selector" (list $ $c) | nindent 4 }}
  ports:
    - name: {{ index . 3 }}
      port: {{ index . 4 }}
      targetPort: {{ index . 2 }}
      protocol: TCP
{{- end }}

{{/* meshctl.serviceAccount renders the ServiceAccount of a controller: (list ctx component). */}}
{{- define "meshctl.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: meshctl-{{ index . 1 }}
  namespace: {{ (index . 0).Release.Namespace }}
  labels:
    {{- include "meshctl.componentLabels" . | nindent 4 }}
{{- end }}

{{/* meshctl.clusterRoleBinding binds the ClusterRole of a controller to its ServiceAccount: (list ctx component). */}}
{{- define "meshctl.clusterRoleBinding" -}}
{{- $ := index . 0 -}}
{{- $name := printf "meshctl-%s-%s" $.Release.Namespace (index . 1) -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $name }}
  labels:
    {{- include "meshctl.componentLabels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: meshctl-{{ index . 1 }}
    namespace: {{ $.Release.Namespace }}
{{- end }}

{{/* meshctl.clusterRoleMeta renders the metadata of a controller's ClusterRole: (list ctx component). */}}
{{- define "meshctl.clusterRoleMeta" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: meshctl-{{ (index . 0).Release.Namespace }}-{{ index . 1 }}
  labels:
    {{- include "meshctl.componentLabels" . | nindent 4 }}
{{- end }}
