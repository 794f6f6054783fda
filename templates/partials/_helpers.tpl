{{/*
Partials shared by every meshctl chart: the proxy sidecar of a meshed pod and
the helpers it needs. pkg/render loads this directory into each chart's
templates, so the control plane, the injector and `meshctl inject` all render
the sidecar from this one definition.

The proxy partials take a context dict with three keys:
  Values    the control-plane values (proxy, proxyInit, image, identity,
            clusterDomain and generated.version are read)
  Release   the release; Release.Namespace is the control-plane namespace
  Workload  the pod being meshed:
              kind             owner kind, lower case (deployment, statefulset, ...)
              name             owner name
              namespace        the pod's namespace
              controlPlane     true for the control plane's own pods: their
                               init container skips proxyInit.kubeAPIServerPorts
              identitySvcAddr  optional address of the identity service
                               (the identity controller's own pod uses localhost)
              skipInboundPorts optional extra inbound ports to skip
              await            optional; false turns proxy.await off for this pod
*/}}

{{/* meshctl.version is the version of the meshctl rendering the chart. */}}
{{- define "meshctl.version" -}}
{{- .Values.generated.version -}}
{{- end }}

{{/* meshctl.image is the reference of the controllers' image. */}}
{{- define "meshctl.image" -}}
{{- $tag := .Values.image.tag | default (include "meshctl.version" .) -}}
{{- if .Values.image.registry }}{{ .Values.image.registry }}/{{ end }}{{ .Values.image.name }}:{{ $tag }}
{{- end }}

{{/* meshctl.proxy.image is the reference of the proxy image. */}}
{{- define "meshctl.proxy.image" -}}
{{- .Values.proxy.image | default (include "meshctl.image" .) -}}
{{- end }}

{{/* meshctl.svcAddr renders the address of a control-plane Service: (list ctx component port). */}}
{{- define "meshctl.svcAddr" -}}
{{- $ctx := index . 0 -}}
meshctl-{{ index . 1 }}.{{ $ctx.Release.Namespace }}.svc.{{ $ctx.Values.clusterDomain }}.:{{ index . 2 }}
{{- end }}

{{/* meshctl.svcIdentity renders the TLS identity of a control-plane component: (list ctx component). */}}
{{- define "meshctl.svcIdentity" -}}
{{- $ctx := index . 0 -}}
meshctl-{{ index . 1 }}.{{ $ctx.Release.Namespace }}.serviceaccount.identity.{{ $ctx.Release.Namespace }}.{{ $ctx.Values.identity.trustDomain }}
{{- end }}

{{/* meshctl.resources renders a container's resources from a {cpu, memory} value. */}}
{{- define "meshctl.resources" -}}
requests:
  {{- with .cpu.request }}
  cpu: {{ . | quote }}
  {{- end }}
  {{- with .memory.request }}
  memory: {{ . | quote }}
  {{- end }}
{{- if or .cpu.limit .memory.limit }}
limits:
  {{- with .cpu.limit }}
  cpu: {{ . | quote }}
  {{- end }}
  {{- with .memory.limit }}
  memory: {{ . | quote }}
  {{- end }}
{{- end }}
{{- end }}

{{/* meshctl.joinPorts joins non-empty comma-separated port lists. */}}
{{- define "meshctl.joinPorts" -}}
{{- $out := list -}}
{{- range . -}}{{- if . -}}{{- $out = append $out (toString .) -}}{{- end -}}{{- end -}}
{{- join "," $out -}}
{{- end }}
