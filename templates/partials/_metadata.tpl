{{/* meshctl.proxy.labels renders the labels of a meshed pod. */}}
{{- define "meshctl.proxy.labels" -}}
meshctl.io/control-plane-ns: {{ .Release.Namespace }}
meshctl.io/workload-ns: {{ .Workload.namespace }}
meshctl.io/proxy-{{ .Workload.kind }}: {{ .Workload.name }}
{{- end }}

{{/* meshctl.proxy.annotations renders the annotations of a meshed pod. */}}
{{- define "meshctl.proxy.annotations" -}}
meshctl.io/created-by: meshctl/cli {{ include "meshctl.version" . }}
meshctl.io/proxy-version: {{ include "meshctl.version" . | quote }}
meshctl.io/trust-root-sha256: {{ .Values.identity.trustAnchorsPEM | sha256sum }}
{{- end }}
