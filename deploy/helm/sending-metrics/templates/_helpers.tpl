{{- define "sm.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sm.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one role: (dict "root" . "role" "api") */}}
{{- define "sm.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "sm.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
{{- end -}}

{{- define "sm.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "sm.fullname" .)) -}}
{{- end -}}

{{- define "sm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "sm.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Environment of every role: the ConfigMap, then the Secret's two keys. */}}
{{- define "sm.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "sm.fullname" . }}-config
env:
  - name: AUTH_JWT_SECRET
    valueFrom:
      secretKeyRef:
        name: {{ include "sm.secretName" . }}
        key: AUTH_JWT_SECRET
  - name: CLICKHOUSE_URL
    valueFrom:
      secretKeyRef:
        name: {{ include "sm.secretName" . }}
        key: CLICKHOUSE_URL
  # The downloads bucket's keys when the Secret holds them (otherwise the pod's role).
  - name: AWS_ACCESS_KEY_ID
    valueFrom:
      secretKeyRef:
        name: {{ include "sm.secretName" . }}
        key: AWS_ACCESS_KEY_ID
        optional: true
  - name: AWS_SECRET_ACCESS_KEY
    valueFrom:
      secretKeyRef:
        name: {{ include "sm.secretName" . }}
        key: AWS_SECRET_ACCESS_KEY
        optional: true
  # Each tenant's provider webhook secrets when the Secret holds them.
  - name: WEBHOOK_SECRETS
    valueFrom:
      secretKeyRef:
        name: {{ include "sm.secretName" . }}
        key: WEBHOOK_SECRETS
        optional: true
  - name: SCHEMA_REGISTRY_PASSWORD
    valueFrom:
      secretKeyRef:
        name: {{ include "sm.secretName" . }}
        key: SCHEMA_REGISTRY_PASSWORD
        optional: true
{{- end -}}

{{/* Pod-level settings shared by every role. */}}
{{- define "sm.podSpec" -}}
serviceAccountName: {{ include "sm.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The container's probes: ready on /readyz (dependencies), alive on /healthz (the process). */}}
{{- define "sm.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 5
  failureThreshold: 60
readinessProbe:
  httpGet: { path: /readyz, port: http }
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
livenessProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 15
  timeoutSeconds: 5
  failureThreshold: 4
{{- end -}}

{{/* Writable places under a read-only root: DATA_DIR and /tmp (tsx's compile cache). */}}
{{- define "sm.mounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- end -}}
