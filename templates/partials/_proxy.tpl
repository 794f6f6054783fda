{{/*
meshctl.proxy renders the meshctl-proxy container (a list item). With
proxy.nativeSidecar it belongs in initContainers, after meshctl-init, and has
restartPolicy Always; otherwise it is the first of the pod's containers. It
runs `meshctl proxy`, configured through MESHCTL_PROXY_* environment
variables, and serves /live and /ready on the admin port.
*/}}
{{- define "meshctl.proxy" -}}
{{- $p := .Values.proxy -}}
{{- $ns := .Release.Namespace -}}
{{- $await := and $p.await (ne (toString (index .Workload "await")) "false") -}}
- name: meshctl-proxy
  image: {{ include "meshctl.proxy.image" . }}
  imagePullPolicy: {{ $p.imagePullPolicy | default .Values.image.pullPolicy }}
  args: ["proxy"]
  {{- if $p.nativeSidecar }}
  restartPolicy: Always
  {{- end }}
  env:
    - name: MESHCTL_PROXY_POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: MESHCTL_PROXY_POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: MESHCTL_PROXY_POD_SERVICE_ACCOUNT
      valueFrom:
        fieldRef:
          fieldPath: spec.serviceAccountName
    - name: MESHCTL_PROXY_LOG_LEVEL
      value: {{ $p.logLevel | quote }}
    - name: MESHCTL_PROXY_LOG_FORMAT
      value: {{ $p.logFormat | quote }}
    - name: MESHCTL_PROXY_INBOUND_ADDR
      value: "0.0.0.0:{{ $p.ports.inbound }}"
    - name: MESHCTL_PROXY_OUTBOUND_ADDR
      value: "127.0.0.1:{{ $p.ports.outbound }}"
    - name: MESHCTL_PROXY_CONTROL_ADDR
      value: "0.0.0.0:{{ $p.ports.control }}"
    - name: MESHCTL_PROXY_ADMIN_ADDR
      value: "0.0.0.0:{{ $p.ports.admin }}"
    - name: MESHCTL_PROXY_DESTINATION_SVC_ADDR
      value: {{ include "meshctl.svcAddr" (list . "destination" 8086) | quote }}
    - name: MESHCTL_PROXY_DESTINATION_SVC_NAME
      value: {{ include "meshctl.svcIdentity" (list . "destination") | quote }}
    - name: MESHCTL_PROXY_POLICY_SVC_ADDR
      value: {{ include "meshctl.svcAddr" (list . "policy" 8090) | quote }}
    - name: MESHCTL_PROXY_POLICY_SVC_NAME
      value: {{ include "meshctl.svcIdentity" (list . "policy") | quote }}
    - name: MESHCTL_PROXY_IDENTITY_SVC_ADDR
      value: {{ (index .Workload "identitySvcAddr") | default (include "meshctl.svcAddr" (list . "identity" 8080)) | quote }}
    - name: MESHCTL_PROXY_IDENTITY_SVC_NAME
      value: {{ include "meshctl.svcIdentity" (list . "identity") | quote }}
    - name: MESHCTL_PROXY_IDENTITY_LOCAL_NAME
      value: "$(MESHCTL_PROXY_POD_SERVICE_ACCOUNT).$(MESHCTL_PROXY_POD_NAMESPACE).serviceaccount.identity.{{ $ns }}.{{ .Values.identity.trustDomain }}"
    - name: MESHCTL_PROXY_IDENTITY_DIR
      value: /var/run/meshctl/identity/end-entity
    - name: MESHCTL_PROXY_IDENTITY_TOKEN_FILE
      value: /var/run/secrets/tokens/meshctl-identity-token
    - name: MESHCTL_PROXY_IDENTITY_TRUST_ANCHORS
      value: {{ .Values.identity.trustAnchorsPEM | quote }}
    - name: MESHCTL_PROXY_DEFAULT_INBOUND_POLICY
      value: {{ $p.defaultInboundPolicy | quote }}
    - name: MESHCTL_PROXY_OPAQUE_PORTS
      value: {{ $p.opaquePorts | quote }}
    - name: MESHCTL_PROXY_SHUTDOWN_ENDPOINT_ENABLED
      value: "false"
    {{- if $p.enablePprof }}
    - name: MESHCTL_PROXY_PPROF_ENABLED
      value: "true"
    {{- end }}
    {{- if gt (int $p.waitBeforeExitSeconds) 0 }}
    - name: MESHCTL_PROXY_WAIT_BEFORE_EXIT
      value: "{{ int $p.waitBeforeExitSeconds }}s"
    {{- end }}
    {{- with $p.tapTokenSHA256 }}
    - name: MESHCTL_PROXY_TAP_TOKEN_SHA256
      value: {{ . | quote }}
    {{- end }}
  ports:
    - name: meshctl-proxy
      containerPort: {{ $p.ports.inbound }}
    - name: meshctl-admin
      containerPort: {{ $p.ports.admin }}
  {{- if $await }}
  startupProbe:
    httpGet:
      path: /ready
      port: {{ $p.ports.admin }}
    periodSeconds: 1
    failureThreshold: 120
  {{- end }}
  readinessProbe:
    httpGet:
      path: /ready
      port: {{ $p.ports.admin }}
    initialDelaySeconds: 2
    timeoutSeconds: 1
  livenessProbe:
    httpGet:
      path: /live
      port: {{ $p.ports.admin }}
    initialDelaySeconds: 10
    timeoutSeconds: 1
  resources:
    {{- include "meshctl.resources" $p.resources | nindent 4 }}
  securityContext:
    runAsUser: {{ $p.uid }}
    runAsNonRoot: true
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: [ALL]
    seccompProfile:
      type: RuntimeDefault
  terminationMessagePolicy: FallbackToLogsOnError
  volumeMounts:
    - name: meshctl-identity-end-entity
      mountPath: /var/run/meshctl/identity/end-entity
    - name: meshctl-identity-token
      mountPath: /var/run/secrets/tokens
      readOnly: true
{{- end }}
