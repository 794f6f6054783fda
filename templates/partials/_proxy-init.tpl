{{/*
meshctl.proxy.init renders the meshctl-init init container (a list item). It
runs `meshctl proxy init`, which programs the redirect of the pod's traffic to
the proxy, and needs NET_ADMIN and NET_RAW for that; it is configured through
MESHCTL_PROXY_INIT_* environment variables.
*/}}
{{- define "meshctl.proxy.init" -}}
{{- $p := .Values.proxy -}}
{{- $skipOut := $p.skipOutboundPorts -}}
{{- if (index .Workload "controlPlane") -}}
{{- $skipOut = include "meshctl.joinPorts" (list .Values.proxyInit.kubeAPIServerPorts $p.skipOutboundPorts) -}}
{{- end -}}
- name: meshctl-init
  image: {{ include "meshctl.proxy.image" . }}
  imagePullPolicy: {{ $p.imagePullPolicy | default .Values.image.pullPolicy }}
  args: ["proxy", "init"]
  env:
    - name: MESHCTL_PROXY_INIT_INBOUND_PORT
      value: {{ $p.ports.inbound | quote }}
    - name: MESHCTL_PROXY_INIT_OUTBOUND_PORT
      value: {{ $p.ports.outbound | quote }}
    - name: MESHCTL_PROXY_INIT_PROXY_UID
      value: {{ $p.uid | quote }}
    - name: MESHCTL_PROXY_INIT_SKIP_INBOUND_PORTS
      value: {{ include "meshctl.joinPorts" (list $p.ports.control $p.ports.admin $p.skipInboundPorts (index .Workload "skipInboundPorts")) | quote }}
    - name: MESHCTL_PROXY_INIT_SKIP_OUTBOUND_PORTS
      value: {{ $skipOut | quote }}
  resources:
    requests:
      cpu: 10m
      memory: 10Mi
    limits:
      memory: 50Mi
  securityContext:
    runAsUser: 0
    runAsNonRoot: false
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      add: [NET_ADMIN, NET_RAW]
      drop: [ALL]
    seccompProfile:
      type: RuntimeDefault
{{- end }}
