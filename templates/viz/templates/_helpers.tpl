{{/* viz.labels renders the labels of every viz object: (list ctx component). */}}
{{- define "viz.labels" -}}
app.kubernetes.io/part-of: meshctl
app.kubernetes.io/managed-by: {{ (index . 0).Release.Service }}
app.kubernetes.io/name: meshctl-{{ index . 1 }}
app.kubernetes.io/component: {{ index . 1 }}
meshctl.io/viz-component: {{ index . 1 }}
{{- end }}

{{/* viz.selector renders the selector labels of a component: (list ctx component). */}}
{{- define "viz.selector" -}}
app.kubernetes.io/part-of: meshctl
meshctl.io/viz-component: {{ index . 1 }}
{{- end }}
