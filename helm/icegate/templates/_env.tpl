{{/*
Container environment besides the ConfigMap: the node address in hostNetwork mode, and every
secret as a reference to the operator's Secret (values never pass through the chart).
*/}}
{{- define "icegate.env" -}}
{{- if and (not .Values.turn.externalIP) (eq .Values.mode "hostNetwork") .Values.turn.externalIPFromNode }}
- name: TURN_EXTERNAL_IP
  valueFrom:
    fieldRef:
      fieldPath: status.hostIP
{{- end }}
- name: TURN_SECRETS
  valueFrom:
    secretKeyRef:
      name: {{ include "icegate.secretName" . }}
      key: TURN_SECRETS
- name: ADMIN_TOKEN_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "icegate.secretName" . }}
      key: ADMIN_TOKEN_SECRET
{{- if .Values.redis.enabled }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret | default (include "icegate.secretName" .) }}
      key: {{ .Values.redis.key }}
{{- end }}
{{- if .Values.database.enabled }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret | default (include "icegate.secretName" .) }}
      key: {{ .Values.database.key }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
