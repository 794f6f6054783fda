{{/*
meshctl.proxy.volumes renders the pod volumes the proxy needs, as list items:
an in-memory directory for its private key and certificate, and a projected
ServiceAccount token (audience identity.meshctl.io) it presents to identity.
*/}}
{{- define "meshctl.proxy.volumes" -}}
- name: meshctl-identity-end-entity
  emptyDir:
    medium: Memory
- name: meshctl-identity-token
  projected:
    sources:
      - serviceAccountToken:
          audience: identity.meshctl.io
          expirationSeconds: 86400
          path: meshctl-identity-token
{{- end }}
