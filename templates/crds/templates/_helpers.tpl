{{/*
meshctl.crd.metadata renders the labels and annotations shared by every CRD.
*/}}
{{- define "meshctl.crd.metadata" -}}
labels:
  app.kubernetes.io/part-of: meshctl
  app.kubernetes.io/managed-by: {{ .Release.Service }}
  meshctl.io/control-plane-ns: {{ .Release.Namespace }}
annotations:
  meshctl.io/created-by: meshctl/cli
{{- end }}

{{/*
meshctl.crd.labelSelector is the schema of a metav1.LabelSelector.
*/}}
{{- define "meshctl.crd.labelSelector" -}}
type: object
properties:
  matchLabels:
    type: object
    additionalProperties:
      type: string
  matchExpressions:
    type: array
    items:
      type: object
      required: [key, operator]
      properties:
        key:
          type: string
          minLength: 1
        operator:
          type: string
          enum: [In, NotIn, Exists, DoesNotExist]
        values:
          type: array
          items:
            type: string
{{- end }}

{{/*
meshctl.crd.ref is the schema of a reference to another object
(group, kind, name and an optional namespace).
*/}}
{{- define "meshctl.crd.ref" -}}
type: object
required: [kind, name]
properties:
  group:
    description: API group of the referent; empty means the core group.
    type: string
    maxLength: 253
    pattern: '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'
  kind:
    description: Kind of the referent.
    type: string
    minLength: 1
    maxLength: 63
    pattern: '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$'
  name:
    description: Name of the referent.
    type: string
    minLength: 1
    maxLength: 253
  namespace:
    description: Namespace of the referent; empty means the local namespace.
    type: string
    maxLength: 63
{{- end }}

{{/*
meshctl.crd.duration is the schema of a Go-style duration such as 10s or 1m30s.
*/}}
{{- define "meshctl.crd.duration" -}}
type: string
pattern: '^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$'
{{- end }}

{{/*
meshctl.crd.httpMatch is the schema of a header or query parameter match.
*/}}
{{- define "meshctl.crd.httpMatch" -}}
type: object
required: [name, value]
properties:
  type:
    type: string
    default: Exact
    enum: [Exact, RegularExpression]
  name:
    type: string
    minLength: 1
    maxLength: 256
  value:
    type: string
    minLength: 1
    maxLength: 4096
{{- end }}

{{/*
meshctl.crd.headerModifier is the schema of a request or response header modifier.
*/}}
{{- define "meshctl.crd.headerModifier" -}}
type: object
properties:
  set:
    type: array
    maxItems: 16
    items:
      type: object
      required: [name, value]
      properties:
        name:
          type: string
          minLength: 1
          maxLength: 256
        value:
          type: string
          maxLength: 4096
  add:
    type: array
    maxItems: 16
    items:
      type: object
      required: [name, value]
      properties:
        name:
          type: string
          minLength: 1
          maxLength: 256
        value:
          type: string
          maxLength: 4096
  remove:
    type: array
    maxItems: 16
    items:
      type: string
      minLength: 1
      maxLength: 256
{{- end }}

{{/*
meshctl.crd.requestMatch is the schema of a ServiceProfile request condition.
Conditions nest one level (all/any/not of plain conditions) so that the schema
stays structural; call it with (dict "nested" true) for the outer level.
*/}}
{{- define "meshctl.crd.requestMatch" -}}
type: object
minProperties: 1
properties:
  method:
    type: string
    enum: [GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH]
  pathRegex:
    type: string
    minLength: 1
{{- if .nested }}
  all:
    type: array
    items:
      {{- include "meshctl.crd.requestMatch" (dict "nested" false) | nindent 6 }}
  any:
    type: array
    items:
      {{- include "meshctl.crd.requestMatch" (dict "nested" false) | nindent 6 }}
  not:
    {{- include "meshctl.crd.requestMatch" (dict "nested" false) | nindent 4 }}
{{- end }}
{{- end }}

{{/*
meshctl.crd.responseMatch is the schema of a ServiceProfile response condition.
*/}}
{{- define "meshctl.crd.responseMatch" -}}
type: object
minProperties: 1
properties:
  status:
    type: object
    properties:
      min:
        type: integer
        minimum: 100
        maximum: 599
      max:
        type: integer
        minimum: 100
        maximum: 599
{{- if .nested }}
  all:
    type: array
    items:
      {{- include "meshctl.crd.responseMatch" (dict "nested" false) | nindent 6 }}
  any:
    type: array
    items:
      {{- include "meshctl.crd.responseMatch" (dict "nested" false) | nindent 6 }}
  not:
    {{- include "meshctl.crd.responseMatch" (dict "nested" false) | nindent 4 }}
{{- end }}
{{- end }}
